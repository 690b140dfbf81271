"""The job queue, without sockets: bounded, busy at once, ids free when answered, cancellable, and a
failing job never takes its worker down."""
from __future__ import annotations

import threading
import time

import pytest

from bridge.host.jobs import Busy, Job, JobQueue


def test_full_queue_is_busy_at_once_and_ids_are_unique():
    q = JobQueue(size=2, workers=1)
    gate = threading.Event()
    try:
        q.submit(Job(key=("a", 1), run=lambda job: gate.wait(10)))
        time.sleep(0.1)  # the worker holds it
        q.submit(Job(key=("a", 2), run=lambda job: None))
        q.submit(Job(key=("a", 3), run=lambda job: None))
        with pytest.raises(Busy, match="busy"):
            q.submit(Job(key=("a", 4), run=lambda job: None))
        with pytest.raises(Busy, match="already running or queued"):
            q.submit(Job(key=("a", 2), run=lambda job: None))
    finally:
        gate.set()
        q.stop()


def test_a_burst_that_idle_workers_take_waits_for_none():
    """Four requests at once for four idle workers, with room for one to wait: none is refused, however late the
    workers wake to take them (only what waits for a worker counts against the queue's size)."""
    q = JobQueue(size=1, workers=4)
    gate = threading.Event()
    running = []

    def run(job):
        running.append(job.key)
        gate.wait(10)

    try:
        for i in range(4):
            q.submit(Job(key=("a", i), run=run))
        deadline = time.time() + 10
        while len(running) < 4 and time.time() < deadline:
            time.sleep(0.01)
        assert sorted(running) == [("a", i) for i in range(4)] and q.waiting == 0
        q.submit(Job(key=("a", 4), run=run))  # the one place to wait
        assert q.waiting == 1 and q.running == 4
        with pytest.raises(Busy, match="busy: 1 requests are waiting"):
            q.submit(Job(key=("a", 5), run=run))
    finally:
        gate.set()
        q.stop()


def test_cancel_reaches_a_running_job_and_a_failing_job_keeps_the_worker():
    q = JobQueue(size=4, workers=1)
    seen = []
    started = threading.Event()

    def long(job):
        started.set()
        while not job.cancel.wait(0.01):
            pass
        seen.append("cancelled")

    def broken(job):
        raise RuntimeError("a bug")

    try:
        q.submit(Job(key=("c", 1), run=long))
        assert started.wait(5)
        assert q.cancel(("c", 1)) and not q.cancel(("c", 99))
        q.submit(Job(key=("c", 2), run=broken))
        done = threading.Event()
        q.submit(Job(key=("c", 3), run=lambda job: done.set()))
        assert done.wait(5)
        assert seen == ["cancelled"] and q.failed == 1 and q.alive == 1
    finally:
        q.stop()
    assert q.alive == 0


def test_release_frees_an_id_before_the_job_returns():
    q = JobQueue(size=4, workers=1)
    reused = threading.Event()

    def run(job):
        q.release(job.key)
        q.submit(Job(key=job.key, run=lambda j: reused.set()))  # the client reuses the id at once

    try:
        q.submit(Job(key=("r", 1), run=run))
        assert reused.wait(5)
    finally:
        q.stop()
