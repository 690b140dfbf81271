"""Magenta's performance events: NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY. The default codec.

Ids equal note-seq's `PerformanceOneHotEncoding(num_velocity_bins, max_shift_steps)` applied to
`Performance(quantize_note_sequence_absolute(seq, steps_per_second))` (with sustain applied first,
as Magenta's Performance RNN pipeline does): NOTE_ON p -> p, NOTE_OFF p -> 128 + p,
TIME_SHIFT s -> 256 + s - 1, VELOCITY b -> 256 + max_shift_steps + b - 1; then `<eos>`.
The tests compare it with note-seq on real files; this implementation works on arrays and is
much faster.

Round trip: exact on the quantisation grid. Onsets and releases land on 10 ms steps, velocities on
the lower edge of their bin (1, 5, 9, ... for 32 bins), drums are dropped, and times come back at a
steady `decode_qpm` (the beat grid of a performance is not in its events).
"""
from __future__ import annotations

import math

import numpy as np

from ..music import Score, Track
from ..music.score import Tempo, TimeSignature, in_order, qpm_to_usec
from ..music._fast import performance_events, performance_notes
from ..music.transforms import apply_sustain
from .base import Codec

NOTE_ON, NOTE_OFF, TIME_SHIFT, VELOCITY = "NOTE_ON", "NOTE_OFF", "TIME_SHIFT", "VELOCITY"


