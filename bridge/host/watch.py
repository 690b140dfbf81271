"""The watch folder: drop a file in the inbox, find its continuation in the outbox.

- every file Cadenza reads (bridge.music.SUFFIXES: .mid .midi .rmi .kar .smf .krn .xml .mxl .musicxml
  and recordings) is continued into `outbox/NAME.cadenza.mid`, with settings from a sidecar
  `NAME.toml` beside the file, else the folder's defaults (`[watch]` in the config). Any other file
  is left where it is, with a log line saying so.
- Recordings (.wav .flac .ogg .mp3) are primes too: their melody is found by pitch tracking.
- `render = "flac"` (or wav, ogg, mp3) also writes the continuation as audio beside it, and
  `picture = 1` a piano-roll PNG (prime and continuation in two colours).
- A file still being written is waited out: it is taken once its size and time have stood still.
- Files already there at start are processed; a file whose output is newer than it is skipped, so
  a restart does not redo finished work.
- `task = "infill"` (with `start` and `end` in beats), `"groove"`, `"drumify"` or `"interpolate"` (with `to`,
  the other beat's file in the inbox) in the sidecar does that instead; several variations are written as
  NAME.cadenza-1.mid, NAME.cadenza-2.mid, ...
- A file that cannot be read moves to `inbox/failed/` with `NAME.error.txt` beside it. A symbolic
  link is refused the same way, unread: the inbox takes files, not pointers to other places.
- The input is never changed; outputs are written atomically (no partial file, even if killed).
"""
from __future__ import annotations

import logging
import shutil
import threading
import time
from pathlib import Path

from ..errors import CadenzaError, did_you_mean
from ..music import SUFFIXES, atomic_write_text
from ..settings import Settings, apply as apply_setting, number
from ..tasks import DRUM_TASKS, Continue, Drums, Harmonize, Infill, events as E

log = logging.getLogger("cadenza.watch")
SIDECARS = (".toml", ".txt")  # settings beside a file, and the error notes Cadenza writes
SETTLE = 0.5  # seconds a file's size must stand still before it is taken


