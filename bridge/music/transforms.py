"""Score transforms shared by every codec: augmentation (transposition, tempo stretch), sustain.

Each returns a new Score and leaves its input untouched.
"""
from __future__ import annotations

import numpy as np

from ..errors import CadenzaError
from .score import PIANO_HIGH, PIANO_LOW, Score, Tempo

SUSTAIN = 64


def pitch_range(score: Score) -> tuple[int, int] | None:
    arrays = [t.array[:, 0] for t in score.tracks if not t.is_drum and len(t.array)]
    if not arrays:
        return None
    pitches = np.concatenate(arrays)
    return int(pitches.min()), int(pitches.max())


def transpositions(score: Score, max_shift: int = 6, low: int = PIANO_LOW, high: int = PIANO_HIGH) -> list[int]:
    """The shifts in [-max_shift, max_shift] that keep every pitched note within [low, high]."""
    r = pitch_range(score)
    if r is None:
        return [0]
    return [s for s in range(-max_shift, max_shift + 1) if r[0] + s >= low and r[1] + s <= high]


def transpose(score: Score, semitones: int, low: int = PIANO_LOW, high: int = PIANO_HIGH) -> Score:
    """Shift every pitched note (drums stay); refuses a shift that leaves [low, high]."""
    if semitones == 0:
        return score
    r = pitch_range(score)
    if r is not None and (r[0] + semitones < low or r[1] + semitones > high):
        raise CadenzaError(f"transposing by {semitones:+d} moves pitches {r[0]}-{r[1]} outside {low}-{high}")
    tracks = tuple(t if t.is_drum else t.replace(notes=t.array + np.array([semitones, 0, 0, 0]))
                   for t in score.tracks)
    return score.replace(tracks=tracks)


def stretch_tempo(score: Score, factor: float) -> Score:
    """Play `factor` times faster (factor > 1) or slower; the notes stay on their beats."""
    if not factor > 0:
        raise CadenzaError(f"tempo factor must be positive, not {factor}")
    tempos = tuple(Tempo(t.tick, max(1, min(0xFFFFFF, round(t.usec_per_quarter / factor)))) for t in score.tempos)
    return score.replace(tempos=tempos)


def apply_sustain(score: Score, control: int = SUSTAIN) -> Score:
    """Extend notes held by the sustain pedal, per track, as note-seq's apply_sustain_control_changes.

    A note released while the pedal is down lasts until the pedal lifts or the same pitch is struck
    again, whichever comes first. Drum tracks are left alone. The pedal events stay in the score.
    """
    from ._fast import sustain_ends

    new_tracks = []
    for track in score.tracks:
        ctrl = track.controls[track.controls[:, 1] == control]
        pedal = np.stack([ctrl[:, 0], np.where(ctrl[:, 2] >= 64, 0, 1)], axis=1)
        if track.is_drum or not len(pedal) or not len(track.array):
            new_tracks.append(track)
            continue
        arr = track.array
        n = len(arr)
        idx = np.arange(n)
        # events in note-seq's order: note-ons, note-offs, pedal events; stably sorted by (time, kind)
        time = np.concatenate([arr[:, 2], arr[:, 3], pedal[:, 0]])
        kind = np.concatenate([np.full(n, 2), np.full(n, 3), pedal[:, 1]])
        which = np.concatenate([idx, idx, np.full(len(pedal), -1)])
        order = np.lexsort((kind, time))
        ends, keep = sustain_ends(arr[:, 0], arr[:, 2], arr[:, 3], time[order], kind[order], which[order])
        out = arr.copy()
        out[:, 3] = ends
        new_tracks.append(track.replace(notes=out[keep]))
    return score.replace(tracks=tuple(new_tracks))


def top_line(score: Score) -> Score:
    """The melody: of the pitched tracks, the one with the highest mean pitch (a tune's melody over its
    chords), reduced to one note at a time by the skyline rule (of notes starting together the highest;
    a note ends where the next one starts). Tempo, meter and key stay; every other track is dropped."""
    tracks = [t for t in score.tracks if not t.is_drum and len(t.array)]
    if not tracks:
        return score.replace(tracks=())
    best = max(tracks, key=lambda t: float(t.array[:, 0].mean()))
    a = best.array
    order = np.lexsort((-a[:, 0], a[:, 2]))  # by start, highest pitch first
    a = a[order]
    keep = np.r_[True, a[1:, 2] != a[:-1, 2]]  # the highest of each start
    a = a[keep].copy()
    a[:-1, 3] = np.minimum(a[:-1, 3], a[1:, 2])  # ends where the next begins
    a = a[a[:, 3] > a[:, 2]]
    return score.replace(tracks=(best.replace(notes=a),))
