"""What a door of the daemon is given: submit a task with a sink, cancel it, the models, the config.

Doors (OSC, the watch folder, the page, jam mode) never see each other or the daemon: each turns its input
into a task (bridge.tasks), hands it here with a sink, and turns the events into its own output. The job
queue runs `bridge.tasks.run` on a worker with the daemon's limits; a request's id is free again just before
its last event is handed over, so a client may reuse it as soon as it reads the answer.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Callable

from ..errors import CadenzaError
from ..tasks import Limits, events as E, run
from .access import Allowlist, Folders
from .config import ServeConfig
from .jobs import Job, JobQueue
from .models import ModelStore

log = logging.getLogger("cadenza")


@dataclass(frozen=True)
class Player:
    """Someone jam mode answers besides MIDI out (an OSC client playing /cadenza/note): its settings, a sink
    for its answer's events (`sink(tag, settings)`), and `play(tag, pitch, velocity, when, seconds)` for each
    note of the answer at the time it sounds."""
    key: tuple
    settings: Callable[[], object]
    sink: Callable
    play: Callable


class Service:
    def __init__(self, cfg: ServeConfig, models: ModelStore, jobs: JobQueue, ready: threading.Event,
                 defaults: Callable[[], object]):
        self.cfg = cfg
        self.models = models
        self.ready = ready  # the default model is loaded (or failed to)
        self.defaults = defaults  # a new client's settings (the clock's tempo)
        self.folders = Folders(cfg.inbox, cfg.outbox, cfg.allowed_dirs)
        self.allowlist = Allowlist(cfg.allow)
        self._jobs = jobs
        self.stats = {"requests": 0, "failed": 0}

    @property
    def limits(self) -> Limits:
        """What one request may spend, as the config says now."""
        return Limits(max_tokens=int(self.cfg.max_tokens), max_seconds=float(self.cfg.max_seconds))

    def submit(self, key: tuple, label: str, task, sink: Callable[[object], None]) -> None:
        """Queue a task (or a function that makes one on the worker: a watched file's sidecar is read
        there); its events go to `sink`. Raises Busy (a CadenzaError) when the queue is full."""
        self.stats["requests"] += 1

        def body(job: Job) -> None:
            def handed(event) -> None:
                if isinstance(event, E.FINAL):
                    if isinstance(event, E.Failed):
                        self.stats["failed"] += 1
                    self._jobs.release(job.key)
                sink(event)

            try:
                made = task() if callable(task) else task
            except CadenzaError as e:
                handed(E.Failed(str(e)))
                return
            except Exception as e:  # noqa: BLE001 - answered, never left silent
                log.exception("job %s: the task could not be made", label)
                handed(E.Failed(f"Cadenza could not take this request ({type(e).__name__}: {e})"))
                return
            run(made, self.models, handed, job.cancel, self.limits)

        self._jobs.submit(Job(key=key, run=body, label=label))

    def call(self, key: tuple, label: str, fn: Callable[[Job], None]) -> None:
        """Queue plain work that is not a task (loading a model, rendering a file)."""
        self._jobs.submit(Job(key=key, run=fn, label=label))

    def release(self, key: tuple) -> None:
        self._jobs.release(key)

    def cancel(self, key: tuple) -> bool:
        return self._jobs.cancel(key)

    @property
    def running(self) -> int:
        return self._jobs.running

    @property
    def waiting(self) -> int:
        return self._jobs.waiting

    def public(self, message: str) -> str:
        return self.folders.public(message)

    def allowed(self, host: str) -> bool:
        return self.allowlist.allowed(host)
