"""The sampling loop of lstm and rnn models as compiled kernels (numba), the state carried in arrays.

`chunk()` makes n tokens for every row of a batch, each row with its own request's masks, settings and
seed (rows of several requests run as one batch): the masks and the note grammar on the logits, a seeded
draw with the row's strategy, then one recurrent step for all rows. `prime()`
reads a prime into the state of one row. Both run without the GIL, so the parts of a batch run on
two cores at once.

Why not TensorFlow: in an XLA loop one step of a 2 x 256 LSTM costs ~140 us at batch 1, and 8
variations cost 3.8x one, because XLA hands batches above one to Eigen, which repacks the whole weight
matrix on every call. Here the products read the weights in place, in 16-bit integers summed exactly in
32 bits (bridge/generation/int16.py: twice the products an instruction of float's, half the bytes), in blocks of
rows against groups of eight weight rows whose sums stay in the CPU's vector registers (`int16.BLOCKS`).
`matmul_add` below is the same in floats, for the attention-LSTM (`messages_kernels`), whose values are not
bounded as a state is.

Random numbers come from a counter-based hash of (seed, variation, token index, draw), so a variation
is the same music however the batch is split across threads.
"""
from __future__ import annotations

import math

from .. import caches

caches.use_kernel_cache()  # before numba is imported: a folder of these kernels' own (bridge/caches.py)

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

from . import int16  # noqa: E402

# strategy codes: the order of sampling.STRATEGIES
GREEDY, TEMPERATURE, TOP_K, TOP_P, TOP_N_95, TRUNCATED, TOP_P_NOTES = range(7)
CANDIDATES = 64  # top_k, top_p and top_n choose among at most this many of the best tokens
NEG = np.float32(-1e9)
EPS = np.float32(1e-4)
PITCHES = 128
ENDED = 2  # what chunk() sets halt[0] to when a row reaches its stop (others set 1)

_opts = dict(cache=True, nogil=True, fastmath=True, boundscheck=False, error_model="numpy")  # numpy: a division by
# zero gives inf, as numpy does, instead of a branch that raises: the loops with a division (tanh, the gates)
# vectorise (the LSTM cell 4.8 -> 0.5 us a row and layer, docs/measured.md "bench generate")


# ----- arithmetic ----------------------------------------------------------------------------------
@njit(**_opts)
def _tanh(x):
    """Eigen's float tanh (the one XLA uses): a 13/6 rational approximation, no library call, so the
    loops around it vectorise. Within 1e-6 of tanh."""
    lim = np.float32(7.90531110763549805)
    x = min(max(x, -lim), lim)
    x2 = x * x
    p = np.float32(-2.76076847742355e-16)
    p = x2 * p + np.float32(2.00018790482477e-13)
    p = x2 * p + np.float32(-8.60467152213735e-11)
    p = x2 * p + np.float32(5.12229709037114e-08)
    p = x2 * p + np.float32(1.48572235717979e-05)
    p = x2 * p + np.float32(6.37261928875436e-04)
    p = x2 * p + np.float32(4.89352455891786e-03)
    q = np.float32(1.19825839466702e-06)
    q = x2 * q + np.float32(1.18534705686654e-04)
    q = x2 * q + np.float32(2.26843463243900e-03)
    q = x2 * q + np.float32(4.89352518554385e-03)
    return x * p / q


@njit(**_opts)
def _sigmoid(x):
    half = np.float32(0.5)
    return half * _tanh(half * x) + half


def _float_bits():
    """An int32's bits read as a float32 (an LLVM bitcast, free, which a vectorised loop keeps free)."""
    from llvmlite import ir
    from numba import types
    from numba.core.extending import intrinsic

    @intrinsic
    def as_float32(typingctx, i):
        def codegen(context, builder, sig, args):
            return builder.bitcast(args[0], ir.FloatType())

        return types.float32(types.int32), codegen

    return as_float32


_as_float32 = _float_bits()


def _float_extreme(name):
    """max(a, b) (or min) of two float32s as LLVM's maxnum (minnum), which a loop's reduction vectorises (numba's
    max compares and branches: a row of 389 logits' max 183 -> 21 ns)."""
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    @intrinsic
    def extreme(typingctx, a, b):
        def codegen(context, builder, sig, args):
            f = ir.FloatType()
            fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(f, [f, f]), f"llvm.{name}.f32")
            return builder.call(fn, args, fastmath=("fast",))

        return types.float32(types.float32, types.float32), codegen

    return extreme


_fmax, _fmin = _float_extreme("maxnum"), _float_extreme("minnum")


@njit(**_opts)
def exp_shifted(row, mx, scale, out):
    """out[v] = exp((row[v] - mx) * scale), within 1e-5 of it, and exactly 0 below e^-87 (masked tokens).

    Cephes' exp2f: 2^y = 2^n * 2^f, a polynomial for 2^f on [-0.5, 0.5] and 2^n made from its exponent bits
    (`_as_float32`); no library call and no array of its own, so the loop vectorises (the library's exp, one value
    at a time, cost ~10 ns each: most of a draw; the bits in an array of their own, a second loop, 43 ns more a
    call to make it)."""
    log2e = np.float32(1.4426950408889634)
    for v in range(row.shape[0]):
        y = (row[v] - mx) * scale * log2e
        keep = y > np.float32(-125)
        y = min(max(y, np.float32(-125)), np.float32(125))
        n = np.floor(y + np.float32(0.5))
        f = y - n
        q = np.float32(1.535336188319500e-4)
        q = q * f + np.float32(1.339887440266574e-3)
        q = q * f + np.float32(9.618437357674640e-3)
        q = q * f + np.float32(5.550332471162809e-2)
        q = q * f + np.float32(2.402264791363012e-1)
        q = q * f + np.float32(6.931472028550421e-1)
        two_n = _as_float32((np.int32(n) + np.int32(127)) << np.int32(23))
        out[v] = (q * f + np.float32(1)) * two_n if keep else np.float32(0)


@njit(**_opts)
def put(dst, src):
    """dst[:] = src, one element at a time (1-D, any layouts). The kernels copy rows with this, not with numba's
    slice assignment, which compiles a ValueError that formats both shapes beside every copy (numba 0.68): ~3-5 s
    of a machine's first `cadenza warm`, in each process that compiles one."""
    for i in range(dst.shape[0]):
        dst[i] = src[i]


