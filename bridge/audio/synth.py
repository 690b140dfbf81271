"""The built-in synthesiser: additive tones with envelopes, so rendering never needs a SoundFont.

Four timbres, chosen per track from its General MIDI program (or forced): `piano` (struck, decaying
partials, damped at the note's end), `organ` (steady partials), `strings` (a bowed, slow-attack
sawtooth-like tone) and `sine`. Each note ends with a short release; the render lasts the score plus
`tail` seconds. Pure numpy, a few hundred times faster than real time for a melody.
"""
from __future__ import annotations

import numpy as np

TIMBRES = ("piano", "organ", "strings", "sine")
RELEASE = 0.12  # seconds of release after a note's end

# relative partial amplitudes, and for the piano each partial's decay rate (1/s) at A4
_PARTIALS = {
    "piano": ([1.0, 0.55, 0.3, 0.22, 0.12, 0.08, 0.05], [1.2, 1.8, 2.6, 3.4, 4.4, 5.4, 6.5]),
    "organ": ([1.0, 0.7, 0.0, 0.45, 0.0, 0.25, 0.0, 0.15], None),
    "strings": ([1.0 / h for h in range(1, 11)], None),
    "sine": ([1.0], None),
}


def timbre_for_program(program: int) -> str:
    """A General MIDI program (0-127) to the nearest built-in timbre."""
    family = program // 8
    if family in (2, 9, 11):  # organs, pipes (flutes), synth pads: steady tones
        return "organ"
    if family in (5, 6, 7, 8, 10):  # strings, ensembles, brass, reeds, synth leads: bowed or blown
        return "strings"
    return "piano"  # pianos, chromatic percussion, guitars, basses and the rest: struck or plucked


def note_wave(pitch: int, velocity: int, seconds: float, sr: int, timbre: str) -> np.ndarray:
    """One note, release included."""
    f0 = 440.0 * 2 ** ((pitch - 69) / 12)
    n_on = max(1, int(round(seconds * sr)))
    n = n_on + int(RELEASE * sr)
    t = np.arange(n) / sr
    amps, decays = _PARTIALS[timbre]
    wave = np.zeros(n)
    for h, a in enumerate(amps, start=1):
        if not a or f0 * h >= sr / 2 * 0.9:
            continue
        partial = a * np.sin(2 * np.pi * f0 * h * t + 0.3 * h)
        if decays is not None:  # higher notes and partials fade faster, as on a piano
            partial *= np.exp(-decays[h - 1] * (f0 / 440.0) ** 0.5 * t)
        wave += partial
    attack = {"piano": 0.003, "organ": 0.01, "strings": 0.06, "sine": 0.01}[timbre]
    env = np.minimum(1.0, t / attack)
    release = np.clip(1.0 - (t - seconds) / RELEASE, 0.0, 1.0)
    env *= np.where(t > seconds, release, 1.0)
    gain = 0.18 * (max(1, velocity) / 127.0) ** 1.5
    return (wave * env * gain).astype(np.float32)


def synthesize(score, sr: int = 44100, tail: float = 1.0, timbre: str | None = None) -> np.ndarray:
    """(samples, 2) float32 in [-1, 1]: the score, then `tail` seconds."""
    if timbre is not None and timbre not in TIMBRES:
        raise ValueError(f"unknown timbre {timbre!r}; built-in timbres: {', '.join(TIMBRES)}")
    total = int(round((score.duration_seconds + tail) * sr))
    out = np.zeros(total, np.float64)
    for track in score.tracks:
        if track.is_drum or not len(track.array):
            continue
        kind = timbre or timbre_for_program(track.program)
        arr = track.array
        starts = score.seconds(arr[:, 2])
        ends = score.seconds(arr[:, 3])
        for (pitch, vel, _, _), s, e in zip(arr.tolist(), starts.tolist(), ends.tolist()):
            wave = note_wave(pitch, vel, max(e - s, 0.01), sr, kind)
            a = int(round(s * sr))
            b = min(total, a + len(wave))
            if b > a:
                out[a:b] += wave[:b - a]
    peak = float(np.abs(out).max()) if len(out) else 0.0
    if peak > 0.98:  # a dense score: scale down rather than clip
        out *= 0.98 / peak
    return np.repeat(out.astype(np.float32)[:, None], 2, axis=1)
