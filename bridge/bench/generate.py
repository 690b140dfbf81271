"""`cadenza bench generate --model NAME`: the compiled loop against model.predict, in one run.

Measured on the same model and prime, after a warm-up that compiles every graph:
  - the compiled loop at batch 1: tokens per second and milliseconds per beat of music;
  - 8 variations as one batch: the same, and its cost relative to one;
  - a model.predict-per-token loop (the way articles 002 and 003 sample): the same;
  - the same compiled loop on an untrained 2 x 256 LSTM with the model's vocabulary, the reference
    size of the speed target, so the figure needs no scaling (lstm and rnn models);
  - the plain numpy loop on the model's own weights at batch 1 (`numpy_loop`: numpy's BLAS for each product,
    numpy's softmax and a draw from the cumulative sum): what the compiled loop must beat (lstm and rnn).
For the attention-LSTM a token is a message (pitch, on/off, delta): three draws, and its predict loop
makes three calls a message, since each head reads the values drawn before it.
Each timing is the median of `repeats` runs, batch 1 and 8 variations taking turns.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from ..errors import CadenzaError


def _median_runs(gen, prime, reqs, repeats):
    """The median seconds of each request and its last result. The requests take turns, so a machine
    that slows down or speeds up during the run moves every figure alike, not just the later ones."""
    times = [[] for _ in reqs]
    results = [None] * len(reqs)
    for _ in range(repeats):
        for i, req in enumerate(reqs):
            t = time.perf_counter()
            results[i] = gen.run(prime, req)
            times[i].append(time.perf_counter() - t)
    return [(statistics.median(t), r) for t, r in zip(times, results)]


def _predict_loop(model, codec, prime, n, window=128):
    from ..nets import model_inputs

    seq = list(np.asarray(prime).reshape(-1)[-window:]) or [codec.eos or 0]
    rng = np.random.default_rng(0)
    t = time.perf_counter()
    for _ in range(n):
        logits = model.predict(model_inputs(model, np.array([seq[-window:]], np.int32)), verbose=0)[0, -1]
        p = np.exp(logits - logits.max())
        seq.append(int(rng.choice(len(p), p=p / p.sum())))
    return time.perf_counter() - t


def _predict_messages(model, codec, prime, n, window=128):
    """The attention-LSTM sampled with model.predict: on/off, then the delta given it, then the pitch
    given both, each field one call over the last `window` messages (the heads are chained on values)."""
    seq = [list(m) for m in np.asarray(prime).reshape(-1, 3)[-window:]] or [[39, 0, 0]]
    rng = np.random.default_rng(0)

    def draw(logits):
        p = np.exp(logits - logits.max())
        return int(rng.choice(len(p), p=p / p.sum()))

    t = time.perf_counter()
    for _ in range(n):
        ids = np.array([seq[-window:]], np.int32)
        cond = np.zeros((1, len(ids[0]), 2), np.int32)
        on = draw(model.predict({"ids": ids, "cond": cond}, verbose=0)[0][0, -1])
        cond[0, -1] = (on, 0)
        delta = draw(model.predict({"ids": ids, "cond": cond}, verbose=0)[1][0, -1])
        cond[0, -1] = (on, delta)
        pitch = draw(model.predict({"ids": ids, "cond": cond}, verbose=0)[2][0, -1])
        seq.append([pitch, on, delta])
    return time.perf_counter() - t


class NumpyLSTM:
    """The compiled generator's network (gen.W) stepped by plain numpy at batch 1: one np.dot (BLAS) a
    product, then the LSTM's gates (or the RNN's tanh). The sounding-pitch input of note_state models is left
    out: the reference is the arithmetic every model has."""

    def __init__(self, gen):
        self.W, self.L, self.U, self.lstm = gen.W, gen.n_layers, gen.units, gen.is_lstm
        self.h = np.zeros((self.L, self.U), np.float32)
        self.c = np.zeros((self.L, self.U), np.float32)

    def step(self, tok: int) -> np.ndarray:
        table0, _, rec0, wr, br, wo, bo = self.W[:7]  # the float weights (the rest: their int16 copies)
        h, c, U = self.h, self.c, self.U
        z = table0[tok] + rec0 @ h[0]
        for i in range(self.L):
            if i:
                z = br[i - 1] + wr[i - 1] @ np.concatenate((h[i - 1], h[i]))
            if self.lstm:
                c[i] = _sigmoid(z[U:2 * U]) * c[i] + _sigmoid(z[:U]) * np.tanh(z[2 * U:3 * U])
                h[i] = _sigmoid(z[3 * U:]) * np.tanh(c[i])
            else:
                h[i] = np.tanh(z)
        return wo @ h[-1] + bo


def _sigmoid(x):
    return 0.5 * np.tanh(0.5 * x) + 0.5


def numpy_loop(gen, prime, n: int, seed: int = 0):
    """(seconds, ids): `n` tokens after `prime` at batch 1 by plain numpy (NumpyLSTM, softmax, a draw by the
    cumulative sum). No mask, grammar or controls: the arithmetic alone. The prime is read first, untimed."""
    net = NumpyLSTM(gen)
    logits = np.zeros(gen.vocab, np.float32)
    for t in np.asarray(prime, np.int64).reshape(-1).tolist():
        logits = net.step(t)
    rng = np.random.default_rng(seed)
    out = np.empty(n, np.int64)
    t0 = time.perf_counter()
    for i in range(n):
        p = np.exp(logits - logits.max())
        cum = np.cumsum(p)
        tok = min(int(np.searchsorted(cum, rng.random() * cum[-1], side="right")), len(p) - 1)
        out[i] = tok
        logits = net.step(tok)
    return time.perf_counter() - t0, out


def run(model: str, tokens: int = 1024, variations: int = 8, predict_tokens: int = 24, repeats: int = 5) -> dict:
    from .. import store
    from ..generation import Request, Sampling, generator_for, prime_from_generation_set

    repeats = max(1, repeats)
    loaded = store.load(model)
    messages = len(loaded.codec.fields) > 1  # tokens of several fields: the attention-LSTM's three heads
    gen = generator_for(loaded)
    try:
        _, prime = prime_from_generation_set(loaded, beats=4)
    except CadenzaError:
        prime = np.zeros((0, 3) if messages else 0, np.int32)
    prime = prime[:64]
    sampling = Sampling(strategy="temperature")
    one = Request(tokens=tokens, sampling=sampling, variations=1)
    many = Request(tokens=tokens, sampling=sampling, variations=variations)
    for r in (one, many):
        gen.run(prime, Request(tokens=gen.chunk * 2, sampling=sampling, variations=r.variations))
    (t1, r1), (t8, _) = _median_runs(gen, prime, [one, many], repeats)
    tpb = loaded.meta.get("tokens_per_beat") or (len(r1.new[0]) / max(r1.beats[0], 1e-9) if r1.beats[0] else None)

    loop = _predict_messages if messages else _predict_loop
    tp = loop(loaded.model, loaded.codec, prime, predict_tokens)
    tp = tp / predict_tokens * tokens  # the same number of tokens, extrapolated from a short run

    ref = (None, None) if messages else _reference(loaded.codec, prime, tokens, repeats)
    plain = None
    if not messages:  # the plain numpy loop on the same weights, the median of the same number of runs
        plain = tokens / statistics.median(numpy_loop(gen, prime, tokens, seed=k)[0] for k in range(repeats))
    args = loaded.meta["arch"]["args"]
    size = f"{args.get('units')} units, window {args.get('window')}" if messages else \
        f"{args.get('layers')}x{args.get('units')}"

    def per_beat(seconds, n_tokens):
        return seconds / (n_tokens / tpb) * 1000 if tpb else None

    from ..generation.runner import cores, parts, spread

    return {
        "model": loaded.name, "arch": f"{loaded.arch} {size}", "codec": loaded.codec.name,
        "cores": cores(), "variations_parts": len(parts(variations, spread(gen.split))),
        "tokens": tokens, "tokens_per_beat": tpb, "prime_tokens": int(len(prime)),
        "compiled_b1_tokens_per_s": tokens / t1, "compiled_b1_ms_per_beat": per_beat(t1, tokens),
        "compiled_b8_tokens_per_s": variations * tokens / t8, "compiled_b8_ms_per_beat": per_beat(t8, tokens),
        "variations": variations, "b8_cost_vs_b1": t8 / t1,
        "predict_tokens_per_s": tokens / tp, "predict_ms_per_beat": per_beat(tp, tokens),
        "compiled_vs_predict": tp / t1,
        "reference_2x256_b1_tokens_per_s": ref[0], "reference_2x256_b8_cost_vs_b1": ref[1],
        "numpy_b1_tokens_per_s": plain, "compiled_b1_vs_numpy": (tokens / t1) / plain if plain else None,
        "predict_measured_tokens": predict_tokens,
    }


def _reference(codec, prime, tokens, repeats) -> tuple[float, float]:
    """The compiled loop on an untrained 2 x 256 LSTM over the same vocabulary."""
    from pathlib import Path

    from .. import nets
    from ..generation import Generator, Request, Sampling
    from ..store import LoadedModel

    model = nets.build("lstm", codec.vocab_size, layers=2, units=256)
    meta = {"arch": {"name": "lstm", "args": {"layers": 2, "units": 256}}, "codec": codec.describe()}
    gen = Generator(LoadedModel(name="reference-2x256", folder=Path("."), meta=meta, keras=model, codec=codec))
    s = Sampling(strategy="temperature")
    for b in (1, 8):
        gen.run(prime, Request(tokens=gen.chunk * 2, sampling=s, variations=b))
    (t1, _), (t8, _) = _median_runs(gen, prime, [Request(tokens=tokens, sampling=s),
                                                 Request(tokens=tokens, sampling=s, variations=8)], repeats)
    return tokens / t1, t8 / t1


def table(r: dict) -> str:
    def f(x, fmt="{:.1f}"):
        return "-" if x is None else fmt.format(x)

    rows = [("loop", "tokens/s", "ms/beat", "ratio"),
            ("model.predict per token", f(r["predict_tokens_per_s"]), f(r["predict_ms_per_beat"]), "1x"),
            ("compiled, batch 1", f(r["compiled_b1_tokens_per_s"], "{:.0f}"), f(r["compiled_b1_ms_per_beat"], "{:.2f}"),
             f"{r['compiled_vs_predict']:.0f}x predict"),
            (f"compiled, {r['variations']} variations", f(r["compiled_b8_tokens_per_s"], "{:.0f}"),
             f(r["compiled_b8_ms_per_beat"], "{:.2f}"), f"costs {r['b8_cost_vs_b1']:.2f}x one"),
            ("reference 2x256, batch 1", f(r["reference_2x256_b1_tokens_per_s"], "{:.0f}"), "",
             f"8 cost {f(r['reference_2x256_b8_cost_vs_b1'], '{:.2f}')}x")]
    if r.get("numpy_b1_tokens_per_s"):
        rows.append(("plain numpy, batch 1", f(r["numpy_b1_tokens_per_s"], "{:.0f}"), "",
                     f"compiled {r['compiled_b1_vs_numpy']:.2f}x it"))
    if r["reference_2x256_b1_tokens_per_s"] is None:  # (a reference for lstm and rnn models only)
        rows = [row for row in rows if not row[0].startswith("reference")]
    w = [max(len(row[i]) for row in rows) for i in range(4)]
    out = [f"bench generate: {r['model']} ({r['arch']}, {r['codec']}), {r['tokens']} tokens after a "
           f"{r['prime_tokens']}-token prime, {f(r['tokens_per_beat'], '{:.1f}')} tokens/beat; "
           f"{r['variations']} variations in {r['variations_parts']} parts on {r['cores']} cores"]
    for k, row in enumerate(rows):
        out.append("  " + "  ".join(c.ljust(w[i]) if i == 0 else c.rjust(w[i]) for i, c in enumerate(row)))
        if k == 0:
            out.append("  " + "-" * (sum(w) + 6))
    out.append(f"  (model.predict timed over {r['predict_measured_tokens']} tokens and scaled to {r['tokens']})")
    return "\n".join(out)