class Watcher:
    def __init__(self, service):
        self.service = service
        self.cfg = service.cfg
        self.inbox = Path(self.cfg.inbox)
        self.outbox = Path(self.cfg.outbox)
        self.failed = self.inbox / "failed"
        self.pending: dict[Path, tuple[int, float, float]] = {}  # path -> (size, mtime, first seen unchanged)
        self.queued: set[Path] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._observer = None
        self._thread = threading.Thread(target=self._poll, name="cadenza-watch", daemon=True)
        self.processed = 0
        self.ignored: set[Path] = set()  # files no reader takes, reported once each

    def output_for(self, path: Path) -> Path:
        return self.outbox / f"{path.stem}.cadenza.mid"

    def finished(self, path: Path) -> bool:
        """Whether an output newer than the file is there (its one variation, or the first of several)."""
        out = self.output_for(path)
        first = out.with_name(f"{out.stem}-1{out.suffix}")
        mtime = path.stat().st_mtime
        return any(o.exists() and o.stat().st_mtime >= mtime for o in (out, first))

    def wanted(self, path: Path) -> bool:
        if path.parent.resolve() != self.inbox.resolve() or path.name.startswith("."):
            return False
        if path.is_symlink():
            return path.suffix.lower() in SUFFIXES  # taken, to be refused with a reason in task_for()
        if not path.is_file():
            return False
        if path.suffix.lower() not in SUFFIXES:
            if path.suffix.lower() not in SIDECARS and path not in self.ignored and len(self.ignored) < 10_000:
                self.ignored.add(path)
                log.warning("%s: left in the inbox: not a file Cadenza reads (%s)", path.name, " ".join(SUFFIXES))
            return False
        return not self.finished(path)

    def notice(self, path: Path) -> None:
        with self._lock:
            if path not in self.queued:
                self.pending.setdefault(path, (-1, -1.0, 0.0))

    def start(self) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_created(self, event):
                if not event.is_directory:
                    watcher.notice(Path(event.src_path))

            def on_modified(self, event):
                if not event.is_directory:
                    watcher.notice(Path(event.src_path))

            def on_moved(self, event):
                if not event.is_directory:
                    watcher.notice(Path(event.dest_path))

        self.inbox.mkdir(parents=True, exist_ok=True)
        for p in sorted(self.inbox.iterdir()):
            self.notice(p)
        self._observer = Observer()
        self._observer.schedule(Handler(), str(self.inbox), recursive=False)
        self._observer.start()
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._observer is not None:
            self._observer.stop()
            self._observer.join(2)
        self._thread.join(2)

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            now = time.monotonic()
            with self._lock:
                items = list(self.pending.items())
            for path, (size, mtime, since) in items:
                try:
                    st = path.stat()
                except FileNotFoundError:
                    with self._lock:
                        self.pending.pop(path, None)
                    continue
                if (st.st_size, st.st_mtime) != (size, mtime):
                    with self._lock:
                        self.pending[path] = (st.st_size, st.st_mtime, now)
                    continue
                if now - since < SETTLE:
                    continue
                with self._lock:
                    self.pending.pop(path, None)
                if not self.wanted(path):
                    continue
                try:
                    self.service.submit(("watch", str(path)), f"watch {path.name}",
                                        lambda p=path: self.task_for(p), self.sink_for(path))
                    with self._lock:
                        self.queued.add(path)
                except CadenzaError:  # busy
                    with self._lock:
                        self.pending[path] = (st.st_size, st.st_mtime, now)  # try again shortly

    TASK_KEYS = ("task", "start", "end", "to")  # what to do with the file (not request settings)
    TASKS = ("continue", "infill", "harmonize") + DRUM_TASKS

    def sidecar(self, path: Path) -> dict:
        """The folder's defaults (`[watch]` in the config), then `NAME.toml` beside the file."""
        pairs = dict(self.cfg.watch_defaults)
        sidecar = path.with_suffix(".toml")
        if sidecar.is_symlink():
            raise CadenzaError(f"{sidecar.name} is a symbolic link; settings are read only from plain files")
        if sidecar.is_file():
            from .config import load_toml

            pairs.update(load_toml(sidecar))
        return pairs

    def partner_of(self, name: str) -> Path:
        """interpolate's second beat: the sidecar's `to`, a file beside this one in the inbox."""
        if not name:
            raise CadenzaError('task = "interpolate" needs `to`, the other beat\'s file name in the inbox, '
                               'e.g. to = "b.mid"')
        other = self.inbox / name
        if "/" in name or "\\" in name or name in (".", "..") or other.is_symlink() or not other.is_file():
            raise CadenzaError(f"to = {name!r}: no such plain file in the inbox (a name, not a path)")
        return other

    def task_for(self, path: Path):
        """The task a dropped file asks for, from its sidecar (read here, on the worker)."""
        if path.is_symlink():
            raise CadenzaError(f"{path.name} is a symbolic link; the inbox takes only plain files "
                               "(copy the file in instead)")
        pairs = self.sidecar(path)
        s = Settings(beats=self.cfg.beats)
        try:
            for k, v in pairs.items():
                if k not in self.TASK_KEYS:
                    s = apply_setting(s, k, v)
            if s.model:
                self.service.models.find(s.model)  # a name in the store, as from the network
            task = str(pairs.get("task", "continue"))
            if task not in self.TASKS:
                raise CadenzaError(f"task {task!r}{did_you_mean(task, self.TASKS)}: choose one of "
                                   f"{', '.join(self.TASKS)}")
        except CadenzaError as e:  # what the musician wrote wrong is in the sidecar: name it
            side = path.with_suffix(".toml")
            raise CadenzaError(f"{side.name}: {e}" if side.is_file() else str(e)) from None
        out = self.output_for(path)
        if task == "infill":  # the region between start and end written anew; every other note kept
            if "start" not in pairs or "end" not in pairs:
                raise CadenzaError('task = "infill" needs start and end (beats), e.g. start = 8 and end = 12')
            return Infill(s, prime=path, start=number(pairs["start"], "start"), end=number(pairs["end"], "end"),
                          out=out)
        if task == "harmonize":  # the parts under the file's melody, which stays as it is
            return Harmonize(s, prime=path, out=out)
        if task in DRUM_TASKS:
            primes = (path, self.partner_of(str(pairs.get("to", "")))) if task == "interpolate" else (path,)
            return Drums(task, s, primes, out=out)
        return Continue(s, prime=path, out=out)

    def sink_for(self, path: Path):
        """What a task's events do here: log lines, a note beside a file whose audio failed, and at the end
        the file counted as processed, or moved to failed/ with the reason."""
        written: list[Path] = []
        t0 = time.perf_counter()

        def sink(event) -> None:
            if isinstance(event, E.Started):
                log.info("%s: %s", path.name, event.doing)
            elif isinstance(event, E.File) and event.kind == "midi":
                written.append(Path(event.path))
                log.info("%s -> %s (%s)", path.name, event.path, event.detail)
            elif isinstance(event, E.Info):
                log.info("%s: %s", path.name, event.text)
            elif isinstance(event, E.Warning) and written:  # the music stands; say what did not work beside it
                atomic_write_text(written[-1].with_suffix(".error.txt"), event.text.rstrip() + "\n")
            elif isinstance(event, E.Done):
                self.processed += 1
                log.info("%s: done in %.0f ms", path.name, (time.perf_counter() - t0) * 1000)
            elif isinstance(event, E.Cancelled):
                log.info("%s: cancelled; it will be processed on the next start", path.name)
            elif isinstance(event, E.Failed):
                self.fail(path, event.message)
            if isinstance(event, E.FINAL):
                with self._lock:
                    self.queued.discard(path)

        return sink

    def fail(self, path: Path, reason: str) -> None:
        self.failed.mkdir(parents=True, exist_ok=True)
        target = self.failed / path.name
        shutil.move(str(path), target)  # moved whole, never changed
        # then the reason: whoever sees NAME.error.txt appear finds the file beside it
        atomic_write_text(self.failed / f"{path.stem}.error.txt", reason.rstrip() + "\n")
        log.warning("%s: failed, moved to %s: %s", path.name, target, reason)
