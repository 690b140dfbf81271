"""`cadenza prepare`: a folder of music -> token shards and a manifest, streaming, on all cores.

Output folder:
    manifest.json      codec (name, params, vocabulary), every file with its token count, shard, offset,
                       part (train / validation / generation, or the corpus's own test) and transposition;
                       every failed file with its one-line reason; statistics; the corpus licence files
    shard-00000.npy    the token ids of whole files, concatenated (uint16; messages: (N, 3))

A file's shard is a stable hash of its path (the number of shards is fixed before any file is read:
one per 16 MB of input files), and inside a shard its files lie in path order. So the output depends
only on the files, never on the order they were encoded in or the machine: `--runner beam`
(bridge/training/beam.py) writes the same bytes.

Memory stays flat at any corpus size: files are encoded a few at a time ahead of the writer, each
file's ids are appended to its shard's file as soon as the files before it are written, and what is
held is the manifest's list of files (a few hundred bytes a file).

A bad file is listed, never fatal: reading errors are caught per file, and a file that crashes
its worker process outright is retried alone and then listed as failed.
"""
from __future__ import annotations

import hashlib
import json
import math
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import __version__
from ..codecs import Codec, get_codec
from ..errors import CadenzaError
from ..music import atomic_write_text
from .split import official_split, part_of

LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "COPYRIGHT")
SHARD_INPUT_BYTES = 16 << 20  # one shard per this many bytes of input files, by default
AHEAD = 4  # files encoded ahead of the writer, per worker: what bounds the memory held


@dataclass
class PrepareConfig:
    corpus: Path
    out: Path
    codec: str = "performance"
    params: dict = field(default_factory=dict)  # codec parameters, stored in the manifest
    workers: int = 0  # 0: every core
    shards: int = 0  # 0: one per 16 MB of input files (and their transposed copies)
    transpose: int = 0  # also write each file transposed by -N..N semitones (copies out of range skipped)
    progress: bool = True
    max_files: int = 0  # encode only the first N files (0: all): smoke tests and quick trials
    runner: str = ""  # "": this machine's processes; "beam": an Apache Beam pipeline (bridge/training/beam.py)
    beam_options: list = field(default_factory=list)  # pipeline options passed through, e.g. --runner=FlinkRunner


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


# ---- what both runners share: a file's shard, its records, a shard's bytes -----------------------
def shard_of(rel: str, shards: int) -> int:
    return int(hashlib.sha1(rel.encode()).hexdigest()[:8], 16) % shards


def shard_count(files: list[Path], asked: int, transpose: int = 0) -> int:
    """As asked, or one per 16 MB of input (of input and its transposed copies)."""
    if asked < 0 or asked > 100_000:
        raise CadenzaError(f"--shards {asked}: 1 to 100000, or 0 for one per 16 MB of input")
    if asked:
        return asked
    size = sum(p.stat().st_size for p in files) * (2 * transpose + 1)
    return max(1, math.ceil(size / SHARD_INPUT_BYTES))


def storage_dtype(codec: Codec):
    small = codec.vocab_size <= 65536 and max(getattr(codec, "field_sizes", (0,))) <= 65536
    return np.dtype(np.uint16 if small else np.int32)


def record_shape(codec: Codec) -> tuple:
    """The shape of one token in a shard: () for ids, (fields,) for codecs whose tokens are tuples."""
    return () if codec.fields == ("token",) else (len(codec.fields),)


def transposer(codec: Codec, transpose: int):
    """shift -> id table, for --transpose; refuses a codec whose tokens cannot be transposed."""
    if not transpose:
        return None
    if transpose < 0 or transpose > 24:
        raise CadenzaError(f"--transpose {transpose}: 0 to 24 semitones")
    table = codec.transpose_table(transpose) if codec.fields == ("token",) else None
    if table is None:
        raise CadenzaError(f"codec {codec.name!r} has no pitch tokens to transpose; prepare it without --transpose")
    return table


def records(rel: str, ids: np.ndarray, table, transpose: int) -> Iterator[tuple[int, np.ndarray]]:
    """(shift, ids) for the file and each transposed copy that stays in the codec's range, shift order."""
    for s in range(-transpose, transpose + 1):
        if s == 0:
            yield 0, ids
            continue
        moved = table[transpose + s][ids]
        if (moved >= 0).all():
            yield s, moved.astype(ids.dtype)


