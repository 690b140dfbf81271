"""The MIDI clock follower and jam's accompany mode, without ports: messages fed with their times."""
from __future__ import annotations

import time

import mido
import pytest

from bridge.host.timing import PPQN, InternalClock, MidiClock


def ticks(clock, t, n, qpm):
    for _ in range(n):
        t += 60 / qpm / PPQN
        clock.feed(mido.Message("clock"), t)
    return t


def test_start_stop_continue_and_song_position():
    c = MidiClock(100.0)
    t = 10.0
    t = ticks(c, t, 48, 120)  # clock while stopped: the tempo is known, the beat does not move
    assert c.qpm == pytest.approx(120, abs=0.01) and c.beat_at(t) == 0
    c.feed(mido.Message("start"), t)
    t = ticks(c, t, 48, 120)
    assert c.beat_at(t) == pytest.approx(2.0, abs=1e-6)
    assert c.beat_at(t + 0.25) == pytest.approx(2.5, abs=1e-6)  # between ticks, at the tempo
    c.feed(mido.Message("stop"), t)
    t = ticks(c, t, 24, 120)
    assert c.beat_at(t + 1) == pytest.approx(2.0, abs=1e-6)  # stopped: the beat stays
    c.feed(mido.Message("songpos", pos=32), t)  # 32 sixteenths: beat 8
    c.feed(mido.Message("continue"), t)
    t = ticks(c, t, 12, 120)
    assert c.beat_at(t) == pytest.approx(8.5, abs=1e-6)
    assert c.time_at(9.0) == pytest.approx(t + 0.25, abs=1e-6)


def test_internal_clock_keeps_its_beat_across_a_tempo_change():
    c = InternalClock(120.0, start=time.monotonic() - 1.0)
    before = c.beat_at()
    c.set_tempo(60.0)
    assert c.beat_at() == pytest.approx(before, abs=0.01) and c.qpm == 60.0


def test_accompany_answers_at_the_bar_lines(tmp_path):
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon
    from bridge.harness.osc import Client
    from tests.host.conftest import MODEL

    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False,
                           jam=True, jam_mode="accompany", jam_bars=1, qpm=240.0))
    d.start()
    d.wait_ready(120)
    c = Client(d.server.address[1])
    try:
        for p in (60, 64, 67):  # a phrase over /cadenza/note, answered at the next bar line, back over OSC
            c.send("/cadenza/note", 1, p, 90)
            time.sleep(0.1)
            c.send("/cadenza/note", 1, p, 0)
        # every bar line answers, and each answer goes back to the player over OSC (the first used to be the only
        # one: when a chorale model rested that bar, about 1 in 60, the player heard nothing more)
        notes = []
        for _ in range(3):
            got = c.receive(until=("/cadenza/jam/done", "/cadenza/jam/error"), timeout=30)
            assert got[-1][0] == "/cadenza/jam/done"
            notes.append(got[-1][1][1])
        assert sum(notes) > 0
    finally:
        c.close()
        d.stop()
    bar = d.live.bar_beats()
    assert d.live.answer_log
    for log in d.live.answer_log:
        beat = d.live.internal.beat_at(log["downbeat"])
        assert abs(beat / bar - round(beat / bar)) < 1e-6  # on a bar line of the daemon's clock
