"""`cadenza bench controls`: how well generated music meets each control, and what each costs.

For each control at three settings: `--generations` continuations (variations of one batch over
several seeds) of `--bars` bars from nothing, each bar checked the way bridge.generation.controls
counts (`bar_report`): the share of bars that meet it, next to the share the same seeds meet with no
control (the model's own habit). Then the cost: the bits per token of held-out pieces (the model's
validation files, from their start) under the model with the control applied as in generation, against
without it, and the share of the real tokens the control forbids (music that breaks the control). And the
key prior's cost (`key_prior`, on by default): the same pieces' bits with it at 0.3 (where a card says none), the
model's own (piano: 0.5), 1 and 2 nats, each piece keeping to the key of its first quarter, as a continuation keeps
to its prime's; and the register prior's (`register_prior`, on by default at 1; the piano model's own 1.5) at 0.5, 1,
the model's own and 2 nats an octave, alone, each piece keeping to the register
of its first quarter; and the time prior's (`time_prior`: the chorale model's own 0.25) at 0.1, 0.2, 0.5 nats a
doubling and the model's own, alone; the rhythm variety's (`rhythm_variety`: the chorale model's own 0.25) at 0.25,
0.5 and 1 nat a place, alone; and what the model's own controls (when a request asks none: the chorale model's four
voices and its rhythm variety) cost the real music and forbid it.
"""
from __future__ import annotations

import time

import numpy as np

POLYPHONIC = {
    "density": [{"density": 1.0}, {"density": 2.0}, {"density": 3.0}],
    "polyphony": [{"polyphony_max": 1}, {"polyphony_max": 2}, {"polyphony_min": 2, "polyphony_max": 3}],
    "velocity": [{"velocity_range": "30-50"}, {"velocity_range": "60-90"}, {"velocity_range": "100-127"}],
    "leaps": [{"leaps": 0.1}, {"leaps": 0.3}, {"leaps": 0.5}],
    "offbeats": [{"offbeats": 0.0}, {"offbeats": 0.25}, {"offbeats": 0.5}],
    "no_repeat": [{"no_repeat": 2}, {"no_repeat": 3}, {"no_repeat": 4}],
}
MELODIC = dict(POLYPHONIC, density=[{"density": 0.5}, {"density": 1.0}, {"density": 2.0}],
               polyphony=[{"polyphony_max": 1}, {"polyphony_min": 1, "polyphony_max": 1}])


def _request(values: dict, seed: int, beats: float, variations: int):
    from .. import settings as S

    s = S.Settings()
    for k, v in {**values, "seed": seed, "beats": beats, "variations": variations}.items():
        s = S.apply(s, k, v)
    return S.request_of(s)


