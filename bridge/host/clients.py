"""The OSC door's clients: settings kept per sender (a bounded LRU) and the notes each plays live."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from ..settings import Settings

MAX_CLIENTS = 256  # senders whose settings or live notes are kept; the least recently heard is forgotten first
MAX_LIVE_NOTES = 1024  # notes a client's /cadenza/note prime keeps (the oldest go first)


@dataclass
class Client:
    settings: Settings
    held: dict[int, tuple[float, int]] = field(default_factory=dict)  # live notes sounding: pitch -> (t, vel)
    played: list[tuple[int, float, float, int]] = field(default_factory=list)  # (pitch, t_on, t_off, vel)


class Clients:
    def __init__(self, defaults: Callable[[], Settings], limit: int = MAX_CLIENTS):
        self.defaults = defaults
        self.limit = limit
        self._clients: OrderedDict[tuple, Client] = OrderedDict()  # only senders that set something or play
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._clients)

    def __contains__(self, sender) -> bool:
        return tuple(sender) in self._clients

    def get(self, sender: tuple) -> Client | None:
        with self._lock:
            return self._clients.get(tuple(sender))

    def forget(self, sender: tuple | None = None) -> None:
        """Forget one sender's state, or every sender's."""
        with self._lock:
            if sender is None:
                self._clients.clear()
            else:
                self._clients.pop(tuple(sender), None)

    def client(self, sender: tuple) -> Client:
        """The state kept for a sender (made on first use; the least recently heard of `limit` go)."""
        sender = tuple(sender)
        with self._lock:
            c = self._clients.get(sender)
            if c is None:
                c = self._clients[sender] = Client(self.defaults())
                while len(self._clients) > self.limit:
                    self._clients.popitem(last=False)
            else:
                self._clients.move_to_end(sender)
            return c

    def settings_of(self, sender: tuple) -> Settings:
        """A sender's settings, without keeping state for a sender that never set any."""
        with self._lock:
            c = self._clients.get(tuple(sender))
        return c.settings if c is not None else self.defaults()

    def note(self, sender: tuple, pitch: int, velocity: int) -> None:
        """A live note of the sender's prime; velocity 0 ends it."""
        c = self.client(sender)
        now = time.monotonic()
        if pitch in c.held:
            t0, v0 = c.held.pop(pitch)
            c.played.append((pitch, t0, now, v0))
        if velocity > 0:
            c.held[pitch] = (now, velocity)  # at most 128: one per pitch
        if len(c.played) > MAX_LIVE_NOTES:
            del c.played[:len(c.played) - MAX_LIVE_NOTES]

    def take_live(self, sender: tuple, qpm: float) -> list:
        """The notes the sender played live, in beats at `qpm` from the first (and forgotten here)."""
        with self._lock:
            c = self._clients.get(tuple(sender))
        if c is None:
            return []
        now = time.monotonic()
        played = list(c.played) + [(p, t, now, v) for p, (t, v) in c.held.items()]
        c.played.clear()
        c.held.clear()
        if not played:
            return []
        t0 = min(t for _, t, _, _ in played)
        k = qpm / 60.0
        return [(p, (t - t0) * k, max((e - t) * k, 1 / 64), v) for p, t, e, v in played]
