"""Files a door made or took for its clients, forgotten and deleted oldest first past an age and a total size:
the page's uploads and the files it made (`--page-files-hours`, `--page-files-mb`), and the files OSC requests wrote
in the outbox (`--osc-files-mb`: a client asking in a loop, each request a file of its own, filled the disk).
Only what this daemon made is ever deleted; files from earlier runs, and the watch folder's, stay."""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

log = logging.getLogger("cadenza")


@dataclass
class Kept:
    path: Path
    size: int
    made: float = field(default_factory=time.time)
    drawn: dict | None = None  # an upload: its notes for the page to draw


class Expiring(OrderedDict):
    """key -> Kept, oldest first, changed through `keep` only (it counts their bytes as it goes: a sum over
    250,000 OSC files at each request would cost more than the request). `limits()`: (hours, MB) now (a daemon's
    settings), hours None for no age limit."""

    def __init__(self, limits: Callable[[], tuple[float | None, float]], what: str):
        super().__init__()
        self.limits, self.what = limits, what
        self.lock = threading.Lock()
        self.bytes = 0

    def keep(self, key: str, kept: Kept) -> None:
        """Remember a file by key (again: it moves to the newest); then forget and delete, oldest first, what is
        older than the hours or takes the files past the MB (the newest stays whatever its size)."""
        hours, mb = self.limits()
        limit_age = float(hours) * 3600 if hours is not None else float("inf")
        limit_bytes = int(float(mb) * (1 << 20))
        now = time.time()
        gone = []
        with self.lock:
            before = self.pop(key, None)
            self.bytes += kept.size - (before.size if before is not None else 0)
            self[key] = kept
            while len(self) > 1:
                oldest_key, oldest = next(iter(self.items()))
                if now - oldest.made <= limit_age and self.bytes <= limit_bytes:
                    break
                self.pop(oldest_key)
                self.bytes -= oldest.size
                if oldest.path != kept.path:
                    gone.append(oldest.path)
        for path in gone:
            path.unlink(missing_ok=True)
        if gone:
            log.info("%s: %d deleted, the oldest first (%s)", self.what, len(gone),
                     "--page-files-hours, --page-files-mb" if hours is not None else "--osc-files-mb")
