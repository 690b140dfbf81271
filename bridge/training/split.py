"""Which part of the corpus a file belongs to: training, validation, generation (or a corpus's own test).

The same answer wherever it is asked: `cadenza prepare` (on one machine or in a Beam pipeline) records it
in the manifest, and `cadenza train` with the same seed and fractions comes to the same split. A file's
part depends on its identity alone (the corpus folder's name and its path inside it, hashed), never on
the order or the machine it was read on, so transposed copies of a file stay in its part.
"""
from __future__ import annotations

import csv
import hashlib
from pathlib import Path

SEED = 0
VALIDATION = 0.1
GENERATION = 0.1


def split_of(path: str, seed: int = SEED, val: float = VALIDATION, gen: float = GENERATION) -> str:
    """generation, validation or train, from a stable hash of `path` (corpus name / relative path)."""
    u = int(hashlib.sha1(f"{seed}:{path}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "generation" if u < gen else "validation" if u < gen + val else "train"


def official_split(folder: Path) -> dict[str, str]:
    """A corpus's own split, where it has one: an info.csv with `midi_filename` and `split` columns (the
    Groove MIDI Dataset's): relative path -> train, validation or test."""
    info = Path(folder) / "info.csv"
    if not info.is_file():
        return {}
    with info.open(newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows or "midi_filename" not in rows[0] or "split" not in rows[0]:
        return {}
    return {r["midi_filename"]: r["split"] for r in rows}


def part_of(corpus_name: str, rel: str, official: dict[str, str]) -> str:
    """The part `cadenza prepare` records: the corpus's own split where it names the file, else the hash
    with cadenza train's default seed and fractions."""
    return official.get(rel) or split_of(f"{corpus_name}/{rel}")
