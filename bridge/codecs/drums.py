"""Drums on a grid: each 16th-note step is one token, the set of drum classes struck on it.

General MIDI drum notes are reduced to nine classes, the mapping Magenta's GrooVAE uses for the Groove
MIDI Dataset (a Roland TD-11; `ROLAND_DRUM_PITCH_CLASSES` in magenta/models/music_vae/data.py), with
the other General MIDI percussion notes added where they sound alike (Magenta's drums_encoder_decoder):

    class          written as   read from (GrooVAE's TD-11 classes first)
    kick           36           36 35
    snare          38           38 37 40, 39 27 28 31-34 56 65 66 75 85
    closed hi-hat  42           42 22 44, 54 68-71 73 78 80
    open hi-hat    46           46 26, 67 72 74 79 81
    low tom        43           43 58, 41 29 61 64 84
    mid tom        47           47 45, 60 63 77 86 87
    high tom       50           50 48, 30 62 76 83
    crash          49           49 52 55 57
    ride           51           51 53 59, 82

(`CLASSES` below). A token `s<bits>` is the step's nine hits as a 9-bit number
(kick = bit 0): 512 tokens and `<eos>`; every token lasts one step (a quarter of a beat at the default 4
steps a quarter), as Magenta's DrumsRNN one-hot of drum combinations.

Round trip: exact for the classes struck on each step; lost are velocities (decoded at `velocity`),
timing within a step (hits move to the nearest step), which pitch of a class was struck (each class is
written as its first pitch) and every pitched note. `grid()` and `from_grid()` keep velocity and timing
offset per step and class, for the groove model (bridge/generation/groove.py).
"""
from __future__ import annotations

import numpy as np

from ..music import Score
from ..music.score import TPQ, Tempo, TimeSignature, Track, qpm_to_usec
from ..music.styles import STYLES
from .base import Codec

# (name, the pitch it is written as, the pitches read as it)
CLASSES = (
    ("kick", 36, (36, 35)),
    ("snare", 38, (38, 37, 40, 39, 27, 28, 31, 32, 33, 34, 56, 65, 66, 75, 85)),
    ("closed hi-hat", 42, (42, 22, 44, 54, 68, 69, 70, 71, 73, 78, 80)),
    ("open hi-hat", 46, (46, 26, 67, 72, 74, 79, 81)),
    ("low tom", 43, (43, 58, 41, 29, 61, 64, 84)),
    ("mid tom", 47, (47, 45, 60, 63, 77, 86, 87)),
    ("high tom", 50, (50, 48, 30, 62, 76, 83)),
    ("crash", 49, (49, 52, 55, 57)),
    ("ride", 51, (51, 53, 59, 82)),
)
N_CLASSES = len(CLASSES)
CLASS_NAMES = tuple(c[0] for c in CLASSES)
PITCH_CLASS = np.full(128, -1, np.int64)
for _k, (_name, _out, _pitches) in enumerate(CLASSES):
    for _p in _pitches:
        PITCH_CLASS[_p] = _k
CLASS_PITCH = np.array([c[1] for c in CLASSES], np.int64)


def drum_notes(score: Score) -> np.ndarray:
    """(N, 4) pitch, velocity, start, end (ticks) of the score's drum tracks."""
    arrays = [t.array for t in score.tracks if t.is_drum and len(t.array)]
    return np.concatenate(arrays) if arrays else np.zeros((0, 4), np.int64)


def parse_classes(text: str) -> tuple[int, ...]:
    """'kick,snare,closed hi-hat' or '0,1,2' -> class indices."""
    from ..errors import CadenzaError

    out = []
    for word in str(text).split(","):
        w = word.strip().lower().replace("_", " ").replace("hihat", "hi-hat")
        if not w:
            continue
        if w.isdigit() and int(w) < N_CLASSES:
            out.append(int(w))
        elif w in CLASS_NAMES:
            out.append(CLASS_NAMES.index(w))
        else:
            raise CadenzaError(f"drum class {word.strip()!r}: one of {', '.join(CLASS_NAMES)} (or 0-8)")
    return tuple(sorted(set(out)))


class DrumStepsCodec(Codec):
    name = "drums"
    drums = True

    @classmethod
    def defaults(cls):
        return {"steps_per_quarter": 4, "velocity": 90, "decode_qpm": 120.0}

    def _build_vocab(self):
        return [f"s{b}" for b in range(2 ** N_CLASSES)]

    @property
    def steps(self) -> int:
        return int(self.params["steps_per_quarter"])

    def token_beats(self, qpm: float | None = None) -> np.ndarray:
        beats = np.full(self.vocab_size, 1.0 / self.steps)
        beats[self.eos] = 0.0
        return beats

    def hits(self) -> np.ndarray:
        """(vocab, 9) bool: the classes each token strikes."""
        b = np.arange(self.vocab_size)[:, None]
        out = ((b >> np.arange(N_CLASSES)) & 1).astype(bool)
        out[self.eos] = False
        return out

    def steps_of(self, score: Score) -> tuple[np.ndarray, int]:
        """(S,) the 9-bit hits of each step from the score's start to its last drum hit, and S."""
        notes = drum_notes(score)
        cls = PITCH_CLASS[notes[:, 0]] if len(notes) else np.zeros(0, np.int64)
        notes, cls = notes[cls >= 0], cls[cls >= 0]
        if not len(notes):
            return np.zeros(0, np.int64), 0
        step = np.floor(notes[:, 2] * self.steps / score.tpq + 0.5).astype(np.int64)
        n = int(step.max()) + 1
        bits = np.zeros(n, np.int64)
        np.bitwise_or.at(bits, step, 1 << cls)
        return bits, n

    def encode(self, score: Score) -> np.ndarray:
        bits, _ = self.steps_of(score)
        return bits.astype(np.int32)

    def decode(self, ids, qpm: float | None = None) -> Score:
        ids = self._check_ids(ids)
        tpq = TPQ
        step_ticks = tpq // self.steps
        notes = []
        for i, t in enumerate(ids.tolist()):
            if t == self.eos:
                break
            for k in range(N_CLASSES):
                if t >> k & 1:
                    notes.append((int(CLASS_PITCH[k]), self.params["velocity"], i * step_ticks,
                                  i * step_ticks + step_ticks // 2))
        qpm = float(qpm or self.params["decode_qpm"])
        return Score(tpq=tpq, tracks=(Track(np.array(notes, np.int64).reshape(-1, 4), is_drum=True, channel=9,
                                            name="drums"),),
                     tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, 4, 4),))

    def span_beats(self, ids) -> float:
        ids = np.asarray(ids).reshape(-1)
        return float((ids != self.eos).sum()) / self.steps


