"""`cadenza bench pianoroll FILE.mat`: the Boulanger-Lewandowski piano-roll benchmark.

The file holds `traindata`, `validdata` and `testdata`, each a list of (frames, keys) 0/1 rolls (the
standard JSB Chorales, Nottingham, MuseData and Piano-midi.de splits; any file in that layout works).
Score: test negative log-likelihood in nats per frame, as the literature reports it: summed over the
keys of a frame, averaged over every test frame, each frame predicted from the frames before it, with
the checkpoint chosen on validation.

Serialisation (the `pianoroll` codec's, exact for a roll): each frame is written as its sounding keys in
ascending order, then an end-of-frame token. A model of that sequence gives the exact likelihood of a
frame as the product of its token probabilities, because ascending order makes the set-to-sequence map
one-to-one. The model is told that order: after key k only keys above k or end-of-frame may follow,
so no probability is spent on sequences that are not frames (a masked softmax, the same in training
and scoring).

Model ("frame-conditioned note-wise LSTM"): an LSTM stack over the token sequence whose input at each
step is the previous token, the previous frame as a key vector, the keys already placed in this frame
and the frame's position in a 16-frame cycle; its output layer also sees the previous frame and the
keys placed so far directly. Training applies a random transposition to each piece each epoch (pieces
that would leave the keyboard are kept in their own key); the test set is scored untransposed.
"""
from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass

import numpy as np

from ..errors import CadenzaError

CYCLE = 16  # frame position features: frame index modulo this


@dataclass
class BenchConfig:
    layers: int = 2
    units: int = 256
    embed: int = 32
    dropout: float = 0.3
    lr: float = 2e-3
    batch: int = 16
    window: int = 256  # training windows, in tokens
    transpose: int = 6  # random transposition in [-transpose, transpose] semitones
    max_minutes: float = 30.0
    max_epochs: int = 500
    patience: int = 20  # epochs without a better validation NLL
    halve_lr: bool = False  # halve the learning rate after an epoch that improves validation by under 0.5%
    seed: int = 1


def load_mat(path) -> dict[str, list[np.ndarray]]:
    """The three splits of a Boulanger-Lewandowski .mat file, as lists of (frames, keys) bool arrays."""
    import scipy.io

    try:
        mat = scipy.io.loadmat(str(path))
    except FileNotFoundError:
        raise CadenzaError(f"{path}: no such file") from None
    except Exception as e:  # noqa: BLE001 - scipy raises many kinds for a file that is not .mat
        raise CadenzaError(f"{path}: not a MATLAB .mat file ({e})") from None
    missing = [f"{part}data" for part in ("train", "valid", "test") if f"{part}data" not in mat]
    if missing:
        raise CadenzaError(f"{path}: has no {', '.join(missing)} (expected traindata, validdata and testdata, "
                           f"found {', '.join(k for k in mat if not k.startswith('__')) or 'nothing'})")
    splits = {}
    for part in ("train", "valid", "test"):
        key = part + "data"
        cells = np.asarray(mat[key], dtype=object).reshape(-1)
        rolls = []
        for i, cell in enumerate(cells):
            roll = np.asarray(cell)
            if roll.ndim != 2:
                raise CadenzaError(f"{path}: {key}[{i}] is not a (frames, keys) roll (shape {roll.shape})")
            rolls.append(roll > 0)
        if not rolls:
            raise CadenzaError(f"{path}: {key} is empty")
        splits[part] = rolls
    widths = {r.shape[1] for rolls in splits.values() for r in rolls}
    if len(widths) != 1:
        raise CadenzaError(f"{path}: rolls have different numbers of keys: {sorted(widths)}")
    return splits


