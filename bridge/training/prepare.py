"""`cadenza prepare`: a folder of music -> token shards and a manifest, on all cores.

Output folder:
    manifest.json      codec (name, params, vocabulary), every file with its token count, shard and
                       offset, every failed file with its one-line reason, the corpus licence files
    shard-00000.npy    the token ids of whole files, concatenated (uint16; messages: (N, 3))

A bad file is listed, never fatal: reading errors are caught per file, and a file that crashes
its worker process outright is retried alone and then listed as failed.
"""
from __future__ import annotations

import json
import multiprocessing as mp
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from ..codecs import Codec, get_codec
from ..errors import CadenzaError
from ..music import atomic_write_bytes, atomic_write_text

LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "COPYRIGHT")


@dataclass
class PrepareConfig:
    corpus: Path
    out: Path
    codec: str = "performance"
    params: dict = field(default_factory=dict)  # codec parameters, stored in the manifest
    workers: int = 0  # 0: every core
    shard_tokens: int = 2_000_000  # a shard closes once it holds this many tokens (files stay whole)
    progress: bool = True
    max_files: int = 0  # encode only the first N files (0: all): smoke tests and quick trials


def find_files(corpus: Path, suffixes) -> list[Path]:
    suffixes = tuple(s.lower() for s in suffixes)
    return sorted(p for p in corpus.rglob("*")
                  if p.is_file() and p.suffix.lower() in suffixes and not p.name.startswith("."))


def find_licences(corpus: Path) -> list[dict]:
    """Licence files in the corpus folder, its subfolders and the folder above it."""
    found = []
    candidates = list(corpus.rglob("*")) + [p for p in corpus.resolve().parent.iterdir() if p.is_file()]
    for p in sorted(set(candidates)):
        if p.is_file() and p.name.upper().startswith(LICENCE_NAMES):
            try:
                first = next((ln.strip() for ln in p.read_text(errors="replace").splitlines() if ln.strip()), "")
            except OSError:
                first = ""
            found.append({"file": str(p.resolve()), "first_line": first[:200]})
    return found


# ---- worker side --------------------------------------------------------------------------------
_codec: Codec | None = None


def _init_worker(name: str, params: dict) -> None:
    global _codec
    _codec = get_codec(name, **params)


def _encode_one(path: str) -> tuple[str, np.ndarray | None, str | None]:
    assert _codec is not None
    try:
        return path, _codec.encode_file(path), None
    except CadenzaError as e:
        return path, None, str(e)
    except Exception as e:  # noqa: BLE001 - a library failing on one file must not stop the corpus
        return path, None, f"{path}: cannot encode: {type(e).__name__}: {e}"


def _context():
    return mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context("spawn")


