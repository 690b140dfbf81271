"""What a musician can ask for, as frozen values: every door turns its input into one of these.

A task's settings are already checked (bridge.settings, the one specification); a prime is a Score (notes
as sent, already read) or a Path (a file, read when the task runs, on a worker). `out` is where the first
variation is written (None: nothing is written); variation k of several goes to `NAME-k.mid` beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from ..music import Score
from ..settings import Settings

Prime = Union[Score, Path, None]


@dataclass(frozen=True)
class Continue:
    """Continue a prime (or generate from nothing: no prime) with a token model."""
    settings: Settings
    prime: Prime = None
    out: Path | None = None
    include_prime: bool | None = None  # None: a file's prime is written back whole; notes get the new music alone
    held_out: float = 0.0  # > 0: the prime is the opening (this many beats) of a piece the model never trained on
    tokens: int = 0  # > 0: ask for tokens instead of beats (benchmarks, the CLI's --tokens)


@dataclass(frozen=True)
class Infill:
    """Write the region start-end (beats) of a piece anew, given the music on both sides."""
    settings: Settings
    prime: Prime
    start: float
    end: float
    out: Path | None = None


DRUM_TASKS = ("groove", "drumify", "interpolate")


@dataclass(frozen=True)
class Drums:
    """A drum task of the groove model: groove (play a beat with feel), drumify (a kit for a rhythm),
    interpolate (from the first beat to the second)."""
    kind: str
    settings: Settings
    primes: tuple  # one prime; two for interpolate
    out: Path | None = None

    def __post_init__(self):
        from ..errors import CadenzaError

        if self.kind not in DRUM_TASKS:
            raise CadenzaError(f"drum task {self.kind!r}: choose one of {', '.join(DRUM_TASKS)}")
        if len(self.primes) != (2 if self.kind == "interpolate" else 1):
            raise CadenzaError("interpolate takes two beats" if self.kind == "interpolate"
                               else f"{self.kind} takes one piece")


HARMONY_MODEL = "chorale-harmony"  # what harmonize uses when no model is named


@dataclass(frozen=True)
class Harmonize:
    """Write the parts under a melody with a harmony model: the melody stays exactly as given, the top line."""
    settings: Settings
    prime: Prime  # the melody: one line (chords are refused by name)
    out: Path | None = None


Task = Union[Continue, Infill, Drums, Harmonize]


def outputs(out: Path, n: int) -> list[Path]:
    """Where n variations go: `out` for one; NAME-1.mid, NAME-2.mid ... beside it for several."""
    out = Path(out)
    if n == 1:
        return [out]
    return [out.with_name(f"{out.stem}-{k + 1}{out.suffix}") for k in range(n)]
