"""(pitch, on/off, delta) messages for the three-headed attention-LSTM (article 002).

Each token is a triple, so `encode` returns an (N, 3) array with one column per field:
pitch (0-87 for MIDI 21-108), on/off (1 = note_on, 0 = note_off) and delta: the time since the
previous message, 0-720 steps of a fixed grid (default 1/96 of a quarter note, so 720 steps are
7.5 quarters; 0 means simultaneous, as in a chord).

Round trip: exact on the grid, with the notewise codec's rules (pitches folded into 21-108,
same-pitch overlaps cut, drums dropped); a silence longer than 720 steps shrinks to 720 steps.
Velocity is not encoded: decoded notes get `velocity`.
"""
from __future__ import annotations

import numpy as np

from ..errors import CodecError
from ..music import Score
from ..music.score import TPQ, Tempo, TimeSignature, Track, qpm_to_usec
from .base import Codec
from .notewise import quantize_notes


MAX_HOLD_BEATS = 8.0  # beats after which generation releases a note the model still holds (max_hold's default)


class MessagesCodec(Codec):
    name = "messages"
    fields = ("pitch", "on", "delta")

    @classmethod
    def defaults(cls):
        return {"steps_per_quarter": 96, "max_delta": 720, "low": 21, "high": 108, "velocity": 80,
                "decode_qpm": 100.0}

    def _build_vocab(self):
        p = self.params
        return ([f"pitch_{i}" for i in range(p["low"], p["high"] + 1)] + ["off", "on"]
                + [f"delta_{i}" for i in range(p["max_delta"] + 1)])

    def special_names(self):
        return ()  # every triple is a message; a model of triples has no room for an end token

    @property
    def field_sizes(self) -> tuple[int, int, int]:
        p = self.params
        return (p["high"] - p["low"] + 1, 2, p["max_delta"] + 1)

    def beats_of(self, ids) -> float:
        return float(np.asarray(ids).reshape(-1, 3)[:, 2].sum()) / self.params["steps_per_quarter"]

    span_beats = beats_of  # exact: every message carries its delta

    def max_hold_beats(self) -> float:
        """8 beats: left to hold its notes as long as it liked, the messages model sounded more notes at once than
        the real music (polyphony +0.31 to +0.51 real standard deviations on its held-out pieces; at 8 beats
        +0.13 to +0.18; 4 beats brought the range out to +0.44: docs/controls.md)."""
        return MAX_HOLD_BEATS

    def encode(self, score: Score) -> np.ndarray:
        p = self.params
        notes = quantize_notes(score, p["steps_per_quarter"], p["low"], p["high"])
        if not len(notes):
            return np.zeros((0, 3), np.int32)
        n = len(notes)
        steps = np.concatenate([notes[:, 3], notes[:, 2]])
        on = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])  # offs first at a step
        pitch = np.concatenate([notes[:, 0], notes[:, 0]]) - p["low"]
        order = np.lexsort((pitch, on, steps))
        steps, on, pitch = steps[order], on[order], pitch[order]
        delta = np.minimum(np.diff(steps, prepend=0), p["max_delta"])
        return np.stack([pitch, on, delta], axis=1).astype(np.int32)

    def decode(self, ids, qpm: float | None = None) -> Score:
        p = self.params
        arr = np.asarray(ids, dtype=np.int64).reshape(-1, 3)
        sizes = self.field_sizes
        for col, (name, size) in enumerate(zip(self.fields, sizes)):
            bad = (arr[:, col] < 0) | (arr[:, col] >= size)
            if bad.any():
                raise CodecError(f"codec 'messages': {name} {int(arr[bad][0, col])} is outside 0-{size - 1}")
        scale = TPQ // p["steps_per_quarter"] if TPQ % p["steps_per_quarter"] == 0 else 1
        tpq = p["steps_per_quarter"] * scale
        step = 0
        open_: dict[int, int] = {}
        notes = []
        for pi, on, d in arr.tolist():
            step += d
            pitch = pi + p["low"]
            s = open_.pop(pitch, None)
            if s is not None and step > s:
                notes.append((pitch, p["velocity"], s * scale, step * scale))
            if on:
                open_[pitch] = step
        for pitch, s in open_.items():
            if step > s:
                notes.append((pitch, p["velocity"], s * scale, step * scale))
        qpm = float(qpm or p["decode_qpm"])
        return Score(tpq=tpq, tracks=(Track(np.array(notes, np.int64).reshape(-1, 4), name="messages"),),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))


CODEC = MessagesCodec
