"""The compiled steppers compute what the trained Keras models compute, position by position."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bridge import nets
from bridge.codecs import get_codec
from bridge.store import LoadedModel

# the lstm and rnn steppers' products are 16-bit integers' (bridge/generation/int16.py): their logits are Keras'
# within 4e-3 (a wrong gate, layer or weight is off by tenths; an untrained 2-layer RNN's 40 steps, its weights drawn
# anew each run, reached 2.004e-3 once in ~20 runs)
INT16 = dict(rtol=0, atol=4e-3)


def loaded(arch, codec, **args):
    size = codec.field_sizes if arch == "attention_lstm" else codec.vocab_size
    model = nets.build(arch, size, codec=codec, **args)
    meta = {"arch": {"name": arch, "args": args}, "codec": codec.describe()}
    return LoadedModel(name="t", folder=Path("."), meta=meta, keras=model, codec=codec)


@pytest.mark.parametrize("arch, layers", [("lstm", 1), ("lstm", 3), ("rnn", 2)])
def test_recurrent_stepper_matches_the_model(arch, layers):
    from bridge.generation import Generator

    lm = loaded(arch, get_codec("notewise"), layers=layers, units=24, embed=8, dropout=0.0)
    ids = np.random.default_rng(1).integers(0, 225, (1, 40)).astype(np.int32)
    want = lm.model.predict(ids, verbose=0)[0]
    gen = Generator(lm)
    state = gen.new_state(1)
    for t in range(ids.shape[1]):
        logits = gen.step(ids[:, t], state)
        np.testing.assert_allclose(logits[0], want[t], **INT16)
    logits, _ = gen.prime(ids[0])
    np.testing.assert_allclose(logits[0], want[-1], **INT16)


def test_the_products_of_every_batch_shape_equal_numpy():
    """The kernel's product takes rows four (three as four), two or one at a time against two, four or eight weight
    rows, the rest one at a time: every shape, every remainder, gives numpy's product."""
    from bridge.generation import kernels

    rng = np.random.default_rng(5)
    shapes = [(1, 7, 1), (1, 33, 6), (3, 16, 9), (4, 5, 3), (5, 40, 10), (8, 64, 388), (9, 3, 2)]
    for B, K, N in shapes + [(B, 24, N) for B in range(1, 12) for N in (1, 2, 3, 4, 5, 7)]:
        x = rng.standard_normal((B, K)).astype(np.float32)
        wt = rng.standard_normal((N, K)).astype(np.float32)
        out = rng.standard_normal((B, N)).astype(np.float32)
        want = out + x @ wt.T
        kernels.matmul_add(x, wt, out)
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-4)


def test_a_rows_products_are_the_same_bits_in_any_batch():
    """A request's music may not depend on who else is in its batch: each row's products are the same numbers,
    to the last bit, alone and at every place of a batch of 2-11 rows (the shapes of a 2x256 LSTM's step and its
    output layer, and small odd ones)."""
    from bridge.generation import kernels

    rng = np.random.default_rng(9)
    for N, K in [(1024, 512), (1024, 256), (389, 256), (9, 24), (7, 5), (17, 40)]:
        wt = rng.standard_normal((N, K)).astype(np.float32)
        x = rng.standard_normal((11, K)).astype(np.float32)
        alone = []
        for r in range(11):
            out = np.zeros((1, N), np.float32)
            kernels.matmul_add(x[r:r + 1].copy(), wt, out)
            alone.append(out[0])
        for B in range(2, 12):
            for first in (0, 11 - B):
                out = np.zeros((B, N), np.float32)
                kernels.matmul_add(x[first:first + B].copy(), wt, out)
                for r in range(B):
                    assert np.array_equal(out[r], alone[first + r]), (N, K, B, first, r)


