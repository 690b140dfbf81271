"""Ableton Link through aalink (an optional extra: `pip install 'cadenza[link]'`).

Link is GPL-2.0-or-later (Ableton's library; aalink, its Python binding, links it). Cadenza is MIT and
does not need Link: the extra is installed only by those who ask for it, and `cadenza serve --link`
imports it only then. Someone who distributes Cadenza together with aalink distributes a combined work
under the GPL's terms (source offered, the GPL passed on); using them together on one's own machine asks
nothing. See docs/timing.md.

`LinkClock` runs Link's asyncio loop in a thread of its own and answers the daemon's clock questions:
which beat it is at a monotonic time, and when a beat falls. Link's own clock is the steady clock, the
same as `time.monotonic()` on Linux and macOS; the two are read together each time.
"""
from __future__ import annotations

import asyncio
import threading
import time

from ..errors import CadenzaError


class LinkClock:
    source = "ableton link"

    def __init__(self, qpm: float = 120.0, quantum: float = 4.0):
        self.start_qpm = float(qpm)
        self.quantum = quantum
        self.link = None
        self.loop = None
        self.thread = None
        self.ready = threading.Event()
        self.error: Exception | None = None

    def start(self) -> None:
        import importlib.util

        if importlib.util.find_spec("aalink") is None:
            raise CadenzaError("--link needs the optional Link extra: pip install 'cadenza[link]' "
                               "(aalink, GPL: see docs/timing.md)")
        self.thread = threading.Thread(target=self._run, name="cadenza-link", daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise CadenzaError("Ableton Link did not start")
        if self.error is not None:
            raise CadenzaError(f"Ableton Link did not start: {self.error}")

    def _run(self) -> None:
        from aalink import Link

        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)

        async def make():
            self.link = Link(self.start_qpm)
            self.link.quantum = self.quantum
            self.link.enabled = True
            self.link.start_stop_sync_enabled = True

        try:
            self.loop.run_until_complete(make())
        except Exception as e:  # noqa: BLE001 - reported by start()
            self.error = e
            self.ready.set()
            return
        self.ready.set()
        self.loop.run_forever()

    def stop(self) -> None:
        if self.loop is not None:
            def off():
                if self.link is not None:
                    self.link.enabled = False
                self.loop.stop()

            self.loop.call_soon_threadsafe(off)
        if self.thread is not None:
            self.thread.join(2)

    def alive(self) -> bool:
        return self.link is not None

    @property
    def qpm(self) -> float:
        return float(self.link.tempo) if self.link is not None else self.start_qpm

    @property
    def peers(self) -> int:
        return int(self.link.num_peers) if self.link is not None else 0

    @property
    def playing(self) -> bool:
        return bool(self.link.playing) if self.link is not None else False

    def beat_at(self, t: float | None = None) -> float:
        now = time.monotonic()
        beat = float(self.link.beat)
        t = now if t is None else t
        return beat + (t - now) * self.qpm / 60.0

    def time_at(self, beat: float) -> float:
        now = time.monotonic()
        return now + (beat - float(self.link.beat)) * 60.0 / self.qpm