def serialise(roll: np.ndarray, shift: int = 0):
    """Model inputs and targets for one roll (optionally transposed by `shift` keys).

    Returns (prev_token, floor, prev_frame, placed, phase, target), one row per token:
    prev_token is the token before (keys 0..K-1, end-of-frame K, start K+1), floor the highest key
    already placed in this frame (-1 for none), prev_frame and placed (K,) key vectors.
    """
    roll = np.asarray(roll, bool)
    if shift:
        roll = np.roll(roll, shift, axis=1)
    frames, keys = roll.shape
    counts = roll.sum(axis=1)
    _, k = np.nonzero(roll)
    n = len(k) + frames
    target = np.empty(n, np.int32)
    ends = np.cumsum(counts + 1) - 1
    is_end = np.zeros(n, bool)
    is_end[ends] = True
    target[is_end] = keys
    target[~is_end] = k
    prev = np.empty(n, np.int32)
    prev[0] = keys + 1
    prev[1:] = target[:-1]
    floor = np.where(prev < keys, prev, -1).astype(np.int32)
    frame = np.repeat(np.arange(frames), counts + 1)
    padded = np.vstack([np.zeros((1, keys), bool), roll])
    prev_frame = padded[frame]
    placed = roll[frame] & (np.arange(keys)[None, :] <= floor[:, None])
    return prev, floor, prev_frame, placed, (frame % CYCLE).astype(np.int32), target


def _fits(roll: np.ndarray, shift: int) -> bool:
    if shift == 0:
        return True
    cols = np.flatnonzero(roll.any(axis=0))
    if not len(cols):
        return True
    return cols.min() + shift >= 0 and cols.max() + shift < roll.shape[1]


def _batches(rolls, cfg: BenchConfig, rng: np.random.Generator, train: bool):
    """Fixed-length windows of serialised pieces, with a weight of 0 on padding."""
    keys = rolls[0].shape[1]
    pieces = []
    for roll in rolls:
        shift = 0
        if train and cfg.transpose:
            shift = int(rng.integers(-cfg.transpose, cfg.transpose + 1))
            if not _fits(roll, shift):
                shift = 0
        pieces.append(serialise(roll, shift))
    windows = []
    for piece in pieces:
        n = len(piece[0])
        offset = int(rng.integers(1, cfg.window)) if train and n > cfg.window else cfg.window
        bounds = [0] + list(range(offset, n, cfg.window)) + [n]  # random cuts while training
        for a, b in zip(bounds[:-1], bounds[1:]):
            windows.append((piece, a, b))
    if train:
        rng.shuffle(windows)
    for i in range(0, len(windows), cfg.batch):
        yield pad(windows[i:i + cfg.batch], cfg.window, keys)


INPUTS = ("prev", "floor", "prev_frame", "placed", "phase")


def pad(group, width: int, keys: int):
    """(inputs, target, weight) for slices (serialised piece, start, end), padded to `width` tokens; weight 0
    marks the padding."""
    B = len(group)
    x = {"prev": np.full((B, width), keys + 1, np.int32), "floor": np.full((B, width), -1, np.int32),
         "prev_frame": np.zeros((B, width, keys), np.float32), "placed": np.zeros((B, width, keys), np.float32),
         "phase": np.zeros((B, width), np.int32)}
    target = np.full((B, width), keys, np.int32)
    weight = np.zeros((B, width), np.float32)
    for j, (piece, a, b) in enumerate(group):
        m = b - a
        for name, arr in zip(INPUTS, piece[:5]):
            x[name][j, :m] = arr[a:b]
        target[j, :m] = piece[5][a:b]
        weight[j, :m] = 1
    return x, target, weight


def _order_mask():
    import keras
    from keras import ops

    class OrderMask(keras.layers.Layer):
        """Logits of keys at or below the highest key already placed in the frame become -1e9."""

        def call(self, logits, floor):
            allowed = ops.arange(ops.shape(logits)[-1])[None, None, :] > ops.expand_dims(floor, -1)
            return ops.where(allowed, logits, ops.full_like(logits, -1e9))

    return OrderMask(name="ascending")


