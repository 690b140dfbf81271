"""Compiled generation for the three-headed attention-LSTM (messages codec).

Both attentions look back over a fixed window, so a step needs only rings of the last `window` keys,
values and hidden states, plus the LSTM state: no window is re-run per message. Each step samples
on/off, then the delta given it, then the pitch given both, as the model was trained; a scale or
range mask applies to the pitch of note-ons. The loop itself is bridge.generation.messages_kernels.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ..errors import CadenzaError
from .constraints import key_prior, register_prior
from .constraints import mask as make_mask
from .runner import (MAX_PRIME, Request, Result, Stopper, as_drawn, drive, max_hold_of, parts, parts_pool, spread,
                     time_top_p_of)


class MessagesGenerator:
    """The attention-LSTM's weights laid out once for the kernels; runs keep their own state, so runs on
    one model may overlap, and two or more variations run in parts, one a core (runner.parts)."""

    def __init__(self, loaded, chunk: int = 32, split: bool = True):
        self.loaded = loaded
        self.codec = loaded.codec
        self.chunk = chunk
        self.split = split
        self.steps_per_beat = self.codec.params["steps_per_quarter"]
        self._build(loaded.arrays)

    def _build(self, m):
        """From the weights as arrays (bridge.arrays): no Keras here."""
        def f32(a):
            return np.ascontiguousarray(a, np.float32)

        w = m.get
        attn = m.attrs["self_attention"]
        self.heads, self.key_dim, self.window = attn["heads"], attn["key_dim"], attn["window"]
        if attn["value_dim"] not in (None, self.key_dim):
            raise CadenzaError(f"model {self.loaded.name!r}: attention values wider than its keys")
        self.eps = float(attn["epsilon"])
        proj_k, proj_b = w("project")
        emb = [w(n)[0] for n in ("embed_pitch", "embed_on", "embed_delta")]
        e = emb[0].shape[1]
        tables = [emb[i] @ proj_k[i * e:(i + 1) * e] for i in range(3)]
        tables[0] = tables[0] + proj_b  # the bias once, with the pitch's row
        self.dim = proj_k.shape[1]
        qk, qb, kk, kb, vk, vb, ok, ob, gamma, beta = w("self_attention")
        D = self.dim
        qkv = np.concatenate([x.reshape(D, -1) for x in (qk, kk, vk)], 1)
        qkv_b = np.concatenate([x.reshape(-1) for x in (qb, kb, vb)])
        out_k = ok.reshape(-1, D)
        lk, lr, lb = w("lstm")
        self.units = lr.shape[0]
        wq, wk, v = w("additive_attention")
        self.attention_units = v.shape[0]
        (on_k, on_b), (d_k, d_b), (p_k, p_b) = (w(n) for n in ("on", "delta", "pitch"))
        P = 2 * self.units  # [h, context]
        cond_on, cond_delta = w("cond_on")[0], w("cond_delta")[0]
        ce = cond_on.shape[1]
        heads = np.concatenate([on_k, d_k[:P], p_k[:P]], 1)
        self.W = (f32(tables[0]), f32(tables[1]), f32(tables[2]), f32(qkv.T), f32(qkv_b), f32(out_k.T), f32(ob),
                  f32(gamma), f32(beta), f32(np.concatenate([lk, lr], 0).T), f32(lb),
                  f32(np.concatenate([wq, wk], 1).T), f32(v), f32(heads.T), f32(np.concatenate([on_b, d_b, p_b])),
                  f32(cond_on @ d_k[P:]), f32(cond_on @ p_k[P:P + ce]), f32(cond_delta @ p_k[P + ce:]))
        self.field_sizes = (p_k.shape[1], on_k.shape[1], d_k.shape[1])

    def new_state(self, batch: int) -> dict:
        HK, W, U = self.heads * self.key_dim, self.window, self.units
        return {"k": np.zeros((batch, W, HK), np.float32), "v": np.zeros((batch, HK, W), np.float32),
                "hs": np.zeros((batch, W, U), np.float32), "ak": np.zeros((batch, W, self.attention_units), np.float32),
                "h": np.zeros((batch, U), np.float32), "c": np.zeros((batch, U), np.float32),
                "pre": np.zeros((batch, 2 * U), np.float32), "count": np.zeros(1, np.int64),
                "sounding": np.zeros((batch, self.field_sizes[0]), bool),
                "held": np.zeros((batch, self.field_sizes[0]), np.float32)}

    def _args(self, state):
        return (self.W, state["k"], state["v"], state["hs"], state["ak"], state["h"], state["c"], state["pre"],
                state["count"])

    def sounding_after(self, msgs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(pitches,) bool and float: the pitches still sounding after the messages, and for how many beats
        (a note-on of a sounding pitch restarts it, as the codec decodes)."""
        n = self.field_sizes[0]
        since = np.full(n, -1.0)
        now = 0.0
        for p, on, d in np.asarray(msgs).reshape(-1, 3).tolist():
            now += d / self.steps_per_beat
            since[p] = now if on else -1.0
        on = since >= 0
        return on, np.where(on, now - since, 0.0).astype(np.float32)

    def step(self, msgs: np.ndarray, state: dict) -> np.ndarray:
        """Read one message per row ((B, 3): pitch index, on/off, delta), state updated in place; returns
        the [hidden, context] vector the heads read."""
        from . import messages_kernels as K

        K.advance(np.ascontiguousarray(msgs, np.int32).reshape(-1, 3), *self._args(state), self.heads,
                  self.key_dim, self.eps)
        return state["pre"].copy()

    def head_logits(self, pre: np.ndarray, on: np.ndarray, delta: np.ndarray):
        """The three heads' logits given [hidden, context] and the on/off and delta they are conditioned on."""
        from . import messages_kernels as K

        pre = np.ascontiguousarray(pre, np.float32)
        n_pitch, n_on, n_delta = self.field_sizes
        out = np.empty((len(pre), n_on + n_delta + n_pitch), np.float32)
        K.head_logits(pre, self.W, out)
        on_l = out[:, :n_on]
        delta_l = out[:, n_on:n_on + n_delta] + self.W[K.DELTA_ON][on]
        pitch_l = out[:, n_on + n_delta:] + self.W[K.PITCH_ON][on] + self.W[K.PITCH_DELTA][delta]
        return on_l, delta_l, pitch_l

    def run(self, prime, req: Request, on_chunk=None, cancel: threading.Event | None = None) -> Result:
        from . import messages_kernels as K
        from .sampling import STRATEGIES

        from .controls import refuse_unsupported

        refuse_unsupported(req, self.loaded.name, in_loop=False, drums=False)
        req = as_drawn(self.loaded, req)
        t0 = time.perf_counter()
        whole = np.asarray(prime, dtype=np.int32).reshape(-1, 3)
        prime = whole[-MAX_PRIME:]
        sizes = self.codec.field_sizes
        if len(whole) and ((whole < 0).any() or (whole >= np.array(sizes)).any()):
            raise CadenzaError("prime messages outside this model's fields")
        start = prime if len(prime) else np.array([[39, 0, 0]], np.int32)  # silence before middle C
        pitch_onsets = np.arange(sizes[0]) + self.codec.params["low"]
        given = whole[whole[:, 1] == 1, 0] + self.codec.params["low"]  # the prime's note-ons' pitches
        pitch_mask = np.ascontiguousarray(make_mask(pitch_onsets, req.scale, req.pitch_range)
                                          + key_prior(pitch_onsets, given, req.key_prior)
                                          + register_prior(pitch_onsets, given, req.register_prior), np.float32)
        B = req.variations
        s = req.sampling
        cap = req.tokens or int(max(64, req.beats * (self.loaded.meta.get("tokens_per_beat") or 8) * 4))
        stop = None if req.tokens else req.beats
        state = self.new_state(1)
        for msg in start:
            K.advance(msg[None], *self._args(state), self.heads, self.key_dim, self.eps)
        state["sounding"], state["held"] = (x[None] for x in self.sounding_after(whole))
        pieces = []
        for a, b in parts(B, spread(self.split)):
            part = {key: np.ascontiguousarray(np.repeat(x, b - a, 0)) for key, x in state.items() if key != "count"}
            pieces.append({**part, "count": state["count"].copy(), "var0": a})
        settings = (float(STRATEGIES.index(s.strategy)), float(s.temperature), float(s.top_k or 40), float(s.top_p),
                    float(s.n), max_hold_of(self.codec, req), float(self.steps_per_beat), time_top_p_of(self.loaded, s))
        seed = req.seed & 0x7FFFFFFF

        def make(part, first):
            out = np.empty((len(part["pre"]), self.chunk, 3), np.int32)
            K.chunk(self.chunk, first, part["var0"], seed, *self._args(part), part["sounding"], part["held"],
                    pitch_mask, out, settings, self.heads, self.key_dim, self.eps)
            return out

        stopper = Stopper(B, stop, lambda rows: rows[:, 2] / self.steps_per_beat)
        cancelled = drive(parts_pool(), pieces, make, self.chunk, cap, stopper, on_chunk, cancel)
        new = stopper.new(cap, np.zeros((0, 3), np.int32))
        return Result(new=new, prime=prime, beats=[float(x[:, 2].sum()) / self.steps_per_beat for x in new],
                      seconds=time.perf_counter() - t0, cancelled=cancelled)
