"""Groove, Drumify, Interpolate and Generate with the groove model (bridge/nets/groovae.py), in numpy.

The model works on 2-bar windows of 32 16th-note steps; a longer piece is done a window at a time (the
piece's own beats: a window is 8 beats whatever the meter). Nothing here imports TensorFlow: the
weights are read as arrays (bridge/arrays.py) and the LSTMs run as numpy products, a step at a time.

    groove(model, score, humanize=1.0, swing=0.0)     the piece's drums played: timing and dynamics
    drumify(model, score, ...)                        a kit part that plays the piece's rhythm
    interpolate(model, a, b, steps=5)                 2-bar beats from a's to b's, through the latent space
    generate_beats(model, bars, ...)                  beats from z ~ N(0, temperature^2)

A model trained with styles (`cadenza train-groove`, the default) also hears the style (`style`: one of the
Groove MIDI Dataset's 18, or none said) and the piece's tempo at every step.

Controls: `humanize` (0: the quantised input as it came, 1: the model's performance, between: a blend
of timing and velocity), `swing` (0-1: the second 16th of each 8th delayed by up to a third of a step,
after the model), `density` (notes per beat: each bar gets that many hits times its beats, the likeliest
ones), `drum_classes` (only these classes are played) and `temperature` (groove and drumify: how far the
timing and velocities stray from the model's likeliest performance, with the spreads the drummers showed
around it; drumify and generate: how far z strays from the mean).
"""
from __future__ import annotations

import math

import numpy as np

from ..codecs.drums import (CLASS_NAMES, N_CLASSES, STYLE_AT, feature_qpm, from_grid, grid, groove_features,
                            style_of)
from ..errors import CadenzaError
from ..music import Score
from ..nets.groovae import LAYERS, layer_name

STEPS = 32  # a window: 2 bars of 4/4
SPQ = 4  # steps a quarter note
MAX_BARS = 1024  # the longest piece groove and drumify take (every resource a client asks for has a limit)
C = N_CLASSES
NEAREST = 0.49  # steps: the furthest a drawn feel moves a hit from its step


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _lstm(x: np.ndarray, kernel, recurrent, bias, reverse: bool = False, sequences: bool = False):
    """Keras' LSTM (gates i, f, c, o; sigmoid and tanh) over (B, S, F): the last h, or every h."""
    B, S, _ = x.shape
    U = recurrent.shape[0]
    xs = x @ kernel + bias  # the input products of every step at once
    h = np.zeros((B, U), np.float32)
    c = np.zeros((B, U), np.float32)
    out = np.empty((B, S, U), np.float32) if sequences else None
    order = range(S - 1, -1, -1) if reverse else range(S)
    for t in order:
        z = xs[:, t] + h @ recurrent
        i, f, g, o = _sigmoid(z[:, :U]), _sigmoid(z[:, U:2 * U]), np.tanh(z[:, 2 * U:3 * U]), _sigmoid(z[:, 3 * U:])
        c = f * c + i * g
        h = o * np.tanh(c)
        if sequences:
            out[:, t] = h
    return out if sequences else h


TEMPO_EDGES = (60, 70, 80, 90, 100, 110, 120, 130, 140, 160, 200)  # qpm: the style guesser's tempo steps


def style_evidence(hits: np.ndarray, qpm) -> np.ndarray:
    """(N, 32, 9) hits and the tempo -> what the style guesser reads, (N, 166): how often each class is struck
    at each of a bar's 16 steps, how many hits each class has a bar, which side of each of TEMPO_EDGES the
    tempo is, and the tempo itself (log, around 120)."""
    n = len(hits)
    h = (hits > 0.5).astype(np.float32)
    folded = h.reshape(n, -1, 16, C).mean(1).reshape(n, -1)
    per_bar = h.sum(1) / (h.shape[1] / 16) / 4.0
    log_q = np.log(np.clip(np.broadcast_to(np.asarray(qpm, np.float64), (n,)), 20.0, 400.0))
    steps = (log_q[:, None] > np.log(TEMPO_EDGES)[None]).astype(np.float32)
    return np.concatenate([folded, per_bar, steps, (log_q - np.log(120.0))[:, None].astype(np.float32)], 1)


