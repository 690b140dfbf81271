"""`python -m tests [PYTEST ARGS]`: every test, as fast as this machine allows.

First `cadenza warm`, so that numba compiles Cadenza's kernels once rather than in every worker; then two
runs of pytest, one after the other:
  1. every test not marked `timing`, spread over the machine's cores (pytest-xdist, a test file per worker,
     at most 8 workers: each imports TensorFlow), the longest files handed out first (tests/conftest.py
     LONGEST_FIRST) so that no worker is left alone with a long file at the end;
  2. the `timing` tests alone, in one process: they play music in real time through JACK and the OSC
     clients (a MIDI clock followed to a tenth of a beat per minute, notes due to the millisecond) and
     would measure the other workers' load instead of Cadenza.
Arguments go to both runs (`python -m tests -k jam -x`). The exit status is the first failing run's.
`python -m pytest` still runs everything in one process.
"""
from __future__ import annotations

import os
import subprocess
import sys

NO_TESTS = 5  # pytest's exit status when a run selects nothing (say, `-k` matched only the other run's tests)


def main(args: list[str]) -> int:
    workers = int(os.environ.get("TEST_WORKERS", "0")) or max(1, min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))
    runs = [["-n", str(workers), "--dist", "loadfile", "--no-loadscope-reorder", "-m", "not timing"], ["-p", "no:xdist", "-m", "timing"]]
    subprocess.call([sys.executable, "-m", "bridge", "warm"], stdout=subprocess.DEVNULL)  # a failure: the tests say why
    codes = [subprocess.call([sys.executable, "-m", "pytest", *run, *args]) for run in runs]
    failed = [c for c in codes if c not in (0, NO_TESTS)]
    return failed[0] if failed else NO_TESTS if all(c == NO_TESTS for c in codes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
