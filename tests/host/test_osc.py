"""The OSC protocol over real UDP sockets on 127.0.0.1, against a running daemon."""
from __future__ import annotations

import shutil
import time

import pytest

from bridge.music import parse_midi
from tests.conftest import CORPUS
from bridge.harness.osc import Client

PRIME = [60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, 67, 2.0, 1.0, 90, 72, 3.0, 1.0, 90]


def notes_of(messages, rid):
    flat = [x for a, p in messages if a == "/cadenza/notes" and p[0] == rid for x in p[1:]]
    return [tuple(flat[i:i + 4]) for i in range(0, len(flat), 4)]


def test_ping(client):
    client.send("/cadenza/ping", 41)
    assert client.receive(until=("/cadenza/pong",)) == [("/cadenza/pong", [41])]


def test_continue_streams_notes_midi_file_and_done(client, daemon):
    client.send("/cadenza/continue", 7, *PRIME, "beats", 8.0)
    msgs = client.receive(rid=7)
    kinds = [a for a, _ in msgs]
    assert kinds[0] == "/cadenza/started" and kinds[-1] == "/cadenza/done"
    assert all(p[0] == 7 for _, p in msgs)  # every reply carries the request id
    notes = notes_of(msgs, 7)
    assert notes and msgs[-1][1][1] == len(notes)
    for pitch, start, dur, vel in notes:
        assert 0 <= pitch <= 127 and 0 <= start <= 12.5 and dur > 0 and 1 <= vel <= 127
    blob = next(p[1] for a, p in msgs if a == "/cadenza/midi")
    assert parse_midi(blob).note_count == len(notes)  # the whole continuation as a Standard MIDI File
    path = next(p[1] for a, p in msgs if a == "/cadenza/file")
    assert parse_midi(open(path, "rb").read()).note_count == len(notes)
    assert path.startswith(str(daemon.cfg.outbox.resolve()))


def test_max_hold_setting_reaches_the_generator(client, daemon):
    """`max_hold 0.5`: no new note lasts longer than half a beat (the chorale model's notes mostly last one)."""
    client.send("/cadenza/continue", 13, *PRIME, "beats", 8.0, "max_hold", 0.5, "seed", 3)
    notes = notes_of(client.receive(rid=13), 13)
    assert len(notes) > 8 and max(d for _, s, d, _ in notes) <= 0.5 + 1e-6
    client.send("/cadenza/continue", 14, *PRIME, "beats", 8.0, "seed", 3)
    assert max(d for _, s, d, _ in notes_of(client.receive(rid=14), 14)) > 0.5


def test_max_floats_and_pd_ints_are_both_numbers(client):
    client.send("/cadenza/continue", 8.0, *[float(x) for x in PRIME], types="f" * 17)
    assert client.receive(rid=8)[-1][0] == "/cadenza/done"
    client.send("/cadenza/continue", 9, *[int(x) for x in PRIME], "temperature", 1, types="i" * 17 + "si")
    assert client.receive(rid=9)[-1][0] == "/cadenza/done"


def test_live_notes_then_bare_continue(client):
    for pitch in (62, 65, 69):
        client.send("/cadenza/note", 1, pitch, 100)
        time.sleep(0.05)
        client.send("/cadenza/note", 1, pitch, 0)
    client.send("/cadenza/continue", 11)
    msgs = client.receive(rid=11)
    assert msgs[-1][0] == "/cadenza/done" and notes_of(msgs, 11)
    client.send("/cadenza/continue", 12)  # the stream was used up: nothing left to continue
    assert client.receive(rid=12)[-1] == ("/cadenza/error", [12, "nothing to continue: send prime notes, or "
                                                                  "/cadenza/note first"])


def test_reply_port_set_by_the_client(daemon, client):
    listener = Client(daemon.server.address[1])  # Max's [udpreceive] listens on a port of its own
    try:
        client.send("/cadenza/set", "reply_port", listener.port)
        assert listener.receive(until=("/cadenza/ok",))[0][0] == "/cadenza/ok"
        client.send("/cadenza/continue", 13, *PRIME)
        assert listener.receive(rid=13)[-1][0] == "/cadenza/done"
    finally:
        client.send("/cadenza/set", "reply_port", 0)
        listener.close()


