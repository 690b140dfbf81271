"""The layout of prepared shards, shared by both runners (prepare.py's processes and beam.py's pipeline):
which shard a file goes to, how its records are written and transposed, the manifest, a failure's one line.
"""
from __future__ import annotations

import hashlib
import math
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np

from .. import __version__
from ..codecs import Codec
from ..errors import CadenzaError
from .config import PrepareConfig  # noqa: F401 - re-exported: the settings (and flags) of `cadenza prepare`


LICENCE_NAMES = ("LICENSE", "LICENCE", "COPYING", "COPYRIGHT")
SHARD_INPUT_BYTES = 16 << 20  # one shard per this many bytes of input files, by default
AHEAD = 4  # files encoded ahead of the writer, per worker: what bounds the memory held


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


def encode_with(codec: Codec, path: str) -> tuple[np.ndarray | None, str | None]:
    """(ids, None), or (None, the reason in one line): what either runner does with one file."""
    try:
        return codec.encode_file(path), None
    except CadenzaError as e:
        return None, str(e)
    except Exception as e:  # noqa: BLE001 - a library failing on one file must not stop the corpus
        return None, f"{path}: cannot encode: {type(e).__name__}: {e}"
