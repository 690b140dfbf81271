"""The sampling loop of the attention-LSTM (messages codec) as compiled kernels (numba).

One step reads a message (pitch, on/off, delta) for every row: its embeddings and projection (one
table row per field), its key and value for the self-attention (kept in a ring of the last `window`
keys and values, so no window is re-run), the attention of its query over that ring, the residual
and layer norm, the LSTM cell, and the additive attention of the new hidden state over the ring of
the last `window` states. The three heads then read [h, context] in one product; on/off is sampled
first, the delta given it, the pitch given both (their embeddings enter the later heads as table
rows), as the model was trained, and the note grammar keeps the stream one the model could have read
(see `chunk`). Neither attention has positions, so the rings' order does not
matter, only which slots are filled.

Random numbers: the draw for field f of token t of variation v is kernels.uniform(seed, v, 3t + f),
so a batch split over two threads is the same music as unsplit.
"""
from __future__ import annotations

import math

from .. import caches

caches.use_kernel_cache()  # before numba is imported: this file may be the first with kernels a process imports

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from .kernels import EPS, NEG, _cell, _opts, _tanh, exp_shifted, matmul_add, put, sample_row

# W: the weights laid out by MessagesGenerator, in this order
(T_PITCH, T_ON, T_DELTA, QKV, QKV_B, OUT, OUT_B, GAMMA, BETA, LSTM, LSTM_B, ADD, ADD_V, HEADS, HEADS_B,
 DELTA_ON, PITCH_ON, PITCH_DELTA) = range(18)


@njit(**_opts)
def _softmax(scores, e, n):
    """e[:n] = exp(scores[:n] - their max); returns 1 / their sum."""
    mx = scores[0]
    for w in range(1, n):
        mx = max(mx, scores[w])
    exp_shifted(scores[:n], mx, np.float32(1), e[:n])
    total = np.float32(0)
    for w in range(n):
        total += e[w]
    return np.float32(1) / total


@njit(**_opts)
def advance(msg, W, kring, vring, hring, akring, h, c, pre, count, heads, key_dim, eps):
    """Read one message per row (msg: (B, 3)) into the state; pre (B, 2 units) = [h, context] after it.
    Rings: keys (B, window, heads x key_dim), values transposed (B, heads x key_dim, window), states
    (B, window, units), additive keys (B, window, attention units). count: (1,) messages read so far
    (every row reads as many); the first min(count, window) slots are filled."""
    B = msg.shape[0]
    win = kring.shape[1]
    HK = heads * key_dim
    D = W[T_PITCH].shape[1]
    U = h.shape[1]
    A = W[ADD_V].shape[0]
    slot = count[0] % win
    n = min(count[0] + 1, win)
    x = np.empty((B, D), np.float32)
    for b in range(B):
        tp, to, td = W[T_PITCH][msg[b, 0]], W[T_ON][msg[b, 1]], W[T_DELTA][msg[b, 2]]
        for d in range(D):
            x[b, d] = tp[d] + to[d] + td[d]
    qkv = np.empty((B, 3 * HK), np.float32)
    for b in range(B):
        put(qkv[b], W[QKV_B])
    matmul_add(x, W[QKV], qkv)
    att = np.empty((B, HK), np.float32)
    scores = np.empty(win, np.float32)
    e = np.empty(win, np.float32)
    scale = np.float32(1.0 / math.sqrt(key_dim))
    for b in range(B):
        put(kring[b, slot], qkv[b, HK:2 * HK])
        put(vring[b, :, slot], qkv[b, 2 * HK:])
        for hd in range(heads):  # each loop a sum over contiguous memory, so it vectorises
            lo = hd * key_dim
            for w in range(n):
                s = np.float32(0)
                for k in range(key_dim):
                    s += qkv[b, lo + k] * kring[b, w, lo + k]
                scores[w] = s * scale
            inv = _softmax(scores, e, n)
            for k in range(key_dim):
                s = np.float32(0)
                for w in range(n):
                    s += e[w] * vring[b, lo + k, w]
                att[b, lo + k] = s * inv
    y = np.empty((B, D), np.float32)
    for b in range(B):
        put(y[b], W[OUT_B])
    matmul_add(att, W[OUT], y)
    x1 = np.empty((B, D + U), np.float32)
    for b in range(B):  # residual and layer norm: the LSTM's input, next to its last output
        mean = np.float32(0)
        for d in range(D):
            y[b, d] += x[b, d]
            mean += y[b, d]
        mean /= D
        var = np.float32(0)
        for d in range(D):
            var += (y[b, d] - mean) ** 2
        inv = np.float32(1.0) / np.float32(math.sqrt(var / D + eps))
        for d in range(D):
            x1[b, d] = (y[b, d] - mean) * inv * W[GAMMA][d] + W[BETA][d]
        put(x1[b, D:], h[b])
    z = np.empty((B, 4 * U), np.float32)
    for b in range(B):
        put(z[b], W[LSTM_B])
    matmul_add(x1, W[LSTM], z)
    _cell(z, c, h, np.bool_(True))
    qk = np.zeros((B, 2 * A), np.float32)
    matmul_add(h, W[ADD], qk)
    for b in range(B):  # additive attention: the new state queries the last `window` states
        put(hring[b, slot], h[b])
        put(akring[b, slot], qk[b, A:])
        for w in range(n):
            s = np.float32(0)
            for a in range(A):
                s += _tanh(qk[b, a] + akring[b, w, a]) * W[ADD_V][a]
            scores[w] = s
        inv = _softmax(scores, e, n)
        put(pre[b, :U], h[b])
        pre[b, U:] = 0
        for w in range(n):
            p = e[w] * inv
            for u in range(U):
                pre[b, U + u] += p * hring[b, w, u]
    count[0] += 1