def test_each_client_keeps_its_own_settings(daemon):
    a, b = Client(daemon.server.address[1]), Client(daemon.server.address[1])
    try:
        a.send("/cadenza/set", "beats", 2.0)
        b.send("/cadenza/set", "beats", 12.0)
        a.receive(until=("/cadenza/ok",))
        b.receive(until=("/cadenza/ok",))
        a.send("/cadenza/continue", 1, *PRIME)
        b.send("/cadenza/continue", 1, *PRIME)
        na, nb = notes_of(a.receive(rid=1), 1), notes_of(b.receive(rid=1), 1)
        assert max(s + d for _, s, d, _ in na) <= 2 + 4.01  # a wait token may pass the end by up to a whole note
        assert max(s for _, s, _, _ in nb) > 2
    finally:
        a.close()
        b.close()


@pytest.mark.parametrize("packet, problem", [
    (b"\x00\x01garbage", "malformed OSC packet"),
    (b"#bundle\x00\x00\x00", "malformed OSC packet"),
])
def test_garbage_datagrams_get_an_error(client, packet, problem):
    client.raw(packet)
    (address, params), = client.receive(until=("/cadenza/error",), timeout=5)
    assert params[0] == 0 and problem in params[1]


@pytest.mark.parametrize("args, problem", [
    (("/cadenza/continue", 20, 60, "zero", 1, 90), "note 1 start must be a number, not 'zero'"),
    (("/cadenza/continue", 19, "sixty", 0, 1, 90), "'sixty' is neither a number (note 1's pitch) nor a setting"),
    (("/cadenza/continue", 21, 60, 0, 1), "4 numbers each"),
    (("/cadenza/continue", 22, 200, 0, 1, 90), "pitch 200 is outside 0-127"),
    (("/cadenza/continue", 23, *PRIME, "beats", 1e9), "beats 1000000000.0 is out of range"),
    (("/cadenza/continue", 24, *PRIME, "wobble", 1), "'wobble' is neither a number"),
    (("/cadenza/continue", 32, *PRIME, "max_hold", -5.0), "max_hold -5.0 is out of range"),
    (("/cadenza/generate", 18, "wobble", 1), "unknown setting 'wobble'"),
    (("/cadenza/generate", 25, "strategy", "beam"), "unknown strategy 'beam'"),
    (("/cadenza/generate", 26, "scale", "H major"), "unknown scale"),
    (("/cadenza/generate", 27, "model", "nope"), "no model 'nope'"),
    (("/cadenza/nonsense", 28), "unknown address /cadenza/nonsense"),
    # a name typed a little wrong: the fix named, not only the list
    (("/cadenza/contineu", 33), "unknown address /cadenza/contineu (did you mean '/cadenza/continue'?)"),
    (("/cadenza/continue", 34, *PRIME, "temprature", 0.9), "nor a setting (did you mean 'temperature'?)"),
    (("/cadenza/generate", 35, "temprature", 0.9), "unknown setting 'temprature' (did you mean 'temperature'?)"),
    (("/cadenza/generate", 36, "model", "Piano"), "no model 'Piano' (did you mean 'piano'?)"),
    (("/cadenza/continue", "x"), "request id must be a number"),
    (("/cadenza/continue_file", 29, "/etc/passwd"), "outside the folders this daemon may read"),
    (("/cadenza/continue_file", 30, "../../../etc/passwd"), "outside the folders"),
    (("/cadenza/cancel", 31), "no request 31 to cancel"),
])
def test_bad_requests_get_an_error_that_names_the_problem(client, args, problem):
    client.send(*args)
    msgs = client.receive(until=("/cadenza/error",), timeout=30)
    assert problem in msgs[-1][1][1]
    client.send("/cadenza/ping", 99)  # and the daemon keeps serving
    assert client.receive(until=("/cadenza/pong",))[-1] == ("/cadenza/pong", [99])


def test_continue_file_inside_the_allowed_folders(client, daemon):
    src = CORPUS / "kern" / "bach-370-chorales" / "chor007.krn"
    if not src.exists():
        pytest.skip("corpus not here")
    shutil.copy(src, daemon.cfg.inbox / "in.krn")
    shutil.copy(src, daemon.cfg.allowed_dirs[0] / "other.krn")
    client.send("/cadenza/continue_file", 40, "in.krn")
    assert client.receive(rid=40)[-1][0] == "/cadenza/done"
    client.send("/cadenza/continue_file", 41, str(daemon.cfg.allowed_dirs[0] / "other.krn"))
    assert client.receive(rid=41)[-1][0] == "/cadenza/done"


def test_cancel_mid_generation(client):
    client.send("/cadenza/continue", 50, *PRIME, "beats", 1000.0)
    assert client.receive(until=("/cadenza/started",), timeout=30)
    client.send("/cadenza/cancel", 50)
    msgs = client.receive(rid=50, timeout=30)
    assert msgs[-1] == ("/cadenza/cancelled", [50])


