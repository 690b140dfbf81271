"""The musician's controls, applied while sampling (bridge.generation.kernels.controls), and how well
music meets them (measured per bar, the same way the bench and the tests count).

    density            notes per beat (0: the model's own), held per bar within +-density_tolerance
    polyphony_min/max  notes sounding whenever time passes (0: free; a melody model plays one at a time)
    velocity_range     LOW-HIGH: no note louder or softer
    leaps              the share of the top voice's intervals larger than a whole tone (-1: free)
    offbeats           the share of notes starting off the beat (-1: free)
    no_repeat          n: no n-gram of the top voice's intervals twice in the new music (0: off)

Hard bounds (polyphony, velocity, the most notes a bar may hold, no_repeat) mask tokens; targets
(density's least notes, leaps, offbeats) also bias the logits toward them, bar by bar. The top voice is
the note that starts above every note sounding. Bars start where the new music starts, at the prime's
meter; beats are quarter notes (compound meters: dotted quarters, for what is off the beat).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import CadenzaError

MAX_DENSITY = 16.0  # notes per beat
MAX_VARIETY = 5.0  # nats an onset cell (rhythm_variety)


@dataclass(frozen=True)
class Controls:
    density: float = 0.0
    density_tolerance: float = 0.25
    polyphony_min: int = 0
    polyphony_max: int = 0
    velocity_range: tuple[int, int] | None = None
    leaps: float = -1.0
    offbeats: float = -1.0
    share_tolerance: float = 0.15
    no_repeat: int = 0
    rhythm_variety: float = -1.0  # nats an onset cell that differs from the last bar's; -1: the model's own

    @property
    def in_loop(self) -> bool:
        """Whether any control works inside the sampling loop (velocity alone is a mask and a clip)."""
        return (self.density > 0 or self.polyphony_min > 0 or self.polyphony_max > 0 or self.leaps >= 0
                or self.offbeats >= 0 or self.no_repeat > 0 or self.rhythm_variety > 0)

    def check(self, codec=None, name: str = "this model", grid_beats: float | None = None) -> None:
        """Contradictions and controls a model cannot honour: a clear error naming the setting, before any work."""
        if not 0 <= self.density <= MAX_DENSITY:
            raise CadenzaError(f"density {self.density:g} notes per beat: at most {MAX_DENSITY:g} (0: the model's own)")
        if self.polyphony_max and self.polyphony_min > self.polyphony_max:
            raise CadenzaError(f"polyphony_min {self.polyphony_min} is above polyphony_max {self.polyphony_max}")
        for key in ("leaps", "offbeats"):
            v = getattr(self, key)
            if v != -1 and not 0 <= v <= 1:
                raise CadenzaError(f"{key} {v:g}: a share between 0 and 1 (-1: free)")
        if self.rhythm_variety != -1 and not 0 <= self.rhythm_variety <= MAX_VARIETY:
            raise CadenzaError(f"rhythm_variety {self.rhythm_variety:g}: nats, 0-{MAX_VARIETY:g} (-1: the model's own)")
        if codec is None:
            return
        if codec.monophonic and self.polyphony_min > 1:
            raise CadenzaError(f"polyphony_min {self.polyphony_min}: {name} is a melody model and plays one note "
                               f"at a time")
        if codec.monophonic and grid_beats and self.density > 1.0 / grid_beats + 1e-9:
            raise CadenzaError(f"density {self.density:g} notes per beat: {name} plays one note at a time, on a grid "
                               f"of {grid_beats:g} beat, so at most {1.0 / grid_beats:g} a beat")
        if self.polyphony_max == 1 and grid_beats and self.density > 1.0 / grid_beats + 1e-9:
            raise CadenzaError(f"density {self.density:g} with polyphony_max 1: at most {1.0 / grid_beats:g} notes a "
                               f"beat on {name}'s grid of {grid_beats:g} beat")

    def kernel_array(self, bar: float, beat: float, grid: float, scale: float = 1.0) -> np.ndarray:
        """The kernel's ctl array. `scale`: kernel beats per real beat (codecs that count seconds count
        them at their decode tempo)."""
        from . import kernels as K

        ctl = np.zeros(K.N_CTL, np.float32)
        ctl[K.C_DENSITY] = self.density / scale
        ctl[K.C_DTOL] = self.density_tolerance
        ctl[K.C_PMIN] = self.polyphony_min
        ctl[K.C_PMAX] = self.polyphony_max
        ctl[K.C_LEAPS] = self.leaps
        ctl[K.C_OFFBEATS] = self.offbeats
        ctl[K.C_STOL] = self.share_tolerance
        ctl[K.C_NGRAM] = self.no_repeat
        ctl[K.C_BAR] = bar * scale
        ctl[K.C_BEAT] = beat * scale
        ctl[K.C_GRID] = grid
        ctl[K.C_VARY] = max(self.rhythm_variety, 0.0)
        return ctl


def parse_velocity_range(text) -> tuple[int, int]:
    import re

    m = re.fullmatch(r"\s*(\d+)\s*[-:,]\s*(\d+)\s*", str(text))
    if not m:
        raise CadenzaError(f"velocity range {text!r}: write LOW-HIGH between 1 and 127, e.g. 40-90")
    lo, hi = int(m.group(1)), int(m.group(2))
    if not 1 <= lo <= hi <= 127:
        raise CadenzaError(f"velocity range {lo}-{hi}: need 1 <= low <= high <= 127")
    return lo, hi


def beat_of(numerator: int, denominator: int) -> float:
    """The beat, in quarter notes, that off-beat is counted against: the denominator's note, or a
    dotted quarter in compound meters (6/8, 9/8, 12/8)."""
    if denominator == 8 and numerator % 3 == 0 and numerator > 3:
        return 1.5
    return 4.0 / denominator


# ----- measuring ----------------------------------------------------------------------------------------
def top_voice(notes: np.ndarray) -> np.ndarray:
    """(N, 4) pitch, velocity, start, end (beats) -> the pitches of the top voice in time order: a note
    that starts above every note sounding at its start (of notes starting together, the highest)."""
    if not len(notes):
        return np.zeros(0, np.int64)
    order = np.lexsort((-notes[:, 0], notes[:, 2]))
    n = notes[order]
    out = []
    for i in range(len(n)):
        p, s = n[i, 0], n[i, 2]
        if i and n[i - 1, 2] == s:  # a lower note of a chord
            continue
        sounding = (n[:, 2] < s - 1e-9) & (n[:, 3] > s + 1e-9)
        if not sounding.any() or p > n[sounding, 0].max():
            out.append(int(p))
    return np.array(out, np.int64)


def notes_of(score) -> np.ndarray:
    """(N, 4) pitch, velocity, start beat, end beat of a Score's pitched notes: what bar_report reads."""
    rows = [(p, v, a / score.tpq, b / score.tpq) for t in score.tracks if not t.is_drum for p, v, a, b in t.array.tolist()]
    return np.array(rows, float).reshape(-1, 4)


