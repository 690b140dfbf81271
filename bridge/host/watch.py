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

from ..errors import CadenzaError
from ..music import SUFFIXES, atomic_write_text
from . import protocol as P
from .jobs import Busy, Job

log = logging.getLogger("cadenza.watch")
SIDECARS = (".toml", ".txt")  # settings beside a file, and the error notes Cadenza writes
SETTLE = 0.5  # seconds a file's size must stand still before it is taken


class Watcher:
    def __init__(self, daemon):
        self.daemon = daemon
        self.inbox = Path(daemon.cfg.inbox)
        self.outbox = Path(daemon.cfg.outbox)
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

    def wanted(self, path: Path) -> bool:
        if path.parent.resolve() != self.inbox.resolve() or path.name.startswith("."):
            return False
        if path.is_symlink():
            return path.suffix.lower() in SUFFIXES  # taken, to be refused with a reason in process()
        if not path.is_file():
            return False
        if path.suffix.lower() not in SUFFIXES:
            if path.suffix.lower() not in SIDECARS and path not in self.ignored and len(self.ignored) < 10_000:
                self.ignored.add(path)
                log.warning("%s: left in the inbox: not a file Cadenza reads (%s)", path.name, " ".join(SUFFIXES))
            return False
        out = self.output_for(path)
        return not (out.exists() and out.stat().st_mtime >= path.stat().st_mtime)

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
                    self.daemon.jobs.submit(Job(key=("watch", str(path)), run=lambda job, p=path: self.process(p, job),
                                                label=f"watch {path.name}"))
                    with self._lock:
                        self.queued.add(path)
                except Busy:
                    with self._lock:
                        self.pending[path] = (st.st_size, st.st_mtime, now)  # try again shortly

    TASK_KEYS = ("task", "start", "end", "to")  # what to do with the file (not request settings)
    TASKS = ("continue", "infill", "groove", "drumify", "interpolate")

    def partner_of(self, path: Path) -> Path:
        """interpolate's second beat: the sidecar's `to`, a file beside this one in the inbox."""
        pairs = dict(self.daemon.cfg.watch_defaults)
        sidecar = path.with_suffix(".toml")
        if sidecar.is_file() and not sidecar.is_symlink():
            from .config import load_toml

            pairs.update(load_toml(sidecar))
        name = str(pairs.get("to", ""))
        if not name:
            raise CadenzaError('task = "interpolate" needs `to`, the other beat\'s file name in the inbox, '
                               'e.g. to = "b.mid"')
        other = self.inbox / name
        if "/" in name or "\\" in name or name in (".", "..") or other.is_symlink() or not other.is_file():
            raise CadenzaError(f"to = {name!r}: no such plain file in the inbox (a name, not a path)")
        return other

    def task_for(self, path: Path) -> tuple[str, float, float]:
        """("continue", 0, 0), ("infill", start beat, end beat) from the sidecar's `task = "infill"`, or
        (groove | drumify | interpolate, 0, 0)."""
        pairs = dict(self.daemon.cfg.watch_defaults)
        sidecar = path.with_suffix(".toml")
        if sidecar.is_file() and not sidecar.is_symlink():
            from .config import load_toml

            pairs.update(load_toml(sidecar))
        task = str(pairs.get("task", "continue"))
        if task not in self.TASKS:
            raise CadenzaError(f"task {task!r}: choose one of {', '.join(self.TASKS)}")
        if task == "infill":
            if "start" not in pairs or "end" not in pairs:
                raise CadenzaError('task = "infill" needs start and end (beats), e.g. start = 8 and end = 12')
            return task, P.number(pairs["start"], "start"), P.number(pairs["end"], "end")
        return task, 0.0, 0.0

    def settings_for(self, path: Path) -> P.Settings:
        s = P.Settings(beats=self.daemon.cfg.beats)
        pairs = [kv for kv in self.daemon.cfg.watch_defaults.items() if kv[0] not in self.TASK_KEYS]
        sidecar = path.with_suffix(".toml")
        if sidecar.is_symlink():
            raise CadenzaError(f"{sidecar.name} is a symbolic link; settings are read only from plain files")
        if sidecar.is_file():
            from .config import load_toml

            pairs += [kv for kv in load_toml(sidecar).items() if kv[0] not in self.TASK_KEYS]
        for k, v in pairs:
            s = P.apply_setting(s, k, v)
        if s.model:
            self.daemon.models.find(s.model)  # a name in the store, as from the network
        return s

    def process(self, path: Path, job: Job) -> None:
        from ..generation import (add_track, asked_beats, continuation_of, continue_drums, continue_ids, drum_note,
                                  drums_model_here, tempo_at, with_meter)
        from ..settings import request_of
        from ..music import load_score, write_midi

        t0 = time.perf_counter()
        try:
            if path.is_symlink():
                raise CadenzaError(f"{path.name} is a symbolic link; the inbox takes only plain files "
                                   "(copy the file in instead)")
            s = self.settings_for(path)
            loaded = self.daemon.models.get(s.model)
            like = load_score(path)  # read once: its tracks, tempo map and meter are kept
            task, start, end = self.task_for(path)
            if task in ("groove", "drumify", "interpolate"):
                from ..generation.groove import run_task

                groove = self.daemon.groove_model(s)
                primes = [like] + ([load_score(self.partner_of(path))] if task == "interpolate" else [])
                scores, note = run_task(task, groove, primes, s)
                if note:
                    log.info("%s: %s", path.name, note)
                base = self.output_for(path)
                for k, score in enumerate(scores):
                    out = write_midi(score, base if len(scores) == 1 else
                                     base.with_name(f"{path.stem}.cadenza-{k + 1}.mid"))
                    log.info("%s -> %s (%s)", path.name, out, task)
                self.processed += 1
                return
            if task == "infill":  # the region between start and end written anew; every other note kept
                from ..generation.infill import infill

                log.info("%s: infilling beats %g-%g with %s", path.name, start, end, loaded.name)
                wholes, regions, result = infill(loaded, like, start, end, request_of(s), cancel=job.cancel)
                if result.cancelled:
                    return
                out = write_midi(wholes[0], self.output_for(path))
                self.processed += 1
                log.info("%s -> %s (%d new notes)", path.name, out, len(regions[0]))
                return
            said = drum_note(loaded.codec, like, loaded.name, drums_too=bool(s.with_drums) and drums_model_here(self.daemon.models))
            prime = loaded.codec.encode_read(like, path)
            if not len(prime):
                raise CadenzaError(f"{path.name}: no notes to continue")
            if said:
                log.info("%s: %s", path.name, said)
            req = with_meter(request_of(s, qpm=tempo_at(like, like.end_tick)), like)  # the prime's beats and bars
            self.daemon.check_cost(loaded, req)
            log.info("%s: continuing with %s for %g beats", path.name, loaded.name, req.beats)
            result = continue_ids(loaded, prime, req, cancel=job.cancel)
            if result.cancelled:
                log.info("%s: cancelled; it will be processed on the next start", path.name)
                return
            drums = continue_drums(like, req, self.daemon.models) if s.with_drums and not loaded.codec.drums else None
            for k, new in enumerate(result.new):  # variation 1 is NAME.cadenza.mid, then NAME.cadenza-2.mid ...
                score = add_track(continuation_of(loaded.codec, prime, new, like, beats=asked_beats(req),
                                                  velocity_range=req.controls.velocity_range), drums)
                out = self.output_for(path)
                out = write_midi(score, out if k == 0 else out.with_name(f"{path.stem}.cadenza-{k + 1}.mid"))
                try:
                    self.daemon.extras(out, s)
                except CadenzaError as e:  # the continuation stands; say what did not work beside it
                    atomic_write_text(out.with_suffix(".error.txt"), f"{out.name} written, but: {e}\n")
            self.processed += 1
            log.info("%s -> %s (%d notes, %.1f new beats) in %.0f ms", path.name, out, score.note_count,
                     result.beats[0], (time.perf_counter() - t0) * 1000)
        except CadenzaError as e:
            self.fail(path, str(e))
        except OSError as e:  # unreadable (permissions, vanished mid-read): reported like a bad file
            self.fail(path, f"{path.name}: cannot read it ({e.strerror or e})")
        finally:
            with self._lock:
                self.queued.discard(path)

    def fail(self, path: Path, reason: str) -> None:
        self.failed.mkdir(parents=True, exist_ok=True)
        target = self.failed / path.name
        atomic_write_text(self.failed / f"{path.stem}.error.txt", reason.rstrip() + "\n")
        shutil.move(str(path), target)  # moved whole, never changed
        log.warning("%s: failed, moved to %s: %s", path.name, target, reason)
