"""The daemon's model store: lazy loading, warm models, reload when files change.

A model is loaded on first use and its generator compiled (a short warm-up run), then kept. Each
use checks the model's file times (two stat calls); when they changed, the new version is loaded
and warmed before it replaces the old one. A corrupt or incompatible new version is refused with
an error naming the problem while the previous version keeps serving.
"""
from __future__ import annotations

import contextlib
import logging
import threading
import time
from pathlib import Path

from .. import store
from ..errors import CadenzaError
from ..generation.warm import compiles, warm

log = logging.getLogger("cadenza.models")


def _mtime(folder: Path) -> float:
    try:
        return max((folder / store.WEIGHTS).stat().st_mtime, (folder / store.META).stat().st_mtime)
    except OSError:
        return -1.0


def settle(replaced: bool) -> None:
    """After a model is loaded: move every object alive now (the modules, numba's compiled code, the models:
    112,000 of them with the chorale model) out of the cyclic collector's sight (gc.freeze, a moment's work).
    A full pass of the collector over them held the interpreter for 41 ms, and the collector runs one whenever
    enough new objects have lived long enough, whatever a door is doing then (a note due in jam mode, a ping);
    after the freeze the same pass takes 0.01 ms. When a model was `replaced` by its new version, what was
    frozen is looked at again first (one full pass, then), so the old version is collected. A first load does
    not collect: in a process that also holds TensorFlow that pass took most of a second, and every door waited."""
    import gc

    if replaced:
        gc.unfreeze()
        gc.collect()
    gc.freeze()


FOUND_FOR = 1.0  # seconds a model name's folder is used before it is looked up again (ModelStore.find)


class ModelStore:
    def __init__(self, default: str):
        self.default = default
        self._models: dict[Path, store.LoadedModel] = {}
        self._refused: dict[Path, float] = {}  # a broken version, by its mtime: not retried until it changes
        self._lock = threading.Lock()
        self._found: dict[str, tuple[Path, float]] = {}  # a name's folder and when it was looked up (`find`)
        self._compiling: set[Path] = set()  # the models being compiled for this machine now (`compiling`)
        self.closing = threading.Event()  # the daemon stops: a request waiting for a model to load gives up

    def find(self, name: str = "") -> Path:
        """The folder of a model named by a client (only inside the store's folders), or of the default
        model (which the operator may give as a path); looked up again once FOUND_FOR seconds have passed (the
        search path's stat calls and the resolved path: ~0.15 ms of every request). Only names of models that are
        there are kept, so the names a client sends cannot grow it."""
        now = time.monotonic()
        hit = self._found.get(name)
        if hit is not None and now - hit[1] < FOUND_FOR:
            return hit[0]
        folder = (store.find(name, paths=False) if name else store.find(self.default)).resolve()
        self._found[name] = (folder, now)
        return folder

    def get(self, name: str = "") -> store.LoadedModel:
        folder = self.find(name)
        mtime = _mtime(folder)
        with self._held():
            current = self._models.get(folder)
            if current is not None and (current.mtime == mtime or self._refused.get(folder) == mtime):
                return current
            try:
                fresh = store.load(str(folder), paths=True)
                t0 = time.perf_counter()
                if compiles(fresh.arch):
                    self._compiling.add(folder)
                    log.info("%s: compiling Cadenza for this machine, once: ~30-60 s (`cadenza warm` after installing "
                             "does it ahead)", fresh.name)
                try:
                    warm(fresh)
                finally:
                    self._compiling.discard(folder)
                if time.perf_counter() - t0 > 3:  # compiled now, on its first run on this machine
                    log.info("%s: compiled for this machine in %.0f s (cached now; `cadenza warm` does it ahead)",
                             fresh.name, time.perf_counter() - t0)
            except CadenzaError as e:
                self._refused[folder] = mtime
                if current is not None:
                    log.error("refusing the new version of %s, still serving the previous one: %s", folder.name, e)
                    return current
                raise
            fresh.mtime = mtime
            self._models[folder] = fresh
            self._refused.pop(folder, None)
            log.info("model %s %s (%s, %s)", fresh.name, "reloaded" if current else "loaded", fresh.arch,
                     fresh.codec.name)
            replaced, current = current is not None, None  # nothing here holds the old one while the collector looks
            settle(replaced)
            return fresh

    @contextlib.contextmanager
    def _held(self):
        """The store's lock, waited for until the daemon stops (another thread may hold it for the minute a first
        run compiles: Ctrl-C then stopped the daemon only when that was done)."""
        while not self._lock.acquire(timeout=0.1):
            if self.closing.is_set():
                raise CadenzaError("Cadenza is stopping")
        try:
            yield
        finally:
            self._lock.release()

    def compiling(self, name: str = "") -> str | None:
        """What to tell a musician whose request needs this model while Cadenza is compiled for this machine (the
        first run on a new machine or path, or after an upgrade, without `cadenza warm`): the request waits for it.
        None when the model is ready, or will be without compiling."""
        try:
            folder = self.find(name)
            if folder not in self._compiling:
                if folder in self._models or not compiles(store.read_meta(folder)["arch"]["name"]):
                    return None
        except (CadenzaError, KeyError, TypeError):  # (a name or card that is wrong: get() says how)
            return None
        return (f"{folder.name}: Cadenza is being compiled for this machine, once (its first run here): "
                "the music comes within a minute, and at once from then on (`cadenza warm` after installing "
                "does this ahead)")

    def check(self, name: str) -> str | None:
        """Load (or reload) a model now; None when it serves, else why the latest version was refused."""
        try:
            folder = self.find(name)
            self.get(name)
        except CadenzaError as e:
            return str(e)
        if folder in self._refused:
            return f"{folder.name}: the latest version was refused; the previous one keeps serving"
        return None

    def loaded(self) -> list[str]:
        return sorted(m.name for m in self._models.values())

    def available(self) -> list[dict]:
        return store.list_models()
