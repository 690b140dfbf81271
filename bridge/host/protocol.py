"""The OSC protocol's values: parsing requests at the edge, building replies. No sockets, no TensorFlow.

Numbers are accepted as int or float (or a numeric string) wherever a number is expected: Max sends
floats where Pd sends ints. Every request carries a client-chosen integer id first, echoed in
every reply. Settings and their checks are bridge.settings' (the one specification every door uses).
The reference is docs/osc.md.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import CadenzaError, did_you_mean
from ..settings import (KEYS, MAX_BEATS, MAX_NOTES, RENDER_FORMATS, PrimeNote, Settings, apply as apply_setting,
                        apply_pairs, integer, number, parse_notes, short)

__all__ = ["PREFIX", "MAX_NOTES", "NOTES_PER_REPLY", "MAX_BLOB", "ProtocolError", "request_id", "PrimeNote",
           "parse_notes", "split_continue_args", "note_chunks",
           # the settings, re-exported for the daemon's handlers (bridge/settings.py is where they live)
           "KEYS", "MAX_BEATS", "RENDER_FORMATS", "Settings", "apply_setting", "apply_pairs", "integer", "number",
           "short"]

PREFIX = "/cadenza"
NOTES_PER_REPLY = 32  # 4 numbers a note: a reply stays well under a 1500-byte datagram
MAX_BLOB = 8192  # a Standard MIDI File goes inline as a blob up to this size (else only its path)


class ProtocolError(CadenzaError):
    """A request the daemon refuses; the message goes back to the client in /cadenza/error."""


def request_id(args: list) -> int:
    if not args:
        raise ProtocolError("missing request id: every request starts with an integer id")
    rid = integer(args[0], "request id")
    if not -2**31 <= rid < 2**31:
        raise ProtocolError(f"request id {rid} does not fit an OSC int32")
    return rid


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
                    raise ProtocolError(f"{short(a)} is neither a number (note {i // 4 + 1}'s pitch) nor a setting"
                                        f"{did_you_mean(a, KEYS)} "
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
