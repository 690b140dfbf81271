"""One request, many doors: the same prime file and settings (seed fixed) through `cadenza continue`, OSC
`continue_file` and the watch folder give byte-identical MIDI, and OSC notes give the same new notes."""
from __future__ import annotations

import shutil
import time

import pytest

from bridge.cli import main
from bridge.music import CONTINUATION, read_midi
from tests.conftest import ROOT
from bridge.harness.osc import Client
from tests.test_continuation import prime_file

MODELS = [m for m in ("chorale", "piano", "messages", "sonata-kern") if (ROOT / "models" / m / "cadenza.json").is_file()]


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    if not MODELS:
        pytest.skip("no shipped models")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("doors")
    primes = root / "primes"
    primes.mkdir()
    prime_file(primes / "waltz.mid", [(0, 90.0)], (3, 4), drums=False)
    from bridge.harness.net import free_tcp_port

    d = Daemon(ServeConfig(port=0, model=MODELS[0], inbox=root / "inbox", outbox=root / "outbox",
                           allowed_dirs=[primes], beats=4.0, http_port=free_tcp_port()))
    d.start()
    yield d, root, primes / "waltz.mid"
    d.stop()


def through_the_page(daemon, prime, settings) -> bytes:
    """The page's door, as its script uses it: upload the file, ask, read the events, download the MIDI."""
    import http.client
    import json

    host, port = daemon.web.address
    head = {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}", "X-Cadenza-Token": daemon.web.token}

    def call(method, path, body=None, headers=None):
        c = http.client.HTTPConnection(host, port, timeout=120)
        c.request(method, path, body=body, headers={**head, **(headers or {})})
        r = c.getresponse()
        data = r.read()
        c.close()
        assert r.status == 200, data
        return data

    boundary = "cadenza-test-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{prime.name}\"\r\n"
            f"Content-Type: audio/midi\r\n\r\n").encode() + prime.read_bytes() + f"\r\n--{boundary}--\r\n".encode()
    up = json.loads(call("POST", "/api/upload", body, {"Content-Type": f"multipart/form-data; boundary={boundary}"}))
    out = call("POST", "/api/jobs", json.dumps({"settings": settings, "prime": {"kind": "upload", "id": up["id"]}}),
               {"Content-Type": "application/json"})
    events = [json.loads(line[6:]) for line in out.decode().splitlines() if line.startswith("data: ")]
    assert events[-1]["type"] == "done", events[-1]
    fid = [e["id"] for e in events if e["type"] == "file"][0]
    return call("GET", f"/api/files/{fid}")


def new_notes(score):
    """The continuation's notes as (pitch, start beats from the continuation, duration beats, velocity)."""
    mark = [m.tick for m in score.markers if m.text == CONTINUATION]
    start = mark[0] if mark else 0
    track = [t for t in score.tracks if t.name == "Cadenza continuation"]
    return sorted((n.pitch, round((n.start - start) / score.tpq, 4), round((n.end - n.start) / score.tpq, 4),
                   n.velocity) for t in track for n in t.notes)


