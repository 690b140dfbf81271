"""A melody and the parts under it, with the melody heard ahead: the tokens of a harmonizing model.

Note-wise tokens (as `notewise`, 12 steps per quarter) in two families: `m{pitch}`/`endm{pitch}` start
and end a note of the melody, `p{pitch}`/`endp{pitch}` a note of the other parts, and `wait{n}` advances
time. The parts are written `lead` steps late (anticipation, as in Thickstun et al.'s anticipatory music
transformer): at any point of the stream the model has already read the melody `lead` steps beyond the
parts it is writing, so a cadence or a leap is heard before the chord under it is chosen. At one step the
melody's tokens come first (ends, then starts), then the parts' (ends, then starts), each in ascending pitch.

The melody is the top line (bridge.music.transforms.top_line: of the pitched tracks, the one with the
highest mean pitch, one note at a time); the parts are every other pitched note. Decoding gives two tracks,
"melody" and "parts", the parts moved back by `lead` to sound with the melody.

Round trip: exact on the 12-per-quarter grid, as `notewise`, for the melody and the parts separately.
"""
from __future__ import annotations

import numpy as np

from ..music import Score
from ..music.score import TPQ, Tempo, TimeSignature, Track, qpm_to_usec
from .base import Codec
from .notewise import quantize_notes, with_waits


def split_melody(score: Score) -> tuple[Score, Score]:
    """(melody, parts): the top line as one track, and every other pitched note as another."""
    from ..music.transforms import top_line

    melody = top_line(score)
    mel = melody.tracks[0].array if melody.tracks else np.zeros((0, 4), np.int64)
    rest = [t.array for t in score.tracks if not t.is_drum and len(t.array)]
    allnotes = np.concatenate(rest) if rest else np.zeros((0, 4), np.int64)
    taken = {(int(p), int(s)) for p, _, s, _ in mel.tolist()}
    keep = np.array([(int(p), int(s)) not in taken for p, _, s, _ in allnotes.tolist()], bool)
    parts = allnotes[keep] if len(allnotes) else allnotes
    return (score.replace(tracks=(Track(mel, name="melody"),)),
            score.replace(tracks=(Track(parts.reshape(-1, 4), name="parts"),)))