@njit(**_opts)
def head_logits(pre, W, out):
    """(B, 2 + deltas + pitches): the three heads' products with [h, context], biases included; the
    embeddings of the sampled on/off and delta are added per row when they are known."""
    for b in range(out.shape[0]):
        put(out[b], W[HEADS_B])
    matmul_add(pre, W[HEADS], out)


@njit(**_opts)
def chunk(n, t0, var0, seed, W, kring, vring, hring, akring, h, c, pre, count, snd, held, pitch_mask, out, settings,
          heads, key_dim, eps):
    """n messages for every row into out (B, n, 3), the state carried in place.
    snd (B, pitches) bool: sounding; held (B, pitches): for how many beats.
    settings: (strategy, temperature, k, p, n, max_hold in beats, delta steps per beat, the nucleus the delta is
    drawn from: p, or the model's own time nucleus with top_p_notes).

    The note grammar: a note-off only for a sounding pitch (the pitch head's mass on silent pitches goes
    to the sounding ones in the model's proportions), a note-on only for a silent pitch the masks allow.
    With max_hold, no delta carries a sounding note past it, and a note that has reached it is released
    next (delta 0)."""
    strategy, temp, k, p, nn = int(settings[0]), settings[1], int(settings[2]), settings[3], int(settings[4])
    max_hold, spb, p_time = np.float32(settings[5]), np.float32(settings[6]), settings[7]
    B = pre.shape[0]
    n_delta = W[DELTA_ON].shape[1]
    n_pitch = W[PITCH_ON].shape[1]
    logits = np.empty((B, 2 + n_delta + n_pitch), np.float32)
    on_row = np.empty(2, np.float32)
    d_row = np.empty(n_delta, np.float32)
    p_row = np.empty(n_pitch, np.float32)
    msg = np.empty((B, 3), np.int32)
    none = np.zeros(0, np.bool_)  # no token starts a note (writable: sample_row's one compiled version)
    for t in range(n):
        head_logits(pre, W, logits)
        step = 3 * (t0 + t)
        for b in range(B):
            sounding = False
            startable = False
            left = np.float32(1e9)  # beats until a sounding note reaches max_hold
            for q in range(n_pitch):
                if snd[b, q]:
                    sounding = True
                    left = min(left, max_hold - held[b, q])
                elif pitch_mask[q] == 0:
                    startable = True
            over = left <= EPS
            put(on_row, logits[b, :2])
            if not sounding:
                on_row[0] = NEG
            if over or not startable:
                on_row[1] = NEG
            on = sample_row(on_row, strategy, temp, k, p, nn, seed, var0 + b, step, none)
            for v in range(n_delta):
                d_row[v] = logits[b, 2 + v] + W[DELTA_ON][on, v]
                if v > 0 and (over or v > (left + EPS) * spb):
                    d_row[v] = NEG
            delta = sample_row(d_row, strategy, temp, k, p_time, nn, seed, var0 + b, step + 1, none)
            for v in range(n_pitch):
                x = logits[b, 2 + n_delta + v] + W[PITCH_ON][on, v] + W[PITCH_DELTA][delta, v]
                if on == 1:
                    x = NEG if snd[b, v] else x + pitch_mask[v]
                elif not snd[b, v] or (over and held[b, v] < max_hold - EPS):
                    x = NEG
                p_row[v] = x
            pitch = sample_row(p_row, strategy, temp, k, p, nn, seed, var0 + b, step + 2, none)
            beats = np.float32(delta) / spb
            for q in range(n_pitch):
                if snd[b, q]:
                    held[b, q] += beats
            snd[b, pitch] = on == 1
            held[b, pitch] = 0
            msg[b, 0] = pitch
            msg[b, 1] = on
            msg[b, 2] = delta
            out[b, t, 0] = pitch
            out[b, t, 1] = on
            out[b, t, 2] = delta
        advance(msg, W, kring, vring, hring, akring, h, c, pre, count, heads, key_dim, eps)
