"""`cadenza train --distribute multiworker`: two worker processes on 127.0.0.1 train as one (their weights
agree after every step), the chief alone exports, and a run whose worker stops answering stops with its
checkpoint kept, which then goes on with one worker."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CHORALES, ROOT, cadenza
from bridge.harness.net import free_udp_port



def worker(index: int, ports: list[int], tmp, runs: str, epochs: int, steps: int = 3, extra=()) -> subprocess.Popen:
    env = dict(os.environ, CADENZA_LOG_WEIGHT_SUMS="1", TF_CPP_MIN_LOG_LEVEL="2",
               TF_CONFIG=json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                     "task": {"type": "worker", "index": index}}))
    args = [sys.executable, "-m", "bridge", "train", str(CHORALES), "--codec", "notewise", "--name", "dist",
            "--layers", "1", "--units", "32", "--seq-len", "64", "--batch", "16", "--steps-per-epoch", str(steps),
            "--epochs", str(epochs), "--max-files", "24", "--distribute", "multiworker", "--out", str(tmp / "store"),
            "--runs", str(tmp / runs), *extra]
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def sums(out: str) -> list[tuple]:
    return [(int(e), int(s), float(v)) for e, s, v in re.findall(r"weights epoch (\d+) step (\d+) ([\d.]+)", out)]


@pytest.mark.skipif(not CHORALES.is_dir(), reason="corpus not here")
def test_two_workers_agree_after_every_step(tmp_path):
    ports = [free_udp_port(), free_udp_port()]
    procs = [worker(i, ports, tmp_path, "runs", 2) for i in (0, 1)]  # one runs folder, as on a shared disk
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs[0][-2000:] + outs[1][-2000:]
    a, b = sums(outs[0]), sums(outs[1])
    assert len(a) == 6 and a == b  # 2 epochs x 3 steps, the same weights on both workers after each
    assert "(2 replicas," in outs[0]
    assert (tmp_path / "store" / "dist" / "cadenza.json").is_file()
    meta = json.loads((tmp_path / "store" / "dist" / "cadenza.json").read_text())
    assert meta["training"]["distribute"] == "multiworker" and meta["training"]["epochs_run"] == 2
    run = tmp_path / "runs" / "dist"
    assert sorted(p.name for p in run.iterdir()) == ["distributed", "prepared-0-worker0", "prepared-0-worker1"]
    # going on from the chief's checkpoint with one worker: the last test



def test_multiworker_without_tf_config_is_explained(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    r = cadenza("train", CHORALES, "--codec", "notewise", "--name", "x", "--distribute", "multiworker",
                "--max-files", "4", "--out", tmp_path, "--runs", tmp_path / "r")
    assert r.returncode != 0 and "reads the cluster from TF_CONFIG" in r.stderr
    r = cadenza("train", CHORALES, "--codec", "notewise", "--name", "x", "--distribute", "multiworker",
                "--worker-timeout", "-1", "--out", tmp_path, "--runs", tmp_path / "r")
    assert r.returncode != 0 and "--worker-timeout -1: seconds, above 0" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.skipif(not CHORALES.is_dir(), reason="corpus not here")
def test_a_worker_that_stops_answering_stops_the_run_with_its_checkpoint_kept(tmp_path):
    """Worker 1 hangs mid-epoch (SIGSTOP: its connections stay open, as with a frozen host): worker 0 stops
    with a message saying so and where the checkpoint is, not a traceback or a hang; the checkpoint then
    goes on with one worker and the model is exported."""
    import signal
    import threading
    import time

    ports = [free_udp_port(), free_udp_port()]
    # 3 s: well under the coordination service's heartbeats, which give up on a frozen worker 10 s after the last
    # one it sent (8-9 s after it froze, here; sooner on a loaded machine), so that the watch speaks first
    procs = [worker(i, ports, tmp_path, f"runs{i}", 4, steps=40, extra=("--worker-timeout", "3")) for i in (0, 1)]
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(procs[0].stdout), daemon=True)
    reader.start()
    try:
        deadline = time.time() + 240
        # frozen in the middle of epoch 2, once worker 0 is among its steps (not while it saves its checkpoint)
        mid = "weights epoch 1 step 1 "
        while not any(ln.startswith(mid) for ln in lines) and time.time() < deadline:
            time.sleep(0.1)
        assert any(ln.startswith(mid) for ln in lines), "".join(lines)[-2000:]
        procs[1].send_signal(signal.SIGSTOP)
        procs[0].wait(timeout=180)
        reader.join(timeout=10)
    finally:
        procs[1].kill()
        procs[0].kill()
    out = "".join(lines)
    assert procs[0].returncode == 1
    # said by the worker's own watch, before TensorFlow aborts the collective (which sometimes segfaulted)
    assert "cadenza: error: a worker left the run at epoch 2" in out
    assert "(no answer from the other workers within 3 s)" in out, out[-1500:]
    assert "the checkpoint of epoch 1 is kept in" in out and "Traceback" not in out
    one = worker(0, [free_udp_port()], tmp_path, "runs0", 2, steps=3)
    resumed = one.communicate(timeout=300)[0]
    assert one.returncode == 0, resumed[-2000:]
    assert [e for e, _, _ in sums(resumed)] == [1, 1, 1] and "(1 replicas," in resumed
    meta = json.loads((tmp_path / "store" / "dist" / "cadenza.json").read_text())
    assert meta["training"]["resumed"] is True and meta["training"]["epochs_run"] == 1