def style_odds(guess, hits: np.ndarray, qpm) -> np.ndarray:
    """(N, 18): how likely each style is for each window, from its drums and tempo; `guess`: the guesser's
    (weights, bias)."""
    w, b = guess
    x = style_evidence(hits, qpm) @ w + b
    x = np.exp(x - x.max(1, keepdims=True))
    return x / x.sum(1, keepdims=True)


PLAYED = ("groove", "drumify")  # the tasks an ensemble's members may be chosen for (`--use`)
FEEL = ("offset_between", "offset_within", "velocity_between", "velocity_within")


def feel(model: "GrooveModel", windows: int, temperature: float, rng) -> tuple[np.ndarray, np.ndarray]:
    """Timing (steps) and velocity (0-1) to add to the model's likeliest performance, (windows, 32, 9) each:
    each class pushed or pulled for the whole window, and each hit apart from that, with the spreads the
    drummers showed around the model's performance on its training windows, times `temperature` (0: none).
    A model that plays only its likeliest performance is accurate and lifeless: its timing spread was half
    the drummers'."""
    shape = (windows, STEPS, C)
    if not temperature or model.feel is None:
        return np.zeros(shape, np.float32), np.zeros(shape, np.float32)
    f = model.feel
    t = np.float32(temperature)
    out = []
    for what in ("offset", "velocity"):
        shared = f[f"{what}_between"] * rng.standard_normal((windows, 1, C))  # the class's push or pull
        out.append((t * (shared + f[f"{what}_within"] * rng.standard_normal(shape))).astype(np.float32))
    return out[0], out[1]


def _felt(po, pv, d_off, d_vel):
    """The performance with the feel added, kept where it can be played: nearer its own step than either
    neighbour (a hit pushed to half a step would be read back as its neighbour's, and two would be one), and
    velocities 1-127."""
    return np.clip(po + d_off, -NEAREST, NEAREST), np.clip(pv + d_vel, 1 / 127, 1.0)