def shard_header(dtype, shape: tuple) -> bytes:
    """The .npy header of an array of `shape`: a shard is this followed by its files' ids, raw."""
    import io

    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
                                               "fortran_order": False, "shape": shape})
    return buf.getvalue()


def statistics(entries: list[dict], failed: list[dict], shards: int) -> dict:
    parts: dict[str, dict] = {}
    per_shard = [0] * shards
    for e in entries:
        p = parts.setdefault(e["part"], {"records": 0, "files": set(), "tokens": 0})
        p["records"] += 1
        p["files"].add(e["path"])
        p["tokens"] += e["tokens"]
        per_shard[e["shard"]] += e["tokens"]
    tokens = [e["tokens"] for e in entries if e.get("transpose", 0) == 0]
    return {
        "parts": {k: {"files": len(v["files"]), "records": v["records"], "tokens": v["tokens"]}
                  for k, v in sorted(parts.items())},
        "tokens_per_shard": per_shard,
        "tokens_per_file": {"mean": round(float(np.mean(tokens)), 1) if tokens else 0,
                            "max": int(max(tokens)) if tokens else 0},
        "failed": len(failed),
    }


def manifest_of(corpus: Path, codec: Codec, dtype, files: int, entries: list[dict], failed: list[dict],
                shards: int, transpose: int, seconds: float, workers: int, runner: str) -> dict:
    entries.sort(key=lambda e: (e["path"], e.get("transpose", 0)))
    failed.sort(key=lambda f: f["path"])
    return {
        "cadenza": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "corpus": str(corpus.resolve()),
        "licences": find_licences(corpus),
        "codec": codec.describe(),
        "vocab": codec.vocab,
        "dtype": np.dtype(dtype).name,
        "transpose": transpose,
        "split": "the corpus's own (info.csv) where it names a file, else a hash of corpus/path "
                 "(cadenza train's default seed and fractions)",
        "totals": {"files": files, "encoded": len({e["path"] for e in entries}), "records": len(entries),
                   "failed": len(failed), "tokens": int(sum(e["tokens"] for e in entries)), "shards": shards,
                   "seconds": round(seconds, 2), "workers": workers, "runner": runner or "local"},
        "statistics": statistics(entries, failed, shards),
        "files": entries,
        "failed": failed,
    }


def failure(rel: str, path: str, ids, err) -> str | None:
    """The one-line reason a file gives no records, relative to the corpus; None if it gives some."""
    if err is not None:
        return err.replace(path, rel, 1)
    if len(ids) == 0:
        return f"{rel}: no notes to encode"
    return None


# ---- worker side --------------------------------------------------------------------------------
_codec: Codec | None = None


def _init_worker(name: str, params: dict) -> None:
    global _codec
    _codec = get_codec(name, **params)


def encode_with(codec: Codec, path: str) -> tuple[np.ndarray | None, str | None]:
    """(ids, None), or (None, the reason in one line): what either runner does with one file."""
    try:
        return codec.encode_file(path), None
    except CadenzaError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - a library failing on one file must not stop the corpus
        return None, f"{path}: cannot encode: {type(e).__name__}: {e}"


def _encode_one(path: str) -> tuple[str, np.ndarray | None, str | None]:
    assert _codec is not None
    return (path, *encode_with(_codec, path))


def _context():
    return mp.get_context("fork") if sys.platform.startswith("linux") else mp.get_context("spawn")


def encode_stream(paths: list[str], name: str, params: dict, workers: int, progress: bool = True,
                  desc: str = "encoding") -> Iterator[tuple[str, np.ndarray | None, str | None]]:
    """(path, ids, None) or (path, None, error) for every path, in the order given, encoded on `workers`
    processes at most AHEAD files each ahead of the caller: memory stays flat whatever the corpus."""
    from tqdm import tqdm

    _init_worker(name, params)
    _warm_up()
    bar = tqdm(total=len(paths), desc=desc, unit="file", disable=not progress, file=sys.stderr,
               dynamic_ncols=True)
    try:
        if workers <= 1:
            for p in paths:
                yield _encode_one(p)
                bar.update()
            return
        todo = deque(paths)
        while todo:
            crashed = None
            with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_worker,
                                     initargs=(name, params)) as pool:
                window: deque = deque()
                while todo or window:
                    while todo and len(window) < AHEAD * workers:
                        p = todo.popleft()
                        window.append((p, pool.submit(_encode_one, p)))
                    p, fut = window[0]
                    try:
                        got = fut.result()
                    except BrokenProcessPool:
                        crashed = [q for q, _ in window]
                        break
                    window.popleft()
                    yield got
                    bar.update()
            if crashed:  # the files in flight, each alone, to find the one that kills its process
                for p in crashed:
                    yield _encode_alone(p, name, params)
                    bar.update()
    finally:
        bar.close()