@njit(**_opts)
def matmul_add(x, wt, out):
    """out[b, n] += sum_k x[b, k] * wt[n, k] (wt: the weight matrix transposed, one output per row), in floats:
    the attention-LSTM's products (the lstm and rnn models' are int16's, `advance`).

    Each row's sums are the same numbers whatever batch it is in, so that a row's music does not depend on
    the rows beside it: every block keeps twelve sums at once (four rows against three weight rows, three
    against four, two against six, one against twelve), which the compiler vectorises alike over k, and the
    weight rows past the last twelve are summed one at a time for every row. Blocks of eight sums and of twelve
    were vectorised otherwise and differed in the last bits (a row at three or six rows against the same row
    alone). Six rows go as three and three. When this was the LSTM's product (session 32), its step's three
    products, a row, best of five: 44.6 us alone, 25.7 at two rows, 21.0 at three, 19.7 at four, 24.2 at five,
    20.7 at six, 20.5 at seven, 19.5 at eight (with the blocks of eight and of twelve mixed: 48.9, 25.7, 21.4,
    19.6, 22.3, 20.9, 20.0, 22.4; before session 32, blocks of eight and a last row alone: 33 at three, 27 at
    five, 26 at seven)."""
    B, K = x.shape
    N = wt.shape[0]
    NB = N - N % 12
    zero = np.float32(0)
    b = 0
    while B - b >= 4 and B - b != 6:  # four rows share each load of three weight rows
        n = 0
        while n + 3 <= NB:
            a00 = zero; a01 = zero; a02 = zero; a10 = zero; a11 = zero; a12 = zero  # noqa: E702
            a20 = zero; a21 = zero; a22 = zero; a30 = zero; a31 = zero; a32 = zero  # noqa: E702
            for k in range(K):
                w0 = wt[n, k]
                w1 = wt[n + 1, k]
                w2 = wt[n + 2, k]
                x0 = x[b, k]
                x1 = x[b + 1, k]
                x2 = x[b + 2, k]
                x3 = x[b + 3, k]
                a00 += x0 * w0
                a01 += x0 * w1
                a02 += x0 * w2
                a10 += x1 * w0
                a11 += x1 * w1
                a12 += x1 * w2
                a20 += x2 * w0
                a21 += x2 * w1
                a22 += x2 * w2
                a30 += x3 * w0
                a31 += x3 * w1
                a32 += x3 * w2
            out[b, n] += a00
            out[b, n + 1] += a01
            out[b, n + 2] += a02
            out[b + 1, n] += a10
            out[b + 1, n + 1] += a11
            out[b + 1, n + 2] += a12
            out[b + 2, n] += a20
            out[b + 2, n + 1] += a21
            out[b + 2, n + 2] += a22
            out[b + 3, n] += a30
            out[b + 3, n + 1] += a31
            out[b + 3, n + 2] += a32
            n += 3
        b += 4
    while B - b >= 3:  # three rows (six: three and three) share each load of four
        n = 0
        while n + 4 <= NB:
            a00 = zero; a01 = zero; a02 = zero; a03 = zero; a10 = zero; a11 = zero  # noqa: E702
            a12 = zero; a13 = zero; a20 = zero; a21 = zero; a22 = zero; a23 = zero  # noqa: E702
            for k in range(K):
                w0 = wt[n, k]
                w1 = wt[n + 1, k]
                w2 = wt[n + 2, k]
                w3 = wt[n + 3, k]
                x0 = x[b, k]
                x1 = x[b + 1, k]
                x2 = x[b + 2, k]
                a00 += x0 * w0
                a01 += x0 * w1
                a02 += x0 * w2
                a03 += x0 * w3
                a10 += x1 * w0
                a11 += x1 * w1
                a12 += x1 * w2
                a13 += x1 * w3
                a20 += x2 * w0
                a21 += x2 * w1
                a22 += x2 * w2
                a23 += x2 * w3
            out[b, n] += a00
            out[b, n + 1] += a01
            out[b, n + 2] += a02
            out[b, n + 3] += a03
            out[b + 1, n] += a10
            out[b + 1, n + 1] += a11
            out[b + 1, n + 2] += a12
            out[b + 1, n + 3] += a13
            out[b + 2, n] += a20
            out[b + 2, n + 1] += a21
            out[b + 2, n + 2] += a22
            out[b + 2, n + 3] += a23
            n += 4
        b += 3
    while B - b >= 2:  # two rows share each load of six
        n = 0
        while n + 6 <= NB:
            a00 = zero; a01 = zero; a02 = zero; a03 = zero; a04 = zero; a05 = zero  # noqa: E702
            a10 = zero; a11 = zero; a12 = zero; a13 = zero; a14 = zero; a15 = zero  # noqa: E702
            for k in range(K):
                w0 = wt[n, k]
                w1 = wt[n + 1, k]
                w2 = wt[n + 2, k]
                w3 = wt[n + 3, k]
                w4 = wt[n + 4, k]
                w5 = wt[n + 5, k]
                x0 = x[b, k]
                x1 = x[b + 1, k]
                a00 += x0 * w0
                a01 += x0 * w1
                a02 += x0 * w2
                a03 += x0 * w3
                a04 += x0 * w4
                a05 += x0 * w5
                a10 += x1 * w0
                a11 += x1 * w1
                a12 += x1 * w2
                a13 += x1 * w3
                a14 += x1 * w4
                a15 += x1 * w5
            out[b, n] += a00
            out[b, n + 1] += a01
            out[b, n + 2] += a02
            out[b, n + 3] += a03
            out[b, n + 4] += a04
            out[b, n + 5] += a05
            out[b + 1, n] += a10
            out[b + 1, n + 1] += a11
            out[b + 1, n + 2] += a12
            out[b + 1, n + 3] += a13
            out[b + 1, n + 4] += a14
            out[b + 1, n + 5] += a15
            n += 6
        b += 2
    while b < B:  # a row alone against twelve
        n = 0
        while n + 12 <= NB:
            a0 = zero; a1 = zero; a2 = zero; a3 = zero; a4 = zero; a5 = zero  # noqa: E702
            a6 = zero; a7 = zero; a8 = zero; a9 = zero; a10 = zero; a11 = zero  # noqa: E702
            for k in range(K):
                w0 = wt[n, k]
                w1 = wt[n + 1, k]
                w2 = wt[n + 2, k]
                w3 = wt[n + 3, k]
                w4 = wt[n + 4, k]
                w5 = wt[n + 5, k]
                w6 = wt[n + 6, k]
                w7 = wt[n + 7, k]
                w8 = wt[n + 8, k]
                w9 = wt[n + 9, k]
                w10 = wt[n + 10, k]
                w11 = wt[n + 11, k]
                x0 = x[b, k]
                a0 += x0 * w0
                a1 += x0 * w1
                a2 += x0 * w2
                a3 += x0 * w3
                a4 += x0 * w4
                a5 += x0 * w5
                a6 += x0 * w6
                a7 += x0 * w7
                a8 += x0 * w8
                a9 += x0 * w9
                a10 += x0 * w10
                a11 += x0 * w11
            out[b, n] += a0
            out[b, n + 1] += a1
            out[b, n + 2] += a2
            out[b, n + 3] += a3
            out[b, n + 4] += a4
            out[b, n + 5] += a5
            out[b, n + 6] += a6
            out[b, n + 7] += a7
            out[b, n + 8] += a8
            out[b, n + 9] += a9
            out[b, n + 10] += a10
            out[b, n + 11] += a11
            n += 12
        b += 1
    for b in range(B):  # the weight rows past the last twelve: one at a time, for every row alike
        for n in range(NB, N):
            a = zero
            for k in range(K):
                a += x[b, k] * wt[n, k]
            out[b, n] += a


