"""Training data for the three-headed model: windows of (pitch, on/off, delta) messages.

The targets are the next message's on/off, delta and pitch, one head each; the model is fed the
true on/off and delta of the message it predicts (`cond`), so its three losses add up to the exact
negative log-likelihood of a message. Transposition shifts the pitch field, in the graph.

Baselines, on the same validation messages: the product of per-field unigrams, and of per-field
bigrams p(on | previous on) p(delta | previous delta) p(pitch | previous pitch), add-one smoothed.
"""
from __future__ import annotations

import numpy as np

from ..errors import CadenzaError


def field_baselines(train: list[np.ndarray], valid: list[np.ndarray], sizes) -> dict:
    uni_bits = bi_bits = 0.0
    n = sum(len(v) for v in valid)
    for f, size in enumerate(sizes):
        uni = np.ones(size)
        bi = np.ones((size, size))
        for s in train:
            x = s[:, f].astype(np.int64)
            np.add.at(uni, x, 1)
            np.add.at(bi, (np.concatenate([[0], x[:-1]]), x), 1)
        uni /= uni.sum()
        bi /= bi.sum(axis=1, keepdims=True)
        for s in valid:
            x = s[:, f].astype(np.int64)
            uni_bits += -np.log2(uni[x]).sum()
            bi_bits += -np.log2(bi[np.concatenate([[0], x[:-1]]), x]).sum()
    return {"unigram_bits_per_token": uni_bits / n, "bigram_bits_per_token": bi_bits / n}


def messages_data(cfg, codec, train_seqs, valid_seqs):
    import keras
    import tensorflow as tf

    from .data import Data

    L = cfg.seq_len
    stream = np.concatenate([s.astype(np.int32).reshape(-1, 3) for s in train_seqs])
    if len(stream) < L + 2:
        raise CadenzaError(f"the training files hold {len(stream)} messages: fewer than one window of {L}")
    n_pitch = codec.field_sizes[0]
    k = int(cfg.transpose)
    tokens = tf.constant(stream)
    n_starts = len(stream) - L - 1

    def split(w):
        x, y = w[:-1], w[1:]
        return {"ids": x, "cond": tf.stack([y[:, 1], y[:, 2]], axis=-1)}, (y[:, 1], y[:, 2], y[:, 0])

    def window(r):
        start = tf.cast(r % n_starts, tf.int32)
        w = tokens[start:start + L + 1]
        if k:
            shift = tf.cast((r // n_starts) % (2 * k + 1), tf.int32) - k
            pitch = w[:, 0] + shift
            ok = tf.reduce_all((pitch >= 0) & (pitch < n_pitch))
            w = tf.where(ok, tf.concat([pitch[:, None], w[:, 1:]], axis=1), w)
        return split(w)

    ds = (tf.data.Dataset.random(seed=cfg.seed).map(window, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
          .batch(cfg.batch, drop_remainder=True).prefetch(tf.data.AUTOTUNE))
    vstream = np.concatenate([s.astype(np.int32).reshape(-1, 3) for s in valid_seqs])
    n = (len(vstream) - 1) // L
    if n < 1:
        raise CadenzaError(f"the validation files hold {len(vstream)} messages: fewer than one window of {L}")
    wins = np.stack([vstream[i * L:i * L + L + 1] for i in range(n)])

    def batches(w):
        x, y = w[:, :-1], w[:, 1:]
        inputs = {"ids": x, "cond": np.stack([y[..., 1], y[..., 2]], axis=-1)}
        return tf.data.Dataset.from_tensor_slices((inputs, (y[..., 1], y[..., 2], y[..., 0]))).batch(cfg.batch).cache()

    pick = np.linspace(0, n - 1, min(n, cfg.val_windows)).astype(int)
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    beats = float(sum(codec.beats_of(s) for s in train_seqs))
    return Data(ds, batches(wins[pick]), batches(wins), n * L, codec.field_sizes, [ce, ce, ce],
                field_baselines(train_seqs, valid_seqs, codec.field_sizes), int(len(stream)),
                len(stream) / beats if beats else None)
