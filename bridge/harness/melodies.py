"""Melodies with known notes, to render and transcribe again (`cadenza bench transcribe`, the audio tests).

A melody is a seeded random walk in a major key (eighths to dotted halves, each note held for 90% of its span,
as played). A note is recovered when a transcribed note has its pitch and an onset within 50 ms (one-to-one,
in time order).
"""
from __future__ import annotations

import numpy as np

TOLERANCE = 0.05  # seconds
SCALE = (0, 2, 4, 5, 7, 9, 11)


def melody(seed: int, qpm: float, notes: int = 24, low: int = 55, high: int = 81, program: int = 0):
    """A Score of one melody line, and its notes as (pitch, onset s)."""
    from ..music import Score

    rng = np.random.default_rng(seed)
    tonic = int(rng.integers(0, 12))
    pitches = [p for p in range(low, high + 1) if (p - tonic) % 12 in SCALE]
    k = len(pitches) // 2
    beat, made = 0.0, []
    for _ in range(notes):
        k = int(np.clip(k + rng.choice([-3, -2, -1, -1, 1, 1, 2, 3, 0]), 0, len(pitches) - 1))
        span = float(rng.choice([0.5, 0.5, 1.0, 1.0, 1.5, 2.0, 3.0]))
        made.append((pitches[k], beat, span * 0.9, int(rng.integers(70, 110))))
        beat += span
    score = Score.from_beats(made, qpm=qpm)
    score = score.replace(tracks=tuple(t.replace(program=program) for t in score.tracks))
    return score, [(p, b * 60.0 / qpm) for p, b, _, _ in made]


def match(truth, found, tolerance: float = TOLERANCE) -> int:
    """How many true (pitch, onset) notes have a found note of that pitch within `tolerance` seconds."""
    used = set()
    hits = 0
    for pitch, onset in truth:
        best, best_d = None, tolerance
        for j, (p, s, *_rest) in enumerate(found):
            d = abs(s - onset)
            if j not in used and p == pitch and d <= best_d:
                best, best_d = j, d
        if best is not None:
            used.add(best)
            hits += 1
    return hits