def test_the_int16_products_are_exact_sums_in_every_batch_shape():
    """The lstm and rnn steppers' products: the int32 sums are numpy's, exactly, for every batch shape and
    remainder and for strided halves of a weight matrix (what priming reads); the plain loop that other CPUs
    run gives the same integers as the vector blocks; and no weight row can overflow, whatever the state."""
    from bridge.generation import int16

    rng = np.random.default_rng(7)
    for N, K in [(1024, 512), (389, 256), (9, 32), (7, 16), (13, 48)]:
        w = (rng.standard_normal((N, K)) * rng.uniform(0.01, 3.0, (N, 1))).astype(np.float32)
        wq, inv = int16.quantize_rows(w)
        q = int(int16.QX)  # the largest state integer (|x| <= 1)
        total = np.abs(wq.astype(np.int64)).sum(1) * q
        assert total.max() < 2 ** 31 and np.abs(wq).max() <= 32767
        for B in range(1, 12):
            xq = rng.integers(-q, q + 1, (B, wq.shape[1])).astype(np.int16)
            acc = rng.integers(-1000, 1000, (B, N)).astype(np.int32)
            want = acc + xq.astype(np.int64) @ wq.astype(np.int64).T
            int16.qdot_add(xq, int16.pack(wq), 0, acc)
            assert np.array_equal(acc, want), (N, K, B)
        worst = np.where(wq >= 0, q, -q).astype(np.int16)  # every product of a row the same sign, the largest
        acc = np.zeros((N, N), np.int32)
        int16.qdot_add(worst, int16.pack(wq), 0, acc)
        assert np.array_equal(np.diag(acc), (worst.astype(np.int64) * wq).sum(1))
        out = np.zeros((3, N), np.float32)
        x = rng.uniform(-1, 1, (3, K)).astype(np.float32)
        xq = np.zeros((3, wq.shape[1]), np.int16)  # the state as integers, summed, scaled back: advance's way
        int16.quantize(x, xq, 0)
        acc = np.zeros((3, N), np.int32)
        int16.qdot_add(xq, int16.pack(wq), 0, acc)
        int16.scaled_add(acc, inv, out)
        np.testing.assert_allclose(out, x @ w.T, rtol=0, atol=3e-4 * np.abs(w).sum(1).max())
    halves, _ = int16.quantize_rows(rng.standard_normal((40, 2 * 24)), parts=2)  # 24 -> 32 a half
    xq = rng.integers(-4096, 4097, (5, 32)).astype(np.int16)
    for k0 in (0, 32):  # a half of the columns alone (what priming reads; the plain loop's: the blocks below)
        acc = np.zeros((5, 40), np.int32)
        int16.qdot_add(xq, int16.pack(halves), k0, acc)
        assert np.array_equal(acc, xq.astype(np.int64) @ halves[:, k0:k0 + 32].astype(np.int64).T), k0
    x = rng.integers(-32767, 32768, (6, 48)).astype(np.int16)  # (the largest int16s: sums wrap alike)
    q = rng.integers(-32767, 32768, (85, 64)).astype(np.int16)  # 11 groups, the last one short; from column 16
    sums = rng.integers(-1000, 1000, (8, 5, 64)).astype(np.int32)
    start = sums.copy()
    shapes = list(int16.BLOCKS) + [(R, 1) for R, _ in int16.BLOCKS]
    for i, (R, C) in enumerate(shapes):  # each block of qdot_add (vector instructions on AVX2, else the plain loop)
        ar, ac = (0, 0) if i < 4 else (1, 8)
        int16._rows(x, 1, int16.pack(q), 2, 16, sums[i], ar, ac, R, C)
        plain = start[i].copy()
        int16._plain_sums(x, 1, int16.pack(q, vector=False), 2, 16, plain, ar, ac, R, C)
        assert np.array_equal(plain, sums[i]), (R, C)
        assert not np.array_equal(sums[i], start[i]) and np.array_equal(np.delete(sums[i], np.s_[ar:ar + R], 0),
                                                                      np.delete(start[i], np.s_[ar:ar + R], 0))


def test_a_cpu_without_avx2_sums_the_same_integers(tmp_path):
    """Where numba compiles for a CPU without AVX2 (here: its generic x86-64 target), the products are the plain
    loop's, and they are the vector instructions' integers: the same music on any machine."""
    import os
    import subprocess
    import sys

    from bridge.generation import int16

    code = ("import numpy as np; from bridge.generation import int16 as Q; rng = np.random.default_rng(3); "
            "w = rng.integers(-3000, 3000, (37, 64)).astype(np.int16); x = rng.integers(-4096, 4097, (7, 64))"
            ".astype(np.int16); acc = np.zeros((7, 37), np.int32); Q.qdot_add(x, Q.pack(w), 0, acc); "
            "print(Q.AVX2, acc.tobytes().hex())")
    env = {**os.environ, "NUMBA_CPU_NAME": "generic", "NUMBA_CACHE_DIR": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300,
                         cwd=str(Path(__file__).resolve().parents[2]))
    assert out.returncode == 0, out.stderr[-2000:]
    flag, sums = out.stdout.split()
    rng = np.random.default_rng(3)
    w = rng.integers(-3000, 3000, (37, 64)).astype(np.int16)
    x = rng.integers(-4096, 4097, (7, 64)).astype(np.int16)
    acc = np.zeros((7, 37), np.int32)
    int16.qdot_add(x, int16.pack(w), 0, acc)
    assert flag == "False" and sums == acc.tobytes().hex()
    assert np.array_equal(acc, x.astype(np.int64) @ w.astype(np.int64).T)


