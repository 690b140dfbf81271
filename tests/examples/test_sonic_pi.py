"""Sonic Pi cannot run here: the message its example sends is checked against a real daemon instead."""
from __future__ import annotations

import re

from tests.conftest import ROOT
from bridge.harness.osc import Client
from tests.host.conftest import daemon  # noqa: F401

SCRIPT = ROOT / "examples" / "sonic-pi" / "cadenza.rb"


def test_the_sonic_pi_request_is_one_the_daemon_accepts(daemon):  # noqa: F811
    text = SCRIPT.read_text()
    prime = [float(x) for x in re.search(r"prime = \[([^\]]+)\]", text).group(1).split(",")]
    call = re.search(r'osc "(/cadenza/continue)", get\[:cadenza_id\], \*prime, (.+)', text)
    pairs = [p.strip().strip('"') for p in call.group(2).split(",")]
    settings = [int(p) if p.isdigit() else p for p in pairs]
    assert settings[:2] == ["reply_port", 4560]  # Sonic Pi's OSC port
    c = Client(daemon.server.address[1])
    try:
        c.send(call.group(1), 123, *[int(x) for x in prime], *settings[2:])  # Ruby sends integers here
        replies = c.receive(rid=123)
        assert replies[-1][0] == "/cadenza/done"
        for address in ("/osc*/cadenza/notes", "/osc*/cadenza/done", "/osc*/cadenza/error"):
            assert address in text  # it listens for what the daemon sends
    finally:
        c.close()


def test_the_sonic_pi_beat_request_is_one_the_daemon_accepts(daemon):  # noqa: F811
    """The drumify request of the example (needs the shipped groove model)."""
    text = SCRIPT.read_text()
    prime = [int(float(x)) for x in re.search(r"prime = \[([^\]]+)\]", text).group(1).split(",")]
    call = re.search(r'osc "(/cadenza/drumify)", get\[:cadenza_beat_id\], \*prime, (.+)', text)
    pairs = [p.strip().strip('"') for p in call.group(2).split(",")]
    settings = [int(p) if p.isdigit() else p for p in pairs]
    assert settings[:2] == ["reply_port", 4560]
    c = Client(daemon.server.address[1])
    try:
        c.send(call.group(1), 124, *prime, *settings[2:])
        replies = c.receive(rid=124)
        assert replies[-1][0] == "/cadenza/done" and replies[-1][1][1] > 0
        notes = [n for a, p in replies if a == "/cadenza/notes" for n in zip(p[1::4], p[2::4])]
        assert notes and all(pitch in (36, 38, 42, 46, 43, 47, 50, 49, 51) for pitch, _ in notes)
    finally:
        c.close()