@njit(**_opts)
def _cell(z, c, h, lstm):
    """Keras' LSTM cell (gates i, f, g, o; sigmoid and tanh) or SimpleRNN's tanh, in place on c and h."""
    B = z.shape[0]
    U = h.shape[1]
    for b in range(B):
        zb, cb, hb = z[b], c[b], h[b]
        if lstm:
            for j in range(U):
                i = _sigmoid(zb[j])
                f = _sigmoid(zb[U + j])
                g = _tanh(zb[2 * U + j])
                o = _sigmoid(zb[3 * U + j])
                cn = f * cb[j] + i * g
                cb[j] = cn
                hb[j] = o * _tanh(cn)
        else:
            for j in range(U):
                hb[j] = _tanh(zb[j])


@njit(**_opts)
def sounding_input(snd, wsq, wsum, wsnd):
    """wsum (gates,) int32: the sum of wsq's rows of the pitches sounding in snd (the first layer's product with
    the 0/1 sounding vector, in integers: exact), kept from the last call by adding or taking away the rows of
    the pitches that changed since (wsnd: the pitches it is the sum of). A piano row sounds ~4 pitches at a
    token and changes one: 0.42 us a pitch summed again every token before."""
    G = wsum.shape[0]
    for q in range(PITCHES):
        if snd[q] != wsnd[q]:
            if snd[q]:
                for g in range(G):
                    wsum[g] += wsq[q, g]
            else:
                for g in range(G):
                    wsum[g] -= wsq[q, g]
            wsnd[q] = snd[q]


@njit(**_opts)
def advance(tok, snd, h, c, z, S, W, lstm, note_state):
    """One token for every row: (B,) ids, (B, 128) sounding pitches after them; (layers, B, units) h, c; z and S
    the caller's scratch ((B, gates) float32; `scratch(W, B)`, kept with the rows between calls or new).
    W: (table0, sounding kernel, first recurrent kernel, rest kernels, rest biases, out kernel, out bias, the
    three kernels and their scales as int16.quantize_rows gives them, the sounding kernel and its scales as
    int16.quantize_sums does), kernels transposed; table0 is the embedding folded into the first input product,
    bias included. The products are int16's: the state read as integers, each layer's input and recurrent
    halves summed in one exact int32 sum."""
    table0, br, rec0q, wrq, rec0s, wrs, wsq, wss = W[0], W[4], W[7], W[8], W[10], W[11], W[13], W[14]
    xq, wsum, wsnd, acc = S[0], S[1], S[2], S[3]
    B = tok.shape[0]
    L = h.shape[0]
    G = z.shape[1]
    P = rec0q.shape[1] // int16.GROUP  # the state's width padded (int16.padded)
    for b in range(B):  # (each row a view: indexed in two dimensions, this loop cost 3.0 us a step at four rows, 1.1)
        row, zb, sb = table0[tok[b]], z[b], wsum[b]
        if note_state:  # the product with a 0/1 vector: the rows of the pitches sounding, summed
            sounding_input(snd[b], wsq, sb, wsnd[b])
            for g in range(G):
                zb[g] = row[g] + np.float32(sb[g]) * wss[g]
        else:
            for g in range(G):
                zb[g] = row[g]
    int16.quantize(h[0], xq, np.int64(0))
    acc[:] = 0
    int16.qdot_add(xq[:, :P], rec0q, np.int64(0), acc)
    int16.scaled_add(acc, rec0s, z)
    _cell(z, c[0], h[0], lstm)
    for i in range(1, L):
        int16.quantize(h[i - 1], xq, np.int64(0))
        int16.quantize(h[i], xq, P)
        acc[:] = 0
        int16.qdot_add(xq[:, :2 * P], wrq[i - 1], np.int64(0), acc)
        int16.scaled_set(acc, wrs[i - 1], br[i - 1], z)
        _cell(z, c[i], h[i], lstm)


@njit(**_opts)
def project(h, W, logits, S):
    """The output layer: (B, units) -> (B, vocab) logits (S: advance's scratch)."""
    xq, acc = S[0], S[4]
    P = W[9].shape[1] // int16.GROUP
    int16.quantize(h, xq, np.int64(0))
    acc[:] = 0
    int16.qdot_add(xq[:, :P], W[9], np.int64(0), acc)
    int16.scaled_set(acc, W[12], W[6], logits)


