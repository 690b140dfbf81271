"""Playing in time: clocks that say which beat it is, and a scheduler that sends MIDI at a beat.

- `InternalClock`: a steady tempo (the `qpm` setting) from when it starts.
- `MidiClock`: follows MIDI clock from a port: 24 ticks a quarter note, Start (beat 0), Continue, Stop,
  Song Position Pointer (16ths). Its tempo is a least-squares fit over the last ticks, so a jittery
  clock gives a steady tempo and a tempo change is followed within a few beats.
- `LinkClock` (bridge/host/link.py): an Ableton Link session's beat and tempo.
- `Scheduler`: a thread that sends each message at its time: it sleeps until a millisecond before and
  waits out the rest, so a message leaves within a fraction of a millisecond of its beat even while a
  generation runs (the compiled loop releases the GIL).

Times are `time.monotonic()` seconds; beats are quarter notes.
"""
from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque

log = logging.getLogger("cadenza.timing")
PPQN = 24  # MIDI clock ticks a quarter note


class InternalClock:
    """A steady tempo from `start` (monotonic seconds)."""

    source = "internal"

    def __init__(self, qpm: float = 120.0, start: float | None = None):
        self.qpm = float(qpm)
        self.t0 = time.monotonic() if start is None else start
        self.playing = True

    def beat_at(self, t: float | None = None) -> float:
        t = time.monotonic() if t is None else t
        return (t - self.t0) * self.qpm / 60.0

    def time_at(self, beat: float) -> float:
        return self.t0 + beat * 60.0 / self.qpm

    def set_tempo(self, qpm: float) -> None:
        """Keep the beat where it is now and go on at a new tempo."""
        now = time.monotonic()
        beat = self.beat_at(now)
        self.qpm = float(qpm)
        self.t0 = now - beat * 60.0 / self.qpm


class MidiClock:
    """The beat and tempo of incoming MIDI clock. Feed it every message with its arrival time."""

    source = "midi clock"
    WINDOW = 48  # ticks the tempo is fitted over (two beats)

    def __init__(self, fallback_qpm: float = 120.0):
        self.qpm = float(fallback_qpm)
        self.playing = False
        self.ticks = 0  # since Start (or the song position)
        self.last_t = None
        self.recent: deque = deque(maxlen=self.WINDOW)  # arrival times of the last ticks
        self.lock = threading.Lock()
        self.heard = False  # any clock at all
        self.last_heard = 0.0

    def feed(self, msg, t: float | None = None) -> None:
        t = time.monotonic() if t is None else t
        kind = msg.type
        with self.lock:
            if kind == "clock":
                self.heard = True
                self.last_heard = t
                self.recent.append(t)  # many devices send clock while stopped too: the tempo is known at Start
                self._fit()
                if self.playing:
                    self.ticks += 1
                    self.last_t = t
            elif kind == "start":
                self.playing, self.ticks, self.last_t = True, 0, t
            elif kind == "continue":
                self.playing, self.last_t = True, t
            elif kind == "stop":
                self.playing = False
            elif kind == "songpos":
                self.ticks = int(msg.pos) * PPQN // 4  # song position counts 16ths
                self.last_t = t

    def _fit(self) -> None:
        """Tempo from a least-squares line through the arrival times of the last ticks."""
        n = len(self.recent)
        if n < 6:
            return
        ts = list(self.recent)
        mt, mk = sum(ts) / n, (n - 1) / 2
        var = sum((a - mt) ** 2 for a in ts)
        if var <= 0:
            return
        slope = sum((a - mt) * (k - mk) for k, a in enumerate(ts)) / var  # ticks a second
        qpm = slope * 60.0 / PPQN
        if 10 <= qpm <= 400:
            self.qpm = qpm

    def beat_at(self, t: float | None = None) -> float:
        t = time.monotonic() if t is None else t
        with self.lock:
            if self.last_t is None:
                return 0.0
            beat = self.ticks / PPQN
            if self.playing or t < self.last_t:  # between ticks, and the recent past, at the tempo
                beat += (t - self.last_t) * self.qpm / 60.0
            return beat

    def time_at(self, beat: float) -> float:
        with self.lock:
            if self.last_t is None:
                return time.monotonic()
            return self.last_t + (beat - self.ticks / PPQN) * 60.0 / self.qpm

    def alive(self, now: float | None = None) -> bool:
        """Clock ticks arrived within the last half second."""
        now = time.monotonic() if now is None else now
        return self.heard and now - self.last_heard < 0.5


class Scheduler:
    """Sends `send(message)` calls at their times, from one thread; late ones go at once (and are counted)."""

    SPIN = 0.0015  # the last 1.5 ms are waited out without sleeping: sleep wakes up late on a busy machine

    def __init__(self, send, name: str = "cadenza-clock"):
        self.send = send
        self.queue: list = []
        self.order = itertools.count()
        self.cv = threading.Condition()
        self.stopped = False
        self.sent = 0
        self.late = 0
        self.errors: deque = deque(maxlen=100_000)  # seconds each message left after its time
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def at(self, t: float, message, tag=None) -> None:
        with self.cv:
            heapq.heappush(self.queue, (t, next(self.order), message, tag))
            self.cv.notify()

    def cancel(self, tag) -> list:
        """Drop the messages not yet sent that carry `tag`; the dropped messages, in the order they were due."""
        with self.cv:
            keep = [e for e in self.queue if e[3] != tag]
            dropped = sorted(e for e in self.queue if e[3] == tag)
            self.queue = keep
            heapq.heapify(self.queue)
            return [e[2] for e in dropped]

    def pending(self) -> int:
        with self.cv:
            return len(self.queue)

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self.stopped and not self.queue:
                    self.cv.wait()
                if self.stopped:
                    return
                t = self.queue[0][0]
                wait = t - time.monotonic()
                if wait > self.SPIN:
                    self.cv.wait(min(wait - self.SPIN, 0.25))
                    continue
                _, _, message, _ = heapq.heappop(self.queue)
            while time.monotonic() < t:
                pass
            now = time.monotonic()
            self.errors.append(now - t)
            if now - t > 0.002:
                self.late += 1
            try:
                self.send(message)
                self.sent += 1
            except Exception as e:  # noqa: BLE001 - a port that went away: say so, keep the clock
                log.warning("could not send %s: %s", message, e)

    def stop(self) -> None:
        with self.cv:
            self.stopped = True
            self.cv.notify()
        self.thread.join(2)
