"""`cadenza train --distribute multiworker`: two worker processes on 127.0.0.1 train as one (their weights
agree after every step), the chief alone exports, and a run resumes from its checkpoint on one worker."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, ROOT, free_port

CHORALES = CORPUS / "kern" / "bach-370-chorales"


def worker(index: int, ports: list[int], tmp, runs: str, epochs: int) -> subprocess.Popen:
    env = dict(os.environ, CADENZA_LOG_WEIGHT_SUMS="1", TF_CPP_MIN_LOG_LEVEL="2",
               TF_CONFIG=json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                     "task": {"type": "worker", "index": index}}))
    args = [sys.executable, "-m", "bridge", "train", str(CHORALES), "--codec", "notewise", "--name", "dist",
            "--layers", "1", "--units", "32", "--seq-len", "64", "--batch", "16", "--steps-per-epoch", "3",
            "--epochs", str(epochs), "--max-files", "24", "--distribute", "multiworker", "--out", str(tmp / "store"),
            "--runs", str(tmp / runs)]
    return subprocess.Popen(args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def sums(out: str) -> list[tuple]:
    return [(int(e), int(s), float(v)) for e, s, v in re.findall(r"weights epoch (\d+) step (\d+) ([\d.]+)", out)]


@pytest.mark.skipif(not CHORALES.is_dir(), reason="corpus not here")
def test_two_workers_agree_after_every_step_and_resume_on_one(tmp_path):
    ports = [free_port(), free_port()]
    procs = [worker(i, ports, tmp_path, f"runs{i}", 2) for i in (0, 1)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outs[0][-2000:] + outs[1][-2000:]
    a, b = sums(outs[0]), sums(outs[1])
    assert len(a) == 6 and a == b  # 2 epochs x 3 steps, the same weights on both workers after each
    assert "(2 replicas)" in outs[0]
    assert (tmp_path / "store" / "dist" / "cadenza.json").is_file()
    meta = json.loads((tmp_path / "store" / "dist" / "cadenza.json").read_text())
    assert meta["training"]["distribute"] == "multiworker" and meta["training"]["epochs_run"] == 2
    assert not (tmp_path / "runs1" / "dist" / "distributed").exists()  # only the chief keeps the checkpoint
    # the chief's checkpoint goes on with one worker: from epoch 3, where the two left off
    one = worker(0, [free_port()], tmp_path, "runs0", 3)
    out = one.communicate(timeout=300)[0]
    assert one.returncode == 0, out[-2000:]
    c = sums(out)
    assert [e for e, _, _ in c] == [2, 2, 2] and "(1 replicas)" in out


def test_multiworker_without_tf_config_is_explained(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    r = subprocess.run([sys.executable, "-m", "bridge", "train", str(CHORALES), "--codec", "notewise", "--name", "x",
                        "--distribute", "multiworker", "--max-files", "4", "--out", str(tmp_path), "--runs",
                        str(tmp_path / "r")], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode != 0 and "reads the cluster from TF_CONFIG" in r.stderr