def test_priming_reaches_the_state_stepping_reaches_to_the_last_bit():
    """prime() reads a layer at a time (the input products of every token at once), advance() a token at a
    time: the same integers summed, so the same state and logits, bit for bit; for a model that reads the
    sounding pitches too, whose sum stepping keeps by the pitches that change and priming sums again."""
    from bridge.generation import Generator, kernels

    for arch, layers, codec, state_too in [("lstm", 2, "notewise", False), ("lstm", 3, "notewise", False),
                                          ("rnn", 2, "notewise", False), ("lstm", 2, "performance", True)]:
        c = get_codec(codec)
        extra = {"note_state": True} if state_too else {}
        lm = loaded(arch, c, layers=layers, units=40, embed=8, dropout=0.0, **extra)
        gen = Generator(lm)
        ids = np.random.default_rng(4).integers(0, c.vocab_size, 300).astype(np.int32)
        state = gen.new_state(1)
        S = kernels.scratch(gen.W, 1)  # kept from token to token, as the loop keeps it
        z = np.empty((1, gen.W[0].shape[1]), np.float32)
        logits = np.empty((1, gen.vocab), np.float32)
        counts = np.zeros(128)
        for t in ids:
            counts[gen.on_pitch[t]] += gen.on_pitch[t] >= 0
            counts[gen.off_pitch[t]] -= gen.off_pitch[t] >= 0
            state["sounding"][0] = counts > 0.5
            kernels.advance(np.array([t], np.int32), state["sounding"], state["h"], state["c"], z, S, gen.W,
                            gen.is_lstm, gen.note_state)
            kernels.project(state["h"][-1], gen.W, logits, S)
        assert gen.note_state == state_too
        if state_too:  # the kept sum is the sum of the rows of the pitches sounding now, exactly
            assert S[2].any() and np.array_equal(S[2][0], state["sounding"][0])
            assert np.array_equal(S[1][0], gen.W[13][state["sounding"][0]].astype(np.int64).sum(0))
        primed, st = gen.prime(ids)
        assert np.array_equal(primed, logits) and np.array_equal(st["h"], state["h"]), (arch, layers, codec)


def test_messages_stepper_matches_the_model():
    from bridge.generation.messages_runner import MessagesGenerator

    codec = get_codec("messages")
    lm = loaded("attention_lstm", codec, units=24, embed=8, model_dim=16, heads=2, attention_units=8, window=5,
                dropout=0.0)
    rng = np.random.default_rng(2)
    T = 12
    msgs = np.stack([rng.integers(0, 88, T), rng.integers(0, 2, T), rng.integers(0, 721, T)], -1)[None].astype(np.int32)
    cond = np.stack([msgs[..., 1], msgs[..., 2]], -1)  # any values: each head is checked given them
    on, delta, pitch = lm.model.predict({"ids": msgs, "cond": cond}, verbose=0)
    gen = MessagesGenerator(lm)
    state = gen.new_state(1)
    for t in range(T):  # past the window, so the rings wrap
        pre = gen.step(msgs[:, t], state)
        got = gen.head_logits(pre, cond[:, t, 0], cond[:, t, 1])
        for g, want in zip(got, (on, delta, pitch)):
            np.testing.assert_allclose(g[0], want[0, t], rtol=1e-4, atol=1e-4)


def test_attention_lstm_loads_in_safe_mode(tmp_path):
    import keras

    lm = loaded("attention_lstm", get_codec("messages"), units=16, embed=8, model_dim=16, heads=2, attention_units=8,
                window=4)
    lm.model.save(tmp_path / "m.keras")
    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    x = {"ids": np.zeros((1, 6, 3), np.int32), "cond": np.ones((1, 6, 2), np.int32)}
    for a, b in zip(again.predict(x, verbose=0), lm.model.predict(x, verbose=0)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("codec_name", ["performance", "notewise"])
def test_note_state_stepper_matches_the_model(codec_name):
    """The lstm that also reads the sounding pitches: the compiled step, fed the pitches it tracks
    itself, gives the Keras model's logits, which count the notes from the ids."""
    from bridge.generation import Generator

    codec = get_codec(codec_name)
    lm = loaded("lstm", codec, layers=2, units=24, embed=8, dropout=0.0, note_state=True)
    w = lm.model.get_layer("lstm_0").get_weights()
    w[0] = np.random.default_rng(3).normal(0, 0.5, w[0].shape).astype(np.float32)  # make the notes matter
    lm.model.get_layer("lstm_0").set_weights(w)
    notes = [i for i, k, _ in codec.pitch_tokens()]
    rng = np.random.default_rng(2)
    ids = rng.choice(notes + list(range(len(notes), codec.vocab_size)), (1, 60)).astype(np.int32)
    want = lm.model.predict([ids, np.zeros((1, 128), np.float32)], verbose=0)[0]
    zero = lm.model.predict([ids, np.zeros((1, 128), np.float32)], verbose=0)[0]
    gen = Generator(lm)
    state = gen.new_state(1)
    counts = np.zeros(128)
    for t in range(ids.shape[1]):
        tok = ids[0, t]
        counts[gen.on_pitch[tok]] += gen.on_pitch[tok] >= 0
        counts[gen.off_pitch[tok]] -= gen.off_pitch[tok] >= 0
        state["sounding"][0] = counts > 0.5
        logits = gen.step(ids[:, t], state)
        np.testing.assert_allclose(logits[0], want[t], **INT16)
    # and what is sounding changes the prediction: the same ids with notes held before them
    held = lm.model.predict([ids, np.ones((1, 128), np.float32)], verbose=0)[0]
    assert np.abs(held - zero).max() > 1e-3
    logits, _ = gen.prime(ids[0])
    np.testing.assert_allclose(logits[0], want[-1], **INT16)
    logits, _ = gen.prime(ids[0], held=np.ones(128))
    np.testing.assert_allclose(logits[0], held[-1], **INT16)
