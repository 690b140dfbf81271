"""`cadenza bench harmonize`: does the harmony model listen to the melody, and how do its parts sound?

On held-out pieces (the harmony model's validation and generation sets: never trained on; the chorale
model's split is the same hash, so they are held out from it too), one run:

- **bits per part token** (the parts' note starts and ends) of the *real* parts: by the harmony model given
  the melody (read ahead, as it harmonizes), by the same model with the melody withheld (its tokens taken
  out of the stream), and by the unconditional model of the same music (`--baseline`, e.g. `chorale`, which
  reads the melody's notes only as they come, in time, among the parts). Lower is better. Each model is
  scored by the distribution its sampler draws from: the share of the tokens it never draws (the end; a
  harmony model's melody tokens, which are given) goes to the rest, and given the melody, so does a wait's past
  the melody's next note (harmonize reads the melody there); the harmony model reads the music at the
  `transpositions` setting's count of transpositions (default: the model's own, 3 for chorale-harmony:
  bridge.generation.harmonize `readings`, whose pooled distribution harmonize draws from), the baseline both
  as it is and read the same way (`baseline_same_readings`). The same harmony model's bits over every token,
  as the net gives them, are printed beside (`given_melody_every_token`).
- **harmony** of generated parts against the real ones under the same melodies (bridge.music.voicing):
  the share of the melody's on-beat notes whose pitch class the parts sound, parallel fifths and octaves
  per 100 voice-pair motions, moments with a part above the melody, parts in their voice's range, and the
  moments on a beat that sound one chord's notes only (a triad or a seventh: `chordal_share`).
- **speed**: 8 bars (32 beats) of melody harmonized, the median of five.
"""
from __future__ import annotations

import math
import time

import numpy as np


def token_bits(gen, ids: np.ndarray, drop: np.ndarray | None = None, readings=None) -> np.ndarray:
    """(N,) bits of each token after the ones before it (an empty start), by a compiled generator. `drop`
    (N, V) bool: the tokens that cannot come at each place, their share given to the rest. `readings`: (fwd, has)
    of bridge.generation.harmonize.readings: the stream read at each of their transpositions at once, each token
    scored by their pooled distribution (harmonize.mixture, as harmonize draws with `transpositions`)."""
    from ..generation.harmonize import mixture

    logits, state = gen.prime(np.zeros(0, np.int32))
    fwd, has = readings if readings is not None else (None, None)
    if fwd is not None and len(fwd) > 1:
        state = gen.new_state(len(fwd))
        logits = np.repeat(logits, len(fwd), 0)
    else:
        fwd = None
    out = np.empty(len(ids))
    for i, t in enumerate(ids.tolist()):
        row = logits[0].astype(np.float64) if fwd is None else mixture(logits, fwd, has)
        if drop is not None:
            row[drop[i]] = -np.inf
        row -= row.max()
        out[i] = -(row[t] - math.log(np.exp(row).sum())) / math.log(2)
        logits = gen.step(np.array([t], np.int32) if fwd is None else np.ascontiguousarray(fwd[:, t]), state)
    return out


def never_drawn(codec, ids: np.ndarray) -> np.ndarray:
    """(N, V) bool: what the model's sampler cannot draw at each place of a stream: the tokens it never draws
    (codec.never_sampled(): a harmony model's melody, which is given, and the end), and a wait past the step of
    the melody's next token (harmonize reads the melody there; a stream without the melody rules none out)."""
    drop = np.zeros((len(ids), codec.vocab_size), bool)
    drop[:, list(codec.never_sampled())] = True
    if getattr(codec, "harmonizes", False):
        w0, mw, m0 = codec.wait0, codec.params["max_wait"], codec.melody0
        steps = np.concatenate([[0], np.cumsum(np.where((ids >= w0) & (ids < w0 + mw), ids - w0 + 1, 0))[:-1]])
        tune = (ids >= m0) & (ids < m0 + 2 * codec.n_pitches)
        nxt, upcoming = np.empty(len(ids), np.int64), np.iinfo(np.int64).max // 2
        for i in range(len(ids) - 1, -1, -1):  # the step of the first melody token after each place
            nxt[i] = upcoming
            upcoming = steps[i] if tune[i] else upcoming
        waits = np.arange(1, mw + 1)
        drop[:, w0:w0 + mw] |= waits[None, :] > (nxt - steps)[:, None]
    return drop


def _without_melody(codec, ids: np.ndarray) -> np.ndarray:
    """The harmony stream with the melody's tokens taken out (adjacent waits joined up to the longest)."""
    out: list[int] = []
    w0, mw = codec.wait0, codec.params["max_wait"]
    for t in ids.tolist():
        if t >= codec.melody0:
            continue
        if w0 <= t < w0 + mw and out and w0 <= out[-1] < w0 + mw:
            total = (out[-1] - w0 + 1) + (t - w0 + 1)
            out[-1] = w0 + min(total, mw) - 1
            if total > mw:
                out.append(w0 + total - mw - 1)
            continue
        out.append(t)
    return np.array(out, np.int32)