def bar_report(notes: np.ndarray, c: Controls, bars: int, bar: float, beat: float, start: float = 0.0) -> dict:
    """For each whole bar from `start`, whether it meets each control asked: {control: share of bars}.
    notes: (N, 4) pitch, velocity, start beat, end beat."""
    out = {}
    met = {k: 0 for k in ("density", "polyphony", "velocity", "leaps", "offbeats", "no_repeat")}
    counted = 0
    top = top_voice(notes)
    ngram_ok = True
    if c.no_repeat:
        iv = np.diff(top)
        seen = set()
        for i in range(len(iv) - c.no_repeat + 1):
            g = tuple(iv[i:i + c.no_repeat])
            if g in seen:
                ngram_ok = False
            seen.add(g)
    for k in range(bars):
        a, b = start + k * bar, start + (k + 1) * bar
        inside = notes[(notes[:, 2] >= a - 1e-6) & (notes[:, 2] < b - 1e-6)] if len(notes) else notes
        counted += 1
        if c.density > 0:
            target = c.density * bar
            met["density"] += abs(len(inside) - target) <= c.density_tolerance * target + 1e-6
        if c.polyphony_min or c.polyphony_max:
            times = np.unique(np.concatenate([[a], inside[:, 2]])) if len(inside) else np.array([a])
            # every moment time passes inside the bar: just after each onset and the bar's start
            ok = True
            grid = np.arange(a, b, 1 / 12)
            for t in np.unique(np.concatenate([times, grid])):
                n = int(((notes[:, 2] <= t + 1e-6) & (notes[:, 3] > t + 1e-6)).sum()) if len(notes) else 0
                if c.polyphony_max and n > c.polyphony_max or c.polyphony_min and n < c.polyphony_min:
                    ok = False
                    break
            met["polyphony"] += ok
        if c.velocity_range:
            lo, hi = c.velocity_range
            met["velocity"] += bool(((inside[:, 1] >= lo) & (inside[:, 1] <= hi)).all()) if len(inside) else 1
        if c.leaps >= 0 or c.offbeats >= 0:
            if c.leaps >= 0:
                tv = top_voice(notes[(notes[:, 2] >= a - 1e-6) & (notes[:, 2] < b - 1e-6)]) if len(notes) else top
                iv = np.abs(np.diff(tv))
                share = float((iv > 2).mean()) if len(iv) else c.leaps
                met["leaps"] += abs(share - c.leaps) <= c.share_tolerance + 1e-9
            if c.offbeats >= 0:
                f = (inside[:, 2] - start) / beat if len(inside) else np.zeros(0)
                off = np.abs(f - np.round(f)) > 1e-3
                share = float(off.mean()) if len(off) else c.offbeats
                met["offbeats"] += abs(share - c.offbeats) <= c.share_tolerance + 1e-9
        if c.no_repeat:
            met["no_repeat"] += ngram_ok
    for k, v in met.items():
        asked = {"density": c.density > 0, "polyphony": bool(c.polyphony_min or c.polyphony_max),
                 "velocity": c.velocity_range is not None, "leaps": c.leaps >= 0, "offbeats": c.offbeats >= 0,
                 "no_repeat": c.no_repeat > 0}[k]
        if asked:
            out[k] = v / counted if counted else 0.0
    return out


def refuse_unsupported(req, name: str, *, in_loop: bool, drums: bool) -> None:
    """The same refusal from every generator for what it cannot honour: controls that work inside the loop
    (`in_loop`: this generator runs them) and drum classes (`drums`: a drum model)."""
    if req.controls.in_loop and not in_loop:
        raise CadenzaError(f"{name} cannot take density, polyphony, leaps, offbeats, no_repeat or rhythm_variety yet: they need a "
                           "model whose tokens are notes and time steps (chorale, piano, melody)")
    if req.drum_classes and not drums:
        raise CadenzaError(f"{name} plays no drums: drum_classes is for the drums model")