def test_a_full_queue_answers_busy_at_once(daemon):
    from bridge.host.daemon import WORKERS

    many = WORKERS + daemon.cfg.queue + 4  # more than run and wait at once
    c = Client(daemon.server.address[1])
    try:
        for i in range(many):
            c.send("/cadenza/continue", 100 + i, *PRIME, "beats", 200.0)
        busy = [m for m in c.receive(until=("/cadenza/error",), timeout=10) if m[0] == "/cadenza/error"]
        assert "busy" in busy[0][1][1]
    finally:
        for i in range(many):
            c.send("/cadenza/cancel", 100 + i)
        time.sleep(1.0)
        c.close()


def test_sixteen_players_at_once_all_start_before_any_is_done(daemon):
    """Sixteen requests at once (a laptop ensemble, a set's tracks asking at the bar line): each is taken at once
    and flies in the batch with the others, none waits in the queue for another's music to end."""
    c = Client(daemon.server.address[1])
    ids = range(300, 316)
    try:
        for i in ids:
            c.send("/cadenza/continue", i, *PRIME, "beats", 200.0)
        started, seen = set(), []
        deadline = time.time() + 60
        while len(started) < len(ids) and time.time() < deadline:
            seen += c.receive(until=("/cadenza/started", "/cadenza/done", "/cadenza/error"), timeout=60)
            started = {p[0] for a, p in seen if a == "/cadenza/started"}
            assert not [m for m in seen if m[0] in ("/cadenza/done", "/cadenza/error")], seen[-1]
        assert started == set(ids)
    finally:
        for i in ids:
            c.send("/cadenza/cancel", i)
        ended = set()
        deadline = time.time() + 60
        while len(ended) < len(ids) and time.time() < deadline:
            ended |= {p[0] for a, p in c.receive(timeout=60) if a in ("/cadenza/done", "/cadenza/cancelled",
                                                                      "/cadenza/error")}
        c.close()


def test_models_status_and_load(client):
    client.send("/cadenza/models", 60)
    (addr, params), = client.receive(until=("/cadenza/models",))
    assert params[0] == 60 and "chorale" in params[1:]
    client.send("/cadenza/status", 61)
    (addr, params), = client.receive(until=("/cadenza/status",))
    assert params[:2] == [61, "ok"]
    client.send("/cadenza/load", 62, "chorale")
    assert client.receive(until=("/cadenza/loaded", "/cadenza/error"))[-1] == ("/cadenza/loaded", [62, "chorale"])


def test_an_id_may_be_reused_as_soon_as_its_reply_is_done(client):
    for _ in range(5):
        client.send("/cadenza/continue", 77, *PRIME, "beats", 2.0)
        assert client.receive(rid=77)[-1][0] == "/cadenza/done"


def test_a_bundle_with_a_future_time_tag_is_handled_at_once(client):
    from pythonosc.osc_bundle_builder import OscBundleBuilder
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscBundleBuilder(time.time() + 3600)  # an hour from now: python-osc's own server would sleep
    for rid in (201, 202):
        m = OscMessageBuilder(address="/cadenza/ping")
        m.add_arg(rid)
        b.add_content(m.build())
    t = time.time()
    client.raw(b.build().dgram)
    got = client.receive(until=("/cadenza/pong",), timeout=5) + client.receive(until=("/cadenza/pong",), timeout=5)
    assert [p for _, p in got] == [[201], [202]] and time.time() - t < 2


def test_the_allowlist_admits_only_the_listed_clients():
    from bridge.host.osc import OscServer

    s = OscServer("127.0.0.1", 0, {}, allow=["192.168.1.0/24", "10.0.0.7"])
    try:
        assert s.allowed("192.168.1.42") and s.allowed("10.0.0.7")
        assert not s.allowed("10.0.0.8") and not s.allowed("127.0.0.1") and not s.allowed("not-an-ip")
        open_server = OscServer("127.0.0.1", 0, {})
        assert open_server.allowed("127.0.0.1")
        open_server.stop()
    finally:
        s.stop()


def test_the_default_listens_on_loopback_only():
    from bridge.host.config import ServeConfig

    assert ServeConfig().host == "127.0.0.1" and ServeConfig().port == 9000


