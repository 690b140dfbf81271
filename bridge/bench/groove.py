"""`cadenza bench groove`: the groove model's figures on the Groove MIDI Dataset's validation split.

Every 2-bar window (4/4, a bar apart, 4 hits or more) of the validation files, as the model trained:
- Groove: the window quantised (its hits, no velocities or offsets) is played by the model; against the
  real performance, on the real hits: the mean absolute timing error in milliseconds (at the file's
  tempo) and velocity error (0-127). Baselines in the same run: the quantised input itself (no offset,
  the training data's mean velocity), and the training data's mean offset and velocity for each drum
  class at each of the 16 positions of a bar.
- Drumify: the window's tapped rhythm (a hit wherever any drum strikes) becomes a kit part (z = the
  encoder's mean); hit F1 against the real kit over all windows, and hits per window of each class,
  generated against real. Baseline: the most common kit pattern of the training windows with the same
  number of tapped steps.
- Interpolate: pairs of validation beats, 5 steps from A to B: the share of pairs whose steps' Hamming
  distance to A's decoded pattern never falls and to B's never rises.
- Realism: each class's spread (standard deviation) of timing offsets and velocities on the real hits, the
  model's against the real performance's (a model that always plays the mean is accurate and lifeless: 0x).
- A model that hears the style and tempo (trained with styles) is told each window's own style (as a user
  choosing it would) and, in rows of their own, not told it.
- Speed: groove and drumify of 2 bars, the median of 50 calls, in milliseconds.
"""
from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import numpy as np


def _paths(loaded, part: str) -> list[Path]:
    from ..evaluate import resolve_split

    return resolve_split(loaded.meta).get(part, [])