def _baseline_part_tokens(codec, ids: np.ndarray, melody: np.ndarray) -> np.ndarray:
    """(N,) bool: the notewise tokens that start or end a note of the parts (not of the melody)."""
    lo, n = codec.params["low"], codec.n_pitches
    w0 = 2 * n
    ons = {(int(p), int(s)) for p, _, s, _ in melody.tolist()}
    offs = {(int(p), int(e)) for p, _, _, e in melody.tolist()}
    step = 0
    part = np.zeros(len(ids), bool)
    for i, t in enumerate(ids.tolist()):
        if t < n:
            part[i] = (t + lo, step) not in ons
        elif t < w0:
            part[i] = (t - n + lo, step) not in offs
        elif t < w0 + codec.params["max_wait"]:
            step += t - w0 + 1
    return part


def run(model: str = "chorale-harmony", baseline: str = "chorale", pieces: int = 40, temperature: float = 1.0,
        voices: int = 3, candidates: int = 4, key_prior: float | None = None, transpositions: int | None = None,
        judge_beats: int = 4, parallels: float = -1.0) -> dict:
    from .. import store
    from ..codecs.harmony import split_melody
    from ..codecs.notewise import quantize_notes
    from ..generation import Request, Sampling, generator_for
    from ..generation.harmonize import harmonize, parallels_of, readings, transpositions_of
    from ..music import voicing
    from .infill import _pieces

    from ..generation.runner import key_prior_of

    loaded = store.load(model)
    key_prior = key_prior_of(loaded, -1.0 if key_prior is None else key_prior)  # the model's own, as every door
    base = store.load(baseline) if baseline else None
    codec = loaded.codec
    gen = generator_for(loaded)
    R = transpositions_of(loaded, transpositions or 0)  # the setting's default (0): the model's own, as every door
    ways = readings(codec, R)
    parallels = parallels_of(loaded, parallels)  # the setting's default (-1): the model's own, as every door
    bits = {"given_melody": [0.0, 0], "given_melody_every_token": [0.0, 0], "melody_withheld": [0.0, 0],
            "baseline": [0.0, 0], "baseline_same_readings": [0.0, 0]}
    real = {"agree": [0, 0], "in_range": [0, 0], "chordal": [0, 0], "motion": []}
    made = {"agree": [0, 0], "in_range": [0, 0], "chordal": [0, 0], "motion": []}
    with_real = {"generated": [0.0, 0], "rule": [0.0, 0]}  # the real parts' pitch classes on strong beats
    scores = _pieces(loaded, pieces)
    for i, score in enumerate(scores):
        ids = codec.encode(score)
        part = ids < 2 * codec.n_pitches
        for key, drop in (("given_melody", never_drawn(codec, ids)), ("given_melody_every_token", None)):
            b = token_bits(gen, ids, drop, ways)
            bits[key][0] += b[part].sum()
            bits[key][1] += int(part.sum())
        alone = _without_melody(codec, ids)
        b = token_bits(gen, alone, never_drawn(codec, alone), ways)
        part = alone < 2 * codec.n_pitches
        bits["melody_withheld"][0] += b[part].sum()
        bits["melody_withheld"][1] += int(part.sum())
        melody, parts = split_melody(score)
        if base is not None:
            bids = base.codec.encode(score)
            bp = base.codec.params
            mq = quantize_notes(melody, bp["steps_per_quarter"], bp["low"], bp["high"])
            mask = _baseline_part_tokens(base.codec, bids, mq)
            for key, how in [("baseline", None)] + [("baseline_same_readings", readings(base.codec, R))] * (R > 1):
                b = token_bits(generator_for(base), bids, never_drawn(base.codec, bids), how)
                bits[key][0] += b[mask].sum()
                bits[key][1] += int(mask.sum())
        mel, par = melody.tracks[0].array, parts.tracks[0].array
        h = harmonize(loaded, melody, Request(seed=i, sampling=Sampling(temperature=temperature), key_prior=key_prior),
                      voices=voices, candidates=candidates, transpositions=R, judge_beats=judge_beats,
                      parallels=parallels)
        strong = voicing.strong_beats(mel, score.tpq)
        for key, p in (("generated", h.parts[0]), ("rule", voicing.rule_chords(mel, strong, score.tpq))):
            a, c = voicing.chord_agreement(par, p, strong)
            with_real[key][0] += a
            with_real[key][1] += c
        for figs, p in ((real, par), (made, h.parts[0])):
            a, c = voicing.chord_tone_share(mel, p, score.tpq)
            figs["agree"][0] += a
            figs["agree"][1] += c
            a, c = voicing.voice_range_share(mel, p)
            figs["in_range"][0] += a
            figs["in_range"][1] += c
            a, c = voicing.chordal_share(mel, p, score.tpq)
            figs["chordal"][0] += a
            figs["chordal"][1] += c
            figs["motion"].append(voicing.motion_figures(mel, p))

    def summary(f):
        m = {k: sum(x[k] for x in f["motion"]) for k in f["motion"][0]} if f["motion"] else {}
        return {"on_beat_melody_in_parts": round(f["agree"][0] / max(f["agree"][1], 1), 3),
                "parallels_per_100_motions": round(100 * m.get("parallels", 0) / max(m.get("motions", 0), 1), 2),
                "moments_with_a_part_above_melody": round(m.get("above_melody", 0) / max(m.get("moments", 0), 1), 4),
                "four_voice_moments": round(m.get("four_voice_moments", 0) / max(m.get("moments", 0), 1), 3),
                "parts_in_voice_range": round(f["in_range"][0] / max(f["in_range"][1], 1), 3),
                "beats_sounding_one_chord": round(f["chordal"][0] / max(f["chordal"][1], 1), 3)}

    r = {"model": model, "baseline": baseline, "pieces": len(scores), "temperature": temperature,
         "candidates": candidates, "judge_beats": judge_beats, "parallels": parallels, "key_prior": key_prior, "transpositions": R,
         "bits_per_part_token": {k: round(v[0] / max(v[1], 1), 3) for k, v in bits.items() if v[1]},
         "part_tokens": {k: v[1] for k, v in bits.items() if v[1]},
         "real": summary(real), "generated": summary(made),
         "real_chord_tones_sounded": {k: round(v[0] / max(v[1], 1), 3) for k, v in with_real.items()},
         "strong_beats": with_real["generated"][1]}
    bp = r["bits_per_part_token"]
    if "baseline" in bp:
        r["vs_baseline"] = round(bp["given_melody"] / bp["baseline"], 3)
        r["vs_baseline_every_token"] = round(bp["given_melody_every_token"] / bp["baseline"], 3)
    if "baseline_same_readings" in bp:
        r["vs_baseline_same_readings"] = round(bp["given_melody"] / bp["baseline_same_readings"], 3)
    r["vs_withheld"] = round(bp["given_melody"] / bp["melody_withheld"], 3)
    # speed: the first 32 beats of a held-out melody, harmonized, the median of 15 (seeds 0-14; p90 beside it)
    melody = split_melody(scores[0])[0]
    arr = melody.tracks[0].array
    eight = melody.replace(tracks=(melody.tracks[0].replace(notes=arr[arr[:, 2] < 32 * melody.tpq]),))
    times = []
    for k in range(15):
        t = time.perf_counter()
        harmonize(loaded, eight, Request(seed=k), voices=voices, candidates=candidates, transpositions=R,
                  judge_beats=judge_beats, parallels=parallels)
        times.append((time.perf_counter() - t) * 1000)
    r["eight_bars_ms"] = round(float(np.median(times)), 1)
    r["eight_bars_p90_ms"] = round(float(np.percentile(times, 90)), 1)
    return r


