"""The sampling loop, compiled, with the recurrent state carried from token to token.

A `Generator` reads a loaded model's weights once and builds an XLA-compiled step for its
architecture. `run()` feeds the prime, then samples `chunk` tokens per call of the compiled loop
(state, sampling and masks all inside the graph), hands each chunk to a callback, checks for
cancellation between chunks, and stops at a length in beats or tokens. Variations are one batch:
the prime is read once and its state copied to every variation.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from ..errors import CadenzaError
from .constraints import mask as make_mask
from .sampling import Sampling

MAX_PRIME = 512  # prime tokens read into the state: older context adds little and costs time


@dataclass(frozen=True)
class Request:
    beats: float = 16.0  # stop after this much music (when the codec tells time per token)
    tokens: int = 0  # or after this many tokens (0: from beats)
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    variations: int = 1
    scale: frozenset | None = None
    pitch_range: tuple[int, int] | None = None
    qpm: float | None = None  # the tempo beats are counted at, for codecs that count seconds
    max_hold: float | None = None  # release a note held this many beats (None: the model's default; 0: never)

    def __post_init__(self):
        if not 1 <= self.variations <= 32:
            raise CadenzaError(f"variations must be 1-32, not {self.variations}")
        if not (0 < self.beats <= 1024) and not self.tokens:
            raise CadenzaError(f"length must be 0-1024 beats, not {self.beats}")
        if not 0 <= self.tokens <= 100_000:
            raise CadenzaError(f"tokens must be 0-100000, not {self.tokens}")
        if self.max_hold is not None and not 0 <= self.max_hold <= 1024:
            raise CadenzaError(f"max_hold must be 0-1024 beats (0: never release), not {self.max_hold}")


@dataclass
class Result:
    new: list[np.ndarray]  # the generated ids of each variation
    prime: np.ndarray
    beats: list[float]
    seconds: float
    cancelled: bool = False

    @property
    def tokens(self) -> int:
        return sum(len(n) for n in self.new)


class Stopper:
    """Between chunks: keeps each variation's tokens and cuts it at the token that reaches `stop` beats
    (`beats_of(rows)`: the beats each row advances); None: stop by token count alone."""

    def __init__(self, variations: int, stop: float | None, beats_of: Callable[[np.ndarray], np.ndarray]):
        self.stop = stop
        self.beats_of = beats_of
        self.done = np.zeros(variations, bool)
        self.beats = np.zeros(variations)
        self.chunks: list[list[np.ndarray]] = []

    def take(self, rows_per_variation) -> list[np.ndarray]:
        chunk = []
        for v, rows in enumerate(rows_per_variation):
            if self.done[v]:
                rows = rows[:0]
            elif self.stop is not None:
                cum = self.beats[v] + np.cumsum(self.beats_of(rows))
                hit = np.flatnonzero(cum >= self.stop)
                if len(hit):
                    rows = rows[:hit[0] + 1]
                    self.done[v] = True
                self.beats[v] = cum[len(rows) - 1]
            chunk.append(rows)
        self.chunks.append(chunk)
        return chunk

    @property
    def finished(self) -> bool:
        return bool(self.done.all())

    def new(self, cap: int, empty: np.ndarray) -> list[np.ndarray]:
        return [(np.concatenate([c[v] for c in self.chunks]) if self.chunks else empty)[:cap]
                for v in range(len(self.done))]


class Generator:
    """Compiled generation for one loaded model (lstm or rnn; attention_lstm has its own)."""

    def __init__(self, loaded, chunk: int = 32, jit: bool = True, split: bool = True):
        from concurrent.futures import ThreadPoolExecutor

        self.split = split
        self._pool = ThreadPoolExecutor(2, thread_name_prefix="cadenza-half")
        self.loaded = loaded
        self.codec = loaded.codec
        self.chunk = chunk
        self.jit = jit
        self._lock = threading.Lock()
        self._build()
        beats = self.codec.token_beats()
        tpb = loaded.meta.get("tokens_per_beat")
        self.token_beats = beats
        self.tokens_per_beat = float(tpb) if tpb else None

    # ----- weights into a fused step --------------------------------------------------------------
    def _build(self):
        import tensorflow as tf

        model = self.loaded.model
        arch = self.loaded.arch
        emb = model.get_layer("embed").get_weights()[0]
        dense_w, dense_b = model.get_layer("logits").get_weights()
        recurrent = [l for l in model.layers if l.name.startswith(("lstm_", "rnn_"))]
        if not recurrent or arch not in ("lstm", "rnn"):
            raise CadenzaError(f"model {self.loaded.name!r}: no compiled generator for architecture {arch!r}")
        self.is_lstm = arch == "lstm"
        self.units = recurrent[0].get_weights()[1].shape[0]
        self.n_layers = len(recurrent)
        c = tf.constant
        w = [l.get_weights() for l in recurrent]  # kernel, recurrent_kernel, bias
        e = emb.shape[1]
        self.table0 = c(emb @ w[0][0][:e] + w[0][2])  # embedding folded into the first input projection
        # note_state models also read the sounding pitches: one product of [sounding, h] with the stacked kernels
        self.note_state = any(layer.name == "note_state" for layer in model.layers)
        self.rec0 = c(np.concatenate([w[0][0][e:], w[0][1]], 0) if self.note_state else w[0][1])
        self.rest = [(c(np.concatenate([k, r], 0)), c(b)) for k, r, b in w[1:]]
        self.out_w, self.out_b = c(dense_w), c(dense_b)
        self.vocab = emb.shape[0]
        # note grammar: a release only for a sounding pitch, a start only for a silent one
        from ..nets.lstm import note_tables

        on_p, off_p = (np.asarray(t, np.int64) for t in note_tables(self.codec))
        self.grammar = bool((off_p >= 0).any())
        self.on_pitch, self.off_pitch = on_p, off_p
        beats = self.codec.token_beats()
        self.hold = self.grammar and beats is not None  # notes held too long can be released
        beats = beats if beats is not None else np.zeros(self.vocab)
        self.tok_beats = c(beats.astype(np.float32))
        self.advances = c(beats > 0)
        self.min_shift = float(beats[beats > 0].min()) if (beats > 0).any() else 0.0
        self.on_t = c(np.maximum(on_p, 0).astype(np.int32))
        self.off_t = c(np.maximum(off_p, 0).astype(np.int32))
        self.is_on = c(on_p >= 0)
        self.is_off = c(off_p >= 0)
        self._chunk_fns: dict = {}
        self._prime_fns: dict = {}

    def _cell(self, z, c_prev):
        import tensorflow as tf

        if not self.is_lstm:
            h = tf.tanh(z)
            return h, c_prev
        i, f, g, o = tf.split(z, 4, axis=-1)
        c_new = tf.sigmoid(f) * c_prev + tf.sigmoid(i) * tf.tanh(g)
        return tf.sigmoid(o) * tf.tanh(c_new), c_new

    def _advance(self, tok, h, c, sounding=None):
        """One token for every variation: (B,) ids and (layers, B, units) states -> new h, c.
        `sounding`: (B, 128) float, the pitches sounding after the token (note_state models)."""
        import tensorflow as tf

        x0 = tf.concat([sounding, h[0]], -1) if self.note_state else h[0]
        z = tf.gather(self.table0, tok) + tf.matmul(x0, self.rec0)
        x, c0 = self._cell(z, c[0])
        hs, cs = [x], [c0]
        for i, (w, b) in enumerate(self.rest, start=1):
            x, ci = self._cell(tf.matmul(tf.concat([x, h[i]], -1), w) + b, c[i])
            hs.append(x)
            cs.append(ci)
        return tf.stack(hs), tf.stack(cs)

    def _logits(self, h):
        import tensorflow as tf

        return tf.matmul(h[-1], self.out_w) + self.out_b

    def _step(self, tok, h, c, sounding=None):
        """_advance, then the logits for the next token."""
        h, c = self._advance(tok, h, c, sounding)
        return self._logits(h), h, c

    def _count(self, tok, counts):
        """(B, 128) counts of sounding notes after the (B,) tokens: a start adds one, a release takes one."""
        import tensorflow as tf

        on = tf.one_hot(tf.gather(self.on_t, tok), 128) * tf.cast(tf.gather(self.is_on, tok), tf.float32)[:, None]
        off = tf.one_hot(tf.gather(self.off_t, tok), 128) * tf.cast(tf.gather(self.is_off, tok), tf.float32)[:, None]
        return counts + on - off

    def _prime_graph(self, ids, n, h, c, counts):
        """Read the first n of the (padded) prime ids into the state; the logits after the last.
        `counts`: (B, 128) notes sounding before the ids (note_state models)."""
        import tensorflow as tf

        def body(t, h, c, counts):
            tok = ids[:, t]
            if self.note_state:
                counts = self._count(tok, counts)
                h, c = self._advance(tok, h, c, tf.cast(counts > 0.5, tf.float32))
            else:
                h, c = self._advance(tok, h, c)
            return t + 1, h, c, counts

        _, h, c, _ = tf.while_loop(lambda t, *a: t < n, body, (0, h, c, counts))
        return self._logits(h), h, c

    def prime(self, ids: np.ndarray, held: np.ndarray | None = None):
        """(logits, h, c) after reading the prime, compiled once per bucket of prime lengths.
        `held`: (128,) notes sounding before the ids, where they are the end of a longer prime."""
        import tensorflow as tf

        n = len(ids)
        bucket = next(b for b in (16, 64, 256, MAX_PRIME) if n <= b)
        fn = self._prime_fns.get(bucket)
        if fn is None:
            fn = self._prime_fns[bucket] = tf.function(self._prime_graph, jit_compile=self.jit)
        padded = np.zeros((1, bucket), np.int32)
        padded[0, :n] = ids
        h, c = self.zero_state(1)
        counts = np.zeros((1, 128), np.float32) if held is None else np.asarray(held, np.float32)[None]
        return fn(tf.constant(padded), tf.constant(n, tf.int32), h, c, tf.constant(counts))

    def _chunk_fn(self, sampling: Sampling):
        import tensorflow as tf

        from .sampling import sample

        key = sampling.strategy
        if key in self._chunk_fns:
            return self._chunk_fns[key]
        n = self.chunk

        grammar = self.grammar

        hold = self.hold

        def run(logits, h, c, sounding, held, seed, mask, temperature, k, p, nn, max_hold):
            def body(t, logits, h, c, sounding, held, out):
                s = tf.random.experimental.stateless_fold_in(seed, t)
                full = logits + mask
                if grammar:  # sounding: (B, 128) bool; held: (B, 128) beats each has sounded
                    full = self._grammar(full, sounding, held, max_hold)
                tok = sample(full, s, sampling, temperature, k, p, nn)
                if grammar:
                    started = tf.one_hot(tf.gather(self.on_t, tok), 128, on_value=True, off_value=False) & \
                        tf.gather(self.is_on, tok)[:, None]
                    ended = tf.one_hot(tf.gather(self.off_t, tok), 128, on_value=True, off_value=False) & \
                        tf.gather(self.is_off, tok)[:, None]
                    sounding = (sounding | started) & tf.logical_not(ended)
                    if hold:
                        held = tf.where(sounding, held + tf.gather(self.tok_beats, tok)[:, None], 0.0)
                logits, h, c = self._step(tok, h, c, tf.cast(sounding, tf.float32) if self.note_state else None)
                return t + 1, logits, h, c, sounding, held, out.write(t, tok)

            ta = tf.TensorArray(tf.int32, size=n)
            _, logits, h, c, sounding, held, ta = tf.while_loop(lambda t, *a: t < n, body,
                                                                (0, logits, h, c, sounding, held, ta))
            return tf.transpose(ta.stack()), logits, h, c, sounding, held

        fn = tf.function(run, jit_compile=self.jit)
        self._chunk_fns[key] = fn
        return fn

    def _grammar(self, full, sounding, held, max_hold):
        """The note grammar on (B, vocab) logits: a release only for a sounding pitch, a start only for a
        silent one. The release probability the model gave pitches that are not sounding (a third of it,
        teacher-forced on piano-midi) is shared by the sounding ones instead of by every other token.
        No note lasts more than `max_hold` beats: a time step that would carry a note past it is not taken,
        and a note that cannot wait even the shortest step is released next (Magenta's performance decoding
        cuts notes at 5 s after the fact; here the model hears the release)."""
        import tensorflow as tf

        neg = tf.constant(-1e9)
        off_ok = tf.gather(sounding, self.off_t, axis=1) & self.is_off[None]
        on_ok = tf.logical_not(tf.gather(sounding, self.on_t, axis=1))
        ok = tf.where(self.is_off[None], off_ok, tf.where(self.is_on[None], on_ok, True))
        all_off = tf.reduce_logsumexp(tf.where(self.is_off[None], full, neg), -1, keepdims=True)
        some_off = tf.reduce_logsumexp(tf.where(off_ok, full, neg), -1, keepdims=True)
        full = tf.where(off_ok, full + (all_off - some_off), tf.where(ok, full, neg))
        if self.hold:
            eps = 1e-4
            left = tf.reduce_min(tf.where(sounding, max_hold - held, 1e9), -1, keepdims=True)  # (B, 1)
            full = tf.where(self.advances[None] & (self.tok_beats[None] > left + eps), neg, full)
            over = sounding & (held + self.min_shift > max_hold + eps)
            release = tf.gather(over, self.off_t, axis=1) & self.is_off[None]
            full = tf.where(tf.reduce_any(over, -1, keepdims=True), tf.where(release, full, neg), full)
        return full

    def note_counts(self, ids: np.ndarray) -> np.ndarray:
        """(128,) how many notes of each pitch sound after the ids."""
        ids = np.asarray(ids, np.int64)
        on, off = self.on_pitch[ids], self.off_pitch[ids]
        return (np.bincount(on[on >= 0], minlength=128) - np.bincount(off[off >= 0], minlength=128)).astype(np.float32)

    def sounding_after(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(128,) bool and (128,) float: the pitches still sounding after the ids, and for how many beats."""
        counts = np.zeros(128, np.int64)  # notes of one pitch end first in, first out, as the codecs decode
        since = np.zeros(128)
        beats = self.token_beats if self.token_beats is not None else np.zeros(self.vocab)
        now = 0.0
        for t in np.asarray(ids).tolist():
            if self.on_pitch[t] >= 0:
                if not counts[self.on_pitch[t]]:
                    since[self.on_pitch[t]] = now
                counts[self.on_pitch[t]] += 1
            elif self.off_pitch[t] >= 0 and counts[self.off_pitch[t]]:
                counts[self.off_pitch[t]] -= 1
            now += beats[t]
        on = counts > 0
        return on, np.where(on, now - since, 0.0).astype(np.float32)

    def max_hold(self, req: Request) -> float:
        """Beats after which a held note is released: the request's, else the model's, else never."""
        value = req.max_hold
        if value is None:
            value = self.codec.max_hold_beats() or 0
        if not value:
            return 1e9
        if req.qpm and self.codec.name == "performance":  # counted at the codec's tempo inside the loop
            value = value * float(self.codec.params["decode_qpm"]) / float(req.qpm)
        return float(value)

    def zero_state(self, batch: int):
        import tensorflow as tf

        shape = [self.n_layers, batch, self.units]
        return tf.zeros(shape), tf.zeros(shape)

    # ----- the loop ---------------------------------------------------------------------------------
    def budget(self, req: Request) -> tuple[int, float | None]:
        """(token cap, beats to stop at or None)."""
        if req.tokens:
            return req.tokens, None
        if self.token_beats is not None:
            per = self.tokens_per_beat or 40.0
            return int(max(64, req.beats * per * 4)), req.beats
        per = self.tokens_per_beat or 40.0
        return int(req.beats * per), None

    def run(self, prime: np.ndarray, req: Request, on_chunk: Callable[[list[np.ndarray]], None] | None = None,
            cancel: threading.Event | None = None) -> Result:
        import tensorflow as tf

        t0 = time.perf_counter()
        whole = np.asarray(prime, dtype=np.int32).reshape(-1)
        prime = whole[-MAX_PRIME:]
        if len(whole) and (whole.min() < 0 or whole.max() >= self.vocab):
            raise CadenzaError(f"prime ids outside this model's vocabulary (0-{self.vocab - 1})")
        start = prime if len(prime) else np.array([self.codec.eos if self.codec.eos is not None else 0], np.int32)
        forbid = (self.codec.eos,) if self.codec.eos is not None else ()
        m = tf.constant(make_mask(self.codec.onset_pitches(), req.scale, req.pitch_range, forbid))
        cap, stop_beats = self.budget(req)
        token_beats = self.codec.token_beats(req.qpm) if req.qpm and self.token_beats is not None else self.token_beats
        B = req.variations
        s = req.sampling
        with self._lock:  # one run at a time per model: the compiled graphs are shared
            logits, h, c = self.prime(start, self.note_counts(whole[:-MAX_PRIME]) if len(whole) > MAX_PRIME else None)
            logits = tf.tile(logits, [B, 1])
            h, c = tf.tile(h, [1, B, 1]), tf.tile(c, [1, B, 1])
            on, held = self.sounding_after(whole)
            sounding = tf.constant(np.tile(on[None], (B, 1)))
            held = tf.constant(np.tile(held[None], (B, 1)))
            fn = self._chunk_fn(s)
            stopper = Stopper(B, stop_beats, lambda row: token_beats[row])
            counter = 0
            # A batch of 4 or more runs as two halves on two threads: one compiled call keeps one core busy.
            halves = None
            if self.split and B >= 4 and (os.cpu_count() or 1) >= 2:
                k = B // 2
                halves = [(logits[:k], h[:, :k], c[:, :k], sounding[:k], held[:k]),
                          (logits[k:], h[:, k:], c[:, k:], sounding[k:], held[k:])]
            cancelled = False
            args = (tf.constant(float(s.temperature)), tf.constant(int(s.top_k or 40)), tf.constant(float(s.top_p)),
                    tf.constant(int(s.n)), tf.constant(self.max_hold(req), tf.float32))
            while counter * self.chunk < cap:
                if cancel is not None and cancel.is_set():
                    cancelled = True
                    break
                seed = tf.constant([req.seed & 0x7FFFFFFF, counter], tf.int32)
                if halves is None:
                    toks, logits, h, c, sounding, held = fn(logits, h, c, sounding, held, seed, m, *args)
                    toks = toks.numpy()
                else:
                    seeds = (seed, tf.constant([req.seed & 0x7FFFFFFF, counter + (1 << 20)], tf.int32))
                    futures = [self._pool.submit(fn, *halves[i], seeds[i], m, *args) for i in (0, 1)]
                    outs2 = [f.result() for f in futures]
                    halves = [o[1:] for o in outs2]
                    toks = np.concatenate([o[0].numpy() for o in outs2])
                counter += 1
                chunk = stopper.take(list(toks))
                if on_chunk is not None:
                    on_chunk(chunk)
                if stopper.finished:
                    break
        new = stopper.new(cap, np.zeros(0, np.int32))
        beats = [float(token_beats[n].sum()) if token_beats is not None else
                 len(n) / (self.tokens_per_beat or 40.0) for n in new]
        return Result(new=new, prime=prime, beats=beats, seconds=time.perf_counter() - t0, cancelled=cancelled)
