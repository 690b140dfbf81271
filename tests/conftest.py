"""Shared fixtures: the real corpora in ../shared beside the repository, and MIDI built byte by byte."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


def corpus_files(sub: str, pattern: str, count: int, step: int = 1) -> list[Path]:
    files = sorted((CORPUS / sub).rglob(pattern))
    if not files:
        pytest.skip(f"{CORPUS / sub} is not here")
    return files[::step][:count]


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track(*events: bytes, end: bool = True) -> bytes:
    """An MTrk chunk from raw (delta + message) byte strings."""
    body = b"".join(events) + (b"\x00\xff\x2f\x00" if end else b"")
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(*tracks: bytes, fmt: int = 1, division: int = 480, ntracks: int | None = None) -> bytes:
    n = len(tracks) if ntracks is None else ntracks
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n, division) + b"".join(tracks)


def ev(delta: int, *data: int) -> bytes:
    return vlq(delta) + bytes(data)


LASTING_THREADS = ("cadenza-half",)  # the one pool every model's split batches share: made once, kept by design
FD_SLACK = 8  # files a module may leave open for good (caches opened once: numba's index, TensorFlow's)


def _our_threads() -> set:
    import threading

    return {t for t in threading.enumerate() if t.name.startswith(("cadenza", "Thread-")) and t.is_alive()
            and not t.name.startswith(LASTING_THREADS)}


def _open_fds() -> int:
    import os

    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: nothing to count
        return 0


@pytest.fixture(scope="module")
def no_leaks():
    """Around a module that starts servers: every thread it started has ended and its sockets and files are
    closed when it is done (a daemon's stop() must leave nothing behind)."""
    import time

    threads, fds = _our_threads(), _open_fds()
    yield
    deadline = time.time() + 15
    while time.time() < deadline and ((_our_threads() - threads) or _open_fds() > fds + FD_SLACK):
        time.sleep(0.1)
    left = sorted(t.name for t in _our_threads() - threads)
    assert not left, f"threads left running: {left}"
    assert _open_fds() <= fds + FD_SLACK, f"{_open_fds() - fds} files or sockets left open"


class Ran:
    """What a command printed and returned, as subprocess.CompletedProcess has it."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cadenza(*args, cwd=None) -> Ran:
    """`cadenza ARGS` in this process (bridge.cli.main, its output captured): the same command line and
    output as a subprocess, without importing TensorFlow again for each call. Tests of start-up, signals
    and the entry point itself still run a real process."""
    import contextlib
    import io
    import os

    from bridge.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse's refusals
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(here)
    return Ran(code, out.getvalue(), err.getvalue())
