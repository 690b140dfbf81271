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

On an x86 CPU with AVX2 the products are explicit vector instructions (`_block`, LLVM IR through numba);
elsewhere a plain loop gives the same integers.
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


AVX2 = _has_avx2()

from numba import njit, types  # noqa: E402

_opts = dict(cache=True, nogil=True, fastmath=True, boundscheck=False, error_model="numpy")


def _vector_block(R: int, C: int):
    """sums[r * C + c] = sum_k x[xr + r, k] * w[wr + c, k] for R rows of x against C of w (int16, K a multiple of
    LANES): pmaddwd on sixteen lanes at a time into R * C vectors of eight int32 sums, each added up at the end."""
    from llvmlite import ir
    from numba.core import cgutils
    from numba.core.extending import intrinsic

    @intrinsic
    def block(typingctx, x, xr, w, wr, sums):
        def codegen(context, builder, sig, args):
            xa = context.make_array(sig.args[0])(context, builder, args[0])
            wa = context.make_array(sig.args[2])(context, builder, args[2])
            sa = context.make_array(sig.args[4])(context, builder, args[4])
            i8p = ir.IntType(8).as_pointer()
            v16, v8 = ir.VectorType(ir.IntType(16), LANES), ir.VectorType(ir.IntType(32), 8)
            pmadd = cgutils.get_or_insert_function(builder.module, ir.FunctionType(v8, [v16, v16]),
                                                   "llvm.x86.avx2.pmadd.wd")
            total = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(32), [v8]),
                                                   "llvm.vector.reduce.add.v8i32")
            K = builder.extract_value(xa.shape, 1)

            def rows(arr, first, n):
                base = builder.bitcast(arr.data, i8p)
                stride = builder.extract_value(arr.strides, 0)
                return [builder.bitcast(builder.gep(base, [builder.mul(builder.add(first, ir.Constant(first.type, i)),
                                                                       stride)]), v16.as_pointer())
                        for i in range(n)]

            xs, ws = rows(xa, args[1], R), rows(wa, args[3], C)
            acc = [cgutils.alloca_once_value(builder, ir.Constant(v8, None)) for _ in range(R * C)]
            step = ir.Constant(K.type, LANES)
            with cgutils.for_range_slice(builder, ir.Constant(K.type, 0), builder.sdiv(K, step),
                                         ir.Constant(K.type, 1)) as (i, _):
                xv = [builder.load(builder.gep(p, [i]), align=2) for p in xs]
                wv = [builder.load(builder.gep(p, [i]), align=2) for p in ws]
                for r in range(R):
                    for c in range(C):
                        a = acc[r * C + c]
                        builder.store(builder.add(builder.load(a), builder.call(pmadd, [xv[r], wv[c]])), a)
            out = builder.bitcast(sa.data, ir.IntType(32).as_pointer())
            for j in range(R * C):
                builder.store(builder.call(total, [builder.load(acc[j])]), builder.gep(out, [ir.Constant(K.type, j)]))
            return context.get_dummy_value()

        return types.void(x, xr, w, wr, sums), codegen

    return block


def _plain_block(R: int, C: int):
    """The same sums by a plain loop (any CPU): the same integers."""

    @njit(**_opts)
    def block(x, xr, w, wr, sums):
        K = x.shape[1]
        for r in range(R):
            for c in range(C):
                a = np.int64(0)
                for k in range(K):
                    a += np.int32(x[xr + r, k]) * np.int32(w[wr + c, k])
                sums[r * C + c] = np.int32(a)

    return block


_block = _vector_block if AVX2 else _plain_block
_b43, _b26, _b1c, _b11 = _block(4, 3), _block(2, 6), _block(1, 12), _block(1, 1)


@njit(**_opts)
def qdot_add(x, w, acc):
    """acc[b, n] += sum_k x[b, k] * w[n, k]: (B, K) and (N, K) int16 (K a multiple of LANES; rows may be strided
    views), (B, N) int32. Four rows against three weight rows share each load, then two against six, one
    against twelve; the weight rows past those one at a time (the integers are the same any way)."""
    B = x.shape[0]
    N = w.shape[0]
    s = np.empty(12, np.int32)
    b = 0
    for R, C, block in ((4, 3, 0), (2, 6, 1), (1, 12, 2)):
        while B - b >= R:
            n = 0
            while n + C <= N:
                if block == 0:
                    _b43(x, b, w, n, s)
                elif block == 1:
                    _b26(x, b, w, n, s)
                else:
                    _b1c(x, b, w, n, s)
                for i in range(R):
                    for j in range(C):
                        acc[b + i, n + j] += s[i * C + j]
                n += C
            while n < N:
                for i in range(R):
                    _b11(x, b + i, w, n, s)
                    acc[b + i, n] += s[0]
                n += 1
            b += R


@njit(**_opts)
def quantize(x, xq, at):
    """xq[b, at + k] = x[b, k] * QX rounded (|x| <= 1)."""
    q = np.float32(QX)
    for b in range(x.shape[0]):
        for k in range(x.shape[1]):
            xq[b, at + k] = np.int16(np.rint(min(max(x[b, k], np.float32(-1)), np.float32(1)) * q))


@njit(**_opts)
def scaled_add(acc, inv, out):
    """out[b, n] += acc[b, n] / (QX * s[n])."""
    for b in range(acc.shape[0]):
        for n in range(acc.shape[1]):
            out[b, n] += np.float32(acc[b, n]) * inv[n]