class PerformanceCodec(Codec):
    name = "performance"

    @classmethod
    def defaults(cls):
        return {
            "steps_per_second": 100,  # 10 ms time resolution, as Performance RNN
            "max_shift_steps": 100,  # longest single TIME_SHIFT: 1 s; longer waits repeat it
            "num_velocity_bins": 32,  # 0 leaves velocity out
            "sustain": True,  # extend notes held by the sustain pedal before encoding
            "decode_qpm": 120.0,  # tempo given to decoded music
        }

    def _build_vocab(self):
        p = self.params
        v = [f"{NOTE_ON}_{i}" for i in range(128)] + [f"{NOTE_OFF}_{i}" for i in range(128)]
        v += [f"{TIME_SHIFT}_{i}" for i in range(1, p["max_shift_steps"] + 1)]
        v += [f"{VELOCITY}_{i}" for i in range(1, p["num_velocity_bins"] + 1)]
        return v

    # ----- offsets -------------------------------------------------------------------------------
    @property
    def shift_offset(self) -> int:
        return 256

    @property
    def velocity_offset(self) -> int:
        return 256 + self.params["max_shift_steps"]

    @property
    def bin_size(self) -> int:
        return int(math.ceil(127 / self.params["num_velocity_bins"])) if self.params["num_velocity_bins"] else 0

    def token_velocities(self) -> np.ndarray | None:
        nbins = self.params["num_velocity_bins"]
        if not nbins:
            return None
        out = np.full(self.vocab_size, -1, np.int64)
        out[self.velocity_offset:self.velocity_offset + nbins] = 1 + np.arange(nbins) * self.bin_size
        return out

    def steps_of(self, ids) -> int:
        """Time steps the ids advance: how long they last, for stopping at a length."""
        ids = np.asarray(ids).reshape(-1)
        shift = ids[(ids >= 256) & (ids < self.velocity_offset)] - 255
        return int(shift.sum())

    def seconds_of(self, ids) -> float:
        return self.steps_of(ids) / self.params["steps_per_second"]

    def pitch_tokens(self):
        return [(p, "on", p) for p in range(128)] + [(128 + p, "off", p) for p in range(128)]

    time_in_seconds = True  # its time shifts are seconds: beats depend on the tempo they are read at

    def tail(self, ids: np.ndarray, keep: int) -> np.ndarray:
        """The last `keep` events, with the velocity in force where they start carried into them."""
        if len(ids) <= keep:
            return ids
        tail = ids[-keep:]
        if self.params["num_velocity_bins"]:
            vel = ids[:-keep][ids[:-keep] >= self.velocity_offset]
            if len(vel):
                tail = np.concatenate([vel[-1:], tail])
        return tail

    def token_beats(self, qpm: float | None = None) -> np.ndarray:
        qpm = float(qpm or self.params["decode_qpm"])
        beats = np.zeros(self.vocab_size)
        n = self.params["max_shift_steps"]
        beats[256:256 + n] = np.arange(1, n + 1) / self.params["steps_per_second"] * qpm / 60.0
        return beats

    def max_hold_beats(self) -> float:
        """5 s, Magenta's MAX_NOTE_DURATION_SECONDS for performance generation; at decode_qpm."""
        return 5.0 * self.params["decode_qpm"] / 60.0

    # ----- encode ------------------------------------------------------------------------------
    def encode(self, score: Score) -> np.ndarray:
        p = self.params
        if p["sustain"]:
            score = apply_sustain(score)
        notes = score.note_array(include_drums=False)
        if len(notes) == 0:
            return np.zeros(0, dtype=np.int32)
        sps = p["steps_per_second"]
        pitch, vel = notes[:, 0], notes[:, 1]
        start_s = score.seconds(notes[:, 2])
        end_s = score.seconds(notes[:, 3])
        qs = (start_s * sps + 0.5).astype(np.int64)
        qe = (end_s * sps + 0.5).astype(np.int64)
        qe = np.where(qe == qs, qe + 1, qe)
        order = np.lexsort((pitch, start_s))  # stable: (start time, pitch), as note-seq
        pitch, vel, qs, qe = pitch[order], vel[order], qs[order], qe[order]
        n = len(pitch)
        idx = np.arange(n)
        ev_step = np.concatenate([qs, qe])
        ev_idx = np.concatenate([idx, idx])
        ev_off = np.concatenate([np.zeros(n, np.int64), np.ones(n, np.int64)])
        ev = np.lexsort((ev_off, ev_idx, ev_step))  # (step, note, offset): note-seq's event order
        nbins = p["num_velocity_bins"]
        bins = (vel - 1) // self.bin_size + 1 if nbins else np.zeros(n, np.int64)
        return performance_events(ev_step[ev], ev_idx[ev], ev_off[ev], pitch, bins, p["max_shift_steps"],
                                  self.shift_offset - 1, self.velocity_offset - 1, bool(nbins))

    # ----- decode ------------------------------------------------------------------------------
    TPQ = 600  # at 120 qpm one 10 ms step is exactly 12 ticks

    def decode(self, ids, qpm: float | None = None) -> Score:
        qpm = float(qpm or self.params["decode_qpm"])
        return Score(tpq=self.TPQ, tracks=(Track(self._notes(self._check_ids(ids), qpm), name="performance"),),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))

    def note_arrays(self, ids, qpm: float | None = None) -> tuple[tuple[np.ndarray, ...], int]:
        """decode's notes without its Score and its check of the ids (a stream's are the model's own): 550 tokens
        86 -> 53 us."""
        arr = self._notes(np.asarray(ids, np.int64).reshape(-1), float(qpm or self.params["decode_qpm"]))
        return (in_order(arr),), self.TPQ

    def _notes(self, ids: np.ndarray, qpm: float) -> np.ndarray:
        """(N, 4) pitch, velocity, start and end ticks at `qpm`, in the order the notes close."""
        p = self.params
        ticks_per_step = self.TPQ * qpm / 60.0 / p["steps_per_second"]
        made = performance_notes(ids, -1 if self.eos is None else self.eos, self.velocity_offset, self.bin_size,
                                 bool(p["num_velocity_bins"]))
        arr = np.empty_like(made)
        arr[:, :2] = made[:, :2]
        arr[:, 2:] = np.round(made[:, 2:] * ticks_per_step)
        return arr


CODEC = PerformanceCodec
