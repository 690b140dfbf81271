"""Notation already read: a Score kept by the SHA-256 of the file's bytes, so a **kern or MusicXML file is
parsed by music21 once per machine rather than once per command, request or test.

music21 takes 0.1-0.5 s a chorale (in its helper process, bounded.py); training, `cadenza eval`, the
benches and the page read the same corpus files again and again. A file read once is kept twice:
in this process (the last `MEMORY` files) and on disk beside Cadenza's other caches (`$CADENZA_CACHE`, else
`$XDG_CACHE_HOME/cadenza`, else `~/.cache/cadenza`; folder `notation`, at most `MAX_FILES` files, the least
recently used removed first). The key is the file's bytes, music21's version, this format's and the code that
turns what music21 read into a Score (READER_FILES), so an edited file, a new music21 or a changed reader is read
afresh. A kept Score is an `.npz` of arrays and one JSON string, read with
`allow_pickle=False`: it can carry no code. Only files music21 read without complaint are kept; a refusal
(too large, too slow, malformed) is met again each time. Set `CADENZA_NO_READ_CACHE=1` to keep nothing.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import zipfile
import threading
from collections import OrderedDict
from pathlib import Path

import numpy as np

from .. import caches
from .score import Control, KeySignature, Marker, Score, Tempo, TimeSignature, Track

FORMAT = 1
READER_FILES = ("music/notation.py", "music/bounded.py")  # what music21's reading goes through: a change reads files afresh
MEMORY = 256  # Scores kept in this process
MAX_FILES = 5000  # Scores kept on disk (a chorale's is ~5 KB)

_memory: OrderedDict[str, Score] = OrderedDict()
_lock = threading.Lock()


def enabled() -> bool:
    return os.environ.get("CADENZA_NO_READ_CACHE", "") in ("", "0")


@functools.lru_cache(maxsize=1)
def reader_digest() -> str:
    """A digest of the reader's own code (READER_FILES)."""
    return caches.source_digest(READER_FILES)


def key_of(path: Path) -> str:
    """The file's bytes, music21's version, the format and the reader's code: what decides the Score."""
    try:
        from importlib.metadata import version
        m21 = version("music21")
    except Exception:  # noqa: BLE001 - no metadata: the key still names the bytes
        m21 = "?"
    h = hashlib.sha256(f"{FORMAT}/{m21}/{reader_digest()}/{path.suffix.lower()}/".encode())
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def get(key: str) -> Score | None:
    with _lock:
        score = _memory.get(key)
        if score is not None:
            _memory.move_to_end(key)
            return score
    score = _read(_file(key))
    if score is not None:
        _remember(key, score)
        try:
            os.utime(_file(key))  # recently used: pruned last
        except OSError:
            pass
    return score


def put(key: str, score: Score) -> None:
    _remember(key, score)
    try:
        _write(_file(key), score)
        _prune()
    except OSError:  # a read-only or full disk: the cache is a convenience, the Score is still returned
        pass


def _remember(key: str, score: Score) -> None:
    with _lock:
        _memory[key] = score
        _memory.move_to_end(key)
        while len(_memory) > MEMORY:
            _memory.popitem(last=False)


def _file(key: str) -> Path:
    return Path(caches.cache_root()) / "notation" / f"{key}.npz"


def _write(path: Path, score: Score) -> None:
    """Atomically: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "tpq": score.tpq,
            "tempos": [list(t) for t in score.tempos], "time_signatures": [list(t) for t in score.time_signatures],
            "markers": [list(m) for m in score.markers],
            "key_signatures": [[k.tick, k.sharps, bool(k.minor)] for k in score.key_signatures],
            "tracks": [{"program": t.program, "is_drum": t.is_drum, "name": t.name, "channel": t.channel}
                       for t in score.tracks]}
    arrays = {f"notes{i}": t.array for i, t in enumerate(score.tracks)}
    arrays.update({f"controls{i}": t.controls for i, t in enumerate(score.tracks)})
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    with open(tmp, "wb") as f:
        np.savez(f, __meta__=np.array(json.dumps(meta)), **arrays)
    os.replace(tmp, path)


def _read(path: Path) -> Score | None:
    """A Score written by `_write`, or None when it is missing, foreign or damaged."""
    try:
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(str(z["__meta__"]))
            if meta.get("format") != FORMAT:
                return None
            tracks = tuple(Track(z[f"notes{i}"], program=t["program"], is_drum=t["is_drum"], name=t["name"],
                                 channel=t["channel"], controls=[Control(*c) for c in z[f"controls{i}"].tolist()])
                           for i, t in enumerate(meta["tracks"]))
        return Score(tpq=int(meta["tpq"]), tracks=tracks, tempos=tuple(Tempo(*t) for t in meta["tempos"]),
                     time_signatures=tuple(TimeSignature(*t) for t in meta["time_signatures"]),
                     markers=tuple(Marker(*m) for m in meta["markers"]),
                     key_signatures=tuple(KeySignature(k[0], k[1], bool(k[2])) for k in meta["key_signatures"]))
    except (OSError, ValueError, KeyError, TypeError, IndexError, EOFError, zipfile.BadZipFile):
        return None


def _prune() -> None:
    """At most MAX_FILES on disk: the least recently used go first."""
    folder = Path(caches.cache_root()) / "notation"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return
    if len(entries) <= MAX_FILES:
        return
    entries.sort(key=lambda e: e.stat().st_mtime if e.is_file() else 0)
    for e in entries[:len(entries) - MAX_FILES]:
        try:
            os.unlink(e.path)
        except OSError:
            pass