class HarmonyCodec(Codec):
    name = "harmony"
    harmonizes = True

    @classmethod
    def defaults(cls):
        return {
            "steps_per_quarter": 12,
            "max_wait": 48,
            "low": 24, "high": 96,  # C1-C7: a chorale's or a folk tune's every voice, transposed
            "lead": 24,  # steps the melody is read ahead of the parts (two quarter notes)
            "velocity": 80,
            "decode_qpm": 100.0,
        }

    # ids: parts on [0, n), parts off [n, 2n), waits [2n, 2n + max_wait), melody on, melody off, then <eos>
    def _build_vocab(self):
        p = self.params
        r = range(p["low"], p["high"] + 1)
        return ([f"p{i}" for i in r] + [f"endp{i}" for i in r] + [f"wait{i}" for i in range(1, p["max_wait"] + 1)]
                + [f"m{i}" for i in r] + [f"endm{i}" for i in r])

    @property
    def n_pitches(self) -> int:
        return self.params["high"] - self.params["low"] + 1

    @property
    def wait0(self) -> int:
        return 2 * self.n_pitches

    @property
    def melody0(self) -> int:
        return 2 * self.n_pitches + self.params["max_wait"]

    def pitch_tokens(self):
        lo, n, m0 = self.params["low"], self.n_pitches, self.melody0
        return ([(i, "on", lo + i) for i in range(n)] + [(n + i, "off", lo + i) for i in range(n)]
                + [(m0 + i, "melody on", lo + i) for i in range(n)] + [(m0 + n + i, "melody off", lo + i) for i in range(n)])

    def note_tables(self):
        """The parts' notes only: the melody is given, never generated, and never the grammar's business."""
        on, off = [-1] * self.vocab_size, [-1] * self.vocab_size
        for i, kind, pitch in self.pitch_tokens():
            if kind == "on":
                on[i] = pitch
            elif kind == "off":
                off[i] = pitch
        return on, off

    def never_sampled(self):
        m0 = self.melody0
        return tuple(range(m0, m0 + 2 * self.n_pitches)) + ((self.eos,) if self.eos is not None else ())

    def token_beats(self, qpm: float | None = None) -> np.ndarray:
        beats = np.zeros(self.vocab_size)
        w0 = self.wait0
        beats[w0:w0 + self.params["max_wait"]] = np.arange(1, self.params["max_wait"] + 1) / self.params["steps_per_quarter"]
        return beats

    def steps_of(self, ids) -> int:
        ids = np.asarray(ids).reshape(-1)
        w = ids[(ids >= self.wait0) & (ids < self.wait0 + self.params["max_wait"])]
        return int((w - self.wait0 + 1).sum())

    def melody_ids(self, melody: np.ndarray) -> list[tuple[int, int]]:
        """(step, id) of a quantized melody's tokens, ends before starts at a step."""
        n, m0, lo = self.n_pitches, self.melody0, self.params["low"]
        ev = [(int(e), 0, m0 + n + int(p) - lo) for p, _, s, e in melody.tolist()]
        ev += [(int(s), 1, m0 + int(p) - lo) for p, _, s, e in melody.tolist()]
        ev.sort()
        return [(s, t) for s, _, t in ev]

    def quantize(self, score: Score) -> np.ndarray:
        p = self.params
        return quantize_notes(score, p["steps_per_quarter"], p["low"], p["high"])

    def encode(self, score: Score) -> np.ndarray:
        p = self.params
        melody, parts = split_melody(score)
        mel, par = self.quantize(melody), self.quantize(parts)
        if not len(mel) and not len(par):
            return np.zeros(0, np.int32)
        n, lo, lead = self.n_pitches, p["low"], p["lead"]
        # (step, family 0 melody / 1 parts, 0 end / 1 start, id): sorted, that is the stream's order
        ev = [(s, 0, 0, t) for s, t in self.melody_ids(mel) if t >= self.melody0 + n]
        ev += [(s, 0, 1, t) for s, t in self.melody_ids(mel) if t < self.melody0 + n]
        ev += [(int(e) + lead, 1, 0, n + int(q) - lo) for q, _, s, e in par.tolist()]
        ev += [(int(s) + lead, 1, 1, int(q) - lo) for q, _, s, e in par.tolist()]
        ev.sort()
        return with_waits(((s, t) for s, _, _, t in ev), self.wait0, p["max_wait"])

    def decode(self, ids, qpm: float | None = None) -> Score:
        ids = self._check_ids(ids)
        p = self.params
        n, lo, w0, m0, lead = self.n_pitches, p["low"], self.wait0, self.melody0, p["lead"]
        step = 0
        open_ = ({}, {})  # melody, parts: pitch -> start step
        notes = ([], [])

        def end(which, pitch, at):
            s = open_[which].pop(pitch, None)
            if s is not None and at > s:
                notes[which].append((pitch, p["velocity"], s, at))

        for t in ids.tolist():
            if t == self.eos:
                break
            if t < n:  # a part starts (restruck: the sounding one ends here)
                end(1, t + lo, step)
                open_[1][t + lo] = step
            elif t < 2 * n:
                end(1, t - n + lo, step)
            elif t < m0:
                step += t - w0 + 1
            elif t < m0 + n:
                end(0, t - m0 + lo, step)
                open_[0][t - m0 + lo] = step
            else:
                end(0, t - m0 - n + lo, step)
        for which in (0, 1):
            for pitch in list(open_[which]):
                end(which, pitch, step)
        f = TPQ // p["steps_per_quarter"]
        mel = np.array([(q, v, s * f, e * f) for q, v, s, e in notes[0]], np.int64).reshape(-1, 4)
        par = np.array([(q, v, max(0, s - lead) * f, max(0, e - lead) * f) for q, v, s, e in notes[1]
                        if e - lead > 0], np.int64).reshape(-1, 4)
        qpm = float(qpm or p["decode_qpm"])
        return Score(tpq=p["steps_per_quarter"] * f,
                     tracks=(Track(mel[np.lexsort((mel[:, 0], mel[:, 2]))], name="melody"),
                             Track(par[np.lexsort((par[:, 0], par[:, 2]))], name="parts")),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))


CODEC = HarmonyCodec
