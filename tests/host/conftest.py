"""A real daemon on an ephemeral UDP port of 127.0.0.1, and a real UDP client."""
from __future__ import annotations

import socket
import time

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from tests.conftest import ROOT

MODEL = "chorale"  # the smallest shipped model: quick to load in every CI run


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


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("serve")
    extra = root / "scores"
    extra.mkdir()
    cfg = ServeConfig(http_port=0, port=0, model=MODEL, inbox=root / "inbox", outbox=root / "outbox", allowed_dirs=[extra],
                      queue=4, beats=4.0, watch=False)
    d = Daemon(cfg)
    d.start()
    d.wait_ready(120)
    yield d
    d.stop()


@pytest.fixture
def client(daemon):
    c = Client(daemon.server.address[1])
    yield c
    c.close()


@pytest.fixture(scope="module", autouse=True)
def _no_leaks(no_leaks):
    """Every module here starts servers: each must end its threads and close its sockets (tests/conftest.py)."""
    yield