def run_controls(model: str = "chorale", generations: int = 100, bars: int = 8, pieces: int = 20,
                 tokens: int = 512, only: tuple = ()) -> dict:
    from .. import store
    from ..generation import continue_ids, decode_continuation, generator_for
    from ..evaluate import held_out_ids
    from ..generation.controls import bar_report, notes_of

    loaded = store.load(model)
    codec = loaded.codec
    gen = generator_for(loaded)
    plan = MELODIC if codec.monophonic else POLYPHONIC
    variations = 10
    seeds = range(max(1, generations // variations))
    real = held_out_ids(loaded, pieces, tokens)
    free_req = _request({"key_prior": 0, "register_prior": 0, "time_prior": 0}, 0, 4.0 * bars, 1)
    free_bits = [gen.bits_of(ids, free_req, controls=False) for ids in real]
    n_real = sum(len(i) for i in real)
    r = {"model": model, "generations": len(seeds) * variations, "bars_each": bars, "held_out_tokens": n_real,
         "bits_per_token_free": round(sum(b for b, _ in free_bits) / max(1, n_real - sum(f for _, f in free_bits)), 3),
         "controls": []}
    t0 = time.perf_counter()
    for name, settings in plan.items():
        if only and name not in only:
            continue
        for values in settings:
            met, base = [], []
            for seed in seeds:
                for asked, sink in ((values, met), ({}, base)):
                    req = _request(asked, seed, 4.0 * bars, variations)
                    res = continue_ids(loaded, codec.empty(), req)
                    control = _request(values, seed, 4.0 * bars, variations).controls
                    for new in res.new:
                        sc = decode_continuation(codec, codec.empty(), new, include_prime=False, beats=4.0 * bars,
                                                 velocity_range=req.controls.velocity_range)
                        sink.append(bar_report(notes_of(sc), control, bars, 4.0, 1.0)[name])
            creq = _request({**values, "time_prior": 0}, 0, 4.0 * bars, 1)  # the control's own cost, as recorded
            walked = [gen.bits_of(ids, creq, controls=True) for ids in real]
            allowed = n_real - sum(f for _, f in walked)
            r["controls"].append({
                "control": name, "settings": values,
                "bars_meeting": round(float(np.mean(met)), 3), "bars_meeting_without_it": round(float(np.mean(base)), 3),
                "bits_per_token_with_it": round(sum(b for b, _ in walked) / max(1, allowed), 3),
                "real_tokens_forbidden": round(1 - allowed / max(1, n_real), 4)})
    # the key prior's cost: the held-out pieces' bits with it, keeping to the key of each piece's first quarter
    r["key_prior"] = []
    from ..generation.runner import key_prior_of, register_prior_of
    from ..settings import KEY_PRIOR, REGISTER_PRIOR

    for strength in sorted({KEY_PRIOR, key_prior_of(loaded), 1.0, 2.0}):  # the model's own among them (piano: 0.5)
        req = _request({"key_prior": strength, "register_prior": 0, "time_prior": 0}, 0, 4.0 * bars, 1)
        walked = [gen.bits_of(ids, req, controls=False) for ids in real]
        r["key_prior"].append({"strength": strength,
                               "bits_per_token_with_it": round(sum(b for b, _ in walked) / max(1, n_real), 3)})
    r["register_prior"] = []
    for strength in sorted({0.5, REGISTER_PRIOR, register_prior_of(loaded), 2.0}):  # piano's own: 1.5
        req = _request({"key_prior": 0, "register_prior": strength, "time_prior": 0}, 0, 4.0 * bars, 1)
        walked = [gen.bits_of(ids, req, controls=False) for ids in real]
        r["register_prior"].append({"strength": strength,
                                    "bits_per_token_with_it": round(sum(b for b, _ in walked) / max(1, n_real), 3)})
    # the time prior's cost: the same pieces' bits with their time steps leaning longer (the model's own among them)
    from ..generation.runner import polyphony_of, time_prior_of, variety_of

    r["time_prior"] = []
    for strength in sorted({0.1, 0.2, 0.5, time_prior_of(loaded)} - {0.0}):
        req = _request({"key_prior": 0, "register_prior": 0, "time_prior": strength}, 0, 4.0 * bars, 1)
        walked = [gen.bits_of(ids, req, controls=False) for ids in real]
        r["time_prior"].append({"strength": strength,
                                "bits_per_token_with_it": round(sum(b for b, _ in walked) / max(1, n_real), 3)})
    # the rhythm variety's cost: the same pieces' bits with each bar's rhythm leaning away from the last's, alone
    r["rhythm_variety"] = []
    for strength in sorted({0.25, 0.5, 1.0, variety_of(loaded)} - {0.0}):
        req = _request({"key_prior": 0, "register_prior": 0, "time_prior": 0, "polyphony_max": 16,
                        "rhythm_variety": strength}, 0, 4.0 * bars, 1)
        walked = [gen.bits_of(ids, req, controls=True) for ids in real]
        r["rhythm_variety"].append({"strength": strength, "bits_per_token_with_it": round(
            sum(b for b, _ in walked) / max(1, n_real - sum(f for _, f in walked)), 3)})
    own = {"polyphony_max": polyphony_of(loaded), "rhythm_variety": variety_of(loaded)}
    if any(own.values()):  # the model's own controls, on every request that asks none: their cost to the real music
        req = _request({"key_prior": 0, "register_prior": 0, "time_prior": 0}, 0, 4.0 * bars, 1)
        walked = [gen.bits_of(ids, req, controls=True) for ids in real]
        allowed = n_real - sum(f for _, f in walked)
        r["own_controls"] = {**own, "bits_per_token_with_them": round(sum(b for b, _ in walked) / max(1, allowed), 3),
                             "real_tokens_forbidden": round(1 - allowed / max(1, n_real), 4)}
    r["seconds"] = round(time.perf_counter() - t0, 1)
    return r


def table_controls(r: dict) -> str:
    lines = [f"{r['model']}: {r['generations']} generations x {r['bars_each']} bars per setting; held-out "
             f"{r['held_out_tokens']} tokens at {r['bits_per_token_free']} bits/token without controls",
             f"{'control':<10} {'setting':<34} {'bars meeting':>12} {'without':>8} {'bits/token':>10} {'real forbidden':>14}"]
    for c in r["controls"]:
        setting = " ".join(f"{k} {v}" for k, v in c["settings"].items())
        lines.append(f"{c['control']:<10} {setting:<34} {c['bars_meeting']:>12.1%} {c['bars_meeting_without_it']:>8.1%} "
                     f"{c['bits_per_token_with_it']:>10.3f} {c['real_tokens_forbidden']:>14.2%}")
    for k in r.get("key_prior", []):
        lines.append(f"key_prior {k['strength']:g}: held-out bits/token {k['bits_per_token_with_it']:.3f} "
                     f"({k['bits_per_token_with_it'] / max(r['bits_per_token_free'], 1e-9) - 1:+.1%} against none)")
    for name in ("register_prior", "time_prior", "rhythm_variety"):
        for k in r.get(name, []):
            lines.append(f"{name} {k['strength']:g}: held-out bits/token {k['bits_per_token_with_it']:.3f} "
                         f"({k['bits_per_token_with_it'] / max(r['bits_per_token_free'], 1e-9) - 1:+.1%} against none)")
    if "own_controls" in r:
        o = r["own_controls"]
        lines.append(f"its own controls (polyphony_max {o['polyphony_max']}, rhythm_variety {o['rhythm_variety']:g}; every "
                     f"request that asks none): held-out bits/token {o['bits_per_token_with_them']:.3f}, real tokens "
                     f"forbidden {o['real_tokens_forbidden']:.2%}")
    lines.append(f"({r['seconds']} s)")
    return "\n".join(lines)
