"""The OSC protocol's values: parsing requests at the edge, building replies. No sockets, no TensorFlow.

Numbers are accepted as int or float (or a numeric string) wherever a number is expected: Max sends
floats where Pd sends ints. Every request carries a client-chosen integer id first, echoed in
every reply. The reference is docs/osc.md.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, replace
from typing import Any

from ..errors import CadenzaError

PREFIX = "/cadenza"
MAX_NOTES = 4096  # prime notes in one request
MAX_BEATS = 1024.0
NOTES_PER_REPLY = 32  # 4 numbers a note: a reply stays well under a 1500-byte datagram
MAX_BLOB = 8192  # a Standard MIDI File goes inline as a blob up to this size (else only its path)
MAX_TEXT = 200  # characters of any text setting
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a model's folder name in the store, never a path


class ProtocolError(CadenzaError):
    """A request the daemon refuses; the message goes back to the client in /cadenza/error."""


def number(value: Any, what: str) -> float:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise ProtocolError(f"{what} must be a finite number, not {value}")
        return float(value)
    if isinstance(value, str):
        try:
            return number(float(value), what)
        except ValueError:
            pass
    raise ProtocolError(f"{what} must be a number, not {short(value)}")


def integer(value: Any, what: str) -> int:
    x = number(value, what)
    if x != int(x):
        raise ProtocolError(f"{what} must be a whole number, not {x}")
    return int(x)


def request_id(args: list) -> int:
    if not args:
        raise ProtocolError("missing request id: every request starts with an integer id")
    rid = integer(args[0], "request id")
    if not -2**31 <= rid < 2**31:
        raise ProtocolError(f"request id {rid} does not fit an OSC int32")
    return rid


@dataclass(frozen=True)
class PrimeNote:
    pitch: int
    start: float  # beats
    duration: float  # beats
    velocity: int


def parse_notes(flat: list) -> list[PrimeNote]:
    """Flat (pitch, start_beats, dur_beats, velocity) 4-tuples."""
    if len(flat) % 4:
        raise ProtocolError(f"prime notes come as 4 numbers each (pitch, start, duration, velocity); "
                            f"got {len(flat)} numbers")
    if len(flat) // 4 > MAX_NOTES:
        raise ProtocolError(f"{len(flat) // 4} prime notes: at most {MAX_NOTES} in one request")
    notes = []
    for i in range(0, len(flat), 4):
        k = i // 4 + 1
        pitch = integer(flat[i], f"note {k} pitch")
        start = number(flat[i + 1], f"note {k} start")
        dur = number(flat[i + 2], f"note {k} duration")
        vel = integer(flat[i + 3], f"note {k} velocity")
        if not 0 <= pitch <= 127:
            raise ProtocolError(f"note {k}: pitch {pitch} is outside 0-127")
        if not 0 <= start <= 100_000 or not 0 < dur <= 1024:
            raise ProtocolError(f"note {k}: start {start} and duration {dur} must be beats >= 0 (duration > 0)")
        if not 1 <= vel <= 127:
            raise ProtocolError(f"note {k}: velocity {vel} is outside 1-127")
        notes.append(PrimeNote(pitch, start, dur, vel))
    return notes


@dataclass(frozen=True)
class Settings:
    """Per-client defaults, changed by /cadenza/set and by key-value pairs in a request."""
    model: str = ""  # "" : the daemon's default model
    beats: float = 16.0
    temperature: float = 1.0
    top_k: int = 0
    top_p: float = 0.95
    strategy: str = "top_p"
    n: int = 4
    seed: int = -1  # -1: a new seed for every request
    variations: int = 1
    qpm: float = 120.0
    scale: str = ""
    pitch_range: str = ""
    max_hold: float = -1.0  # release a note held this many beats (-1: the model's default; 0: never)
    reply_host: str = ""  # "" : reply to the sender's address
    reply_port: int = 0  # 0 : reply to the sender's port
    midi: int = 1  # also send the whole MIDI file as a blob where it fits
    write_file: int = 1  # write the continuation under the outbox and send its path
    render: str = ""  # also render each written file to audio: wav, flac, ogg or mp3 ("" : no)
    picture: int = 0  # also draw each written file as a piano-roll PNG


KEYS = {
    "model": str, "beats": float, "length_beats": float, "temperature": float, "top_k": int, "top_p": float,
    "strategy": str, "n": int, "seed": int, "variations": int, "qpm": float, "scale": str, "pitch_range": str,
    "range": str, "reply_host": str, "reply_port": int, "midi": int, "write_file": int, "render": str,
    "picture": int, "max_hold": float,
}
RENDER_FORMATS = ("wav", "flac", "ogg", "mp3")
ALIASES = {"length_beats": "beats", "range": "pitch_range"}


def apply_setting(s: Settings, key: Any, value: Any) -> Settings:
    if not isinstance(key, str) or key not in KEYS:
        raise ProtocolError(f"unknown setting {short(key)}; settings are {', '.join(sorted(KEYS))}")
    kind = KEYS[key]
    name = ALIASES.get(key, key)
    if kind is str:
        if isinstance(value, (int, float)) and name == "pitch_range":
            raise ProtocolError("pitch_range is text LOW-HIGH, e.g. \"36-96\"")
        if isinstance(value, (bytes, bytearray)):
            raise ProtocolError(f"{key} is text, not a blob")
        v: Any = str(value)
        if len(v) > MAX_TEXT:
            raise ProtocolError(f"{key}: {len(v)} characters; at most {MAX_TEXT}")
    elif kind is int:
        v = integer(value, key)
    else:
        v = number(value, key)
    checks = {
        "beats": lambda x: 0 < x <= MAX_BEATS, "temperature": lambda x: 0.01 <= x <= 10, "top_k": lambda x: x >= 0,
        "top_p": lambda x: 0 < x <= 1, "n": lambda x: x >= 1, "variations": lambda x: 1 <= x <= 16,
        "qpm": lambda x: 10 <= x <= 400, "reply_port": lambda x: 0 <= x <= 65535,
        "max_hold": lambda x: x == -1 or 0 <= x <= MAX_BEATS,
    }
    if name in checks and not checks[name](v):
        raise ProtocolError(f"{key} {value} is out of range")
    if name == "model" and v and not MODEL_NAME.fullmatch(v):
        raise ProtocolError(f"model {short(v)}: a model is named by its folder in the model store "
                            "(letters, digits, '.', '_', '-'; at most 64), never by a path")
    if name == "strategy":
        from ..generation.sampling import STRATEGIES

        if v not in STRATEGIES:
            raise ProtocolError(f"unknown strategy {short(v)}: choose one of {', '.join(STRATEGIES)}")
    if name in ("scale", "pitch_range") and v:
        from ..generation.constraints import parse_range, parse_scale

        try:
            (parse_scale if name == "scale" else parse_range)(v)
        except CadenzaError as e:
            raise ProtocolError(str(e)) from None
    if name == "reply_host" and v:
        v = "127.0.0.1" if v == "localhost" else v
        try:
            ipaddress.ip_address(v)
        except ValueError:
            raise ProtocolError(f"reply_host {short(v)}: give an IP address (e.g. 192.168.1.20), "
                                "or \"\" for the sender's") from None
    if name == "render":
        v = v.lower().lstrip(".")
        if v in ("0", "no", "none", "off"):
            v = ""
        if v and v not in RENDER_FORMATS:
            raise ProtocolError(f"render {short(value)}: choose one of {', '.join(RENDER_FORMATS)} (or \"\" for none)")
    return replace(s, **{name: v})


def short(text: Any, limit: int = 40) -> str:
    """A value quoted for an error message, cut to a readable length."""
    t = repr(text)
    return t if len(t) <= limit else t[:limit - 4] + "...'"


def apply_pairs(s: Settings, pairs: list) -> Settings:
    if len(pairs) % 2:
        raise ProtocolError("settings come as key value pairs")
    for i in range(0, len(pairs), 2):
        s = apply_setting(s, pairs[i], pairs[i + 1])
    return s


def split_continue_args(args: list) -> tuple[list, list]:
    """After the id: numbers are prime notes, then optional key value pairs (the first string starts them)."""
    for i, a in enumerate(args):
        if isinstance(a, str):
            try:
                float(a)
            except ValueError:
                if a in KEYS:
                    return args[:i], args[i:]
                if i % 4 == 0:
                    raise ProtocolError(f"{short(a)} is neither a number (note {i // 4 + 1}'s pitch) nor a setting "
                                        f"(settings: {', '.join(sorted(KEYS))})")
                field = ("pitch", "start", "duration", "velocity")[i % 4]
                raise ProtocolError(f"note {i // 4 + 1} {field} must be a number, not {short(a)} "
                                    f"(prime notes come as 4 numbers each, then optional key value pairs)")
    return args, []


def note_chunks(notes: list[tuple[int, float, float, int]], size: int = NOTES_PER_REPLY) -> list[list]:
    """Flat argument lists of at most `size` notes each."""
    out = []
    for i in range(0, len(notes), size):
        flat: list = []
        for pitch, start, dur, vel in notes[i:i + size]:
            flat += [int(pitch), float(round(start, 6)), float(round(dur, 6)), int(vel)]
        out.append(flat)
    return out
