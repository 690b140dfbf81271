"""The recurrent network's products in 16-bit integers, summed exactly in 32 bits.

An LSTM's (or a plain RNN's) hidden state lies in (-1, 1), so it is read as integers of scale QX, and each
weight row n as integers of its own scale s[n]: as large as sixteen bits allow, and small enough that no sum
of the row's products can pass 2^31 for any state (|x| <= 1 and the row's absolute sum bound it), so the
int32 sums are exact: a row's products are the same numbers in any batch, in any order, on any machine.
out[b, n] += sum_k xq[b, k] * wq[n, k] / (QX * s[n]). The bound is on the product of the two scales, so QX
is where the two roundings cost least together: 4096 (tried: 2048, 4096, 8192, 32767; the shipped piano and
chorale models' next-token distributions, read along three pieces of their corpora each, moved by 2e-7 and
5e-8 nats a token at 4096 (KL, mean), 5e-6 and 1.3e-6 at 32767; their bits a token by at most 0.0001).

Why: one instruction multiplies sixteen pairs of 16-bit numbers and adds them pairwise into eight 32-bit
sums (pmaddwd; vpdpwssd where the CPU has AVX-512 VNNI), twice the products of one FMA on eight floats, and
the weights are half the bytes. A 2x256 LSTM step's three products at four rows: 79 -> 50 us; alone 44 ->
21 us (one core of the 2-core EPYC this was measured on).

On an x86 CPU with AVX2 the products are explicit vector instructions (`_vector_block`, LLVM IR through numba);
elsewhere a plain loop gives the same integers, from its own layout (each weight row in order, which compilers
vectorise on any CPU), one function for every shape of block (a function a shape, as the vector blocks are, compiled
21 s on a machine's first run for the products alone, one function 3 s; the same speed). For the vector blocks the
weights are laid out in groups of eight rows (`pack`): a pair of the state's integers copied to all eight lanes
meets a pair of columns of eight weight rows in one instruction, so each vector of sums is eight outputs' sums
already, added into the outputs as they are, where the rows-by-rows layout before it (session 33) ended each block
by summing every vector's eight lanes: the step's three products at four rows 53.8 -> 33.7 us, one row 23.1 -> 20.0
us, the same integers.
"""
from __future__ import annotations

import numpy as np

from .. import caches

caches.use_kernel_cache()  # before numba is imported (bridge/caches.py), here or by _has_avx2

QX = 4096.0  # the scale of the hidden state's integers: |x| < 1 -> |xq| <= 4096
LANES = 16  # 16-bit numbers a vector load; the products' length is padded to a multiple of it
LIMIT = 2.0 ** 31 - 2.0 ** 24  # the largest sum a row may reach (some room below 2^31 for rounding)


