"""Reading untrusted files within bounds: bytes on disk, bytes unpacked (an .mxl is a zip), events
(notes of MusicXML, lines of **kern) and seconds, so that one hostile file cannot take the machine.

Notation is parsed by music21, which cannot be interrupted: it runs in a forked child process that is
killed when the time is up or the caller cancels, and the Score comes back through a pipe. music21 and
its parsers are imported before the first fork, so a child imports nothing and takes no lock. MIDI is read by
Cadenza's own reader, in time linear in its bytes.
"""
from __future__ import annotations

import multiprocessing as mp
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
    max_events: int = 200_000  # notes of a MusicXML file, data lines of a **kern file
    seconds: float = 120.0  # parsing notation (music21), in a child process killed past it


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


_WARM = threading.Event()
_WARM_LOCK = threading.Lock()


def _warm() -> None:
    """music21 and its parsers imported here, once, before the first reader is forked: a forked child then
    imports nothing (an import lock another thread held at the fork would hang it until it is killed)."""
    if _WARM.is_set():
        return
    with _WARM_LOCK:
        if _WARM.is_set():
            return
        import music21  # noqa: F401
        import music21.humdrum  # noqa: F401
        import music21.musicxml.xmlToM21  # noqa: F401

        from .notation import read_notation

        try:
            read_notation("warm-up", text="**kern\n*M4/4\n4c\n*-\n", fmt="humdrum")
        except MusicFileError:
            pass
        _WARM.set()


def _child(path: str, conn) -> None:
    try:
        from .notation import read_notation

        conn.send(("ok", read_notation(path)))
    except MusicFileError as e:
        conn.send(("refused", str(e)))
    except BaseException as e:  # noqa: BLE001 - whatever it was, the parent says it in a line
        conn.send(("refused", f"{path}: cannot read notation: {type(e).__name__}: {e}"))
    finally:
        conn.close()


def read_notation_bounded(path: Path, limits: ReadLimits, cancel: threading.Event | None = None):
    """music21's reading of `path` in a child process: the Score, or a MusicFileError when the file is refused,
    the time is up or `cancel` is set (the child is killed either way)."""
    _warm()
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(str(path), send), daemon=True, name="cadenza-notation")
    child.start()
    send.close()
    deadline = time.monotonic() + limits.seconds
    try:
        while True:
            if receive.poll(0.05):
                try:
                    kind, value = receive.recv()
                except (EOFError, OSError):
                    raise MusicFileError(f"{path.name}: the notation reader stopped without an answer") from None
                if kind == "ok":
                    return value
                raise MusicFileError(value)
            if cancel is not None and cancel.is_set():
                raise MusicFileError(f"{path.name}: reading stopped (the request was cancelled)")
            if time.monotonic() > deadline:
                raise MusicFileError(f"{path.name}: reading it took more than {limits.seconds:g} s; stopped")
            if not child.is_alive() and not receive.poll(0):
                raise MusicFileError(f"{path.name}: the notation reader stopped without an answer "
                                     f"(exit {child.exitcode})")
    finally:
        receive.close()
        if child.is_alive():
            child.kill()
        child.join(5)