def build_model(keys: int, cfg: BenchConfig):
    import keras

    vocab = keys + 2  # keys, end-of-frame, start
    prev = keras.Input((None,), dtype="int32", name="prev")
    floor = keras.Input((None,), dtype="int32", name="floor")
    pf = keras.Input((None, keys), name="prev_frame")
    pl = keras.Input((None, keys), name="placed")
    phase = keras.Input((None,), dtype="int32", name="phase")
    x = keras.layers.Concatenate()([keras.layers.Embedding(vocab, cfg.embed)(prev), pf, pl,
                                    keras.layers.Embedding(CYCLE, 8)(phase)])
    for i in range(cfg.layers):
        x = keras.layers.LSTM(cfg.units, return_sequences=True, name=f"lstm_{i}")(x)
        x = keras.layers.Dropout(cfg.dropout)(x)
    x = keras.layers.Concatenate()([x, pf, pl])
    logits = keras.layers.Dense(keys + 1, name="logits")(x)
    masked = _order_mask()(logits, floor)
    return keras.Model({"prev": prev, "floor": floor, "prev_frame": pf, "placed": pl, "phase": phase}, masked)


def _dataset(rolls, cfg, seed, train):
    import tensorflow as tf

    keys = rolls[0].shape[1]
    W = cfg.window
    spec = ({"prev": tf.TensorSpec((None, W), tf.int32), "floor": tf.TensorSpec((None, W), tf.int32),
             "prev_frame": tf.TensorSpec((None, W, keys), tf.float32),
             "placed": tf.TensorSpec((None, W, keys), tf.float32),
             "phase": tf.TensorSpec((None, W), tf.int32)},
            tf.TensorSpec((None, W), tf.int32), tf.TensorSpec((None, W), tf.float32))
    state = {"epoch": 0}

    def gen():
        rng = np.random.default_rng([seed, state["epoch"]])
        state["epoch"] += 1
        yield from _batches(rolls, cfg, rng, train)

    return tf.data.Dataset.from_generator(gen, output_signature=spec).prefetch(4)


def scorer(model):
    """A compiled function: summed NLL in nats of padded whole pieces."""
    import tensorflow as tf

    keys = model.inputs[2].shape[-1]
    spec = {"prev": tf.TensorSpec((None, None), tf.int32), "floor": tf.TensorSpec((None, None), tf.int32),
            "prev_frame": tf.TensorSpec((None, None, keys), tf.float32),
            "placed": tf.TensorSpec((None, None, keys), tf.float32),
            "phase": tf.TensorSpec((None, None), tf.int32)}

    @tf.function(input_signature=[spec, tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None))])
    def score(x, target, weight):
        logp = tf.nn.log_softmax(model(x, training=False), axis=-1)
        picked = tf.gather(logp, target, batch_dims=2)
        return -tf.reduce_sum(picked * weight)

    return score


def nll_per_frame(score, rolls) -> tuple[float, int]:
    """Total NLL in nats divided by the number of frames, every frame given all frames before it."""
    total, frames = 0.0, 0
    # whole pieces, one padded batch per group of similar lengths: no window cuts while scoring
    order = sorted(range(len(rolls)), key=lambda i: len(rolls[i]))
    keys = rolls[0].shape[1]
    for i in range(0, len(order), 16):
        group = [serialise(rolls[j]) for j in order[i:i + 16]]
        x, target, weight = pad([(g, 0, len(g[0])) for g in group], max(len(g[0]) for g in group), keys)
        total += float(score(x, target, weight))
        frames += int(sum(len(rolls[j]) for j in order[i:i + 16]))
    return total / frames, frames


