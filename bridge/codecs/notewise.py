"""Note-wise tokens at 12 steps per quarter note (article 003).

Twelve steps per quarter hold both triplets (4 steps) and sixteenths (3 steps). Tokens:
`p{pitch}` starts a note, `endp{pitch}` ends one, `wait{n}` advances n steps (1..max_wait; longer
waits repeat). At one step, note ends come before note starts, each in ascending pitch.
No velocity: decoded notes get `velocity`.

Round trip: exact on the 12-per-quarter grid. Starts and ends are rounded to the grid (a note
keeps at least one step); pitches outside low..high move by octaves into range; of two
overlapping notes of one pitch the earlier is cut where the later starts; drums are dropped.
With `melody`, only the top line is encoded (bridge.music.transforms.top_line): a melody model's codec.
"""
from __future__ import annotations

import numpy as np

from ..music import Score
from ..music._fast import notewise_notes
from ..music.score import Tempo, TimeSignature, Track, qpm_to_usec
from .base import Codec


def quantize_notes(score: Score, steps_per_quarter: int, low: int, high: int) -> np.ndarray:
    """Pitched notes on the step grid as an (N, 4) array (pitch, velocity, start, end) in steps,
    pitches folded into [low, high], same-pitch overlaps resolved, ordered by start and pitch."""
    arr = score.note_array(include_drums=False).copy()
    if not len(arr):
        return arr
    f = steps_per_quarter / score.tpq
    arr[:, 2] = np.floor(arr[:, 2] * f + 0.5)
    arr[:, 3] = np.maximum(np.floor(arr[:, 3] * f + 0.5), arr[:, 2] + 1)
    p = arr[:, 0]
    while (p < low).any() or (p > high).any():
        p[p < low] += 12
        p[p > high] -= 12
    arr = arr[np.lexsort((arr[:, 3], arr[:, 0], arr[:, 2]))]
    # a pitch sounds once at a time: cut a note where the next one of its pitch starts
    order = np.lexsort((arr[:, 2], arr[:, 0]))
    a = arr[order]
    same = a[1:, 0] == a[:-1, 0]
    cut = same & (a[:-1, 3] > a[1:, 2])
    a[:-1, 3] = np.where(cut, a[1:, 2], a[:-1, 3])
    a = a[a[:, 3] > a[:, 2]]  # of two notes of one pitch on one step the longer stays
    return a[np.lexsort((a[:, 3], a[:, 0], a[:, 2]))]


def with_waits(events, wait0: int, max_wait: int) -> np.ndarray:
    """Ids of (step, id) events in step order, with the waits between them: `wait{n}` is id wait0 + n - 1,
    longer gaps repeat the longest wait."""
    out, cur = [], 0
    for s, t in events:
        gap = s - cur
        while gap > 0:
            w = min(gap, max_wait)
            out.append(wait0 + w - 1)
            gap -= w
        cur = s
        out.append(t)
    return np.array(out, np.int32)


MAX_HOLD_BEATS = 12.0


class NotewiseCodec(Codec):
    name = "notewise"

    @classmethod
    def defaults(cls):
        return {
            "steps_per_quarter": 12,  # 12 holds triplets and sixteenths both
            "max_wait": 48,  # longest single wait, in steps (a whole note); longer waits repeat
            "low": 21, "high": 108,  # the piano's range
            "velocity": 80,  # given to decoded notes
            "decode_qpm": 100.0,
            "melody": False,  # encode only the top line (a melody model: one note at a time)
        }

    def _build_vocab(self):
        p = self.params
        r = range(p["low"], p["high"] + 1)
        return [f"p{i}" for i in r] + [f"endp{i}" for i in r] + [f"wait{i}" for i in range(1, p["max_wait"] + 1)]

    @property
    def n_pitches(self) -> int:
        return self.params["high"] - self.params["low"] + 1

    def pitch_tokens(self):
        lo, n = self.params["low"], self.n_pitches
        return [(i, "on", lo + i) for i in range(n)] + [(n + i, "off", lo + i) for i in range(n)]

    def max_hold_beats(self) -> float:
        """12 beats: longer than any note of the corpora it is trained on (the chorales' longest is 9 beats,
        Nottingham's 4), short enough that a continuation never holds a pedal for minutes (left alone the
        chorale model held notes for up to 493 beats of a 900-beat continuation)."""
        return MAX_HOLD_BEATS

    def token_beats(self, qpm: float | None = None) -> np.ndarray:
        beats = np.zeros(self.vocab_size)
        w0 = 2 * self.n_pitches
        beats[w0:w0 + self.params["max_wait"]] = np.arange(1, self.params["max_wait"] + 1) / self.params["steps_per_quarter"]
        return beats

    def steps_of(self, ids) -> int:
        ids = np.asarray(ids).reshape(-1)
        w0 = 2 * self.n_pitches
        waits = ids[(ids >= w0) & (ids < w0 + self.params["max_wait"])]
        return int((waits - w0 + 1).sum())

    def beats_of(self, ids) -> float:
        return self.steps_of(ids) / self.params["steps_per_quarter"]

    @property
    def monophonic(self) -> bool:
        return bool(self.params.get("melody"))

    def encode(self, score: Score) -> np.ndarray:
        p = self.params
        if p.get("melody"):
            from ..music.transforms import top_line

            score = top_line(score)
        notes = quantize_notes(score, p["steps_per_quarter"], p["low"], p["high"])
        if not len(notes):
            return np.zeros(0, np.int32)
        n = len(notes)
        pitch = notes[:, 0] - p["low"]
        steps = np.concatenate([notes[:, 3], notes[:, 2]])
        kind = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])  # ends first
        tok = np.concatenate([pitch + self.n_pitches, pitch])
        order = np.lexsort((tok, kind, steps))
        steps, tok = steps[order], tok[order]
        return with_waits(zip(steps.tolist(), tok.tolist()), 2 * self.n_pitches, p["max_wait"])

    def decode(self, ids, qpm: float | None = None) -> Score:
        ids = self._check_ids(ids)
        p = self.params
        spq = p["steps_per_quarter"]
        tpq = spq * 80  # 960: a tick grid that also holds the usual notation divisions
        arr = notewise_notes(ids, -1 if self.eos is None else self.eos, self.n_pitches, p["low"], p["max_wait"],
                             p["velocity"])
        arr[:, 2:] *= 80
        qpm = float(qpm or p["decode_qpm"])
        return Score(tpq=tpq, tracks=(Track(arr, name="notewise"),),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))


CODEC = NotewiseCodec