def padded(k: int) -> int:
    return -(-k // LANES) * LANES


def _scales(w: np.ndarray, axis: int, x: float) -> np.ndarray:
    """Each row's (axis 1) or column's (axis 0) scale: as large as sixteen bits allow, and small enough that
    its values' magnitudes times x (the largest input) add up to LIMIT at most (1 for an all-zero one)."""
    big, total = np.abs(w).max(axis), np.abs(w).sum(axis) * x
    with np.errstate(divide="ignore"):
        s = np.minimum(np.where(big > 0, 32767.0 / big, np.inf), np.where(total > 0, LIMIT / total, np.inf))
    return np.where(np.isfinite(s), s, 1.0)


def quantize_rows(w: np.ndarray, parts: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """(N, K) float weights (one output a row) -> (N, Kp) int16, each of `parts` equal slices of K padded with
    zeros to a multiple of LANES (so a slice can be read alone), and (N,) float32: 1 / (QX * s[n])."""
    w = np.asarray(w, np.float64)
    N, K = w.shape
    size = K // parts
    s = _scales(w, 1, QX)
    q = np.round(w * s[:, None])
    p = padded(size)
    out = np.zeros((N, p * parts), np.int16)
    for i in range(parts):
        out[:, i * p:i * p + size] = q[:, i * size:(i + 1) * size]
    return out, (1.0 / (QX * s)).astype(np.float32)


def quantize_sums(w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(Q, N) float rows that are added up, any of them at once (the sounding pitches' rows of the first layer)
    -> (Q, N) int16 and (N,) float32 inverse scales: each column as large as sixteen bits allow with the sum of
    all Q rows' magnitudes under LIMIT, so any sum of them is exact in int32."""
    w = np.asarray(w, np.float64)
    s = _scales(w, 0, 1.0)
    return np.round(w * s[None, :]).astype(np.int16), (1.0 / s).astype(np.float32)


def _has_avx2() -> bool:
    import platform

    from numba import config

    if platform.machine().lower() not in ("x86_64", "amd64") or config.CPU_NAME:  # (a generic target: no)
        return False
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("avx2"))
    except Exception:  # noqa: BLE001 - no feature list: the plain loop
        return False


def _has_avx512() -> bool:
    """Whether the compiler may use 32 vector registers for the blocks (AVX-512 VL: ymm0-31), not 16."""
    try:
        from llvmlite import binding

        return bool(binding.get_host_cpu_features().get("avx512vl"))
    except Exception:  # noqa: BLE001 - no feature list: 16
        return False


AVX2 = _has_avx2()
WIDE = AVX2 and _has_avx512()

from numba import njit, types  # noqa: E402

_opts = dict(cache=True, nogil=True, fastmath=True, boundscheck=False, error_model="numpy")


GROUP = 8  # weight rows a vector of sums holds (eight int32)


def pack(q: np.ndarray, vector: bool | None = None) -> np.ndarray:
    """(N, K) int16 weight rows (K even) -> (ceil(N / 8), 8 K) int16, what qdot_add reads: each group of eight rows
    (rows past N are zeros) laid out for the vector blocks (`vector`: where the CPU has AVX2) or for the plain loop.
    For the vector blocks each pair of columns k, k + 1 of the eight rows side by side (row i's pair at 16 (k / 2)
    + 2 i), so one vector load holds a pair of columns of eight rows; for the plain loop the eight rows one after
    another, each read in order."""
    vector = AVX2 if vector is None else vector
    q = np.asarray(q, np.int16)
    N, K = q.shape
    G = -(-N // GROUP)
    w = np.zeros((G * GROUP, K), np.int16)
    w[:N] = q
    if vector:
        return np.ascontiguousarray(w.reshape(G, GROUP, K // 2, 2).transpose(0, 2, 1, 3).reshape(G, K * GROUP))
    return np.ascontiguousarray(w.reshape(G, GROUP * K))


def _vector_block(R: int, C: int):
    """acc[ar + r, ac + 8 c + i] += sum_k x[xr + r, k] * q[8 (g0 + c) + i, k0 + k] for R rows of x and C groups of
    eight weight rows (w = pack(q)): for each pair of columns, the pair of x's row copied to all eight
    lanes (a broadcast) and pmaddwd against the group's vector, into R * C vectors of eight int32 sums, each already
    eight weight rows' sums, added into acc at the end (no sum across a vector's lanes)."""
    from llvmlite import ir
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    @intrinsic
    def block(typingctx, x, xr, w, g0, k0, acc, ar, ac):
        def codegen(context, builder, sig, args):
            xa = context.make_array(sig.args[0])(context, builder, args[0])
            wa = context.make_array(sig.args[2])(context, builder, args[2])
            aa = context.make_array(sig.args[5])(context, builder, args[5])
            i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
            v16, v8 = ir.VectorType(ir.IntType(16), 2 * GROUP), ir.VectorType(i32, GROUP)
            pmadd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8, [v16, v16]),
                                                   "llvm.x86.avx2.pmadd.wd")
            K = builder.extract_value(xa.shape, 1)

            def row(arr, first, i, ty, skip=None):
                base = builder.bitcast(arr.data, i8p)
                stride = builder.extract_value(arr.strides, 0)
                at = builder.mul(builder.add(first, ir.Constant(first.type, i)), stride)
                if skip is not None:  # bytes into the row
                    at = builder.add(at, builder.sext(skip, at.type) if skip.type.width < at.type.width else skip)
                return builder.bitcast(builder.gep(base, [at]), ty.as_pointer())

            xs = [row(xa, args[1], r, i32) for r in range(R)]  # a pair of int16 read as one int32
            k0 = args[4]  # column k0 of eight rows: 8 k0 int16 into the packed row
            skip = builder.mul(k0, ir.Constant(k0.type, 2 * GROUP))
            ws = [row(wa, args[3], c, v16, skip) for c in range(C)]
            acc = [cgutils.alloca_once_value(builder, ir.Constant(v8, None)) for _ in range(R * C)]
            undef, lane0 = ir.Constant(v8, ir.Undefined), ir.Constant(v8, [0] * GROUP)
            with cgutils.for_range_slice(builder, ir.Constant(K.type, 0), builder.sdiv(K, ir.Constant(K.type, 2)),
                                         ir.Constant(K.type, 1)) as (j, _):
                wv = [builder.load(builder.gep(p, [j]), align=2) for p in ws]
                for r in range(R):
                    pair = builder.insert_element(undef, builder.load(builder.gep(xs[r], [j]), align=2),
                                                  ir.Constant(i32, 0))
                    xv = builder.bitcast(builder.shuffle_vector(pair, undef, lane0), v16)
                    for c in range(C):
                        a = acc[r * C + c]
                        builder.store(builder.add(builder.load(a), builder.call(pmadd, [xv, wv[c]])), a)
            for r in range(R):
                out = row(aa, args[6], r, i32)
                for c in range(C):
                    col = builder.add(args[7], ir.Constant(args[7].type, GROUP * c))
                    p = builder.bitcast(builder.gep(out, [col]), v8.as_pointer())
                    builder.store(builder.add(builder.load(p, align=4), builder.load(acc[r * C + c])), p, align=4)
            return context.get_dummy_value()

        return types.void(x, xr, w, g0, k0, acc, ar, ac), codegen

    return block


@njit(**_opts)
def _plain_sums(x, xr, w, g0, k0, acc, ar, ac, R, C):
    """_vector_block's sums by a plain loop (any CPU), on the plain layout (`pack`: each weight row in order, read
    with x's row as one run the compiler vectorises): the same integers."""
    K = x.shape[1]
    width = w.shape[1] // GROUP  # a weight row's columns
    for c in range(C):
        for i in range(GROUP):
            row = w[g0 + c, i * width + k0:i * width + k0 + K]  # (a view: indexed from an offset, the loop did
            for r in range(R):  # not vectorise: 8x slower)
                xrow = x[xr + r]
                a = np.int32(0)
                for k in range(K):
                    a += np.int32(xrow[k]) * np.int32(row[k])
                acc[ar + r, ac + GROUP * c + i] += a


# rows of x a block takes, and groups of eight weight rows: four rows at a time are bound by the arithmetic, fewer
# by reading the weights (one row: twelve groups cost what eight do). Each block's R * C vectors of sums must stay
# in registers with a broadcast row and a product beside them: AVX-512 VL's 32 vector registers hold the larger
# blocks; AVX2's 16 hold at most ten sums (Zen 3, 2x256 LSTM's step's products a row, with these blocks against
# the larger ones, which spilled their sums to memory: one row 21 against 21 us, two 12 against 19-27, three 10.1
# against 14-15, four 9.7 against 12-14; fewer sums than these were slower at one and two rows)
BLOCKS = ((4, 4), (3, 6), (2, 8), (1, 8)) if WIDE else ((4, 2), (3, 3), (2, 5), (1, 8))

if AVX2:
    _b4, _b3, _b2, _b1 = (_vector_block(R, C) for R, C in BLOCKS)
    _b41, _b31, _b21, _b11 = (_vector_block(R, 1) for R, _ in BLOCKS)

    @njit(**_opts)
    def _rows(x, b, w, g, k0, acc, ar, ac, R, C):
        """Rows b..b+R of x against groups g..g+C into acc from row ar, column ac: the block of that shape (C is
        its BLOCKS shape's, or 1)."""
        if R == 4:
            if C == 1:
                _b41(x, b, w, g, k0, acc, ar, ac)
            else:
                _b4(x, b, w, g, k0, acc, ar, ac)
        elif R == 3:
            if C == 1:
                _b31(x, b, w, g, k0, acc, ar, ac)
            else:
                _b3(x, b, w, g, k0, acc, ar, ac)
        elif R == 2:
            if C == 1:
                _b21(x, b, w, g, k0, acc, ar, ac)
            else:
                _b2(x, b, w, g, k0, acc, ar, ac)
        elif C == 1:
            _b11(x, b, w, g, k0, acc, ar, ac)
        else:
            _b1(x, b, w, g, k0, acc, ar, ac)
else:  # one plain loop for every shape (the docstring above: why)
    _rows = _plain_sums


@njit(**_opts)
def qdot_add(x, w, k0, acc):
    """acc[b, n] += sum_k x[b, k] * q[n, k0 + k]: x (B, K) int16 (K even; rows may be strided views), w = pack(q),
    k0 even (from column k0 of q: a layer's input or recurrent half alone), acc (B, N) int32. Rows four at a time
    against the groups of eight weight rows BLOCKS gives, the rest three, two or one at a time (with AVX-512: four
    against four, three against six, two against eight, one against eight); a group past the last whole one of
    acc's columns through a small array of eight (the integers are the same any way).

    Its callers pass x as a view (layout 'A') and k0 as np.int64, and it passes _rows no literal number: numba
    compiles a kernel again for each layout and each literal argument a jitted caller passes it (a literal 0
    is a type of its own), and these made 3 versions of this and 18 of _rows, ~6 s of `cadenza warm`."""
    B, N = acc.shape
    whole = N // GROUP
    zero, one = np.int64(0), np.int64(1)
    b = zero
    while b < B:
        R = min(4, B - b)
        C = BLOCKS[4 - R][1]
        g = zero
        while g + C <= whole:
            _rows(x, b, w, g, k0, acc, b, GROUP * g, R, C)
            g += C
        while g < whole:
            _rows(x, b, w, g, k0, acc, b, GROUP * g, R, one)
            g += 1
        if whole * GROUP < N:
            tail = np.zeros((R, GROUP), np.int32)
            _rows(x, b, w, whole, k0, tail, zero, zero, R, one)
            for r in range(R):
                for i in range(N - whole * GROUP):
                    acc[b + r, whole * GROUP + i] += tail[r, i]
        b += R


@njit(**_opts)
def quantize(x, xq, at):
    """xq[b, at + k] = x[b, k] * QX rounded (|x| <= 1)."""
    q = np.float32(QX)
    for b in range(x.shape[0]):
        xb, qb = x[b], xq[b]
        for k in range(xb.shape[0]):
            qb[at + k] = np.int16(np.rint(min(max(xb[k], np.float32(-1)), np.float32(1)) * q))


@njit(**_opts)
def scaled_add(acc, inv, out):
    """out[b, n] += acc[b, n] / (QX * s[n]) (each row a view, as in every loop here: indexed in two dimensions,
    these loops vectorised worse)."""
    for b in range(acc.shape[0]):
        a, o = acc[b], out[b]
        for n in range(a.shape[0]):
            o[n] += np.float32(a[n]) * inv[n]


@njit(**_opts)
def scaled_set(acc, inv, bias, out):
    """out[b, n] = bias[n] + acc[b, n] / (QX * s[n]): scaled_add onto a bias, in one pass (the bias copied into
    out first, by slices, cost 1.6 us a step at four rows)."""
    for b in range(acc.shape[0]):
        a, o = acc[b], out[b]
        for n in range(a.shape[0]):
            o[n] = bias[n] + np.float32(a[n]) * inv[n]
