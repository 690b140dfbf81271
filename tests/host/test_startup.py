"""Ready in a second: the daemon answers before its model is loaded, a request that comes first waits for
it, generation never imports TensorFlow once a model's arrays are cached, and reloads leak no threads."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

from tests.conftest import ROOT
from bridge.harness.osc import Client
from tests.host.conftest import MODEL

PRIME = [60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90]


def test_a_request_sent_at_launch_waits_for_the_model_and_completes(tmp_path):
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False))
    d.start()  # returns before the model is loaded
    c = Client(d.server.address[1])
    try:
        c.send("/cadenza/ping", 1)
        c.send("/cadenza/continue", 2, *PRIME, "beats", 2.0)
        got = c.receive(rid=2, timeout=120)
        assert ("/cadenza/pong", [1]) in got and got[-1][0] == "/cadenza/done"
        c.send("/cadenza/status", 3)
        assert c.receive(until=("/cadenza/status",))[-1][1][:2] == [3, "ok"]
    finally:
        c.close()
        d.stop()


def test_a_first_run_on_a_new_machine_tells_the_musician_what_the_request_waits_for(tmp_path):
    """Without `cadenza warm`, the first request on a new machine or path (or after an upgrade) waits while
    Cadenza is compiled for it (~30 s): the musician is told so at once (/cadenza/info before /cadenza/started),
    not left with silence, and SIGTERM (Ctrl-C) stops the daemon meanwhile; a model loaded and compiled tells
    nothing."""
    from bridge.host.models import ModelStore

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}  # a new machine: nothing compiled yet
    log = tmp_path / "serve.log"
    args = [sys.executable, "-m", "bridge", "serve", "--port", "0", "--http-port", "0", "--model", MODEL,
            "--inbox", str(tmp_path / "in"), "--outbox", str(tmp_path / "out")]
    with open(log, "w") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    c = None
    try:
        deadline = time.monotonic() + 60
        while not (ready := re.search(r"ready on 127\.0\.0\.1:(\d+)", log.read_text())) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert ready, log.read_text()[-2000:]
        c = Client(int(ready.group(1)))
        c.send("/cadenza/continue", 1, *PRIME, "beats", 2.0)
        got = c.receive(until=("/cadenza/info", "/cadenza/started"), timeout=30)
        assert got[-1][0] == "/cadenza/info", got  # before anything else: the music comes once it is compiled
        rid, text = got[-1][1]
        assert rid == 1 and "compiled for this machine" in text and "cadenza warm" in text
        deadline = time.monotonic() + 30  # and the daemon's log, for whoever runs it
        while "compiling Cadenza for this machine" not in log.read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "compiling Cadenza for this machine" in log.read_text()
    finally:
        if c is not None:
            c.close()
        os.killpg(proc.pid, signal.SIGTERM)  # mid-compiling, a request waiting: it stops without the compile's end
        try:
            proc.wait(8)  # (it waited 10 s for the worker, which waited the compile out)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0

    models = ModelStore(MODEL)  # this process's kernels are compiled
    models.get()
    assert models.compiling() is None


def test_reloads_leave_no_threads_behind():
    """Five reloads of a model whose files changed, in this process (`bench serve`, run below in a process of its
    own, counts twenty): a thread left behind by each would show five."""
    from bridge.harness.measure import reload_threads

    before = threading.active_count()
    r = reload_threads(MODEL, reloads=5)
    assert r["threads_after"] == r["threads_before"] and threading.active_count() <= before + 2


def test_serving_a_cached_model_never_imports_tensorflow():
    code = ("import sys, numpy as np\n"
            "from bridge import store\n"
            "from bridge.generation import Request, continue_ids\n"
            f"store.load({MODEL!r})\n"  # the first load may fill the array cache through Keras
            "for m in [k for k in sys.modules if k.split('.')[0] in ('tensorflow', 'keras')]: del sys.modules[m]\n")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=300)
    code = ("import sys, numpy as np\n"
            "from bridge import store\n"
            "from bridge.generation import Request, continue_ids\n"
            f"loaded = store.load({MODEL!r})\n"
            "r = continue_ids(loaded, loaded.codec.empty(), Request(beats=4, seed=1))\n"
            "print(len(r.new[0]), 'tensorflow' in sys.modules, 'keras' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    n, tf, keras = out.stdout.split()
    assert int(n) > 0 and tf == "False" and keras == "False", out.stderr[-2000:]


def test_bench_serve_prints_every_figure():
    r = subprocess.run([sys.executable, "-m", "bridge", "bench", "serve", "--model", MODEL, "--models", MODEL,
                        "--json"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    f = json.loads(r.stdout)
    assert f["launch_to_first_pong_s"] > 0 and f["launch_to_first_notes_s"] >= f["launch_to_first_pong_s"]
    assert f["idle_rss_mb"] > 0 and f["first_vs_warm"][MODEL]["ratio"] > 0
    assert f["reload"]["threads_after"] == f["reload"]["threads_before"]
