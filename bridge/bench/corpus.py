"""`cadenza bench corpus CORPUS`: preparation at scale, in one run.

1. Throughput: `cadenza prepare` on this machine's processes against the same preparation as an Apache
   Beam pipeline on the DirectRunner (the same number of workers, and one), on the same files (the corpus,
   then the larger one below); the shards are compared byte for byte and the manifests entry for entry.
2. Memory: the peak resident memory of `cadenza prepare` on the corpus and on a corpus COPIES times as
   large, made of transposed copies of its files (real MIDI files, each a different piece of data), each
   run in a fresh process (encoding on one process, so its peak is the whole run's). Beside it: what the
   larger corpus's ids take as the encoder returns them, the memory a preparation holding the corpus
   would need on top.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import time
from pathlib import Path

from ..errors import CadenzaError
from ..harness.measure import peak_memory


def transposed_corpus(corpus: Path, out: Path, copies: int) -> int:
    """COPIES transposed copies of every MIDI file of `corpus` (shifts 0, +1, -1, +2, ...); the files written."""
    from ..music import read_midi, write_midi
    from ..music.transforms import transpose, transpositions
    from ..training.prepare import find_files

    order = [0] + [s for k in range(1, 13) for s in (k, -k)]
    n = 0
    for p in find_files(corpus, (".mid", ".midi")):
        try:
            score = read_midi(p)
        except CadenzaError:
            continue
        rel = p.relative_to(corpus)
        fits = set(transpositions(score, 12)) | {0}
        for s in [s for s in order if s in fits][:copies]:
            dst = out / f"t{s:+d}" / rel
            dst.parent.mkdir(parents=True, exist_ok=True)
            write_midi(transpose(score, s) if s else score, dst)
            n += 1
    return n


def digest(folder: Path) -> dict:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.glob("shard-*.npy"))}


def same_manifest(a: dict, b: dict) -> bool:
    return a["files"] == b["files"] and a["failed"] == b["failed"] and a["statistics"] == b["statistics"]


def throughput(corpus: Path, tmp: Path, workers: int, beam: bool) -> dict:
    """Seconds of prepare and of the Beam pipeline (on `workers` processes and on one) on `corpus`, and
    whether their shards and manifests are the same."""
    from ..training.prepare import PrepareConfig, prepare

    r: dict = {"workers": workers}
    cfg = dict(corpus=corpus, progress=False, workers=workers, shards=4)
    prepare(PrepareConfig(out=tmp / "warm", **cfg))  # the files in the page cache, the kernels compiled
    t = time.perf_counter()
    local = prepare(PrepareConfig(out=tmp / "local", **cfg))
    r["local_s"] = time.perf_counter() - t
    r["files"] = local["totals"]["files"]
    r["tokens"] = local["totals"]["tokens"]
    if beam:
        for name, w in (("beam", workers), ("beam_1", 1)):
            t = time.perf_counter()
            m = prepare(PrepareConfig(out=tmp / name, runner="beam", **{**cfg, "workers": w}))
            r[f"{name}_s"] = time.perf_counter() - t
            r[f"{name}_identical"] = digest(tmp / name) == digest(tmp / "local") and same_manifest(m, local)
    return r


def run(corpus: str, copies: int = 10, workers: int = 0, beam: bool = True, memory: bool = True) -> dict:
    corpus_path = Path(corpus)
    if not corpus_path.is_dir():
        raise CadenzaError(f"{corpus}: no such folder")
    workers = workers or os.cpu_count() or 1
    result: dict = {"corpus": str(corpus_path.resolve()), "workers": workers, "cpu_count": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="cadenza-bench-corpus-") as tmp:
        tmp = Path(tmp)
        result.update(throughput(corpus_path, tmp / "1x", workers, beam))
        if memory:
            big = tmp / f"x{copies}"
            t = time.perf_counter()
            result["copies_files"] = transposed_corpus(corpus_path, big, copies)
            result["copies_written_s"] = time.perf_counter() - t
            one = tmp / "x1"
            transposed_corpus(corpus_path, one, 1)
            result["x1"] = peak_memory(one, tmp / "m1")
            result[f"x{copies}"] = peak_memory(big, tmp / "m10")
            result["x1_workers"] = peak_memory(one, tmp / "m1w", workers)
            result[f"x{copies}_workers"] = peak_memory(big, tmp / "m10w", workers)
            result["copies"] = copies
            result["held_if_in_memory_mb"] = result[f"x{copies}"]["tokens"] * 4 / 2**20  # int32 ids
            if beam:
                result["copies_throughput"] = throughput(big, tmp / "10x", workers, beam)
            shutil.rmtree(big, ignore_errors=True)
    return result


def _throughput_rows(r: dict, label: str) -> list[str]:
    base = r["local_s"]
    return [f"  throughput{label:<19}seconds  files/s  vs prepare  identical shards",
            f"  cadenza prepare              {base:7.2f}  {r['files'] / base:7.0f}       1.00x  -",
            f"  beam DirectRunner x{r['workers']:<2}       {r['beam_s']:7.2f}  "
            f"{r['files'] / r['beam_s']:7.0f}       {base / r['beam_s']:.2f}x  {'yes' if r['beam_identical'] else 'NO'}",
            f"  beam DirectRunner x1         {r['beam_1_s']:7.2f}  {r['files'] / r['beam_1_s']:7.0f}  "
            f"     {base / r['beam_1_s']:.2f}x  {'yes' if r['beam_1_identical'] else 'NO'}"]


def table(r: dict) -> str:
    lines = [f"bench corpus: {r['files']} files, {r['tokens']} tokens, {r['corpus']} "
             f"({r['workers']} workers, {r['cpu_count']} cores)"]
    if "beam_s" in r:
        lines += _throughput_rows(r, "")
    if "copies_throughput" in r:
        lines += _throughput_rows(r["copies_throughput"], f" ({r['copies']}x: {r['copies_throughput']['files']} files)")
    if "copies" in r:
        k = r["copies"]
        a, b = r["x1"], r[f"x{k}"]
        aw, bw = r["x1_workers"], r[f"x{k}_workers"]
        lines += [f"  memory (peak RSS)            1x ({a['files']} files)  {k}x ({b['files']} files)  ratio",
                  f"  prepare, 1 process           {a['peak_mb']:8.0f} MB  {b['peak_mb']:10.0f} MB  "
                  f"{b['peak_mb'] / a['peak_mb']:.2f}x",
                  f"  prepare, {r['workers']} workers: main       {aw['peak_mb']:8.0f} MB  {bw['peak_mb']:10.0f} MB  "
                  f"{bw['peak_mb'] / aw['peak_mb']:.2f}x",
                  f"  prepare, {r['workers']} workers: worker     {aw['worker_peak_mb']:8.0f} MB  "
                  f"{bw['worker_peak_mb']:10.0f} MB  {bw['worker_peak_mb'] / aw['worker_peak_mb']:.2f}x",
                  f"  the {k}x corpus's ids as encoded (int32): {r['held_if_in_memory_mb']:.0f} MB "
                  f"({b['tokens']} tokens); {r['copies_files']} files written in {r['copies_written_s']:.0f} s"]
    return "\n".join(lines)
