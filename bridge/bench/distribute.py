"""`cadenza bench distribute DATA`: one training worker against two, in one run, on this machine.

Each worker is a `cadenza train --distribute multiworker` process on 127.0.0.1 pinned to cores of its
own (a second worker stands for a second machine of the same size: the one-worker run gets as many
cores as each worker of the two). Both runs see the same global batch for the same number of steps,
so the same examples; the figures are the mean time of a step after the first epoch (which traces
the graph) and the validation NLL of the exported model on every validation window. Then the
two-worker run's checkpoint goes on with one worker for as many epochs again, beside the one-worker
run carried on just as long: resuming on a different worker count. A second one-worker run with
another draw of initial weights and windows (`--sample-seed 1`, the same split) gives the noise the
NLL difference is read against.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..errors import CadenzaError
from ..harness.net import free_tcp_port

ROOT = Path(__file__).resolve().parents[2]


def _train(data: str, codec: str, name: str, tmp: Path, runs: str, workers: int, cores: list[list[int]],
           epochs: int, steps: int, args: list[str]) -> list[str]:
    ports = [free_tcp_port() for _ in range(workers)]
    procs = []
    for i in range(workers):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", TF_NUM_INTRAOP_THREADS=str(len(cores[i])),
                   TF_NUM_INTEROP_THREADS="2",
                   TF_CONFIG=json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                                         "task": {"type": "worker", "index": i}}))
        cmd = [sys.executable, "-m", "bridge", "train", data, "--codec", codec, "--name", name,
               "--distribute", "multiworker", "--epochs", str(epochs), "--steps-per-epoch", str(steps),
               "--patience", str(epochs + 1), "--out", str(tmp / "store"), "--runs", str(tmp / runs), *args]
        procs.append(subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                      text=True, preexec_fn=lambda c=set(cores[i]): os.sched_setaffinity(0, c)))
    outs = [p.communicate()[0] for p in procs]
    if any(p.returncode for p in procs):
        raise CadenzaError("a training worker failed:\n" + "\n".join(o[-1500:] for o in outs))
    return outs


def _figures(out: str, tmp: Path, name: str) -> dict:
    ms = [float(v) for v in re.findall(r"replicas, ([\d.]+) ms/step\)", out)]
    meta = json.loads((tmp / "store" / name / "cadenza.json").read_text())
    return {"ms_per_step": ms, "ms_per_step_after_first": sum(ms[1:] or ms) / max(len(ms[1:] or ms), 1),
            "val_bits_per_token": meta["metrics"]["val_bits_per_token"],
            "val_loss_per_epoch": meta["training"]["history"].get("val_loss")}


def run(data: str, codec: str = "notewise", epochs: int = 3, steps: int = 50, args: list[str] | None = None) -> dict:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        raise CadenzaError("bench distribute needs two cores: one for each worker")
    half = len(cpus) // 2
    one_core, two_cores = [cpus[:half]], [cpus[:half], cpus[half:2 * half]]
    args = args or ["--layers", "2", "--units", "256", "--seq-len", "128", "--batch", "32"]
    r = {"data": data, "codec": codec, "epochs": epochs, "steps_per_epoch": steps, "args": args,
         "cores_per_worker": half, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="cadenza-bench-distribute-") as tmp:
        tmp = Path(tmp)
        if not (Path(data) / "manifest.json").is_file():  # prepared once, read by every worker
            from ..training.prepare import PrepareConfig, prepare

            prepare(PrepareConfig(corpus=Path(data), out=tmp / "prepared", codec=codec, progress=False))
            data = str(tmp / "prepared")
        out = _train(data, codec, "one", tmp, "runs-one", 1, one_core, epochs, steps, args)[0]
        r["one"] = _figures(out, tmp, "one")
        out = _train(data, codec, "again", tmp, "runs-again", 1, one_core, epochs, steps,
                     args + ["--sample-seed", "1"])[0]
        r["one_again"] = _figures(out, tmp, "again")  # another draw of weights and windows: the noise
        out = _train(data, codec, "two", tmp, "runs-two", 2, two_cores, epochs, steps, args)[0]
        r["two"] = _figures(out, tmp, "two")
        # the two workers' checkpoint, on with one worker; and the one-worker run carried on as long
        shutil.copytree(tmp / "runs-two" / "two", tmp / "runs-resume" / "resumed")
        out = _train(data, codec, "resumed", tmp, "runs-resume", 1, one_core, 2 * epochs, steps, args)[0]
        r["two_then_one"] = _figures(out, tmp, "resumed")
        r["two_then_one"]["resumed_from_epoch"] = epochs if f"epoch {epochs + 1}:" in out else None
        out = _train(data, codec, "one", tmp, "runs-one", 1, one_core, 2 * epochs, steps, args)[0]
        r["one_longer"] = _figures(out, tmp, "one")
    r["step_time_ratio"] = r["two"]["ms_per_step_after_first"] / r["one"]["ms_per_step_after_first"]
    return r


def table(r: dict) -> str:
    e, s = r["epochs"], r["steps_per_epoch"]
    rows = [("one worker", r["one"], f"{e} x {s}"),
            ("one worker, another draw", r["one_again"], f"{e} x {s}"),
            ("two workers", r["two"], f"{e} x {s}"),
            ("two, then one (resumed)", r["two_then_one"], f"{e} x {s} + {e} x {s}"),
            ("one, carried on", r["one_longer"], f"{2 * e} x {s}")]
    lines = [f"bench distribute: {r['data']} ({r['codec']}; {' '.join(r['args'])}), {r['cores_per_worker']} "
             f"core(s) per worker, the same global batch in every run",
             f"  {'run':<26}{'steps':>16}{'ms/step':>10}{'vs one':>8}{'val bits/token':>16}"]
    base = r["one"]["ms_per_step_after_first"]
    for name, f, steps in rows:
        lines.append(f"  {name:<26}{steps:>16}{f['ms_per_step_after_first']:>10.0f}"
                     f"{f['ms_per_step_after_first'] / base:>7.2f}x{f['val_bits_per_token']:>16.3f}")
    return "\n".join(lines)