def run(path, cfg: BenchConfig | None = None, progress=print) -> dict:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    cfg = cfg or BenchConfig()
    splits = load_mat(path)
    keys = splits["train"][0].shape[1]
    keras.utils.set_random_seed(cfg.seed)
    model = build_model(keys, cfg)
    model.compile(optimizer=keras.optimizers.Adam(cfg.lr, clipnorm=1.0),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=False)
    score = scorer(model)
    train_frames = sum(len(r) for r in splits["train"])
    train_tokens = sum(int(r.sum()) + len(r) for r in splits["train"])
    ds = _dataset(splits["train"], cfg, cfg.seed, train=True)
    best, best_epoch, best_weights, history = math.inf, -1, None, []
    t0 = time.time()
    epoch = 0
    for epoch in range(cfg.max_epochs):
        model.fit(ds, epochs=1, verbose=0)
        val, _ = nll_per_frame(score, splits["valid"])
        elapsed = time.time() - t0
        history.append({"epoch": epoch + 1, "valid_nats_per_frame": round(val, 4), "minutes": round(elapsed / 60, 2)})
        mark = ""
        if cfg.halve_lr and val > best * 0.995:
            lr = float(model.optimizer.learning_rate.numpy()) / 2
            if lr >= cfg.lr / 64:
                model.optimizer.learning_rate.assign(lr)
                mark = f" (learning rate now {lr:.2g})"
        if val < best:
            best, best_epoch, best_weights, mark = val, epoch + 1, model.get_weights(), " *" + mark
        progress(f"epoch {epoch + 1:3d}  valid {val:.4f} nats/frame  best {best:.4f} (epoch {best_epoch})"
                 f"  {elapsed / 60:5.1f} min{mark}")
        if elapsed > cfg.max_minutes * 60 or epoch + 1 - best_epoch >= cfg.patience:
            break
    model.set_weights(best_weights)
    test, test_frames = nll_per_frame(score, splits["test"])
    valid, valid_frames = nll_per_frame(score, splits["valid"])
    import platform

    return {
        "file": str(path),
        "keys": keys,
        "pieces": {k: len(v) for k, v in splits.items()},
        "frames": {"train": train_frames, "valid": valid_frames, "test": test_frames},
        "train_tokens": train_tokens,
        "test_nats_per_frame": round(test, 4),
        "valid_nats_per_frame": round(valid, 4),
        "best_epoch": best_epoch,
        "epochs_run": epoch + 1,
        "minutes": round((time.time() - t0) / 60, 1),
        "parameters": int(model.count_params()),
        "config": asdict(cfg),
        "serialisation": "each frame: its keys ascending, then end-of-frame; masked to ascending order",
        "model": "frame-conditioned note-wise LSTM (see bridge/bench/pianoroll.py)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "tensorflow": tf.__version__,
        "history": history,
    }


PUBLISHED = [("LSTM (Bai et al. 2018)", 8.45, 3.29), ("TCN (Bai et al. 2018)", 8.10, 3.07),
             ("RNN-NADE (Boulanger-Lewandowski et al. 2012)", 5.56, 2.31)]


def table(r: dict) -> str:
    lines = [f"{r['file']}: {r['pieces']['train']}/{r['pieces']['valid']}/{r['pieces']['test']} pieces "
             f"(train/valid/test), {r['frames']['test']} test frames, {r['keys']} keys",
             f"model: {r['model']}, {r['parameters']:,} parameters; "
             f"{r['epochs_run']} epochs in {r['minutes']} min, checkpoint of epoch {r['best_epoch']} (best on valid)",
             "",
             f"  {'':48s} {'test nats/frame':>16s}",
             f"  {'Cadenza':48s} {r['test_nats_per_frame']:16.3f}   (valid {r['valid_nats_per_frame']:.3f})"]
    name = str(r["file"]).lower()
    col = 1 if "jsb" in name else 2 if "nottingham" in name else None
    if col:
        for row in PUBLISHED:
            lines.append(f"  {row[0]:48s} {row[col]:16.2f}")
    return "\n".join(lines)


def main(file, out=None, **settings) -> dict:
    """`cadenza bench pianoroll`: the flags given (others keep BenchConfig's defaults); progress on stderr,
    the report also written to `out`."""
    import json
    import sys

    from pathlib import Path

    from ..music.atomic import atomic_write_text

    cfg = BenchConfig(**{k: v for k, v in settings.items() if v is not None})
    r = run(file, cfg, progress=lambda line: print(line, file=sys.stderr, flush=True))
    if out:
        atomic_write_text(Path(out), json.dumps(r, indent=1))
    return r
