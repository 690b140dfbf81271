"""Masks on what may be played: a key or scale, a pitch range. They forbid the tokens that would
start a note outside; endings, time and velocity tokens stay free. And two soft priors: the key of the music
given (`key_prior`) and its register (`register_prior`), which make notes outside them less likely without
forbidding any."""
from __future__ import annotations

import re

import numpy as np

from ..errors import CadenzaError

NOTE_NAMES = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
MODES = {
    "major": (0, 2, 4, 5, 7, 9, 11), "ionian": (0, 2, 4, 5, 7, 9, 11),
    "minor": (0, 2, 3, 5, 7, 8, 10), "aeolian": (0, 2, 3, 5, 7, 8, 10),
    "harmonic_minor": (0, 2, 3, 5, 7, 8, 11), "melodic_minor": (0, 2, 3, 5, 7, 9, 11),
    "dorian": (0, 2, 3, 5, 7, 9, 10), "phrygian": (0, 1, 3, 5, 7, 8, 10), "lydian": (0, 2, 4, 6, 7, 9, 11),
    "mixolydian": (0, 2, 4, 5, 7, 9, 10), "locrian": (0, 1, 3, 5, 6, 8, 10),
    "pentatonic": (0, 2, 4, 7, 9), "minor_pentatonic": (0, 3, 5, 7, 10), "blues": (0, 3, 5, 6, 7, 10),
    "whole_tone": (0, 2, 4, 6, 8, 10), "chromatic": tuple(range(12)),
}


def parse_scale(text: str) -> frozenset[int]:
    """'C major', 'f# minor', 'Bb dorian', 'D pentatonic' or pitch classes '0,2,4,5,7,9,11'."""
    t = text.strip().lower().replace("-", "_")
    if re.fullmatch(r"\d+(\s*,\s*\d+)*", t):
        pcs = frozenset(int(x) % 12 for x in t.split(","))
        return pcs
    m = re.fullmatch(r"([a-g])(#|b|s|is|es)?\s+(\w+)", t)
    if not m or m.group(3) not in MODES:
        raise CadenzaError(f"unknown scale {text!r}: write e.g. 'C major', 'F# minor', 'D dorian' "
                           f"or pitch classes '0,2,4,5,7,9,11' (modes: {', '.join(MODES)})")
    root = NOTE_NAMES[m.group(1)] + {"#": 1, "s": 1, "is": 1, "b": -1, "es": -1, None: 0}[m.group(2)]
    return frozenset((root + i) % 12 for i in MODES[m.group(3)])


def parse_range(text) -> tuple[int, int]:
    """'36-96' or (36, 96): lowest and highest MIDI pitch allowed to start."""
    if isinstance(text, (tuple, list)):
        lo, hi = (int(x) for x in text)
    else:
        m = re.fullmatch(r"\s*(\d+)\s*[-:,]\s*(\d+)\s*", str(text))
        if not m:
            raise CadenzaError(f"pitch range {text!r}: write LOW-HIGH in MIDI numbers, e.g. 36-96")
        lo, hi = int(m.group(1)), int(m.group(2))
    if not 0 <= lo <= hi <= 127:
        raise CadenzaError(f"pitch range {lo}-{hi}: need 0 <= low <= high <= 127")
    return lo, hi


def mask(onset_pitches: np.ndarray, scale: frozenset[int] | None = None,
         pitch_range: tuple[int, int] | None = None, forbid: tuple[int, ...] = ()) -> np.ndarray:
    """(V,) additive mask: 0 where allowed, a large negative number where not."""
    allowed = np.ones(len(onset_pitches), bool)
    starts = onset_pitches >= 0
    if scale is not None:
        allowed &= ~starts | np.isin(onset_pitches % 12, sorted(scale))
    if pitch_range is not None:
        allowed &= ~starts | ((onset_pitches >= pitch_range[0]) & (onset_pitches <= pitch_range[1]))
    if starts.any() and not (allowed & starts).any():
        raise CadenzaError("the scale and pitch range leave no note this model can play")
    for t in forbid:
        allowed[t] = False
    return np.where(allowed, 0.0, -1e9).astype(np.float32)


KEY_PRIOR = 0.3  # the pull towards the key of the music given, in nats, where a model's card says none (docs/controls.md)
REGISTER_PRIOR = 1.0  # the pull towards its register, in nats an octave, where a model's card says none
KEY_NOTES = 8  # the music given must start at least this many notes before its key is guessed


def key_prior(onset_pitches: np.ndarray, given_pitches, strength: float) -> np.ndarray:
    """(V,) additive logits: -strength (nats) on the tokens that start a note outside the key of the pitches
    given (the notes of the prime or the melody: Krumhansl-Schmuckler on their pitch classes, counted; a minor
    key keeps its raised seventh, the leading tone); 0 elsewhere, and 0 everywhere when strength is 0 or fewer
    than KEY_NOTES notes are given (no key to keep to)."""
    from ..music.voicing import key_of_weights

    out = np.zeros(len(onset_pitches), np.float32)
    given = np.asarray(given_pitches, np.int64).reshape(-1)
    given = given[given >= 0]
    if strength <= 0 or len(given) < KEY_NOTES:
        return out
    tonic, major = key_of_weights(np.bincount(given % 12, minlength=12).astype(float))
    steps = MODES["major"] if major else MODES["harmonic_minor"] + (10,)  # minor: both sevenths
    inside = np.isin(onset_pitches % 12, [(tonic + i) % 12 for i in steps])
    out[(onset_pitches >= 0) & ~inside] = -np.float32(strength)
    return out


REGISTER_MARGIN = 7  # semitones beyond the music given's lowest and highest note that cost nothing


def register_prior(onset_pitches: np.ndarray, given_pitches, strength: float) -> np.ndarray:
    """(V,) additive logits: a note that starts more than REGISTER_MARGIN semitones below the lowest or above
    the highest pitch given is `strength` nats less likely per octave further out (a fifth beyond the
    range: free; an octave beyond that: -strength); 0 everywhere when strength is 0 or fewer than KEY_NOTES
    notes are given."""
    out = np.zeros(len(onset_pitches), np.float32)
    given = np.asarray(given_pitches, np.int64).reshape(-1)
    given = given[given >= 0]
    if strength <= 0 or len(given) < KEY_NOTES:
        return out
    lo, hi = int(given.min()) - REGISTER_MARGIN, int(given.max()) + REGISTER_MARGIN
    starts = onset_pitches >= 0
    beyond = np.maximum(lo - onset_pitches, 0) + np.maximum(onset_pitches - hi, 0)
    out[starts] = -np.float32(strength) * beyond[starts].astype(np.float32) / np.float32(12)
    return out


def time_prior(token_beats: np.ndarray | None, strength: float) -> np.ndarray:
    """(V,) additive logits: a time step of d beats `strength` nats likelier per doubling of d beyond half a
    beat (strength x log2(d / 0.5): an eighth note's step free, a quarter's +strength, a sixteenth's
    -strength), never forbidden; 0 elsewhere, and everywhere when strength is 0 or the codec has no time steps.
    A model that draws its music step by step comes out busier than the music it learnt (the chorale model:
    onsets per beat +0.35 real standard deviations, beats with no onset -0.36): this leans it back."""
    if token_beats is None or strength <= 0:
        return np.zeros(0 if token_beats is None else len(token_beats), np.float32)
    beats = np.asarray(token_beats, np.float64)
    steps = beats > 0
    out = np.zeros(len(beats), np.float32)
    out[steps] = (strength * np.log2(beats[steps] / 0.5)).astype(np.float32)
    return out