def run_groove(model: str = "groove", max_files: int = 0, pairs: int = 200) -> dict:
    from .. import store
    from ..codecs.drums import CLASS_NAMES
    from ..generation.groove import STEPS, _felt, feel, model_for, strike
    from ..training.groove import styles_of, tap, windows

    loaded = store.load(model)
    m = model_for(loaded)
    valid_files = _paths(loaded, "validation")[:max_files or None]
    train_files = _paths(loaded, "train")[:max_files or None]
    if not valid_files or not train_files:
        raise SystemExit(f"{model}: its training or validation files are not here (../shared/corpus/groove)")
    styles = styles_of(store.corpus_folder(loaded.meta)) if m.styles else None
    H, V, O, Q, S = windows(valid_files, styles=styles)
    TH, TV, TO, _, _ = windows(train_files)
    told = {"": S, ", style not said": np.full_like(S, -1)} if m.styles else {"": S}

    def features(h, v, o, t, task, style=S):
        return m.features(h, v, o, t, task, style, Q)

    n = len(H)
    ms_per_step = 60000.0 / Q / 4  # (N,)
    hit = H > 0.5
    zeros = np.zeros_like(H)
    r = {"model": model, "validation_windows": int(n), "training_windows": int(len(TH)),
         "validation_files": len(valid_files)}

    # ----- groove --------------------------------------------------------------------------------------
    played = {}
    rng = np.random.default_rng(0)
    for said, sty, temperature in [(said, sty, 0.0) for said, sty in told.items()] + [(", z drawn (temperature 1)", S, 1.0)]:
        src = features(H, zeros, zeros, np.zeros(H.shape[:2], np.float32), 0, sty)
        pv, po = np.empty_like(H), np.empty_like(H)
        for a in range(0, n, 256):  # with temperature, z drawn from the encoder's distribution, not its mean
            _, pv[a:a + 256], po[a:a + 256] = m.perform(src[a:a + 256], temperature, rng)
        played["model" + said] = (po, pv)
    if m.feel is not None:  # the likeliest performance, with the drummers' spread around it drawn back
        po, pv = _felt(*played["model"], *feel(m, n, 1.0, np.random.default_rng(1)))
        played["model, feel drawn (temperature 1)"] = (po, pv)
    scale = ms_per_step[:, None, None] * np.ones_like(H)
    mean_vel = float(TV[TH > 0.5].mean())
    pos = np.arange(STEPS) % 16
    cls_pos_off = np.zeros((16, 9))
    cls_pos_vel = np.full((16, 9), mean_vel)
    for p in range(16):
        for k in range(9):
            sel = (TH[:, pos == p, k] > 0.5)
            if sel.any():
                cls_pos_off[p, k] = TO[:, pos == p, k][sel].mean()
                cls_pos_vel[p, k] = TV[:, pos == p, k][sel].mean()
    base_off = np.broadcast_to(cls_pos_off[pos][None], H.shape)
    base_vel = np.broadcast_to(cls_pos_vel[pos][None], H.shape)

    def errors(off, vel):
        return (round(float(np.abs(off - O)[hit].__mul__(scale[hit]).mean()), 2),
                round(float(np.abs(vel - V)[hit].mean() * 127), 2))

    r["groove"] = {"timing_mae_ms": {}, "velocity_mae": {}}
    for name, (off, vel) in {**played, "quantised input": (np.zeros_like(O), np.full_like(V, mean_vel)),
                             "class x position means": (base_off, base_vel)}.items():
        t, v = errors(off, vel)
        r["groove"]["timing_mae_ms"][name] = t
        r["groove"]["velocity_mae"][name] = v
    # realism: each class's spread of offsets (ms) and velocities on the real hits, the model's over the real's
    for said, key in (("model", "spread_vs_real"), ("model, z drawn (temperature 1)", "spread_vs_real_z_drawn"),
                      ("model, feel drawn (temperature 1)", "spread_vs_real_feel_drawn")):
        if said not in played:
            continue
        po, pv = played[said]
        spread = {}
        for k, c in enumerate(CLASS_NAMES):
            sel = hit[..., k]
            if sel.sum() < 20:
                continue
            real_off, real_vel = (O[..., k] * scale[..., k])[sel], V[..., k][sel]
            spread[c] = {"offset": round(float((po[..., k] * scale[..., k])[sel].std() / max(1e-9, real_off.std())), 2),
                         "velocity": round(float(pv[..., k][sel].std() / max(1e-9, real_vel.std())), 2)}
        r["groove"][key] = spread

    # ----- drumify ---------------------------------------------------------------------------------------
    T = tap(H)
    kits = {}
    for said, sty in told.items():
        prob = m.likeliest(features(zeros, zeros, zeros, T, 1, sty), task="drumify")[0]
        # each class's threshold, calibrated on the training split (a set for a style said, one for none), on
        # the taps as drumify plays them (every tap sounds)
        kits["model" + said] = strike(prob, m.thresholds_unsaid if said else m.thresholds, T)
    made = kits["model"]
    common: dict[int, Counter] = {}
    for h, t in zip(TH > 0.5, tap(TH)):
        common.setdefault(int(t.sum()), Counter())[h.tobytes()] += 1
    keys = np.array(sorted(common))
    base = np.zeros_like(made)
    for i, t in enumerate(T):
        k = keys[np.argmin(np.abs(keys - int(t.sum())))]
        base[i] = np.frombuffer(common[int(k)].most_common(1)[0][0], bool).reshape(STEPS, 9)

    def f1(pred):
        tp = float((pred & hit).sum())
        return round(2 * tp / max(1.0, float(pred.sum() + hit.sum())), 3)

    r["drumify"] = {"hit_f1": {**{k: f1(v) for k, v in kits.items()}, "most common pattern for the tap count": f1(base)},
                    "hits_per_window_by_class": {c: {**{key: round(float(kit[..., k].sum()) / n, 2)
                                                        for key, kit in kits.items() if key != "model"},
                                                     "model": round(float(made[..., k].sum()) / n, 2),
                                                     "real": round(float(hit[..., k].sum()) / n, 2),
                                                     "baseline": round(float(base[..., k].sum()) / n, 2)}
                                                 for k, c in enumerate(CLASS_NAMES)}}

    # ----- interpolate -------------------------------------------------------------------------------------
    rng = np.random.default_rng(0)
    asrc = features(H, V, O, np.zeros(H.shape[:2], np.float32), 2)
    mono = 0
    count = min(pairs, n // 2)
    order = rng.permutation(n)
    for i in range(count):
        a, b = order[2 * i], order[2 * i + 1]
        mu, _ = m.encode(asrc[[a, b]])
        cond = m.features(np.zeros((5, STEPS, 9), np.float32), np.zeros((5, STEPS, 9), np.float32),
                          np.zeros((5, STEPS, 9), np.float32), np.zeros((5, STEPS), np.float32), 2, S[a], Q[a])
        t = np.linspace(0, 1, 5, dtype=np.float32)[:, None]
        p, _, _ = m.decode((1 - t) * mu[0] + t * mu[1], cond)
        pats = p > 0.5
        da = [int((x != pats[0]).sum()) for x in pats]
        db = [int((x != pats[-1]).sum()) for x in pats]
        mono += all(x <= y for x, y in zip(da, da[1:])) and all(x >= y for x, y in zip(db, db[1:]))
    r["interpolate"] = {"pairs": count, "steps": 5, "monotonic_share": round(mono / max(1, count), 3)}

    # ----- speed -------------------------------------------------------------------------------------------
    from ..generation.groove import drumify, groove
    from ..music import Score

    from ..codecs.drums import from_grid

    score = from_grid(H[0], V[0], O[0], float(Q[0]))
    melody = Score.from_beats([(60 + i % 7, i * 0.5, 0.5, 90) for i in range(16)])
    times = {"groove": [], "drumify": []}
    for _ in range(50):
        t0 = time.perf_counter()
        groove(m, score)
        times["groove"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        drumify(m, melody)
        times["drumify"].append(time.perf_counter() - t0)
    r["speed_ms_2_bars"] = {k: round(float(np.median(v)) * 1000, 2) for k, v in times.items()}
    return r


def table_groove(r: dict) -> str:
    g, d = r["groove"], r["drumify"]
    lines = [f"{r['model']}: {r['validation_windows']} validation windows of 2 bars ({r['validation_files']} files); "
             f"baselines from {r['training_windows']} training windows",
             "groove (on the real hits)          timing MAE ms   velocity MAE"]
    for k in g["timing_mae_ms"]:
        lines.append(f"  {k:<32} {g['timing_mae_ms'][k]:>13.2f}   {g['velocity_mae'][k]:>12.2f}")
    for key, said in (("spread_vs_real", ""), ("spread_vs_real_z_drawn", ", z drawn"),
                      ("spread_vs_real_feel_drawn", ", feel drawn")):
        if g.get(key):
            lines.append(f"  spread of offsets / velocities on the real hits, model{said} over real: " + "; ".join(
                f"{c} {v['offset']:.2f}/{v['velocity']:.2f}" for c, v in g[key].items()))
    lines.append("drumify hit F1: " + ", ".join(f"{k} {v:.3f}" for k, v in d["hit_f1"].items()))
    lines.append("  hits per window by class (model / real / baseline): " + "; ".join(
        f"{c} {v['model']:.1f}/{v['real']:.1f}/{v['baseline']:.1f}" for c, v in d["hits_per_window_by_class"].items()))
    i = r["interpolate"]
    lines.append(f"interpolate: {i['monotonic_share']:.1%} of {i['pairs']} pairs move monotonically from A to B "
                 f"in {i['steps']} steps")
    s = r["speed_ms_2_bars"]
    lines.append(f"2 bars: groove {s['groove']} ms, drumify {s['drumify']} ms (median of 50)")
    return "\n".join(lines)
