"""A task that fails for any reason, even a fault in Cadenza itself after the first notes went out, answers
its door: OSC gets /cadenza/error, the page's stream ends with an error event, the watched file goes to
failed/ with its reason, and the daemon goes on serving."""
from __future__ import annotations

import json
import shutil
import time

import pytest

from tests.conftest import ROOT
from bridge.harness.osc import Client
from tests.host.conftest import MODEL
from bridge.harness.net import free_tcp_port
from tests.web.test_page import request, sse

PRIME = [60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, 67, 2.0, 1.0, 90]


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("failures")
    d = Daemon(ServeConfig(port=0, http_port=free_tcp_port(), model=MODEL, inbox=root / "inbox",
                           outbox=root / "outbox", beats=4.0))
    d.start()
    d.wait_ready(120)
    yield d
    d.stop()


@pytest.fixture
def broken_writer(monkeypatch):
    """A fault in Cadenza after the notes were streamed: writing the file raises."""
    import bridge.generation as generation

    def broken(*args, **kwargs):
        raise RuntimeError("a fault injected by the test")

    monkeypatch.setattr(generation, "continuation_of", broken)  # the name every caller imports


def test_osc_gets_its_notes_then_an_error_and_the_daemon_goes_on(daemon, broken_writer):
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/continue", 5, *PRIME, "write_file", 1)
        got = c.receive(rid=5, timeout=60)
        addresses = [a for a, _ in got]
        assert "/cadenza/notes" in addresses and addresses[-1] == "/cadenza/error"
        assert "RuntimeError" in got[-1][1][1] and "log" in got[-1][1][1]
        c.send("/cadenza/ping", 6)
        assert c.receive(until=("/cadenza/pong",), timeout=10)[-1] == ("/cadenza/pong", [6])
    finally:
        c.close()
    from bridge.host.daemon import WORKERS

    assert daemon.jobs.alive == WORKERS  # no worker died


def test_the_page_stream_ends_with_an_error_event(daemon, broken_writer):
    host, port = daemon.web.address
    body = json.dumps({"settings": {"beats": 4}, "prime": {"kind": "none"}})
    status, out = request(daemon, "POST", "/api/jobs", {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}",
                                                        "X-Cadenza-Token": daemon.web.token,
                                                        "Content-Type": "application/json"}, body.encode())
    events = sse(out)
    assert status == 200 and any(e["type"] == "notes" for e in events)
    assert events[-1]["type"] == "error" and "RuntimeError" in events[-1]["message"]


def test_the_watched_file_goes_to_failed_with_its_reason(daemon, broken_writer, tmp_path):
    from tests.test_continuation import prime_file

    prime_file(tmp_path / "doomed.mid", [(0, 100.0)], (4, 4))
    shutil.copy(tmp_path / "doomed.mid", daemon.cfg.inbox / "doomed.mid")
    note = daemon.cfg.inbox / "failed" / "doomed.error.txt"
    deadline = time.time() + 60
    while not note.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert "RuntimeError" in note.read_text()
    assert (daemon.cfg.inbox / "failed" / "doomed.mid").read_bytes() == (tmp_path / "doomed.mid").read_bytes()


@pytest.mark.parametrize("sidecar,problem", [
    (b"beats = \xff\xfe 8\n", "not UTF-8"),
    (b"x = " + b"[" * 50_000 + b"]" * 50_000 + b"\n", "nested too deeply"),
    # a name typed a little wrong: the sidecar named, and the fix
    (b"temprature = 0.9\n", "side17.toml: unknown setting 'temprature' (did you mean 'temperature'?)"),
    (b'task = "harmonise"\n', "side19.toml: task 'harmonise' (did you mean 'harmonize'?): choose one of"),
])
def test_a_hostile_sidecar_sends_the_file_to_failed(daemon, tmp_path, sidecar, problem):
    from tests.test_continuation import prime_file

    stem = f"side{len(sidecar)}"
    prime_file(tmp_path / f"{stem}.mid", [(0, 100.0)], (4, 4))
    (daemon.cfg.inbox / f"{stem}.toml").write_bytes(sidecar)
    shutil.copy(tmp_path / f"{stem}.mid", daemon.cfg.inbox / f"{stem}.mid")
    note = daemon.cfg.inbox / "failed" / f"{stem}.error.txt"
    deadline = time.time() + 60
    while not note.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert problem in note.read_text()


def test_an_absurd_tempo_is_refused_by_name(daemon, tmp_path):
    """A file at one microsecond a beat (60,000,000 qpm) would ask for 130,000 beats of music."""
    from bridge.music import Score, Tempo, write_midi

    score = Score.from_beats([(60, 0.0, 1.0, 90), (62, 1.0, 1.0, 90)], qpm=120.0)
    write_midi(score.replace(tempos=(Tempo(0, 1),)), daemon.cfg.inbox / ".fast.mid")  # a dot: not for the watcher
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/continue_file", 9, ".fast.mid")
        got = c.receive(rid=9, timeout=60)
    finally:
        c.close()
    assert got[-1][0] == "/cadenza/error" and "qpm" in got[-1][1][1]


def test_interpolate_refuses_a_fractional_count(daemon):
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/interpolate", 3, 3.5, *([36, 0.0, 0.5, 100] * 4), *([38, 0.0, 0.5, 100] * 4))
        got = c.receive(rid=3, timeout=20)
    finally:
        c.close()
    assert got[-1][0] == "/cadenza/error" and "count_a" in got[-1][1][1]


def test_drum_requests_honour_timed_too(daemon):
    """`timed 1` sends each note again time-tagged with when it sounds, for a groove as for a continuation."""
    if not (ROOT / "models" / "groove" / "cadenza.json").is_file():
        pytest.skip("no groove model")
    beat = [36, 0.0, 0.25, 100, 42, 0.0, 0.25, 80, 38, 1.0, 0.25, 100, 42, 1.5, 0.25, 70, 36, 2.0, 0.25, 100]
    c = Client(daemon.server.address[1])
    try:  # the model loaded first: on an empty cache its first load holds the interpreter, and the arrival stamp
        c.send("/cadenza/groove", 5, *beat, "write_file", 0)
        assert c.receive(rid=5, timeout=60)[-1][0] == "/cadenza/done"
        sent = time.time()
        c.send("/cadenza/groove", 4, *beat, "timed", 1, "latency", 0.5, "qpm", 120.0, "write_file", 0)
        plays, notes, end = c.timed()
        ended = time.time()
    finally:
        c.close()
    assert end == "/cadenza/done"
    assert notes and len(plays) == len(notes)
    first = min(start for _, start, _, _ in notes)  # it sounds the latency after the request came, which was
    # between sending it and its end (on a loaded machine the daemon may read it late; never early)
    assert sent - 0.02 <= min(t for t, _ in plays) - (0.5 + first * 0.5) <= ended + 0.02