class GrooveModel:
    """A loaded groove model's weights, and the three passes it is used for."""

    def __init__(self, loaded):
        if loaded.meta.get("arch", {}).get("name") != "groovae":
            raise CadenzaError(f"{loaded.name} is not a groove model: groove, drumify and interpolate need one "
                               f"(the shipped one is `groove`)")
        a = loaded.arrays
        args = loaded.meta.get("arch", {}).get("args", {})
        # an ensemble's members (`cadenza train-groove --join`), each its own weights
        self.members = [_member(a, k) for k in range(int(args.get("members", 1)))]
        self.latent = self.members[0]["mu"][1].shape[0]
        # the members that play each task (`cadenza train-groove --join ... --use TASK=I,J`); all, unless said
        uses = loaded.meta.get("ensemble", {})
        self.uses = {task: list(uses.get(task, range(len(self.members)))) for task in PLAYED}
        self.name = loaded.name
        self.styles = int(loaded.meta.get("arch", {}).get("args", {}).get("styles", 0))  # hears style and tempo
        # drumify's threshold per class, calibrated on the training split (bridge.training.groove.calibrate)
        d = loaded.meta.get("drumify", {})
        self.thresholds = np.array(d.get("thresholds", [0.5] * C), np.float32)
        # a model that hears the style: another set for requests that do not say one
        self.thresholds_unsaid = np.array(d.get("thresholds_style_not_said", self.thresholds), np.float32)
        # what the model's likeliest performance leaves out of the drummers' (bridge.training.groove.calibrate):
        # per class, the spread of timing (steps) and velocity (0-1) left around it, between windows (a class
        # played ahead or behind for two bars) and within one (hit to hit); drawn back with `temperature`
        f = loaded.meta.get("feel")
        self.feel = {k: np.array(f[k], np.float32) for k in FEEL} if f else None
        # a window whose style is not said: the styles its drums and tempo suggest (a softmax regression on
        # style_evidence, fitted on the training windows: bridge.training.groove.guess_styles), and groove's
        # velocities mapped per class by a line fitted on them (said and not said apart)
        g = loaded.meta.get("style_guess")
        self.guess = (np.array(g["weights"], np.float32), np.array(g["bias"], np.float32)) if g else None
        fit = loaded.meta.get("groove_fit", {})
        self.fit = {k: np.array(v, np.float32) for k, v in fit.items() if k in ("said", "not_said")}

    def style_odds(self, hits: np.ndarray, qpm) -> np.ndarray:
        return style_odds(self.guess, hits, qpm)

    def thresholds_for(self, style: str) -> np.ndarray:
        return self.thresholds if style or not self.styles else self.thresholds_unsaid

    def features(self, hits, vel, off, tapped, task: int, style=-1, qpm=120.0) -> np.ndarray:
        """The step features this model reads: with the style (an index, -1: not said) and the tempo when it
        was trained with them (bridge.codecs.drums.groove_features)."""
        if not self.styles:
            return groove_features(hits, vel, off, tapped, task)
        return groove_features(hits, vel, off, tapped, task, style, qpm)

    def encode(self, source: np.ndarray, member: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """The latent code's mean and log-variance (B, latent) of one member."""
        w = self.members[member]
        h = np.concatenate([_lstm(source, *w["fwd"]), _lstm(source, *w["bwd"], reverse=True)], -1)
        return h @ w["mu"][0] + w["mu"][1], h @ w["logvar"][0] + w["logvar"][1]

    def decode(self, z: np.ndarray, cond: np.ndarray, member: int = 0):
        """(hit probabilities, velocities 0-1, offsets in steps) each (B, S, 9), from one member's z."""
        w = self.members[member]
        x = np.concatenate([np.repeat(z[:, None, :], cond.shape[1], 1), cond], -1).astype(np.float32)
        dec = w["decoder"]
        h = _lstm(x, *dec[:3], sequences=True)
        if len(dec) == 6:  # a decoder that reads the steps both ways (dec_bidi): forward, then backward
            h = np.concatenate([h, _lstm(x, *dec[3:], reverse=True, sequences=True)], -1)
        y = h @ w["out"][0] + w["out"][1]
        return _sigmoid(y[..., :C]), _sigmoid(y[..., C:2 * C]), 0.5 * np.tanh(y[..., 2 * C:])

    def perform(self, source: np.ndarray, temperature: float = 0.0, rng=None, task: str = "groove"):
        """Groove and drumify (the condition is the source): (hit probabilities, velocities, offsets), the mean
        of the performances of the members that play `task` (one model: its own), each decoding its encoder's
        mean, or with `temperature` a z drawn around it. Interpolate and generate move through one latent space:
        the first member's. Groove, with a calibrated model: a window not told its style is told the style
        guesser's odds, and the velocities go through the lines fitted for windows told and not told."""
        unsaid = self.source_unsaid(source)
        if task == "groove" and self.guess is not None and unsaid.any():
            # a window not told its style is told the guesser's odds instead of one style: the net reads the
            # style as a one-hot, so this is each style's pull weighted by how likely it is, for one row's cost
            qpm = feature_qpm(source)
            source = source.copy()
            odds = self.style_odds(source[unsaid, :, :C], qpm[unsaid])
            source[unsaid, :, STYLE_AT:STYLE_AT + self.styles] = odds[:, None]
        outs = []
        for k in self.uses[task]:
            mu, lv = self.encode(source, k)
            if temperature:
                mu = mu + temperature * np.exp(0.5 * lv) * rng.standard_normal(mu.shape).astype(np.float32)
            outs.append(self.decode(mu, source, k))
        out = outs[0] if len(outs) == 1 else tuple(np.mean([o[i] for o in outs], 0) for i in range(3))
        if task == "groove" and self.fit:
            out = self._fitted(out, unsaid)
        return tuple(np.asarray(a, np.float32) for a in out)

    def source_unsaid(self, source: np.ndarray) -> np.ndarray:
        """(N,) whether each window's features say no style (a model that hears styles; else all False)."""
        if not self.styles:
            return np.zeros(len(source), bool)
        return source[:, 0, STYLE_AT:STYLE_AT + self.styles].max(1) < 0.5

    def _fitted(self, out, unsaid: np.ndarray):
        """Velocities through each class's fitted line (a + b x), said and not said apart. (Offsets fitted so
        on the training windows were spread 2-18% wider, and missed the validation windows' by more.)"""
        prob, vel, off = out
        vel = vel.copy()
        for key, rows in (("said", ~unsaid), ("not_said", unsaid)):
            line = self.fit.get(key)  # (9, 2): per class (a, b)
            if line is not None and rows.any():
                vel[rows] = np.clip(line[:, 0] + line[:, 1] * vel[rows], 1 / 127, 1.0)
        return prob, vel, off

    def likeliest(self, source: np.ndarray, batch: int = 256, task: str = "groove"):
        """(hit probabilities, velocities, offsets) of many windows at the encoders' means, `batch` at a time."""
        out = [np.empty(source.shape[:2] + (C,), np.float32) for _ in range(3)]
        for a in range(0, len(source), batch):
            for whole, part in zip(out, self.perform(source[a:a + batch], task=task)):
                whole[a:a + batch] = part
        return tuple(out)


def _member(a, k: int) -> dict:
    """Member k's weights by layer (bridge.nets.groovae.LAYERS), the encoder's split into its two directions."""
    w = {kind: [x.astype(np.float32) for x in a.get(layer_name(kind, k))] for kind in LAYERS}
    w["fwd"], w["bwd"] = w["encoder"][:3], w["encoder"][3:]
    return w


def model_for(loaded) -> GrooveModel:
    m = getattr(loaded, "_groove", None)
    if m is None:
        m = GrooveModel(loaded)
        object.__setattr__(loaded, "_groove", m)
    return m


def _windows(arr: np.ndarray) -> np.ndarray:
    """(S, ...) -> (W, 32, ...), padded with zeros to whole windows."""
    n = max(1, math.ceil(len(arr) / STEPS))
    pad = np.zeros((n * STEPS - len(arr),) + arr.shape[1:], arr.dtype)
    return np.concatenate([arr, pad]).reshape((n, STEPS) + arr.shape[1:])


def _steps_of(score: Score) -> int:
    beats = score.end_tick / score.tpq
    if beats > MAX_BARS * 4:
        raise CadenzaError(f"{beats / 4:.0f} bars: groove, drumify and interpolate take at most {MAX_BARS} bars")
    return max(1, int(math.ceil(beats * SPQ - 1e-9)))


def _with_drums(like: Score, drums: Score, name: str) -> Score:
    """`like` with its drum tracks replaced by `drums`' (converted to its ticks); the rest as it was."""
    arr = drums.tracks[0].array.copy() if drums.tracks else np.zeros((0, 4), np.int64)
    arr[:, 2:] = np.round(arr[:, 2:] * like.tpq / drums.tpq).astype(np.int64)
    old = [t for t in like.tracks if t.is_drum]
    program = old[0].program if old else 0
    track = drums.tracks[0].replace(notes=arr, name=name, program=program) if drums.tracks else None
    kept = tuple(t for t in like.tracks if not t.is_drum)
    return like.replace(tracks=kept + ((track,) if track is not None else ()))


def _classes_mask(classes) -> np.ndarray:
    mask = np.ones(C, np.float32)
    if classes:
        mask[:] = 0
        mask[list(classes)] = 1
    return mask


def strike(prob: np.ndarray, thresholds, tapped: np.ndarray) -> np.ndarray:
    """Drumify's hits (..., S, 9, bool) from its probabilities and the tapped rhythm (..., S): on each tapped
    step every class over its threshold, and where none is, the one likeliest for its threshold (a class with
    probability 0, left out by `classes`, never): every onset of the rhythm sounds and nothing sounds off it.
    (The model strikes nothing on 1.7-2.4% of the validation windows' taps, and next to nothing off them.)"""
    thresholds = np.asarray(thresholds, np.float32)
    on = np.asarray(tapped)[..., None] > 0.5
    hits = (prob > thresholds) & on
    best = np.argmax(prob / np.maximum(thresholds, 1e-6), -1)[..., None]
    lone = np.zeros_like(hits)
    np.put_along_axis(lone, best, np.take_along_axis(prob, best, -1) > 0, -1)
    return hits | (lone & on & ~hits.any(-1, keepdims=True))


def _choose(prob: np.ndarray, density: float, classes, beats_per_bar: float = 4.0, thresholds=0.5,
            tapped: np.ndarray | None = None) -> np.ndarray:
    """Hits from probabilities (S, 9): over each class's threshold (with `tapped`, as `strike` plays a
    rhythm), or with `density`, the likeliest density x beats per bar."""
    prob = prob * _classes_mask(classes)
    if not density:
        if tapped is not None:
            return strike(prob, thresholds, tapped).astype(np.float32)
        return (prob > thresholds).astype(np.float32)
    hits = np.zeros_like(prob)
    per_bar = int(round(density * beats_per_bar))
    bar = int(round(beats_per_bar * SPQ))
    for a in range(0, len(prob), bar):
        block = prob[a:a + bar]
        share = int(round(per_bar * len(block) / bar))  # a bar cut short by the piece's end: its share
        k = min(share, int((block > 0).sum()))
        if k:
            top = np.argsort(block.reshape(-1))[::-1][:k]
            flat = np.zeros(block.size, np.float32)
            flat[top] = 1
            hits[a:a + bar] = flat.reshape(block.shape)
    return hits


def _swing(off: np.ndarray, hits: np.ndarray, swing: float) -> np.ndarray:
    if swing:
        off = off.copy()
        off[1::2] += hits[1::2] * swing / 3.0
    return off


def groove(model: GrooveModel, score: Score, humanize: float = 1.0, swing: float = 0.0, style: str = "",
           temperature: float = 0.0, seed: int = 0) -> Score:
    """The score with its drum part played by the model: its hits kept, with the timing and velocities of a
    performance (blended with the quantised input by `humanize`), swung by `swing`; in `style` (one of
    STYLES, "": not said) at the score's tempo, for a model that hears them. `temperature` 0 plays the
    model's likeliest performance; above, a performance drawn around it (`feel`, from `seed`)."""
    n = _steps_of(score)
    hits, vel, off = grid(score, SPQ, 0, n)
    if not hits.any():
        raise CadenzaError("no drums to groove: groove plays a drum part with feel; drumify makes one from the "
                           "rhythm of any music")
    H = _windows(hits)
    src = model.features(H, np.zeros_like(H), np.zeros_like(H), np.zeros(H.shape[:2], np.float32), 0,
                         style_of(style), score.qpm)
    _, pv, po = model.perform(src)
    po, pv = _felt(po, pv, *feel(model, len(H), temperature, np.random.default_rng(seed)))
    pv, po = pv.reshape(-1, C)[:n], po.reshape(-1, C)[:n]
    q_vel = np.where(hits > 0, vel, 0)
    q_vel[(hits > 0) & (q_vel == 0)] = float(vel[hits > 0].mean()) if (vel[hits > 0] > 0).any() else 0.7
    out_vel = (1 - humanize) * q_vel + humanize * pv
    out_off = _swing(humanize * po, hits, swing)
    return _with_drums(score, from_grid(hits, out_vel, out_off, score.qpm, SPQ, score.tpq), "Cadenza groove")


def rhythm_of(score: Score) -> tuple[np.ndarray, bool]:
    """(S,) the tapped rhythm: the drums' onsets, or, where there are no drums, every note's (True then)."""
    n = _steps_of(score)
    hits, _, _ = grid(score, SPQ, 0, n)
    if hits.any():
        return (hits.max(-1) > 0).astype(np.float32), False
    tapped = np.zeros(n, np.float32)
    for t in score.tracks:
        for s in np.floor(t.array[:, 2] * SPQ / score.tpq + 0.5).astype(np.int64).tolist():
            if 0 <= s < n:
                tapped[s] = 1
    if not tapped.any():
        raise CadenzaError("no notes: drumify needs a rhythm to play")
    return tapped, True


def drumify(model: GrooveModel, score: Score, density: float = 0.0, classes=(), temperature: float = 0.0,
            seed: int = 0, swing: float = 0.0, style: str = "") -> tuple[Score, bool]:
    """A kit part that plays the score's rhythm (its drums' onsets, or its notes' where it has no drums),
    with the score's other parts kept. Returns (score, whether the notes' onsets were used)."""
    tapped, from_notes = rhythm_of(score)
    n = len(tapped)
    T = _windows(tapped)
    zeros = np.zeros(T.shape + (C,), np.float32)
    src = model.features(zeros, zeros, zeros, T, 1, style_of(style), score.qpm)
    rng = np.random.default_rng(seed)
    prob, pv, po = model.perform(src, temperature, rng, task="drumify")
    po, pv = _felt(po, pv, *feel(model, len(T), temperature, rng))
    prob, pv, po = (a.reshape(-1, C)[:n] for a in (prob, pv, po))
    hits = _choose(prob, density, classes, thresholds=model.thresholds_for(style), tapped=tapped)
    out = from_grid(hits, pv, _swing(po, hits, swing), score.qpm, SPQ, score.tpq)
    return _with_drums(score, out, "Cadenza drumify"), from_notes


def _beat(score: Score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    hits, vel, off = grid(score, SPQ, 0, STEPS)
    if not hits.any():
        raise CadenzaError("no drums in its first 2 bars: interpolate goes between two drum beats")
    return hits, vel, off


def interpolate(model: GrooveModel, a: Score, b: Score, steps: int = 5, density: float = 0.0, classes=(),
                swing: float = 0.0, style: str = "") -> list[Score]:
    """`steps` 2-bar beats from a's first 2 bars to b's, decoded from points along the line between their
    latent codes (the first is a's own decoding, the last b's)."""
    if not 2 <= steps <= 64:
        raise CadenzaError(f"steps {steps}: interpolate makes 2-64 beats")
    ha, va, oa = _beat(a)
    hb, vb, ob = _beat(b)
    sq = (style_of(style), a.qpm)
    src = np.concatenate([model.features(ha[None], va[None], oa[None], np.zeros((1, STEPS), np.float32), 2, *sq),
                          model.features(hb[None], vb[None], ob[None], np.zeros((1, STEPS), np.float32), 2, *sq)])
    mu, _ = model.encode(src)
    t = np.linspace(0, 1, steps, dtype=np.float32)[:, None]
    z = (1 - t) * mu[0] + t * mu[1]
    zeros = np.zeros((steps, STEPS, C), np.float32)
    cond = model.features(zeros, zeros, zeros, np.zeros((steps, STEPS), np.float32), 2, *sq)
    prob, pv, po = model.decode(z, cond)
    out = []
    for k in range(steps):
        hits = _choose(prob[k], density, classes)
        out.append(from_grid(hits, pv[k], _swing(po[k], hits, swing), a.qpm, SPQ, a.tpq))
    return out


def generate_beats(model: GrooveModel, bars: int = 2, temperature: float = 1.0, seed: int = 0, density: float = 0.0,
                   classes=(), swing: float = 0.0, qpm: float = 120.0, style: str = "") -> Score:
    """New beats from the latent space: a z ~ N(0, temperature^2) every 2 bars."""
    if not 1 <= bars <= MAX_BARS:
        raise CadenzaError(f"bars {bars}: 1-{MAX_BARS}")
    w = math.ceil(bars / 2)
    z = temperature * np.random.default_rng(seed).standard_normal((w, model.latent)).astype(np.float32)
    zeros = np.zeros((w, STEPS, C), np.float32)
    cond = model.features(zeros, zeros, zeros, np.zeros((w, STEPS), np.float32), 2, style_of(style), qpm)
    prob, pv, po = (a.reshape(-1, C)[:bars * 16] for a in model.decode(z, cond))
    hits = _choose(prob, density, classes)
    return from_grid(hits, pv, _swing(po, hits, swing), qpm, SPQ)


__all__ = ["GrooveModel", "model_for", "groove", "drumify", "interpolate", "generate_beats", "rhythm_of",
           "CLASS_NAMES", "MAX_BARS"]


TASKS = ("groove", "drumify", "interpolate")


def run_task(task: str, loaded, primes: list, s) -> tuple[list, str]:
    """One request of a drum task through the groove model, as every door makes it: (scores, a note for the
    user or ""). `primes`: the piece (groove, drumify) or the two beats (interpolate); `s`: the settings."""
    from ..codecs.drums import parse_classes

    model = model_for(loaded)
    if s.style and not model.styles:  # a setting the model cannot honour is refused by name, never ignored
        raise CadenzaError(f"style {s.style!r}: {loaded.name} was trained without styles and does not hear one; "
                           "leave style unset, or use a groove model trained with them (the shipped `groove`)")
    classes = parse_classes(s.drum_classes) if s.drum_classes else ()
    seed = s.seed if s.seed >= 0 else int(np.random.default_rng().integers(2**31))
    if task == "groove":
        return [groove(model, primes[0], s.humanize, s.swing, s.style, s.temperature, seed + k)
                for k in range(s.variations)], ""
    if task == "drumify":
        out, note = [], ""
        for k in range(s.variations):
            score, from_notes = drumify(model, primes[0], density=s.density, classes=classes,
                                        temperature=s.temperature, seed=seed + k, swing=s.swing, style=s.style)
            out.append(score)
            if from_notes:
                note = "no drums here: the notes' onsets are the rhythm the kit plays"
        return out, note
    if task == "interpolate":
        if len(primes) != 2:
            raise CadenzaError("interpolate takes two beats")
        return interpolate(model, primes[0], primes[1], s.steps, density=s.density, classes=classes, swing=s.swing,
                           style=s.style), ""
    raise CadenzaError(f"unknown drum task {task!r}: one of {', '.join(TASKS)}")
