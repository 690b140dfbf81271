"""`cadenza serve`: the doors (OSC, the watch folder, the page, MIDI ports and jam mode), the job queue and
the model store, wired together.

Nothing here handles a request: each door turns its input into a task (bridge.tasks) and hands it to the
service (service.py) with a sink for its events. This file makes the pieces, starts and stops them.
"""
from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from ..errors import CadenzaError
from ..settings import Settings
from .config import ServeConfig
from .jobs import JobQueue
from .models import ModelStore
from .oscdoor import OscDoor, straight
from .service import Service

log = logging.getLogger("cadenza")
# Requests carried out at once. The lstm and rnn models' generation runs in each model's batchers (two batches for
# the requests in the air, on the machine's cores), so a worker mostly waits for its request to land: sixteen let
# sixteen players fly together (with eight, sixteen clients' first notes waited for a place: p50 97-127 ms, now
# 12-16; the same requests/s). Other work (reading a file, the attention-LSTM) shares the cores.
WORKERS = 16


class Daemon:
    def __init__(self, cfg: ServeConfig):
        self.cfg = cfg
        self.models = ModelStore(cfg.model)
        self.jobs = JobQueue(cfg.queue, workers=WORKERS)
        self.ready = threading.Event()  # the default model is loaded
        self.started = time.time()
        self.live = None  # MIDI ports, the clock, jam mode (host/live.py), when asked for
        self.watcher = None  # the watch folder (host/watch.py)
        self.web = None  # the page (host/web.py), when cfg.http_port is set
        self.service = Service(cfg, self.models, self.jobs, self.ready, self.defaults)
        self.osc = OscDoor(self.service, jam=self._jam, place=self._place)
        self.server = self.osc.server

    def defaults(self) -> Settings:
        """A new client's settings: the spec's, the daemon's length, and the tempo of the clock it plays on
        (a Link session or MIDI clock drives qpm)."""
        qpm = self.live.qpm if self.live is not None else self.cfg.qpm
        return Settings(beats=self.cfg.beats, qpm=round(min(400.0, max(10.0, qpm)), 3))

    def _jam(self, pitch: int, velocity: int, player) -> None:
        if self.live is not None and self.live.jam_cfg is not None:
            self.live.note(pitch, velocity, player=player)

    def _place(self, origin: float, qpm: float) -> tuple[float, float]:
        return self.live.place(origin, qpm) if self.live is not None else straight(origin, qpm)

    # ----- life -------------------------------------------------------------------------------------------
    def start(self, warm: bool = True) -> None:
        cfg = self.cfg
        Path(cfg.outbox).mkdir(parents=True, exist_ok=True)
        Path(cfg.inbox).mkdir(parents=True, exist_ok=True)
        for stale in Path(cfg.outbox).glob(".*.part"):  # left by a write that a kill cut short
            stale.unlink(missing_ok=True)
        self.osc.start()  # answers ping and status at once; the default model loads behind it
        if cfg.watch:
            from .watch import Watcher

            self.watcher = Watcher(self.service)
            self.watcher.start()
        if cfg.midi_in or cfg.midi_out or cfg.virtual_ports or cfg.link or cfg.jam:
            from ..settings import parse_meter
            from .live import JamConfig, Live

            jam = JamConfig(mode=cfg.jam_mode, wait=float(cfg.jam_wait), bars=int(cfg.jam_bars),
                            meter=parse_meter(cfg.jam_meter), channel=int(cfg.jam_channel) - 1) if cfg.jam else None
            self.live = Live(self.service, midi_in=cfg.midi_in or None, midi_out=cfg.midi_out or None,
                             virtual=bool(cfg.virtual_ports), api=cfg.midi_api, jam=jam, link=bool(cfg.link),
                             qpm=float(cfg.qpm))
            self.live.start()
        if cfg.http_port:
            from .web import WebDoor

            self.web = WebDoor(self.service)
            self.web.start()
            log.info("Cadenza Studio, the page: %s", self.web.url)
        host, port = self.server.address
        log.info("cadenza listening on %s:%s (OSC), model %s, inbox %s -> outbox %s", host, port, cfg.model,
                 cfg.inbox, cfg.outbox)
        if warm:
            threading.Thread(target=self._load_default, name="cadenza-load", daemon=True).start()
        else:
            self.ready.set()

    def _load_default(self) -> None:
        """Load and warm the default model (and in jam mode along the harmony model); a request that comes first
        waits for it (the store's lock)."""
        t0 = time.perf_counter()
        try:
            self.models.get("")
            log.info("default model %s ready in %.2f s", self.cfg.model, time.perf_counter() - t0)
        except CadenzaError as e:
            log.error("default model: %s", e)
        try:
            if self.live is not None and self.live.jam_cfg is not None and self.live.jam_cfg.mode == "along":
                self.live.warm_along()  # the harmony model too: the first take's first beat is on time
        except CadenzaError as e:
            log.error("jam along: %s", e)
        finally:
            self.ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the default model is loaded (or failed to load)."""
        return self.ready.wait(timeout)

    def stop(self) -> None:
        log.info("stopping: cancelling running requests")
        self.models.closing.set()
        for door in (self.watcher, self.web, self.live):
            if door is not None:
                door.stop()
        self.osc.stop()
        self.jobs.stop()
        log.info("stopped")