def test_controls_over_osc(client):
    """The controls are request pairs like any setting: polyphony_max 1 and a velocity range hold for every
    note sent back; a contradiction is one /cadenza/error naming the settings, before any work."""
    client.send("/cadenza/continue", 15, *PRIME, "beats", 8.0, "seed", 3, "polyphony_max", 1,
                "velocity_range", "30-45")
    notes = notes_of(client.receive(rid=15), 15)
    assert len(notes) > 4 and all(30 <= v <= 45 for *_, v in notes)
    ends = sorted((s, s + d) for _, s, d, _ in notes)
    assert all(b[0] >= a[1] - 1e-6 for a, b in zip(ends, ends[1:]))  # one note at a time
    client.send("/cadenza/continue", 16, *PRIME, "polyphony_min", 3, "polyphony_max", 2)
    assert client.receive(rid=16) == [("/cadenza/error", [16, "polyphony_min 3 is above polyphony_max 2"])]


BEAT = [p for i in range(8) for p in ((36, i * 1.0, 0.25, 110) if i % 2 == 0 else (38, i * 1.0, 0.25, 100))] + \
    [p for i in range(16) for p in (42, i * 0.5, 0.25, 80)]
GM_DRUMS = {36, 38, 42, 46, 43, 47, 50, 49, 51}


def _groove_here():
    from bridge import store

    try:
        store.find("groove")
    except Exception:
        pytest.skip("no groove model in the store")


def test_groove_drumify_and_interpolate_over_osc(client, daemon):
    """Notes in, the drum part's notes back (the groove model, whatever the client's `model`), a file, done."""
    _groove_here()
    client.send("/cadenza/groove", 21, *BEAT, "swing", 0.3)
    msgs = client.receive(rid=21)
    notes = notes_of(msgs, 21)
    assert msgs[-1] == ("/cadenza/done", [21, len(notes)]) and len(notes) == len(BEAT) // 4  # every hit kept
    assert sorted(n[0] for n in notes) == sorted(BEAT[0::4])
    assert any(abs(s - round(s * 4) / 4) > 1e-3 for _, s, _, _ in notes)  # played off the grid
    path = next(p[1] for a, p in msgs if a == "/cadenza/file")
    assert any(t.is_drum for t in parse_midi(open(path, "rb").read()).tracks)

    client.send("/cadenza/drumify", 22, *PRIME, "variations", 2, "density", 1.0, "seed", 4)
    msgs = client.receive(rid=22)
    assert ("/cadenza/info", [22, "no drums here: the notes' onsets are the rhythm the kit plays"]) in msgs
    first = notes_of(msgs, 22)
    second = [p for a, p in msgs if a == "/cadenza/variation" and p[1] == 2]
    assert first and second and {n[0] for n in first} <= GM_DRUMS and len(first) == 4  # 1 a beat, 4 beats

    ride = [x for i in range(8) for x in (51, i * 1.0, 0.5, 90)]
    client.send("/cadenza/interpolate", 23, len(BEAT) // 4, *BEAT, *ride, "steps", 3)
    msgs = client.receive(rid=23)
    assert msgs[-1][0] == "/cadenza/done"
    assert sorted({p[1] for a, p in msgs if a == "/cadenza/variation"}) == [2, 3]


@pytest.mark.parametrize("address,args,problem", [
    ("/cadenza/groove", [100, 0.0, 1.0, 90, 101, 1.0, 1.0, 90], "no drums to groove"),  # no drum sound there
    ("/cadenza/interpolate", [9] + PRIME, "count_a 9"),
    ("/cadenza/drumify", [], "send the notes"),
])
def test_drum_requests_explain_bad_input(client, address, args, problem):
    _groove_here()
    client.send(address, 24, *args)
    msgs = client.receive(rid=24)
    assert msgs[-1][0] == "/cadenza/error" and problem in msgs[-1][1][1]


def test_messages_of_numbers_are_the_bytes_python_osc_builds():
    """The notes a chunk streams are packed at once; the bytes are python-osc's, and other arguments still
    go through its builder."""
    import random

    from pythonosc.osc_message_builder import OscMessageBuilder

    from bridge.host.osc import build_message

    rng = random.Random(3)
    for n in range(60):
        args = [rng.choice([rng.randint(-2**31, 2**31 - 1), rng.uniform(-1e6, 1e6), rng.choice([True, False]),
                            float("inf"), 0, 0.5]) for _ in range(n % 13 * 10)]
        address = "/cadenza/" + "n" * (n % 7)
        b = OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(int(a) if isinstance(a, bool) else a, "f" if isinstance(a, float) else "i")
        assert build_message(address, args) == b.build().dgram
    mixed = build_message("/cadenza/error", [3, "bad ümlaut", b"\x01\x02", 2**40])
    b = OscMessageBuilder(address="/cadenza/error")
    for a, t in ((3, "i"), ("bad ümlaut", "s"), (b"\x01\x02", "b"), (2**40, "h")):
        b.add_arg(a, t)
    assert mixed == b.build().dgram
