"""Memory and threads, measured from outside what is measured: the peak memory of `cadenza prepare` in a fresh
process, and the threads a model store leaves after many reloads."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from ..errors import CadenzaError

PEAK = """
import json, resource, sys
limit = int(sys.argv[4])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
from bridge.training.prepare import PrepareConfig, prepare
m = prepare(PrepareConfig(corpus=sys.argv[1], out=sys.argv[2], workers=int(sys.argv[3]), progress=False))
vm = {l.split(":")[0]: int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(("VmHWM", "VmPeak"))}
print(json.dumps({"hwm_kb": vm["VmHWM"], "vmpeak_kb": vm["VmPeak"],
                  "children_kb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss,
                  "tokens": m["totals"]["tokens"], "files": m["totals"]["encoded"]}))
"""


def peak_memory(corpus: Path, out: Path, workers: int = 1, address_space: int = 0) -> dict:
    """Peak RSS (MB) of `prepare` in a fresh process (VmHWM: ru_maxrss would count the parent it was
    forked from), its peak address space, and its largest worker's peak RSS; under an address-space
    limit of `address_space` bytes if given."""
    r = subprocess.run([sys.executable, "-c", PEAK, str(corpus), str(out), str(workers), str(address_space)],
                       capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    if r.returncode:
        raise CadenzaError(f"prepare failed while measuring memory:\n{r.stderr[-2000:]}")
    got = json.loads(r.stdout.strip().splitlines()[-1])
    return {"peak_mb": got["hwm_kb"] / 1024, "address_space_mb": got["vmpeak_kb"] / 1024,
            "worker_peak_mb": got["children_kb"] / 1024, "tokens": got["tokens"], "files": got["files"]}


def reload_threads(model: str, reloads: int = 20) -> dict:
    """Threads before and after `reloads` reloads of a copy of a model whose file times change."""
    from .. import store
    from ..host.models import ModelStore

    src = store.find(model)
    tmp = Path(tempfile.mkdtemp(prefix="cadenza-reload-"))
    old = os.environ.get("CADENZA_MODELS")
    os.environ["CADENZA_MODELS"] = str(tmp)
    try:
        shutil.copytree(src, tmp / "reloaded")
        models = ModelStore("reloaded")
        models.get("reloaded")
        before = threading.active_count()
        for i in range(reloads):
            t = time.time() + i + 1
            os.utime(tmp / "reloaded" / store.WEIGHTS, (t, t))
            models.get("reloaded")
        after = threading.active_count()
    finally:
        if old is None:
            os.environ.pop("CADENZA_MODELS", None)
        else:
            os.environ["CADENZA_MODELS"] = old
        shutil.rmtree(tmp, ignore_errors=True)
    return {"reloads": reloads, "threads_before": before, "threads_after": after}