def _encode_alone(path: str, name: str, params: dict):
    try:
        with ProcessPoolExecutor(max_workers=1, mp_context=_context(), initializer=_init_worker,
                                 initargs=(name, params)) as pool:
            return pool.submit(_encode_one, path).result()
    except BrokenProcessPool:
        return path, None, f"{path}: the encoder crashed on this file"


def encode_files(paths: list[str], name: str, params: dict, workers: int, progress: bool = True,
                 desc: str = "encoding") -> dict[str, tuple[np.ndarray | None, str | None]]:
    """Encode files on `workers` processes; returns path -> (ids, None) or (None, error)."""
    return {p: (ids, err) for p, ids, err in encode_stream(paths, name, params, workers, progress, desc)}


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
    table = transposer(codec, cfg.transpose)
    files = find_files(corpus, codec.suffixes)
    if cfg.max_files:
        files = files[:cfg.max_files]  # before encoding: a trial on 24 files reads 24 files
    if not files:
        raise CadenzaError(f"{corpus}: no music files ({', '.join(codec.suffixes)}) in this folder")
    shards = shard_count(files, cfg.shards, cfg.transpose)
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("shard-*.npy"):
        old.unlink()
    if cfg.runner == "beam":
        from .beam import prepare_beam

        return prepare_beam(cfg, corpus, codec, files, shards)
    if cfg.runner:
        raise CadenzaError(f"--runner {cfg.runner!r}: beam, or leave it out")
    workers = min(cfg.workers or os.cpu_count() or 1, len(files))
    dtype = storage_dtype(codec)
    official = official_split(corpus)
    t0 = time.perf_counter()
    entries, failed = [], []
    tag = f"{os.getpid()}"  # two preparations of one folder (workers sharing a disk) never share a file
    parts = [out / f".shard-{k:05d}.npy.{tag}.part" for k in range(shards)]
    sinks = [open(p, "wb") for p in parts]
    lengths = [0] * shards
    try:
        for path, ids, err in encode_stream([str(p) for p in files], codec.name, codec.params, workers,
                                            cfg.progress, desc=codec.name):
            rel = Path(path).relative_to(corpus).as_posix()
            why = failure(rel, path, ids, err)
            if why:
                failed.append({"path": rel, "error": why})
                continue
            k = shard_of(rel, shards)
            for shift, rec in records(rel, ids, table, cfg.transpose):
                entry = {"path": rel, "tokens": int(len(rec)), "shard": k, "offset": lengths[k],
                         "part": part_of(corpus.name, rel, official)}
                if cfg.transpose:
                    entry["transpose"] = shift
                entries.append(entry)
                sinks[k].write(np.ascontiguousarray(rec, dtype=dtype).tobytes())
                lengths[k] += len(rec)
        for f in sinks:
            f.close()
        for k, part in enumerate(parts):  # header + ids, written beside and renamed: atomic per shard
            tmp = out / f".shard-{k:05d}.npy.{tag}.tmp"
            with open(tmp, "wb") as dst, open(part, "rb") as src:
                dst.write(shard_header(dtype, (lengths[k], *record_shape(codec))))
                while chunk := src.read(1 << 22):
                    dst.write(chunk)
            os.replace(tmp, out / f"shard-{k:05d}.npy")
    finally:
        for f in sinks:
            f.close()
        for p in parts:
            p.unlink(missing_ok=True)
    manifest = manifest_of(corpus, codec, dtype, len(files), entries, failed, shards, cfg.transpose,
                           time.perf_counter() - t0, workers, "")
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