def encode_files(paths: list[str], name: str, params: dict, workers: int, progress: bool = True,
                 desc: str = "encoding") -> dict[str, tuple[np.ndarray | None, str | None]]:
    """Encode files on `workers` processes; returns path -> (ids, None) or (None, error)."""
    from tqdm import tqdm

    _init_worker(name, params)
    _warm_up()
    results: dict[str, tuple[np.ndarray | None, str | None]] = {}
    bar = tqdm(total=len(paths), desc=desc, unit="file", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    if workers <= 1:
        for p in paths:
            path, ids, err = _encode_one(p)
            results[path] = (ids, err)
            bar.update()
        bar.close()
        return results
    pending = list(paths)
    lone = False  # after a crash, the unfinished files run one per pool to find the culprit
    while pending:
        batch = pending if not lone else pending[:1]
        try:
            with ProcessPoolExecutor(max_workers=1 if lone else workers, mp_context=_context(),
                                     initializer=_init_worker, initargs=(name, params)) as pool:
                futures = {pool.submit(_encode_one, p): p for p in batch}
                for fut in as_completed(futures):
                    path, ids, err = fut.result()
                    results[path] = (ids, err)
                    bar.update()
        except BrokenProcessPool:
            if lone:
                results[batch[0]] = (None, f"{batch[0]}: the encoder crashed on this file")
                bar.update()
            lone = True
        pending = [p for p in pending if p not in results]
    bar.close()
    return results


def _warm_up() -> None:
    """Compile the numba kernels once in this process, before workers fork from it."""
    from ..music import Score

    score = Score.from_beats([(60, 0, 1, 80), (64, 1, 1, 90)])
    get_codec("performance").encode(score)


# ---- the command ----------------------------------------------------------------------------------
def prepare(cfg: PrepareConfig) -> dict:
    corpus = Path(cfg.corpus)
    if not corpus.is_dir():
        raise CadenzaError(f"{corpus}: no such folder")
    codec = get_codec(cfg.codec, **cfg.params)
    files = find_files(corpus, codec.suffixes)
    if cfg.max_files:
        files = files[:cfg.max_files]  # before encoding: a trial on 24 files reads 24 files
    if not files:
        raise CadenzaError(f"{corpus}: no music files ({', '.join(codec.suffixes)}) in this folder")
    workers = cfg.workers or os.cpu_count() or 1
    t0 = time.perf_counter()
    results = encode_files([str(p) for p in files], codec.name, codec.params, min(workers, len(files)),
                           cfg.progress, desc=f"{codec.name}")
    elapsed = time.perf_counter() - t0

    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("shard-*.npy"):
        old.unlink()
    dtype = np.uint16 if codec.vocab_size <= 65536 and max(getattr(codec, "field_sizes", (0,))) <= 65536 else np.int32
    entries, failed = [], []
    shard: list[np.ndarray] = []
    shard_len = 0
    shard_index = 0

    def flush():
        nonlocal shard, shard_len, shard_index
        if shard:
            arr = np.concatenate(shard).astype(dtype)
            import io
            buf = io.BytesIO()
            np.save(buf, arr)
            atomic_write_bytes(out / f"shard-{shard_index:05d}.npy", buf.getvalue())
            shard_index += 1
        shard, shard_len = [], 0

    for p in files:
        ids, err = results[str(p)]
        rel = str(p.relative_to(corpus))
        if err is not None:
            failed.append({"path": rel, "error": err.replace(str(p), rel, 1)})
            continue
        if len(ids) == 0:
            failed.append({"path": rel, "error": f"{rel}: no notes to encode"})
            continue
        entries.append({"path": rel, "tokens": int(len(ids)), "shard": shard_index, "offset": shard_len})
        shard.append(ids)
        shard_len += len(ids)
        if shard_len >= cfg.shard_tokens:
            flush()
    flush()
    manifest = {
        "cadenza": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "corpus": str(corpus.resolve()),
        "licences": find_licences(corpus),
        "codec": codec.describe(),
        "vocab": codec.vocab,
        "dtype": np.dtype(dtype).name,
        "totals": {"files": len(files), "encoded": len(entries), "failed": len(failed),
                   "tokens": int(sum(e["tokens"] for e in entries)), "shards": shard_index,
                   "seconds": round(elapsed, 2), "workers": workers},
        "files": entries,
        "failed": failed,
    }
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def load_prepared(folder: str | os.PathLike) -> tuple[dict, list[np.ndarray]]:
    """Read a prepared folder back: the manifest and each file's ids, in manifest order."""
    folder = Path(folder)
    try:
        manifest = json.loads((folder / "manifest.json").read_text())
    except (OSError, ValueError) as e:
        raise CadenzaError(f"{folder}: not a prepared corpus (manifest.json: {e})") from None
    shards = {}
    seqs = []
    for e in manifest["files"]:
        if e["shard"] not in shards:
            shards[e["shard"]] = np.load(folder / f"shard-{e['shard']:05d}.npy")
        seqs.append(shards[e["shard"]][e["offset"]:e["offset"] + e["tokens"]])
    return manifest, seqs
