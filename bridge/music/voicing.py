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


BLOCK = 256  # ticks looked at together: (BLOCK, notes) arrays at a time, however long the piece


def _on(notes: np.ndarray, ticks: np.ndarray) -> np.ndarray:
    """(len(ticks), len(notes)): whether each note sounds at each tick (started at or before it, not ended)."""
    return (notes[None, :, 2] <= ticks[:, None]) & (notes[None, :, 3] > ticks[:, None])


def chord_tone_share(melody: np.ndarray, parts: np.ndarray, tpq: int) -> tuple[int, int]:
    """(agreeing, counted): of the melody's notes starting on a beat (a whole quarter note), how many
    have their pitch class among the pitch classes the parts sound at that moment (none sounding: counted,
    not agreeing)."""
    on_beat = melody[melody[:, 2] % tpq == 0]
    if not len(on_beat) or not len(parts):
        return 0, len(on_beat)
    agree = 0
    for i in range(0, len(on_beat), BLOCK):
        m = on_beat[i:i + BLOCK]
        same = (parts[None, :, 0] % 12) == (m[:, None, 0] % 12)
        agree += int((same & _on(parts, m[:, 2])).any(1).sum())
    return agree, len(on_beat)


MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])  # Krumhansl-Kessler
MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def key_of(notes: np.ndarray) -> tuple[int, bool]:
    """(tonic pitch class, major?) of some notes: the Krumhansl-Schmuckler key, pitch classes weighted by
    duration, correlated with the major and minor key profiles in all twelve transpositions."""
    weights = np.zeros(12)
    for p, _, a, b in notes.tolist():
        weights[p % 12] += b - a
    return key_of_weights(weights)


# the 24 keys' profiles, centred and scaled, in the order the keys are tried (C major, C minor, C# major, ...)
_KEYS = np.stack([np.roll(profile, tonic) for tonic in range(12) for profile in (MAJOR_PROFILE, MINOR_PROFILE)])
_KEYS = (_KEYS - _KEYS.mean(1, keepdims=True)) / np.linalg.norm(_KEYS - _KEYS.mean(1, keepdims=True), axis=1,
                                                                  keepdims=True)


def key_of_weights(weights: np.ndarray) -> tuple[int, bool]:
    """(tonic pitch class, major?) of a (12,) pitch-class weighting (durations, or counts of notes): the key
    whose profile it correlates with best (Pearson's r against all 24 at once; the first key tried wins a tie)."""
    weights = np.asarray(weights, float)
    if np.ptp(weights) == 0:  # no notes, or every pitch class alike: no key to tell
        return 0, True
    centred = weights - weights.mean()
    k = int(np.argmax(_KEYS @ (centred / np.linalg.norm(centred))))
    return k // 2, k % 2 == 0


def strong_beats(melody: np.ndarray, tpq: int) -> list[int]:
    """The ticks of the melody's notes that start on a half-bar of 4/4 (every second quarter note)."""
    return [int(s) for _, _, s, _ in melody.tolist() if s % (2 * tpq) == 0]


def chord_agreement(real: np.ndarray, made: np.ndarray, ticks: list[int]) -> tuple[float, int]:
    """(summed agreement, moments): at each tick where the real parts sound, the share of the real chord's
    pitch classes that the made parts sound too (|real & made| / |real|)."""
    total, n = 0.0, 0
    for t in ticks:
        want = set((_sounding(real, t) % 12).tolist())
        if not want:
            continue
        got = set((_sounding(made, t) % 12).tolist())
        total += len(want & got) / len(want)
        n += 1
    return total, n


def rule_chords(melody: np.ndarray, ticks: list[int], tpq: int) -> np.ndarray:
    """The rule baseline of a folk accompaniment: at each tick, the diatonic triad of the melody's key that
    contains the melody's note sounding there, the tonic, subdominant or dominant triad where one does (in
    that order), held to the next tick; (N, 4) notes of the triads in the octave below middle C."""
    tonic, major = key_of(melody)
    scale = [0, 2, 4, 5, 7, 9, 11] if major else [0, 2, 3, 5, 7, 8, 10]
    triads = [sorted({(tonic + scale[(d + k) % 7]) % 12 for k in (0, 2, 4)}) for d in range(7)]
    order = [0, 3, 4, 5, 1, 2, 6]  # I, IV, V, then vi, ii, iii, vii
    out = []
    ends = list(ticks[1:]) + [int(melody[:, 3].max()) if len(melody) else 0]
    for t, end in zip(ticks, ends):
        here = _sounding(melody, t)
        if not len(here) or end <= t:
            continue
        pc = int(here.max()) % 12
        degree = next((d for d in order if pc in triads[d]), 0)
        out += [(48 + q, 80, t, end) for q in triads[degree]]
    return np.array(out, np.int64).reshape(-1, 4)


