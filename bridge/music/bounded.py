"""Reading untrusted files within bounds: bytes on disk, bytes unpacked (an .mxl is a zip), events
(notes of MusicXML, lines of **kern) and seconds, so that one hostile file cannot take the machine.

Plain **kern is read by humdrum.py in the caller, which looks at the clock and the cancel itself. Other
notation is parsed by music21, which cannot be interrupted: it runs in a helper process (started with
subprocess, music21 loaded once, kept for the next file) that is killed when the time is up or the caller
cancels; the Score comes back through a pipe. MIDI is read by Cadenza's own reader, in time linear in its
bytes. A recording is refused past `audio_seconds` from its header, before a sample is decoded
(bridge.audio.transcribe), and tracked a few seconds at a time, in memory that does not grow with its length.
"""
from __future__ import annotations

import sys
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import MusicFileError


@dataclass(frozen=True)
class ReadLimits:
    max_bytes: int = 64 << 20  # a file on disk
    max_unpacked: int = 64 << 20  # the members of a compressed MusicXML (.mxl), decompressed
    max_events: int = 200_000  # notes of a MIDI or MusicXML file, data lines of a **kern file
    seconds: float = 120.0  # parsing notation (music21), in a child process killed past it
    audio_seconds: float = 600.0  # a recording's length, from its header (64 MB of Vorbis holds hours)


LIMITS = ReadLimits()
_CHUNK = 1 << 20


def _mb(n: int) -> str:
    return f"{n / (1 << 20):g} MB"


def check_size(path: Path, limits: ReadLimits) -> None:
    try:
        size = path.stat().st_size
    except OSError as e:
        raise MusicFileError(f"{path.name}: cannot read file: {e.strerror or e}") from None
    if size > limits.max_bytes:
        raise MusicFileError(f"{path.name}: {_mb(size)}, more than the {_mb(limits.max_bytes)} Cadenza reads")


def check_notes(score, path: Path, limits: ReadLimits):
    """The score read from a MIDI file, or a refusal past `max_events` notes: 17 MB of MIDI (the page takes 20) held
    three million, and continuing them took 1.3 GB and 8-11 s (64 MB: eleven million). A piano piece has thousands."""
    if score.note_count > limits.max_events:
        raise MusicFileError(f"{path.name}: {score.note_count:,} notes, more than the {limits.max_events:,} Cadenza "
                             f"reads")
    return score


def _count(chunks, needle: bytes, limit: int, budget: int, name: str) -> int:
    """Occurrences of `needle` in a stream of chunks, refusing past `limit` of them or `budget` bytes."""
    count, seen, tail = 0, 0, b""
    for chunk in chunks:
        seen += len(chunk)
        if seen > budget:
            raise MusicFileError(f"{name}: unpacks to more than {_mb(budget)}, more than Cadenza reads "
                                 "(a compressed file that grows this much is refused)")
        data = tail + chunk
        count += data.count(needle)
        tail = data[-(len(needle) - 1):] if len(needle) > 1 else b""
        if count > limit:
            raise MusicFileError(f"{name}: more than {limit:,} notes; Cadenza reads at most that many")
    return count


def _chunks(f):
    while True:
        chunk = f.read(_CHUNK)
        if not chunk:
            return
        yield chunk


def check_notation(path: Path, limits: ReadLimits) -> None:
    """Refuse, before music21 sees it, a notation file that unpacks too large or holds too many events."""
    suffix = path.suffix.lower()
    name = path.name
    if suffix == ".mxl":
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                if len(infos) > 1000:
                    raise MusicFileError(f"{name}: {len(infos)} files inside; not a MusicXML archive Cadenza reads")
                declared = sum(i.file_size for i in infos)
                if declared > limits.max_unpacked:
                    raise MusicFileError(f"{name}: unpacks to {_mb(declared)}, more than the "
                                         f"{_mb(limits.max_unpacked)} Cadenza reads")
                for info in infos:  # what is really inside, read in chunks (a size in the header can lie)
                    if info.filename.lower().endswith((".xml", ".musicxml")):
                        with z.open(info) as f:
                            _count(_chunks(f), b"<note", limits.max_events, limits.max_unpacked, name)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, RuntimeError, EOFError) as e:
            raise MusicFileError(f"{name}: not a readable compressed MusicXML file ({e})") from None
        return
    with open(path, "rb") as f:
        if suffix == ".krn":
            _count(_chunks(f), b"\n", limits.max_events, limits.max_bytes, name)
        else:
            _count(_chunks(f), b"<note", limits.max_events, limits.max_bytes, name)


