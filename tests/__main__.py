"""`python -m tests [PYTEST ARGS]`: every test, as fast as this machine allows.

First `cadenza warm`, so that numba compiles Cadenza's kernels once rather than in every worker (and beside
it, the big libraries imported once, so that their bytecode is written once); then two runs of pytest at the
same time:
  1. every test not marked `timing`, spread over the machine's cores (pytest-xdist, a test file at a time per
     worker, one worker more than the cores, at most 8: each imports TensorFlow; `TEST_WORKERS=N` to choose);
     these workers run at a lower scheduling priority (nice 10);
  2. the `timing` tests, in one process at the normal priority: they play music in real time through JACK and
     the OSC clients (a MIDI clock followed to a tenth of a beat per minute, notes due to the millisecond) and
     need little of the processor, but need it at once; the kernel gives it to them before the workers.
     Their output is printed when the first run is done.
Each process in them runs numpy's BLAS and TensorFlow's ops on one thread (OPENBLAS_NUM_THREADS and
TF_NUM_INTRAOP_THREADS, unless set): the processes share the cores already.
Arguments go to both runs (`python -m tests -k jam -x`). The exit status is the first failing run's.
`python -m pytest` still runs everything in one process.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile

NO_TESTS = 5  # pytest's exit status when a run selects nothing (say, `-k` matched only the other run's tests)
BYTECODE = """
import importlib
for name in ("tensorflow", "keras", "tensorflow_io", "note_seq", "apache_beam", "music21", "pretty_midi"):
    try:
        importlib.import_module(name)
    except Exception:
        pass
"""


def main(args: list[str]) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    # a worker more than the cores: much of a test is waiting (on a daemon's sockets, a client's process,
    # TensorFlow's import), and with one a core the two cores of a small machine were busy 80% of the run
    # (two cores: 4:53 with two workers, 4:08 with three)
    workers = int(os.environ.get("TEST_WORKERS", "0")) or max(1, min(8, cores + 1))
    # Meanwhile, on the core `cadenza warm` leaves free, the big libraries the tests import are imported once so
    # that Python writes their bytecode (not every module installed: 20 s of CPU against uv's --compile-bytecode's
    # ~40 s), rather than in each worker at once as they start.
    # (Every process here writes the bytecode it compiles, PYTHONDONTWRITEBYTECODE or not: else each of the
    # tests' ~100 processes compiles what it imports again.)
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    # One thread each for numpy's BLAS and TensorFlow's ops, in every process the tests start (unless told): with
    # four pytest processes at once, and the daemons and commands they run, a thread a core each only made them
    # wait on each other, and OpenBLAS's and TensorFlow's idle threads spin while they wait (two cores, the whole
    # suite: 584 -> 529 CPU-seconds, 306 -> 283 s; the shipped groove model's test 19 -> 8 CPU-seconds).
    for name in ("OPENBLAS_NUM_THREADS", "TF_NUM_INTRAOP_THREADS"):
        os.environ.setdefault(name, "1")
    reading = subprocess.Popen([sys.executable, "-c", BYTECODE], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, preexec_fn=lambda: os.nice(5))
    subprocess.call([sys.executable, "-m", "bridge", "warm"], stdout=subprocess.DEVNULL)  # a failure: the tests say why
    reading.wait()
    pytest = [sys.executable, "-m", "pytest"]
    with tempfile.TemporaryFile("w+") as timing_out:
        timing = subprocess.Popen([*pytest, "-p", "no:xdist", "-m", "timing", *args], stdout=timing_out,
                                  stderr=subprocess.STDOUT)
        rest = subprocess.call([*pytest, "-n", str(workers), "--dist", "loadfile", "-m", "not timing", *args],
                               preexec_fn=lambda: os.nice(10))
        codes = [rest, timing.wait()]
        timing_out.seek(0)
        sys.stdout.write("\n--- the timing tests, run alongside ---\n" + timing_out.read())
        sys.stdout.flush()
    failed = [c for c in codes if c not in (0, NO_TESTS)]
    return failed[0] if failed else NO_TESTS if all(c == NO_TESTS for c in codes) else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
