"""The job queue: requests from every front door (OSC, the watch folder) wait here for a worker.

The queue is bounded: when it is full a request is refused at once ("busy"), so the OSC thread
never waits on generation. A job can be cancelled while it waits or between chunks while it runs.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..errors import CadenzaError

log = logging.getLogger("cadenza.jobs")


@dataclass
class Job:
    key: tuple  # (client, request id): what cancel names
    run: Callable[["Job"], None]
    label: str = ""
    cancel: threading.Event = field(default_factory=threading.Event)
    received: float = field(default_factory=time.perf_counter)
    on_refused: Callable[[str], None] | None = None


class Busy(CadenzaError):
    pass


class JobQueue:
    def __init__(self, size: int = 16, workers: int = 1):
        self.size = size  # jobs that may wait for a worker (a job an idle worker is about to take does not wait)
        self._q: queue.Queue[Job | None] = queue.Queue()
        self._idle = 0  # workers waiting for a job
        self._active: dict[tuple, Job] = {}
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._work, name=f"cadenza-worker-{i}", daemon=True)
                         for i in range(workers)]
        self.done = 0
        self.failed = 0
        for t in self._threads:
            t.start()

    def submit(self, job: Job) -> None:
        with self._lock:
            if job.key in self._active:
                raise Busy(f"request {job.key[-1]} is already running or queued")
            waiting = self._waiting()
            if waiting >= self.size:
                raise Busy(f"busy: {waiting} requests are waiting; try again shortly")
            self._q.put_nowait(job)
            self._active[job.key] = job

    def release(self, key: tuple) -> None:
        """A job's id is free again: called just before its final reply, so a client may reuse the id
        as soon as it reads that reply."""
        with self._lock:
            self._active.pop(key, None)

    def cancel(self, key: tuple) -> bool:
        with self._lock:
            job = self._active.get(key)
        if job is None:
            return False
        job.cancel.set()
        return True

    def cancel_all(self) -> None:
        with self._lock:
            jobs = list(self._active.values())
        for j in jobs:
            j.cancel.set()

    @property
    def alive(self) -> int:
        """Worker threads running (all of them, unless stop() was called)."""
        return sum(t.is_alive() for t in self._threads)

    def _waiting(self) -> int:
        """(Under the lock.) Jobs queued that no idle worker is about to take: a burst of requests comes faster
        than idle workers wake, and what they will take at once does not wait."""
        return max(0, self._q.qsize() - self._idle)

    @property
    def waiting(self) -> int:
        with self._lock:
            return self._waiting()

    @property
    def running(self) -> int:
        """Jobs a worker has (or is about to take)."""
        with self._lock:
            return len(self._active) - self._waiting()

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._active)

    def _work(self) -> None:
        while True:
            with self._lock:
                self._idle += 1
            job = self._q.get()
            with self._lock:
                self._idle -= 1
            if job is None:
                return
            try:
                job.run(job)
                self.done += 1
            except Exception:  # noqa: BLE001 - a failing job must not take its worker down; it is logged
                self.failed += 1
                log.exception("job %s failed", job.label)
            finally:
                with self._lock:
                    self._active.pop(job.key, None)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what runs, let workers finish their current chunk, then end them."""
        self.cancel_all()
        for _ in self._threads:
            self._q.put(None)
        for t in self._threads:
            t.join(timeout)