def grid(score: Score, steps_per_quarter: int = 4, start: int = 0, length: int | None = None):
    """The score's drums as (S, 9) hits (0/1), velocities (0-1) and offsets (-0.5 to 0.5 of a step, how
    early or late each hit is against its step), from step `start`, `length` steps (default: to the last
    hit). Of two hits of a class on one step the louder stays."""
    notes = drum_notes(score)
    cls = PITCH_CLASS[notes[:, 0]] if len(notes) else np.zeros(0, np.int64)
    notes, cls = notes[cls >= 0], cls[cls >= 0]
    pos = notes[:, 2] * steps_per_quarter / score.tpq
    step = np.floor(pos + 0.5).astype(np.int64)
    if length is None:
        length = int(step.max()) + 1 - start if len(step) else 0
    hits = np.zeros((length, N_CLASSES), np.float32)
    vel = np.zeros((length, N_CLASSES), np.float32)
    off = np.zeros((length, N_CLASSES), np.float32)
    for s, k, p, v in zip(step.tolist(), cls.tolist(), pos.tolist(), notes[:, 1].tolist()):
        i = s - start
        if 0 <= i < length and v / 127.0 >= vel[i, k]:
            hits[i, k] = 1.0
            vel[i, k] = v / 127.0
            off[i, k] = p - s
    return hits, vel, off


def from_grid(hits: np.ndarray, vel: np.ndarray, off: np.ndarray, qpm: float = 120.0,
              steps_per_quarter: int = 4, tpq: int = TPQ, meter=(4, 4)) -> Score:
    """A drum Score from grid arrays (the inverse of `grid`): each hit at its step plus its offset."""
    notes = []
    step_ticks = tpq / steps_per_quarter
    for i, k in zip(*np.nonzero(np.asarray(hits) > 0.5)):
        start = max(0, int(round((i + float(off[i, k])) * step_ticks)))
        v = int(np.clip(round(float(vel[i, k]) * 127), 1, 127))
        notes.append((int(CLASS_PITCH[k]), v, start, start + int(step_ticks // 2)))
    return Score(tpq=tpq, tracks=(Track(np.array(notes, np.int64).reshape(-1, 4), is_drum=True, channel=9,
                                        name="drums"),),
                 tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=(TimeSignature(0, *meter),))


CODEC = DrumStepsCodec


def style_of(name: str) -> int:
    """A style's index in STYLES; -1 for none ("": not said). Unknown names are refused by the settings."""
    return STYLES.index(name) if name else -1


STYLE_AT = 31  # where groove_features' style one-hot starts in a step's features; the tempo follows it


def feature_qpm(features: np.ndarray) -> np.ndarray:
    """(N,) the tempo each window's groove_features say (with a style and tempo), as qpm: their inverse."""
    return features[:, 0, STYLE_AT + len(STYLES)] * 60.0 + 120.0


def groove_features(hits, vel, off, tapped, task: int, style=None, qpm=None) -> np.ndarray:
    """(N, S, 31): the groove model's step features, in training and in use: hits, velocities, offsets
    (scaled to -1..1), the tapped rhythm, and the task one-hot (0 groove, 1 drumify, 2 beat).

    With `style` and `qpm` (a model that conditions on them: (N,) style indices, -1 where not known, and
    (N,) tempi), 19 more: the style one-hot (all zero: not known) and the tempo, (qpm - 120) / 60."""
    n, s = hits.shape[:2]
    one = np.zeros((n, s, 3), np.float32)
    one[..., task] = 1
    parts = [hits, vel, 2 * off, tapped[..., None], one]
    if style is not None:
        style = np.broadcast_to(np.asarray(style, np.int64), (n,))
        sty = np.zeros((n, len(STYLES)), np.float32)
        known = style >= 0
        sty[np.nonzero(known)[0], style[known]] = 1
        tempo = ((np.broadcast_to(np.asarray(qpm, np.float32), (n,)) - 120.0) / 60.0).clip(-2, 3)
        extra = np.concatenate([sty, tempo[:, None]], -1)
        parts.append(np.repeat(extra[:, None, :], s, 1))
    return np.concatenate(parts, -1).astype(np.float32)