@pytest.mark.parametrize("model", MODELS)
def test_every_door_gives_the_same_music(doors, tmp_path, model):
    daemon, root, prime = doors
    settings = ["beats", 6.0, "seed", 5, "temperature", 0.9, "model", model]
    # 1. the command line
    cli_out = tmp_path / "cli.mid"
    assert main(["continue", str(prime), "--model", model, "--beats", "6", "--seed", "5", "--temperature", "0.9",
                 "--out", str(cli_out)]) == 0
    cli = cli_out.read_bytes()
    # 2. OSC continue_file
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/continue_file", 1, str(prime), *settings)
        got = c.receive(rid=1, timeout=120)
        assert got[-1][0] == "/cadenza/done", got[-1]
        path = [p[1] for a, p in got if a == "/cadenza/file"][0]
        osc_file = open(path, "rb").read()
        # 3. OSC notes: the prime's notes in beats, at the file's tempo
        score = read_midi(prime)
        flat = []
        for n in score.notes():
            flat += [n.pitch, n.start / score.tpq, (n.end - n.start) / score.tpq, n.velocity]
        c.send("/cadenza/continue", 2, *flat, *settings, "qpm", 90.0, "meter", "3/4")
        got = c.receive(rid=2, timeout=120)
        assert got[-1][0] == "/cadenza/done", got[-1]
        streamed = sorted((p[i], round(p[i + 1], 4), round(p[i + 2], 4), p[i + 3])
                          for a, p in got if a == "/cadenza/notes" for i in range(1, len(p), 4))
    finally:
        c.close()
    # 4. the watch folder, with a sidecar TOML
    inbox = daemon.cfg.inbox
    stem = f"waltz-{model}"
    (inbox / f"{stem}.toml").write_text(f'beats = 6\nseed = 5\ntemperature = 0.9\nmodel = "{model}"\n')
    shutil.copy(prime, inbox / f"{stem}.mid")
    out = daemon.cfg.outbox / f"{stem}.cadenza.mid"
    deadline = time.time() + 120
    while not out.exists() and time.time() < deadline:
        time.sleep(0.1)
    watch = out.read_bytes()

    page = through_the_page(daemon, prime, {"beats": 6, "seed": 5, "temperature": 0.9, "model": model})

    assert cli == osc_file == watch == page  # byte-identical MIDI
    written = new_notes(read_midi(cli_out))
    assert written, "no new notes"
    assert len(streamed) == len(written)
    for a, b in zip(streamed, written):
        assert a[0] == b[0] and a[3] == b[3] and abs(a[1] - b[1]) < 2e-3 and abs(a[2] - b[2]) < 2e-3


def test_harmonize_gives_the_same_parts_through_every_door(doors, tmp_path):
    """`cadenza harmonize`, the watch folder's task = "harmonize" (the same bytes) and OSC /cadenza/harmonize
    (the same parts, streamed)."""
    if not (ROOT / "models" / "chorale-harmony" / "cadenza.json").is_file():
        pytest.skip("no shipped harmony model")
    from tests.generation.test_harmonize import TUNE, tune_file

    daemon, root, _ = doors
    tune = tune_file(tmp_path / "tune.mid", qpm=90.0)
    cli_out = tmp_path / "cli.mid"
    assert main(["harmonize", str(tune), "--seed", "4", "--temperature", "0.9", "--out", str(cli_out)]) == 0
    parts = sorted((n.pitch, n.start / 960, (n.end - n.start) / 960, n.velocity)
                   for n in read_midi(cli_out).tracks[-1].notes)
    assert parts
    flat, t = [], 0.0
    for p, d in TUNE:
        flat += [p, t, float(d), 96]
        t += d
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/harmonize", 7, *flat, "seed", 4, "temperature", 0.9, "qpm", 90.0)
        got = c.receive(rid=7, timeout=120)
    finally:
        c.close()
    assert got[-1][0] == "/cadenza/done", got[-1]
    streamed = sorted((p[i], p[i + 1], p[i + 2], p[i + 3]) for a, p in got if a == "/cadenza/notes"
                      for i in range(1, len(p), 4))
    assert len(streamed) == len(parts)
    for a, b in zip(streamed, parts):
        assert a[0] == b[0] and a[3] == b[3] and abs(a[1] - b[1]) < 2e-3 and abs(a[2] - b[2]) < 2e-3
    inbox = daemon.cfg.inbox
    (inbox / "tune-h.toml").write_text('task = "harmonize"\nseed = 4\ntemperature = 0.9\n')
    shutil.copy(tune, inbox / "tune-h.mid")
    out = daemon.cfg.outbox / "tune-h.cadenza.mid"
    deadline = time.time() + 120
    while not out.exists() and time.time() < deadline:
        time.sleep(0.1)
    assert out.read_bytes() == cli_out.read_bytes()