class _Reader:
    """A helper process with music21 loaded that parses one file at a time, started with subprocess (never a
    fork of this process, whose other threads may hold locks) and killed when a parse runs too long or its
    request is cancelled. Requests and answers are length-prefixed pickles over its stdin and stdout."""

    def __init__(self):
        import os
        import subprocess

        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [str(Path(__file__).resolve().parents[2])] + [p for p in [os.environ.get("PYTHONPATH", "")] if p]))
        self.proc = subprocess.Popen([sys.executable, "-c", "from bridge.music.bounded import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, close_fds=True)

    def alive(self) -> bool:
        return self.proc.poll() is None

    def kill(self) -> None:
        if self.alive():
            self.proc.kill()
        self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            pipe.close()

    def read(self, path: Path, limits: ReadLimits, cancel: threading.Event | None):
        import pickle
        import select
        import struct

        data = pickle.dumps(str(path))
        self.proc.stdin.write(struct.pack(">I", len(data)) + data)
        self.proc.stdin.flush()
        deadline = time.monotonic() + limits.seconds
        fd = self.proc.stdout.fileno()
        while True:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                break
            if cancel is not None and cancel.is_set():
                self.kill()
                raise MusicFileError(f"{path.name}: reading stopped (the request was cancelled)")
            if time.monotonic() > deadline:
                self.kill()
                raise MusicFileError(f"{path.name}: reading it took more than {limits.seconds:g} s; stopped")
            if not self.alive():
                raise MusicFileError(f"{path.name}: the notation reader stopped (exit {self.proc.returncode})")
        head = self.proc.stdout.read(4)
        if len(head) < 4:
            self.kill()
            raise MusicFileError(f"{path.name}: the notation reader stopped without an answer")
        kind, value = pickle.loads(self.proc.stdout.read(struct.unpack(">I", head)[0]))
        if kind == "ok":
            return value
        raise MusicFileError(value)


_IDLE: list[_Reader] = []
_IDLE_LOCK = threading.Lock()
MAX_IDLE_READERS = 2


def read_notation_bounded(path: Path, limits: ReadLimits, cancel: threading.Event | None = None):
    """music21's reading of `path` in a helper process: the Score, or a MusicFileError when the file is
    refused, the time is up or `cancel` is set (the helper is killed then, and a new one started next time)."""
    with _IDLE_LOCK:
        reader = _IDLE.pop() if _IDLE else None
    if reader is None or not reader.alive():
        reader = _Reader()
    try:
        score = reader.read(path, limits, cancel)
    except BaseException:
        if reader.alive():  # a refusal: the helper is fine and is kept
            _keep(reader)
        raise
    _keep(reader)
    return score


def _keep(reader: _Reader) -> None:
    with _IDLE_LOCK:
        if len(_IDLE) < MAX_IDLE_READERS and reader.alive():
            _IDLE.append(reader)
            return
    reader.kill()


def serve() -> None:
    """The helper's loop: a path in, ("ok", Score) or ("refused", why) out, until its stdin closes."""
    import pickle
    import struct

    from .notation import read_notation

    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        head = stdin.read(4)
        if len(head) < 4:
            return
        path = pickle.loads(stdin.read(struct.unpack(">I", head)[0]))
        try:
            answer = ("ok", read_notation(path))
        except MusicFileError as e:
            answer = ("refused", str(e))
        except Exception as e:  # noqa: BLE001 - whatever music21 raised, said in a line
            answer = ("refused", f"{Path(path).name}: cannot read notation: {type(e).__name__}: {e}")
        data = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        stdout.write(struct.pack(">I", len(data)) + data)
        stdout.flush()
