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


def free_port() -> int:
    """A UDP port of 127.0.0.1 free right now, for a client that must listen on a port of its own."""
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


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
