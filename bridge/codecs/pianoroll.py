"""Chord-wise piano-roll frames (article 003's "chord-wise"), serialised note by note.

The score is cut into time slices of 1/`steps_per_quarter` quarter note; a frame is the set of
pitches sounding in its slice. Each frame is written as its pitches in ascending order followed by
`<frame>` (end of frame), so a sequence model gives the exact likelihood of a frame, as the
Boulanger-Lewandowski piano-roll benchmark needs. `encode_roll` / `decode_roll` work on (T, 88)
boolean rolls directly, as the benchmark's .mat files hold them.

Round trip: exact for the roll. As notes, starts and ends are rounded to the slice grid, and a
pitch re-struck in the very next slice merges with the held note (a roll cannot tell them apart).
"""
from __future__ import annotations

import numpy as np

from ..music import Score
from ..music.score import TPQ, Tempo, TimeSignature, Track, qpm_to_usec
from .base import Codec
from .notewise import quantize_notes


class PianorollCodec(Codec):
    name = "pianoroll"

    @classmethod
    def defaults(cls):
        return {"steps_per_quarter": 4, "low": 21, "high": 108, "velocity": 80, "decode_qpm": 100.0}

    def _build_vocab(self):
        p = self.params
        return [f"p{i}" for i in range(p["low"], p["high"] + 1)] + ["<frame>"]

    @property
    def n_pitches(self) -> int:
        return self.params["high"] - self.params["low"] + 1

    @property
    def frame(self) -> int:
        return self.n_pitches

    def pitch_tokens(self):
        return [(i, "on", self.params["low"] + i) for i in range(self.n_pitches)]

    def token_beats(self, qpm: float | None = None) -> np.ndarray:
        beats = np.zeros(self.vocab_size)
        beats[self.frame] = 1 / self.params["steps_per_quarter"]
        return beats

    def roll(self, score: Score) -> np.ndarray:
        p = self.params
        notes = quantize_notes(score, p["steps_per_quarter"], p["low"], p["high"])
        length = int(notes[:, 3].max()) if len(notes) else 0
        roll = np.zeros((length, self.n_pitches), bool)
        for pitch, _, s, e in notes.tolist():
            roll[s:e, pitch - p["low"]] = True
        return roll

    def encode_roll(self, roll: np.ndarray) -> np.ndarray:
        roll = np.asarray(roll).astype(bool)
        t, k = np.nonzero(roll)  # row-major: frame by frame, pitches ascending
        counts = roll.sum(axis=1)
        out = np.empty(len(t) + len(roll), np.int32)
        pos = np.cumsum(counts + 1) - 1  # where each frame's end token goes
        is_end = np.zeros(len(out), bool)
        is_end[pos] = True
        out[is_end] = self.frame
        out[~is_end] = k
        return out

    def decode_roll(self, ids) -> np.ndarray:
        ids = self._check_ids(ids)
        if self.eos in ids:
            ids = ids[:int(np.argmax(ids == self.eos))]
        ends = np.flatnonzero(ids == self.frame)
        roll = np.zeros((len(ends), self.n_pitches), bool)
        start = 0
        for f, e in enumerate(ends.tolist()):
            roll[f, ids[start:e]] = True
            start = e + 1
        return roll

    def encode(self, score: Score) -> np.ndarray:
        return self.encode_roll(self.roll(score))

    def decode(self, ids, qpm: float | None = None) -> Score:
        return self.roll_to_score(self.decode_roll(ids), qpm)

    def roll_to_score(self, roll: np.ndarray, qpm: float | None = None) -> Score:
        p = self.params
        scale = TPQ // p["steps_per_quarter"]
        padded = np.zeros((len(roll) + 2, roll.shape[1]), np.int8)
        padded[1:-1] = roll
        change = np.diff(padded, axis=0)
        on_t, on_k = np.nonzero(change == 1)
        off_t, off_k = np.nonzero(change == -1)
        # per pitch, the i-th onset pairs with the i-th release
        a = np.lexsort((on_t, on_k))
        b = np.lexsort((off_t, off_k))
        notes = np.stack([on_k[a] + p["low"], np.full(len(a), p["velocity"]), on_t[a] * scale,
                          off_t[b] * scale], axis=1)
        qpm = float(qpm or p["decode_qpm"])
        return Score(tpq=p["steps_per_quarter"] * scale, tracks=(Track(notes, name="pianoroll"),),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))


CODEC = PianorollCodec