@njit(**_opts)
def scratch(W, rows):
    """advance's and project's scratch for `rows` rows, kept with them or made anew: the state as integers (twice
    its padded width; zero, its padding never written), the sounding rows' sum with the pitches it is the sum of
    (none yet), and the int32 sums of the gates and of the logits (made once, not at every token)."""
    return (np.zeros((rows, 2 * W[7].shape[1] // int16.GROUP), np.int16), np.zeros((rows, W[0].shape[1]), np.int32),
            np.zeros((rows, PITCHES), np.bool_), np.empty((rows, W[0].shape[1]), np.int32),
            np.empty((rows, W[6].shape[0]), np.int32))


# ----- random numbers --------------------------------------------------------------------------------
@njit(**_opts)
def _mix(x):
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(**_opts)
def uniform(seed, var, t, draw):
    """A float in [0, 1) for (seed, variation, token index, draw): splitmix64 over the four counters."""
    g = np.uint64(0x9E3779B97F4A7C15)
    x = _mix(np.uint64(seed) * g + np.uint64(1))
    x = _mix(x ^ (np.uint64(var) * g + np.uint64(2)))
    x = _mix(x ^ (np.uint64(t) * g + np.uint64(3)))
    x = _mix(x ^ (np.uint64(draw) * g + np.uint64(4)))
    return np.float64(x >> np.uint64(11)) * (1.0 / 9007199254740992.0)


# ----- sampling --------------------------------------------------------------------------------------
@njit(**_opts)
def _best_above(row, m, floor):
    """The m largest values of row at or above floor, in descending order (the rest of the m -inf): insertion
    into a short sorted list (numba's general sorts take seconds to compile, and m is at most 64)."""
    best = np.full(m, -np.inf, np.float32)
    for v in range(row.shape[0]):
        x = row[v]
        if x >= floor and x > best[m - 1]:
            i = m - 1
            while i > 0 and best[i - 1] < x:
                best[i] = best[i - 1]
                i -= 1
            best[i] = x
    return best


@njit(**_opts)
def _best(row, m):
    """The m largest values of row, in descending order."""
    return _best_above(row, m, -np.inf)


@njit(**_opts)
def _argmax(row):
    k = 0
    best = row[0]
    for v in range(1, row.shape[0]):
        if row[v] > best:
            best = row[v]
            k = v
    return k


@njit(**_opts)
def _weighted(row, thr, t, u, notes):
    """A draw from softmax(row / t) among the entries at or above thr (and, where notes is given, every entry
    that is not a note: notes[v] False), with the uniform u."""
    V = row.shape[0]
    k = np.empty(V, np.float32)  # the entries that may be drawn (-inf: not)
    if notes.shape[0] == V:  # (selects, not branches, and their max as maxnum: the loops vectorise)
        for v in range(V):
            k[v] = row[v] if (row[v] >= thr) | (not notes[v]) else np.float32(-np.inf)
    else:
        for v in range(V):
            k[v] = row[v] if row[v] >= thr else np.float32(-np.inf)
    mx = np.float32(-np.inf)
    for v in range(V):
        mx = _fmax(mx, k[v])
    e = np.empty(V, np.float32)  # (an array of its own: exp_shifted in place on k ran 2x slower)
    exp_shifted(k, mx, np.float32(1.0 / t), e)  # (-inf -> 0)
    total = 0.0
    for v in range(V):
        total += e[v]
    return _pick(e, u * total)


@njit(**_opts)
def _pick(e, target):
    """The entry at which the running sum of the weights e (0: never drawn) passes target (else the last weighted)."""
    acc = 0.0
    last = 0
    for v in range(e.shape[0]):
        if e[v] > 0:
            acc += e[v]
            last = v
            if acc > target:
                return v
    return last


@njit(**_opts)
def _span(flags):
    """(first, last + 1) of the True entries of flags ((0, 0) if none): a reduction, which vectorises."""
    V = flags.shape[0]
    lo, hi = V, 0
    for v in range(V):
        lo = min(lo, v if flags[v] else V)
        hi = max(hi, v + 1 if flags[v] else 0)
    return min(lo, hi), hi


@njit(**_opts)
def _in_nucleus(row, e, lo, hi, marked, x, p, cands):
    """Whether entry x (one of the marked entries of row's lo..hi; `marked` empty: all of them) is in their nucleus
    at p: the fewest best of them whose probability (among them) reaches p (within 1e-6), `cands` at most, and
    every one as good as the last of those; so x is in it when fewer than `cands` are better than it and those
    hold less than p; the best always is. e: exp(row - any one constant), row's probabilities unnormalised. One
    pass (selects, no branches: it vectorises), no sort."""
    lx = row[x]
    total = np.float32(0)
    above = np.float32(0)
    count = 0
    if marked.shape[0] == 0:
        for v in range(lo, hi):
            better = row[v] > lx
            total += e[v]
            above += e[v] if better else np.float32(0)
            count += 1 if better else 0
    else:
        for v in range(lo, hi):
            better = marked[v] & (row[v] > lx)
            total += e[v] if marked[v] else np.float32(0)
            above += e[v] if better else np.float32(0)
            count += 1 if better else 0
    return count == 0 or (count < cands and above < (p - 1e-6) * total)


@njit(**_opts)
def _draw_nucleus(row, lo, hi, marked, p, cands, t, seed, var, step):
    """A draw from softmax(row / t) with the marked entries of lo..hi (`marked` empty: all of them) kept to their
    nucleus at p and every other entry as it is: the whole row is drawn from, and drawn from again (a uniform of its
    own each time) while the draw falls on a marked entry outside the nucleus (rejection: the same distribution as
    drawing among the kept entries alone, at a pass over the vocabulary and one over the marked entries a draw, not
    a sort; they hold p of the marked entries' probability or more, so a second draw is rare). The nucleus's line
    is drawn at t = 1. (Session 39; before, the nucleus's line was found first, its candidates made a heap and
    taken best first, then the kept entries drawn from: the piano's notes' nucleus at 0.98, 1.31 -> 0.67 us a
    draw, top_p over its 389 tokens 1.07 -> 0.76.)"""
    V = row.shape[0]
    mx = np.float32(-np.inf)
    for v in range(V):
        mx = _fmax(mx, row[v])
    e = np.empty(V, np.float32)
    exp_shifted(row, mx, np.float32(1.0 / t), e)
    total = 0.0
    for v in range(V):
        total += e[v]
    e1 = e
    if t != 1:
        e1 = np.empty(V, np.float32)
        exp_shifted(row, mx, np.float32(1), e1)
    for attempt in range(32):
        x = _pick(e, uniform(seed, var, step, 0 if attempt == 0 else 7 + attempt) * total)
        if x < lo or x >= hi or (marked.shape[0] != 0 and not marked[x]) or _in_nucleus(row, e1, lo, hi, marked, x,
                                                                                          p, cands):
            return x
    return _argmax(row)  # (32 draws outside it: never seen; the best token is in every nucleus)


NO_NOTES = np.zeros(0, np.bool_)  # sample_row's notes for a vocabulary without note tokens (from Python)


@njit(**_opts)
def sample_row(row, strategy, t, k, p, n, seed, var, step, notes):
    """One token from a row of logits (masked with NEG); the strategies of sampling.py, same meaning.
    notes: (V,) whether each token starts a note, for top_p_notes (an empty array: no token does, and
    top_p_notes is top_p).

    Every caller passes t and p as float64 (a float32 it has as float64: the same numbers) and notes writable
    (not a global array, which a kernel reads as a read-only constant), and this passes _draw_nucleus no
    literal 0 nor such an array: one version of each is compiled on a machine's first run, and the harmony and
    attention-LSTM models' kernels load it from the cache (each of the three compiled one of its own, ~4 s,
    and two of _draw_nucleus)."""
    V = row.shape[0]
    zero = np.int64(0)
    if strategy == GREEDY:
        return _argmax(row)
    cands = min(CANDIDATES, V)
    if strategy == TOP_N_95:
        m = min(max(n, 1), cands)
        if uniform(seed, var, step, np.int64(2)) < 0.95:
            return _argmax(row)
        pick = min(int(uniform(seed, var, step, np.int64(1)) * m), m - 1)
        thr = _best(row, pick + 1)[pick]
        for v in range(V):  # the first token with that logit
            if row[v] == thr:
                return v
        return _argmax(row)
    thr = -np.inf
    if strategy == TOP_K or strategy == TRUNCATED:
        m = min(max(k if strategy == TOP_K else n, 1), cands)
        thr = _best(row, m)[m - 1]
    elif strategy == TOP_P_NOTES and notes.shape[0] == V:
        # the nucleus of the notes alone: of the pitches that could start, the fewest best whose share of
        # the notes' probability reaches p; every other token (time, a release, a velocity) as the model
        # gives it. Top-p's tail is often rhythm (a rarer, longer wait); cutting it makes music busier.
        lo, hi = _span(notes)  # (only the notes' span of the vocabulary is read, as views: the rest holds none)
        alive = False
        r, nt = row[lo:hi], notes[lo:hi]
        for i in range(hi - lo):
            alive |= nt[i] & (r[i] > NEG * np.float32(0.5))
        if alive:
            return _draw_nucleus(row, lo, hi, notes, p, cands, t, seed, var, step)
        return _draw_nucleus(row, zero, V, notes[:0], p, cands, t, seed, var, step)  # no note may start: top_p
    elif strategy == TOP_P or strategy == TOP_P_NOTES:
        return _draw_nucleus(row, zero, V, notes[:0], p, cands, t, seed, var, step)
    return _weighted(row, thr, t, uniform(seed, var, step, zero), notes[:0])


# ----- the note grammar ------------------------------------------------------------------------------
SCATTERED = -(1 << 30)  # layout's offset where a kind's tokens are not one a pitch in pitch order


def _layout(pitch: np.ndarray) -> tuple[int, int, int]:
    """(first, last + 1, pitch - token) of the tokens that have a pitch (-1: none), the offset SCATTERED unless
    they are one a pitch, side by side in pitch order (every shipped codec's note starts and releases are)."""
    idx = np.flatnonzero(pitch >= 0)
    if not len(idx):
        return 0, 0, SCATTERED
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    d = int(pitch[lo]) - lo
    ordered = len(idx) == hi - lo and bool((pitch[lo:hi] == np.arange(lo, hi) + d).all())
    return lo, hi, d if ordered else SCATTERED


def tables(on_pitch, off_pitch, beats) -> tuple:
    """The kernels' T from a codec's note tables (each token's pitch it starts and releases, -1: none) and each
    token's beats: (is_on, is_off, on pitch, off pitch, beats, advances, the release and start tokens' layouts)."""
    on, off = np.asarray(on_pitch, np.int64), np.asarray(off_pitch, np.int64)
    beats = np.asarray(beats, np.float32)
    return (on >= 0, off >= 0, np.maximum(on, 0).astype(np.int32), np.maximum(off, 0).astype(np.int32), beats,
            beats > 0, np.array(_layout(off) + _layout(on), np.int64))


@njit(**_opts)
def _sounding(snd, lo, hi, d, pitch):
    """Whether each token of lo..hi plays a sounding pitch: a view of snd where the tokens are in pitch order (d:
    pitch - token), else looked up token by token."""
    if d != SCATTERED:
        return snd[lo + d:hi + d]
    out = np.empty(hi - lo, np.bool_)
    for i in range(hi - lo):
        out[i] = snd[np.uint32(pitch[lo + i])]
    return out


@njit(**_opts)
def grammar(full, snd, held, T, hold, max_hold, min_shift):
    """In place on one row of logits: a release only for a sounding pitch, a start only for a silent one;
    the release probability the model gave silent pitches goes to the sounding ones. With `hold`, no note
    lasts more than max_hold beats: a time step that would carry one past it is not taken, and a note
    that cannot wait even the shortest step is released next.
    T: `tables`. Each loop reads its tokens' span of the vocabulary as views from 0, without branches
    (an index numba cannot prove positive, or an `and`, kept them from vectorising: the piano model 1.0 -> 0.4 us a
    row)."""
    is_on, is_off, on_t, off_t, tok_beats, advances, lay = T
    V = full.shape[0]
    lo, hi = lay[0], lay[1]
    f, k, s = full[lo:hi], is_off[lo:hi], _sounding(snd, lo, hi, lay[2], off_t)
    mx = np.float32(-np.inf)
    for i in range(hi - lo):
        mx = _fmax(mx, f[i] if k[i] else np.float32(-np.inf))
    e = np.empty(hi - lo, np.float32)
    exp_shifted(f, mx, np.float32(1), e)
    s_all = 0.0
    s_ok = 0.0
    for i in range(hi - lo):
        s_all += e[i] if k[i] else np.float32(0)
        s_ok += e[i] if k[i] & s[i] else np.float32(0)
    shift = np.float32(math.log(s_all / s_ok)) if s_ok > 0 else np.float32(0)
    for i in range(hi - lo):
        f[i] = (f[i] + shift if s[i] else NEG) if k[i] else f[i]
    lo, hi = lay[3], lay[4]
    f, k, o, s = full[lo:hi], is_on[lo:hi], is_off[lo:hi], _sounding(snd, lo, hi, lay[5], on_t)
    for i in range(hi - lo):
        f[i] = NEG if k[i] & (not o[i]) & s[i] else f[i]
    if hold:
        left = np.float32(1e9)
        over = False
        for q in range(PITCHES):
            left = _fmin(left, max_hold - held[q] if snd[q] else np.float32(1e9))
            over |= snd[q] & (held[q] + min_shift > max_hold + EPS)
        for v in range(V):
            full[v] = NEG if advances[v] & (tok_beats[v] > left + EPS) else full[v]
        if over:
            for v in range(V):
                if not (is_off[v] and snd[off_t[v]] and held[off_t[v]] + min_shift > max_hold + EPS):
                    full[v] = NEG


# ----- the loops -------------------------------------------------------------------------------------
@njit(**_opts)
def chunk(n, t0s, variations, seeds, logits, h, c, snd, held, masks, mrow, out, W, T, settings, gram, hold, lstm,
          note_state, cs, hist, ctls, uses, starts, halt, ends):
    """n tokens for every row of the batch, into out (B, n), fewer where halt[0] is set meanwhile (another thread
    sets it: a request is waiting to join, or a callback cancelled its request, or the batch's other half saw a row
    reach its stop) or a row reaches its stop: ends (B,) the beats each row may still move time on (the kernel's
    beats; inf: no stop here), counted down in place; the chunk ends after the token that brings one within EPS of
    0 (its request leaves the batch then, not a chunk later), and halt[0] is set to ENDED if nothing had set it.
    Returns how many. The state arrays are carried in place. Each row brings its own request: t0s (B,)
    the index of its first token here, variations (B,) and seeds (B,) (its random numbers), masks[mrow[b]] its
    mask, settings[b] (strategy, temperature, k, p, n, max_hold, shortest time step), and, where uses[b], the
    musician's controls (`controls` below: ctls[b], its cs and hist rows, the notes each token starts). Rows of
    different requests share only the network's arithmetic."""
    is_on, is_off, on_t, off_t, tok_beats = T[0], T[1], T[2], T[3], T[4]
    B, V = logits.shape
    L, _, U = h.shape
    z = np.empty((B, W[0].shape[1]), np.float32)
    S = scratch(W, B)
    full = np.empty(V, np.float32)
    saved = np.empty(V, np.float32)
    tok = np.empty(B, np.int32)
    ended = False
    for t in range(n):
        if t > 0 and (halt[0] != 0 or ended):  # (at least one token: the batch always moves)
            return t
        for b in range(B):
            s = settings[b]
            strategy, temp, k, p, nn = int(s[0]), s[1], int(s[2]), s[3], int(s[4])
            mask, lb = masks[mrow[b]], logits[b]  # (each row a view: the loops vectorise)
            for v in range(V):
                full[v] = lb[v] + mask[v]
            if gram:
                grammar(full, snd[b], held[b], T, hold, np.float32(s[5]), np.float32(s[6]))
            if uses[b]:
                controls(full, b, snd[b], cs, hist, ctls[b], T, starts, saved)
            x = sample_row(full, strategy, temp, k, p, nn, seeds[b], variations[b], t0s[b] + t, is_on)
            tok[b] = x
            out[b, t] = x
            if tok_beats[x] > 0 and ends[b] < np.inf:
                ends[b] -= tok_beats[x]
                if ends[b] <= EPS:
                    ended = True
                    if halt[0] == 0:  # (told to the batch's other half, which ends at its next token too)
                        halt[0] = ENDED
            if uses[b]:
                control_update(x, b, snd[b], cs, hist, ctls[b], T, starts)
            if gram:
                if is_on[x]:
                    snd[b, on_t[x]] = True
                if is_off[x]:
                    snd[b, off_t[x]] = False
                if hold:
                    hb, sb, step = held[b], snd[b], tok_beats[x]
                    for q in range(PITCHES):
                        hb[q] = hb[q] + step if sb[q] else np.float32(0)
        advance(tok, snd, h, c, z, S, W, lstm, note_state)
        project(h[L - 1], W, logits, S)
    return n


# ----- the musician's controls -----------------------------------------------------------------------
# ctl: what a request asks (beats in the kernel's units: a codec that counts seconds counts them at its
# decode tempo); cs: each row's running state in the current bar; hist: each row's top-voice intervals and onsets.
C_DENSITY, C_DTOL, C_PMIN, C_PMAX, C_LEAPS, C_OFFBEATS, C_STOL, C_NGRAM, C_BAR, C_BEAT, C_GRID, C_VARY = range(12)
S_POS, S_COUNT, S_TOP, S_INTERVALS, S_LEAPS, S_ONSETS, S_OFF, S_TARGET, S_HLEN, S_STEP_TOP = range(10)
N_CTL, N_STATE, HISTORY = 12, 10, 1024
# hist's columns: HISTORY top-voice intervals (no_repeat); then, for rhythm_variety, the onsets of the last bar as
# running counts (LAST + i: its onsets in cells before i) and this bar's onsets (NOW + i: 1 where one starts), in
# cells of 1/12 beat (kernel beats), bars of up to 16 beats
CELLS = 192
CELL = np.float32(12.0)
LAST, NOW = HISTORY, HISTORY + CELLS + 1
HIST_WIDTH = NOW + CELLS
GAIN = np.float32(3.0)
MOST = np.float32(2.0)  # a target's pull on the logits is at most GAIN * MOST
LEAP_GAIN = np.float32(2.0)  # the leaps target's pull is twice that (docs/controls.md)


@njit(**_opts)
def _pull(x):
    return GAIN * min(max(x, -MOST), MOST)


@njit(**_opts)
def bounds(target, tol):
    """The fewest and most notes a bar may hold for a density target (notes in the bar) and tolerance."""
    lo = math.ceil(target * (1 - tol) - 1e-4)
    hi = math.floor(target * (1 + tol) + 1e-4)
    if hi < lo:  # no whole number within the band: the nearest
        lo = hi = int(round(target))
    return lo, hi


@njit(**_opts)
def _off_beat(pos, beat):
    f = pos / beat
    return abs(f - np.floor(f + 0.5)) > 1e-3


@njit(**_opts)
def controls(full, row, snd, cs, hist, ctl, T, starts, saved):
    """In place on one row of logits, after the grammar: the request's density, polyphony, leaps, off-beat
    share, no-repeat n-gram and rhythm variety. Hard bounds mask; targets and the variety bias the logits. If every token
    would be masked, the row is left as the grammar made it (`saved`). starts: (V,) notes each token
    starts (1 for a note-on; a drum step's hits)."""
    is_on, is_off, on_t, tok_beats, advances = T[0], T[1], T[2], T[4], T[5]
    V = full.shape[0]
    for v in range(V):
        saved[v] = full[v]
    nsnd = 0
    top_snd = -1
    for q in range(PITCHES):
        if snd[q]:
            nsnd += 1
            top_snd = q
    pos = cs[row, S_POS]
    bar = ctl[C_BAR]
    rem = bar - pos
    on_ok = True
    if ctl[C_PMAX] > 0 and nsnd >= ctl[C_PMAX]:
        on_ok = False
    adv_limit = np.float32(1e9)  # no time step longer than this
    if ctl[C_PMIN] > 0 and nsnd < ctl[C_PMIN]:
        adv_limit = np.float32(-1)
    on_bias = np.float32(0)
    if ctl[C_DENSITY] > 0:
        target = cs[row, S_TARGET]
        lo, hi = bounds(target, ctl[C_DTOL])
        count = cs[row, S_COUNT]
        if count >= hi:
            on_ok = False
        need = lo - count
        if need > 0:
            adv_limit = min(adv_limit, rem - need * ctl[C_GRID])
        expected = target * pos / bar
        on_bias += _pull((expected + np.float32(0.5) - count) / max(np.float32(1), target) * np.float32(2))
    off_here = _off_beat(pos, ctl[C_BEAT])
    if ctl[C_OFFBEATS] >= 0:
        short = ctl[C_OFFBEATS] * (cs[row, S_ONSETS] + 1) - cs[row, S_OFF] - np.float32(0.5)
        on_bias += _pull(short) if off_here else -_pull(short)
    # the intervals that would repeat an n-gram of the top voice: those that followed its last n-1 before
    n = int(ctl[C_NGRAM])
    banned = np.zeros(256, np.bool_)
    last = int(cs[row, S_TOP])
    hlen = int(cs[row, S_HLEN])
    if n >= 1 and last >= 0 and hlen >= n - 1:
        for j in range(0, hlen - n + 1):
            same = True
            for i in range(n - 1):
                if hist[row, j + i] != hist[row, hlen - n + 1 + i]:
                    same = False
                    break
            if same:
                banned[hist[row, j + n - 1] + 128] = True
    leap_short = ctl[C_LEAPS] * (cs[row, S_INTERVALS] + 1) - cs[row, S_LEAPS] - np.float32(0.5)
    nbar = min(CELLS, int(bar * CELL + np.float32(0.5)))
    vary = ctl[C_VARY] if hist[row, LAST + nbar] > 0 else np.float32(0)  # (a last bar with onsets to differ from)
    here = min(int(pos * CELL + np.float32(0.5)) + 1, nbar)
    for v in range(V):
        if full[v] <= NEG * np.float32(0.5):
            continue
        if starts[v] > 0:
            if not on_ok or (ctl[C_DENSITY] > 0 and cs[row, S_COUNT] + starts[v] > bounds(cs[row, S_TARGET], ctl[C_DTOL])[1]):
                full[v] = NEG
                continue
            full[v] += on_bias * starts[v]
        if is_on[v]:
            p = on_t[v]
            if last >= 0 and p > top_snd:  # a new top-voice note
                iv = p - last
                if banned[iv + 128]:
                    full[v] = NEG
                    continue
                if ctl[C_LEAPS] >= 0:  # twice a target's pull: the nucleus of the notes keeps more of them
                    full[v] += LEAP_GAIN * (_pull(leap_short) if abs(iv) > 2 else -_pull(leap_short))
        if advances[v] and starts[v] == 0 and vary > 0:  # the onset cells this step makes differ from the last bar
            land = int((pos + tok_beats[v]) * CELL + np.float32(0.5))
            skip = min(land, nbar)
            differ = hist[row, LAST + skip] - hist[row, LAST + here] if skip > here else 0
            if land < nbar and hist[row, LAST + land + 1] == hist[row, LAST + land]:
                differ += 1
            full[v] += vary * differ
        if advances[v] and starts[v] == 0:
            if tok_beats[v] > adv_limit + EPS:
                full[v] = NEG
            elif ctl[C_OFFBEATS] >= 0:  # lean the next onsets' positions toward the share asked
                land = pos + tok_beats[v]
                short = ctl[C_OFFBEATS] * (cs[row, S_ONSETS] + 1) - cs[row, S_OFF] - np.float32(0.5)
                full[v] += _pull(short) if _off_beat(land, ctl[C_BEAT]) else -_pull(short)
    alive = False
    for v in range(V):
        if full[v] > NEG * np.float32(0.5):
            alive = True
            break
    if not alive:
        for v in range(V):
            full[v] = saved[v]


@njit(**_opts)
def new_bar(cs, row, ctl, length, hist):
    if ctl[C_VARY] > 0:  # this bar's onsets become the last bar's running counts (rhythm_variety reads them)
        total = 0
        for i in range(CELLS):
            hist[row, LAST + i] = total
            total += hist[row, NOW + i]
            hist[row, NOW + i] = 0
        hist[row, LAST + CELLS] = total
    cs[row, S_COUNT] = 0
    cs[row, S_INTERVALS] = 0
    cs[row, S_LEAPS] = 0
    cs[row, S_ONSETS] = 0
    cs[row, S_OFF] = 0
    cs[row, S_TARGET] = ctl[C_DENSITY] * length


@njit(**_opts)
def _commit(row, cs, hist):
    """Time passes: the highest note that started at this step, if it started above every note sounding,
    is the top voice's next note (as bar_report reads the top voice from the music)."""
    p = int(cs[row, S_STEP_TOP])
    if p < 0:
        return
    cs[row, S_STEP_TOP] = -1
    last = int(cs[row, S_TOP])
    if last >= 0:
        iv = p - last
        cs[row, S_INTERVALS] += 1
        if abs(iv) > 2:
            cs[row, S_LEAPS] += 1
        h = int(cs[row, S_HLEN])
        if h >= HISTORY:  # keep the newer half
            half = HISTORY // 2
            for i in range(half):
                hist[row, i] = hist[row, i + half]
            h = half
        hist[row, h] = iv
        cs[row, S_HLEN] = h + 1
    cs[row, S_TOP] = p


@njit(**_opts)
def control_update(x, row, snd, cs, hist, ctl, T, starts):
    """After token x is drawn (snd: the pitches sounding before it)."""
    is_on, on_t, tok_beats, advances = T[0], T[2], T[4], T[5]
    if starts[x] > 0 and not is_on[x]:  # a token that strikes and moves on (a drum step)
        cs[row, S_COUNT] += starts[x]
        cs[row, S_ONSETS] += starts[x]
        if _off_beat(cs[row, S_POS], ctl[C_BEAT]):
            cs[row, S_OFF] += starts[x]
    if advances[x]:
        _commit(row, cs, hist)
        pos = cs[row, S_POS] + tok_beats[x]
        bar = ctl[C_BAR]
        if pos >= bar - EPS:
            while pos >= bar - EPS:
                pos -= bar
            new_bar(cs, row, ctl, bar, hist)
        cs[row, S_POS] = max(pos, np.float32(0))
    elif is_on[x]:
        p = on_t[x]
        cell = int(cs[row, S_POS] * CELL + np.float32(0.5))
        if ctl[C_VARY] > 0 and cell < CELLS:
            hist[row, NOW + cell] = 1
        cs[row, S_COUNT] += 1
        cs[row, S_ONSETS] += 1
        if _off_beat(cs[row, S_POS], ctl[C_BEAT]):
            cs[row, S_OFF] += 1
        top = True
        for q in range(p + 1, PITCHES):
            if snd[q]:
                top = False
                break
        if top and p > cs[row, S_STEP_TOP]:
            cs[row, S_STEP_TOP] = p


@njit(**_opts)
def walk_bits(ids, logits, h, c, snd, held, mask, W, T, settings, gram, hold, lstm, note_state, cs, hist, ctl,
              starts, use_controls, skip):
    """The bits of real ids under the model, with the mask, grammar and (if asked) the controls applied
    as in generation: (total bits of the tokens allowed, tokens the controls or masks forbid), counted from
    the id at `skip` on (the ones before it are read, not counted). One row."""
    is_on, is_off, on_t, off_t, tok_beats = T[0], T[1], T[2], T[3], T[4]
    max_hold, min_shift = np.float32(settings[5]), np.float32(settings[6])
    V = logits.shape[1]
    L, _, U = h.shape
    z = np.empty((1, W[0].shape[1]), np.float32)
    S = scratch(W, np.int64(1))
    full = np.empty(V, np.float32)
    saved = np.empty(V, np.float32)
    e = np.empty(V, np.float32)
    tok = np.empty(1, np.int32)
    bits = 0.0
    forbidden = 0
    for t in range(ids.shape[0]):
        x = ids[t]
        for v in range(V):
            full[v] = logits[0, v] + mask[v]
        if gram:
            grammar(full, snd[0], held[0], T, hold, max_hold, min_shift)
        if use_controls:
            controls(full, np.int64(0), snd[0], cs, hist, ctl, T, starts, saved)
        if t < skip:
            pass
        elif full[x] <= NEG * np.float32(0.5):
            forbidden += 1
        else:
            mx = -np.inf
            for v in range(V):
                if full[v] > mx:
                    mx = full[v]
            exp_shifted(full, mx, np.float32(1), e)
            total = 0.0
            for v in range(V):
                total += e[v]
            bits += (math.log(total) - (full[x] - mx)) / math.log(2.0)
        if use_controls:
            control_update(np.int64(x), np.int64(0), snd[0], cs, hist, ctl, T, starts)
        if is_on[x]:
            snd[0, on_t[x]] = True
        if is_off[x]:
            snd[0, off_t[x]] = False
        if hold:
            for q in range(PITCHES):
                held[0, q] = held[0, q] + tok_beats[x] if snd[0, q] else np.float32(0)
        tok[0] = x
        advance(tok, snd, h, c, z, S, W, lstm, note_state)
        project(h[L - 1], W, logits, S)
    return bits, forbidden


@njit(**_opts)
def prime(ids, counts, h, c, logits, W, T, lstm, note_state):
    """Read ids into the state of one row (h, c: (layers, 1, units)); the logits after the last.
    counts: (128,) notes sounding before the ids (note_state models), updated in place.
    A layer at a time: the first layer runs token by token; each layer above takes the input products
    of all the tokens at once (four rows a weight load: arithmetic-bound rather than bound by
    reading the weights), so only its recurrent product stays token by token. The integers summed are
    advance's, so the state is the one advance would reach token by token, to the last bit."""
    is_on, is_off, on_t, off_t = T[0], T[1], T[2], T[3]
    table0, br, rec0q, wrq, rec0s, wrs, wsq, wss = W[0], W[4], W[7], W[8], W[10], W[11], W[13], W[14]
    L, _, U = h.shape
    G = table0.shape[1]
    P = rec0q.shape[1] // int16.GROUP
    n = ids.shape[0]
    z = np.empty((1, G), np.float32)
    S = scratch(W, np.int64(1))
    xq, wsum, wsnd, acc = S[0], S[1], S[2], S[3]
    now = np.zeros(PITCHES, np.bool_)
    below = np.empty((n, U), np.float32)
    for i in range(n):
        t = ids[i]
        put(z[0], table0[t])
        if note_state:
            if is_on[t]:
                counts[on_t[t]] += 1
            if is_off[t]:
                counts[off_t[t]] -= 1
            for q in range(PITCHES):
                now[q] = counts[q] > 0.5
            sounding_input(now, wsq, wsum[0], wsnd[0])
            for g in range(G):
                z[0, g] = table0[t, g] + np.float32(wsum[0, g]) * wss[g]
        int16.quantize(h[0], xq, np.int64(0))
        acc[:] = 0
        int16.qdot_add(xq[:, :P], rec0q, np.int64(0), acc)
        int16.scaled_add(acc, rec0s, z)
        _cell(z, c[0], h[0], lstm)
        put(below[i], h[0, 0])
    for layer in range(1, L):
        bq = np.zeros((n, P), np.int16)
        int16.quantize(below, bq, np.int64(0))
        inputs = np.zeros((n, G), np.int32)
        int16.qdot_add(bq[:, :P], wrq[layer - 1], np.int64(0), inputs)
        for i in range(n):
            int16.quantize(h[layer], xq, np.int64(0))
            put(acc[0], inputs[i])
            int16.qdot_add(xq[:, :P], wrq[layer - 1], P, acc)
            int16.scaled_set(acc, wrs[layer - 1], br[layer - 1], z)
            _cell(z, c[layer], h[layer], lstm)
            put(below[i], h[layer, 0])
    project(h[L - 1], W, logits, S)