def table(r: dict) -> str:
    b = r["bits_per_part_token"]
    lines = [f"{r['pieces']} held-out pieces, the music read at {r.get('transpositions', 1)} transposition(s) (the "
             f"`transpositions` setting); bits per part token of the real parts: given the melody "
             f"{b['given_melody']}, melody withheld {b['melody_withheld']}"
             + (f", {r['baseline']} (no melody ahead) {b['baseline']}: {r['vs_baseline']}x" if "baseline" in b else "")
             + (f", {r['baseline']} read the same way {b['baseline_same_readings']}: {r['vs_baseline_same_readings']}x"
                if "baseline_same_readings" in b else "")
             + f"; given/withheld {r['vs_withheld']}x (each model's probabilities over what its sampler can draw "
             f"there; over every token: given the melody {b['given_melody_every_token']}"
             + (f", {r['vs_baseline_every_token']}x" if "baseline" in b else "") + ")",
             "| figure | real | generated |", "|---|---|---|"]
    for k in r["real"]:
        lines.append(f"| {k.replace('_', ' ')} | {r['real'][k]} | {r['generated'][k]} |")
    if "real_chord_tones_sounded" in r:
        w = r["real_chord_tones_sounded"]
        lines.append(f"on {r['strong_beats']} strong beats, the share of the real parts' pitch classes sounded: generated "
                     f"{w['generated']}, the rule baseline (the key's I, IV or V triad holding the melody note, else "
                     f"another diatonic triad) {w['rule']}")
    lines.append(f"8 bars harmonized, {r.get('candidates', 1)} candidates judged every {r.get('judge_beats', 4)} "
                 f"beat(s): {r['eight_bars_ms']} ms (median of 15, "
                 f"p90 {r.get('eight_bars_p90_ms', '?')})")
    return "\n".join(lines)
