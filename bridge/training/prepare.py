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

import gc
import json
import multiprocessing as mp
import os
import sys
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Iterator

import numpy as np

from ..codecs import Codec, get_codec
from ..errors import CadenzaError
from ..music import atomic_write_text
from .layout import (AHEAD, PrepareConfig, encode_with, failure, find_files, manifest_of, record_shape, records,
                     shard_count, shard_header, shard_of, storage_dtype, transposer)
from .split import official_split, part_of

# ---- worker side --------------------------------------------------------------------------------
_codec: Codec | None = None


def _init_worker(name: str, params: dict) -> None:
    global _codec
    _codec = get_codec(name, **params)


def _init_child(name: str, params: dict) -> None:
    """A worker process's start. A forked worker inherits its parent's objects, TensorFlow's among them where the
    parent loaded it (a test, a notebook): collecting them there ran TensorFlow's finalisers in a process without
    its runtime and crashed it (a segfault, seen once in the test suite; the files in flight were then encoded
    again one by one). Out of the worker's collector's sight (gc.freeze), they are left as they are."""
    gc.freeze()
    _init_worker(name, params)


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
            with ProcessPoolExecutor(max_workers=workers, mp_context=_context(), initializer=_init_child,
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
        with ProcessPoolExecutor(max_workers=1, mp_context=_context(), initializer=_init_child,
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
    if cfg.runner not in ("local", ""):
        raise CadenzaError(f"--runner {cfg.runner!r}: local or beam")
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
