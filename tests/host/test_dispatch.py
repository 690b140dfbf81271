"""The protocol dispatcher without sockets: a daemon's handlers called with datagrams, their replies
captured, for the requests every client sends."""
from __future__ import annotations

import time

import pytest

from bridge.harness.osc import message


@pytest.fixture
def replies(daemon):
    got = []
    real = daemon.server.send
    daemon.server.send = lambda to, address, args: got.append((to, address, args)) or True
    yield got
    daemon.server.send = real


def wait_for(got, address, rid, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        hits = [r for r in got if r[1] == address and r[2][:1] == [rid]]
        if hits:
            return hits
        time.sleep(0.01)
    raise AssertionError(f"no {address} {rid}: {got[-5:]}")


SENDER = ("127.0.0.1", 45678)


def test_ping_set_status_and_errors_route_to_the_sender(daemon, replies):
    h = daemon.server.handle
    h(message("/cadenza/ping", [1]), SENDER)
    h(message("/cadenza/set", [2, "temperature", 0.8, "reply_port", 45679]), SENDER)
    h(message("/cadenza/status", [3]), SENDER)
    h(message("/cadenza/set", ["strategy", "beam"]), SENDER)
    assert replies[0] == (SENDER, "/cadenza/pong", [1])
    assert replies[1] == (("127.0.0.1", 45679), "/cadenza/ok", [2, "set", "temperature", pytest.approx(0.8),
                                                                 "reply_port", 45679])
    assert replies[2][:2] == (("127.0.0.1", 45679), "/cadenza/status") and replies[2][2][:2] == [3, "ok"]
    assert replies[3][1] == "/cadenza/error" and "unknown strategy" in replies[3][2][1]
    assert daemon.osc.settings_of(SENDER).temperature == pytest.approx(0.8)
    daemon.osc.clients.forget(SENDER)


def test_a_continuation_is_started_streamed_and_done(daemon, replies):
    # seeded: a chorale model may rest through 4 beats (about 1 draw in 60); seed 2 plays notes, every time
    daemon.server.handle(message("/cadenza/continue", [7, 60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, "beats", 4.0,
                                                       "write_file", 0, "midi", 0, "seed", 2]), SENDER)
    done = wait_for(replies, "/cadenza/done", 7)
    mine = [r[1] for r in replies if r[2][:1] == [7]]
    assert mine[0] == "/cadenza/started" and "/cadenza/notes" in mine and mine[-1] == "/cadenza/done"
    notes = sum((len(r[2]) - 1) // 4 for r in replies if r[1] == "/cadenza/notes" and r[2][:1] == [7])
    assert notes == done[0][2][1]
