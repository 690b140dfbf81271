"""Compiled generation for the three-headed attention-LSTM (messages codec).

Both attentions look back over a fixed window, so a step needs only ring buffers of the last
`window` projected inputs and hidden states, plus the LSTM state: no window is re-run per message.
Each step samples on/off, then the delta given it, then the pitch given both, as the model was
trained; a scale or range mask applies to the pitch of note-ons.
"""
from __future__ import annotations

import threading
import time

import numpy as np

from ..errors import CadenzaError
from .constraints import mask as make_mask
from .runner import MAX_PRIME, Request, Result, Stopper
from .sampling import Sampling, sample


class MessagesGenerator:
    def __init__(self, loaded, chunk: int = 32):
        self.loaded = loaded
        self.codec = loaded.codec
        self.chunk = chunk
        m = loaded.model
        self.m = m
        self.emb = [m.get_layer(n) for n in ("embed_pitch", "embed_on", "embed_delta")]
        self.project = m.get_layer("project")
        self.attn = m.get_layer("self_attention")
        self.cell = m.get_layer("lstm").cell
        self.add = m.get_layer("additive_attention")
        self.heads = [m.get_layer(n) for n in ("on", "delta", "pitch")]
        self.cond = [m.get_layer("cond_on"), m.get_layer("cond_delta")]
        self.window = self.attn.window
        self.units = self.cell.units
        self.dim = self.project.units
        self._lock = threading.Lock()
        self._fns: dict = {}
        self.steps_per_beat = self.codec.params["steps_per_quarter"]

    def _embed(self, msg):
        import tensorflow as tf

        e = tf.concat([self.emb[0](msg[:, 0]), self.emb[1](msg[:, 1]), self.emb[2](msg[:, 2])], axis=-1)
        return self.project(e)

    def _advance(self, msg, state):
        """Feed one message (B, 3); returns the preliminary vector and the new state."""
        import tensorflow as tf

        xbuf, xok, h, c, hbuf, hok = state
        x = self._embed(msg)
        xbuf = tf.concat([xbuf[:, 1:], x[:, None]], axis=1)
        xok = tf.concat([xok[:, 1:], tf.ones_like(xok[:, :1])], axis=1)
        a = self.attn.step(x, xbuf, xok)
        out, (h, c) = self.cell(a, [h, c], training=False)
        hbuf = tf.concat([hbuf[:, 1:], out[:, None]], axis=1)
        hok = tf.concat([hok[:, 1:], tf.ones_like(hok[:, :1])], axis=1)
        ctx = self.add.step(out, hbuf, hok)
        return tf.concat([out, ctx], axis=-1), (xbuf, xok, h, c, hbuf, hok)

    def _sample(self, pre, seed, s: Sampling, pitch_mask, t, k, p, n):
        import tensorflow as tf

        fold = tf.random.experimental.stateless_fold_in
        on = sample(self.heads[0](pre), fold(seed, 0), s, t, k, p, n)
        on_e = self.cond[0](on)
        delta = sample(self.heads[1](tf.concat([pre, on_e], -1)), fold(seed, 1), s, t, k, p, n)
        d_e = self.cond[1](delta)
        logits = self.heads[2](tf.concat([pre, on_e, d_e], -1))
        logits = logits + tf.where(on[:, None] == 1, pitch_mask[None], 0.0)
        pitch = sample(logits, fold(seed, 2), s, t, k, p, n)
        return tf.stack([pitch, on, delta], axis=-1)

    def zero_state(self, b: int):
        import tensorflow as tf

        w = self.window
        return (tf.zeros([b, w, self.dim]), tf.zeros([b, w], tf.bool), tf.zeros([b, self.units]),
                tf.zeros([b, self.units]), tf.zeros([b, w, self.units]), tf.zeros([b, w], tf.bool))

    def _prime_fn(self):
        import tensorflow as tf

        if "prime" not in self._fns:
            def prime(msgs, state):
                def body(i, pre, state):
                    pre, state = self._advance(msgs[:, i], state)
                    return i + 1, pre, state

                pre0 = tf.zeros([tf.shape(msgs)[0], 2 * self.units])
                _, pre, state = tf.while_loop(lambda i, *a: i < tf.shape(msgs)[1], body, (0, pre0, state))
                return pre, state

            self._fns["prime"] = tf.function(prime, reduce_retracing=True)
        return self._fns["prime"]

    def _chunk_fn(self, s: Sampling):
        import tensorflow as tf

        if s.strategy not in self._fns:
            n = self.chunk

            def run(pre, state, seed, pitch_mask, t, k, p, nn):
                def body(i, pre, state, out):
                    msg = self._sample(pre, tf.random.experimental.stateless_fold_in(seed, i), s, pitch_mask,
                                       t, k, p, nn)
                    pre, state = self._advance(msg, state)
                    return i + 1, pre, state, out.write(i, msg)

                ta = tf.TensorArray(tf.int32, size=n)
                _, pre, state, ta = tf.while_loop(lambda i, *a: i < n, body, (0, pre, state, ta))
                return tf.transpose(ta.stack(), [1, 0, 2]), pre, state

            self._fns[s.strategy] = tf.function(run)
        return self._fns[s.strategy]

    def run(self, prime, req: Request, on_chunk=None, cancel: threading.Event | None = None) -> Result:
        import tensorflow as tf

        t0 = time.perf_counter()
        prime = np.asarray(prime, dtype=np.int32).reshape(-1, 3)[-MAX_PRIME:]
        sizes = self.codec.field_sizes
        if len(prime) and ((prime < 0).any() or (prime >= np.array(sizes)).any()):
            raise CadenzaError("prime messages outside this model's fields")
        start = prime if len(prime) else np.array([[39, 0, 0]], np.int32)  # silence before middle C
        lo = self.codec.params["low"]
        pitch_onsets = np.arange(sizes[0]) + lo
        pm = tf.constant(make_mask(pitch_onsets, req.scale, req.pitch_range))
        B = req.variations
        s = req.sampling
        cap = req.tokens or int(max(64, req.beats * (self.loaded.meta.get("tokens_per_beat") or 8) * 4))
        stop = None if req.tokens else req.beats
        args = (tf.constant(float(s.temperature)), tf.constant(int(s.top_k or 40)), tf.constant(float(s.top_p)),
                tf.constant(int(s.n)))
        with self._lock:
            pre, state = self._prime_fn()(tf.constant(start[None]), self.zero_state(1))
            pre = tf.tile(pre, [B, 1])
            state = tuple(tf.tile(x, [B] + [1] * (len(x.shape) - 1)) for x in state)
            fn = self._chunk_fn(s)
            stopper = Stopper(B, stop, lambda rows: rows[:, 2] / self.steps_per_beat)
            counter, cancelled = 0, False
            while counter * self.chunk < cap:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                msgs, pre, state = fn(pre, state, tf.constant([req.seed & 0x7FFFFFFF, counter], tf.int32), pm, *args)
                msgs = msgs.numpy()
                counter += 1
                chunk = stopper.take(list(msgs))
                if on_chunk is not None:
                    on_chunk(chunk)
                if stopper.finished:
                    break
        new = stopper.new(cap, np.zeros((0, 3), np.int32))
        return Result(new=new, prime=prime, beats=[float(x[:, 2].sum()) / self.steps_per_beat for x in new],
                      seconds=time.perf_counter() - t0, cancelled=cancelled)
