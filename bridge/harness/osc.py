"""OSC over real UDP on 127.0.0.1: a client that sends and waits for the daemon's replies, messages built by
python-osc, and messages and bundles written byte by byte (so that tags and values may disagree on purpose)."""
from __future__ import annotations

import socket
import struct
import time

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket


def _pad(b: bytes) -> bytes:
    return b + b"\0" * (4 - len(b) % 4)


def _string(s: str | bytes) -> bytes:
    return _pad(s.encode("utf-8", "surrogatepass") if isinstance(s, str) else s)


def message(address: str, args: list, tags: str | None = None) -> bytes:
    """An OSC message written by hand, so that tags and values may disagree on purpose."""
    out_tags, out = ",", b""
    for i, a in enumerate(args):
        t = tags[i] if tags and i < len(tags) else None
        if t is None:
            t = "s" if isinstance(a, str) else "b" if isinstance(a, bytes) else "f" if isinstance(a, float) else "i"
        out_tags += t
        try:
            if t == "i":
                out += struct.pack(">i", int(a) if isinstance(a, (int, float)) and a == a and abs(a) < 2**31 else 0)
            elif t == "h":
                out += struct.pack(">q", int(a) if isinstance(a, int) else 0)
            elif t == "f":
                out += struct.pack(">f", float(a) if not isinstance(a, (str, bytes)) else 0.0)
            elif t == "d":
                out += struct.pack(">d", float(a) if not isinstance(a, (str, bytes)) else 0.0)
            elif t in "sS":
                out += _string(str(a))
            elif t == "b":
                data = a if isinstance(a, bytes) else str(a).encode()
                out += struct.pack(">i", len(data)) + data + b"\0" * ((-len(data)) % 4)
            elif t in "mr":
                out += b"\x00\x90\x3c\x40"
            elif t == "t":
                out += struct.pack(">Q", 1)
            elif t == "c":
                out += struct.pack(">I", 65)
            # T F N I [ ]: no data
        except (struct.error, OverflowError, ValueError):
            out += b"\0\0\0\0"
    return _string(address) + _string(out_tags) + out


def bundle(parts: list[bytes], depth: int = 1) -> bytes:
    body = b"".join(struct.pack(">i", len(p)) + p for p in parts)
    b = b"#bundle\0" + struct.pack(">Q", 1) + body
    for _ in range(depth - 1):
        b = b"#bundle\0" + struct.pack(">Qi", 1, len(b)) + b
    return b


def osc(address: str, *args, types: str | None = None) -> bytes:
    b = OscMessageBuilder(address=address)
    for i, a in enumerate(args):
        b.add_arg(a, types[i] if types else None)
    return b.build().dgram


class Client:
    def __init__(self, server_port: int):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.server = ("127.0.0.1", server_port)

    def send(self, address: str, *args, types: str | None = None) -> None:
        self.sock.sendto(osc(address, *args, types=types), self.server)

    def raw(self, data: bytes) -> None:
        self.sock.sendto(data, self.server)

    def receive(self, until=("/cadenza/done", "/cadenza/error", "/cadenza/cancelled"), timeout=60.0, rid=None):
        """Messages (address, params) until one whose address is in `until` (for request `rid`)."""
        out = []
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            for m in OscPacket(data).messages:
                msg = (m.message.address, list(m.message.params))
                out.append(msg)
                if msg[0] in until and (rid is None or (msg[1] and msg[1][0] == rid)):
                    return out
        raise AssertionError(f"no {until} within {timeout} s; got {out}")

    def timed(self, timeout: float = 30.0) -> tuple[list, list, str]:
        """Until the request ends: the /cadenza/play bundles as (time tag, params), the /cadenza/notes notes
        as [pitch, start, duration, velocity], and the address it ended with."""
        plays, notes, end = [], [], ""
        deadline = time.time() + timeout
        while time.time() < deadline and not end:
            try:
                data, _ = self.sock.recvfrom(65536)
            except OSError:
                continue
            for m in OscPacket(data).messages:
                params = list(m.message.params)
                if m.message.address == "/cadenza/play":
                    plays.append((m.time, params))
                elif m.message.address == "/cadenza/notes":
                    notes += [params[1:][i:i + 4] for i in range(0, len(params) - 1, 4)]
                elif m.message.address in ("/cadenza/done", "/cadenza/error", "/cadenza/cancelled"):
                    end = m.message.address
        return plays, notes, end

    def close(self):
        self.sock.close()
