"""How parts sit under a melody: the figures `cadenza bench harmonize` and `cadenza eval` report.

Notes are (N, 4) arrays of pitch, velocity, start, end in ticks. Voices are read from the sound, never
from track names, so real chorales and generated parts are measured the same way: at every moment the
notes sounding are ranked from the top (the melody is voice 0), and where four sound at two moments in a
row, voice k at one moves to voice k at the next (as in a chorale's soprano, alto, tenor and bass).
"""
from __future__ import annotations

import numpy as np

#: the usual range of each voice under a soprano (alto, tenor, bass), MIDI pitches (a textbook's, generous)
SATB_RANGES = ((55, 77), (47, 69), (36, 62))


def _sounding(notes: np.ndarray, t: int) -> np.ndarray:
    return notes[(notes[:, 2] <= t) & (notes[:, 3] > t), 0] if len(notes) else np.zeros(0, np.int64)


def chord_tone_share(melody: np.ndarray, parts: np.ndarray, tpq: int) -> tuple[int, int]:
    """(agreeing, counted): of the melody's notes starting on a beat (a whole quarter note), how many
    have their pitch class among the pitch classes the parts sound at that moment (none sounding: counted,
    not agreeing)."""
    agree = counted = 0
    for p, _, s, _ in melody.tolist():
        if s % tpq:
            continue
        counted += 1
        pcs = set((_sounding(parts, s) % 12).tolist())
        agree += (p % 12) in pcs
    return agree, counted


def slices(melody: np.ndarray, parts: np.ndarray) -> list[tuple[int, list[int]]]:
    """(tick, pitches sounding from the top) at every onset, the melody's note first where one sounds."""
    times = np.unique(np.concatenate([melody[:, 2], parts[:, 2]])) if len(parts) else np.unique(melody[:, 2])
    out = []
    for t in times.tolist():
        top = _sounding(melody, t)
        below = sorted(_sounding(parts, t).tolist(), reverse=True)
        out.append((t, ([int(top.max())] if len(top) else []) + below))
    return out


def motion_figures(melody: np.ndarray, parts: np.ndarray) -> dict:
    """Parallel fifths and octaves per 100 voice-pair motions (both voices moving, four voices at both
    moments), parts above the melody (share of moments), and how many moments sound four voices."""
    sl = slices(melody, parts)
    parallels = motions = above = four = 0
    for (_, a), (_, b) in zip(sl, sl[1:]):
        if len(a) == 4 and len(b) == 4:
            four += 1
            for i in range(4):
                for j in range(i + 1, 4):
                    if a[i] == b[i] or a[j] == b[j]:
                        continue
                    motions += 1
                    ia, ib = (a[i] - a[j]) % 12, (b[i] - b[j]) % 12
                    if ia == ib and ia in (0, 7) and (b[i] - a[i]) * (b[j] - a[j]) > 0:
                        parallels += 1
    for t, _ in sl:
        top = _sounding(melody, t)
        if len(top) and len(parts) and (_sounding(parts, t) > top.max()).any():
            above += 1
    return {"parallels": parallels, "motions": motions, "above_melody": above, "moments": len(sl),
            "four_voice_moments": four}


def voice_range_share(melody: np.ndarray, parts: np.ndarray, ranges=SATB_RANGES) -> tuple[int, int]:
    """(in range, counted): parts' notes at moments of four voices, each in its voice's range (by rank)."""
    inside = counted = 0
    for _, ps in slices(melody, parts):
        if len(ps) == 4:
            for p, (lo, hi) in zip(ps[1:], ranges):
                counted += 1
                inside += lo <= p <= hi
    return inside, counted