def slices(melody: np.ndarray, parts: np.ndarray) -> list[tuple[int, list[int]]]:
    """(tick, pitches sounding from the top) at every onset, the melody's note first where one sounds."""
    times = np.unique(np.concatenate([melody[:, 2], parts[:, 2]])) if len(parts) else np.unique(melody[:, 2])
    out = []
    for i in range(0, len(times), BLOCK):
        ts = times[i:i + BLOCK]
        top = np.where(_on(melody, ts), melody[None, :, 0], -1).max(1) if len(melody) else np.full(len(ts), -1)
        below = -np.sort(-np.where(_on(parts, ts), parts[None, :, 0], -1), 1) if len(parts) else \
            np.zeros((len(ts), 0), np.int64)
        out += [(t, ([m] if m >= 0 else []) + [q for q in row if q >= 0])
                for t, m, row in zip(ts.tolist(), top.tolist(), below.tolist())]
    return out


def parallels(melody: np.ndarray, parts: np.ndarray, sl=None) -> tuple[int, int, int]:
    """(parallel fifths and octaves, voice-pair motions with both voices moving, moments of four voices
    followed by four): between consecutive moments (`slices`) where four voices sound at both."""
    sl = slices(melody, parts) if sl is None else sl
    found = motions = four = 0
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
                        found += 1
    return found, motions, four


#: the chords a moment's pitch classes may sit inside, as intervals above the root: the four triads (in the
#: sevenths, and the augmented) and the dominant, minor, half-diminished, diminished and major sevenths
CHORDS = ((0, 4, 7, 10), (0, 3, 7, 10), (0, 3, 6, 10), (0, 3, 6, 9), (0, 4, 7, 11), (0, 4, 8))


def _chordal_table() -> np.ndarray:
    """(4096,): whether each set of pitch classes (bit k for pitch class k) sits inside one of CHORDS on some
    root."""
    fits = np.zeros(4096, bool)
    for root in range(12):
        for chord in CHORDS:
            full = sum(1 << ((root + i) % 12) for i in chord)
            sub = full
            while sub:  # every subset of the chord's pitch classes
                fits[sub] = True
                sub = (sub - 1) & full
    return fits


CHORDAL = _chordal_table()


def pitch_classes(pitches) -> int:
    """The pitch classes of some pitches as bits (bit k: pitch class k), as CHORDAL is indexed."""
    mask = 0
    for p in pitches:
        mask |= 1 << (int(p) % 12)
    return mask


def chordal_share(melody: np.ndarray, parts: np.ndarray, tpq: int, sl=None) -> tuple[int, int]:
    """(chordal, counted): of the moments on a beat (a whole quarter note) where a note starts and two or more
    pitch classes sound (the melody's and the parts'), how many sound only the notes of one chord: a triad or a
    seventh (CHORDS) on any root. Bach's chorales: 0.90 of their strong beats (40 held-out chorales); a chord
    with a passing note or a suspension in it counts as not."""
    sl = slices(melody, parts) if sl is None else sl
    chordal = counted = 0
    for t, ps in sl:
        if t % tpq:
            continue
        mask = pitch_classes(ps)
        if mask & (mask - 1):  # two pitch classes or more
            counted += 1
            chordal += bool(CHORDAL[mask])
    return chordal, counted


def motion_figures(melody: np.ndarray, parts: np.ndarray) -> dict:
    """Parallel fifths and octaves per 100 voice-pair motions (both voices moving, four voices at both
    moments), parts above the melody (share of moments), and how many moments sound four voices."""
    sl = slices(melody, parts)
    parallel, motions, four = parallels(melody, parts, sl)
    above = 0
    for t, _ in sl:
        top = _sounding(melody, t)
        if len(top) and len(parts) and (_sounding(parts, t) > top.max()).any():
            above += 1
    return {"parallels": parallel, "motions": motions, "above_melody": above, "moments": len(sl),
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
