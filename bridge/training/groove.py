"""`cadenza train-groove`: the groove model (bridge/nets/groovae.py) on the Groove MIDI Dataset.

Data: every 4/4 file of the corpus's own split (info.csv: train for training, validation for the
figures; the test files are not here and never used), cut into 2-bar windows (32 steps) a bar apart,
each step as hits, velocities and offsets of the nine drum classes (bridge/codecs/drums.py `grid`).
Windows with fewer than 4 hits are left out. With styles (the default), every step also carries the file's
style (info.csv; not said in `--style-drop` of the windows) and its tempo (off by `--tempo-jitter`: style and
exact tempo together name a file, and a model told both learned the files by heart). Each training example is one of three tasks, drawn at
random (groove 40%, drumify 30%, the beat itself 30%), made from the same real window by a simple
transformation:

    groove    the window quantised: its hits, no velocities, no offsets        -> the real window
    drumify   its tapped rhythm: a hit on every step where any drum is struck   -> the real window
    beat      the real window                                                   -> itself

The decoder reads the steps both ways (`--arg dec_bidi=false`: forward only, as the models before session 18):
every step's hits, velocities and offsets hear the whole pattern, what comes after them too.

Loss: binary cross-entropy of the hits, squared error of velocities and offsets where the real
window has a hit (x5; with `--error absolute` their absolute error, x1: the model then learns each one's
median, the value with the least absolute error, where the squared error teaches the mean), and beta x the KL divergence of z from N(0, 1) beyond `free_bits` nats (as
GrooVAE: without them z collapsed here, KL 0.4 nats, and the beat task reconstructed its own beat at F1
0.53, too little for interpolation to mean anything). `--dropout` drops a share of the encoder's summary and
of the decoder's outputs while training (the saved graph has no dropout: the model plays the same). Adam; the weights with the best
validation loss are kept; `--max-minutes` bounds the run.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from ..errors import CadenzaError
from ..codecs.drums import STYLES, groove_features as features  # noqa: F401 - STYLES: styles_of
from .config import GrooveConfig  # noqa: F401 - the settings (and flags) of `cadenza train-groove`
from .data import EarlyStop

C = 9
TASKS = ("groove", "drumify", "beat")
TASK_SHARE = (0.4, 0.3, 0.3)


def styles_of(folder: Path) -> dict[Path, int]:
    """Each file's style (an index in STYLES: info.csv's style before "/"; -1 for one not in STYLES)."""
    import csv

    out = {}
    with (folder / "info.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            name = row.get("style", "").split("/")[0]
            out[folder / row["midi_filename"]] = STYLES.index(name) if name in STYLES else -1
    return out


def _files(folder: Path, max_files: int = 0) -> dict[str, list[Path]]:
    """The corpus's own split of its 4/4 files: {"train": [...], "validation": [...]}."""
    import csv

    info = folder / "info.csv"
    if not info.is_file():
        raise CadenzaError(f"{folder}: no info.csv (the groove model trains on the Groove MIDI Dataset's own split)")
    out: dict[str, list[Path]] = {"train": [], "validation": []}
    with info.open(newline="") as f:
        for row in csv.DictReader(f):
            path = folder / row["midi_filename"]
            if row.get("split") in out and row.get("time_signature", "4-4") == "4-4" and path.is_file():
                out[row["split"]].append(path)
    for k in out:
        out[k] = sorted(out[k])[:max_files or None]
        if not out[k]:
            raise CadenzaError(f"{folder}: no {k} files in its info.csv")
    return out


def windows(paths, steps: int = 32, hop: int = 16, min_hits: int = 4, styles: dict | None = None):
    """(hits, velocities, offsets) each (N, steps, 9), the tempo (qpm) of each window's file, and its style
    (an index in STYLES, -1 where not known; `styles`: a file's, from styles_of)."""
    from ..codecs.drums import grid
    from ..music import load_score

    H, V, O, Q, S = [], [], [], [], []
    for p in paths:
        try:
            score = load_score(p)
        except Exception:  # noqa: BLE001 - an unreadable file is left out
            continue
        h, v, o = grid(score)
        for a in range(0, max(0, len(h) - steps + 1), hop):
            if h[a:a + steps].sum() >= min_hits:
                H.append(h[a:a + steps])
                V.append(v[a:a + steps])
                O.append(o[a:a + steps])
                Q.append(score.qpm)
                S.append((styles or {}).get(p, -1))
    if not H:
        return (np.zeros((0, steps, C), np.float32),) * 3 + (np.zeros(0), np.zeros(0, np.int64))
    return np.stack(H), np.stack(V), np.stack(O), np.array(Q), np.array(S, np.int64)


def tap(hits: np.ndarray) -> np.ndarray:
    """(..., S, 9) hits -> (..., S) the tapped rhythm: 1 where any drum is struck."""
    return (hits.max(-1) > 0.5).astype(np.float32)


def make_examples(h, v, o, tasks: np.ndarray, style=None, qpm=None):
    """(source, condition, target) for each window and its task (0 groove, 1 drumify, 2 beat); with `style`
    and `qpm` (each (N,)), every step also carries them (a model built with `styles`)."""
    zeros = np.zeros_like(h)
    width = 3 * C + 4 + (len(STYLES) + 1 if style is not None else 0)
    src = np.empty(h.shape[:2] + (width,), np.float32)
    cond = np.empty_like(src)
    for t in range(3):
        m = tasks == t
        if not m.any():
            continue
        sq = {} if style is None else {"style": np.asarray(style)[m], "qpm": np.asarray(qpm)[m]}
        if t == 0:  # quantised: hits only
            f = features(h[m], zeros[m], zeros[m], np.zeros(h[m].shape[:2], np.float32), 0, **sq)
            src[m], cond[m] = f, f
        elif t == 1:  # the tapped rhythm
            f = features(zeros[m], zeros[m], zeros[m], tap(h[m]), 1, **sq)
            src[m], cond[m] = f, f
        else:  # the beat itself; the decoder is told only the task (and the style and tempo)
            src[m] = features(h[m], v[m], o[m], np.zeros(h[m].shape[:2], np.float32), 2, **sq)
            cond[m] = features(zeros[m], zeros[m], zeros[m], np.zeros(h[m].shape[:2], np.float32), 2, **sq)
    target = np.concatenate([h, v, 2 * o], -1).astype(np.float32)
    return src, cond, target


def train_groove(cfg: GrooveConfig) -> Path:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import tensorflow as tf

    from .. import nets

    folder = Path(cfg.data)
    files = _files(folder, cfg.max_files)
    t0 = time.time()
    styles = styles_of(folder) if cfg.styles else None
    train = windows(files["train"], styles=styles)
    valid = windows(files["validation"], styles=styles)
    if not len(train[0]) or not len(valid[0]):
        raise CadenzaError("no 2-bar windows with drums in the training or validation files")
    if cfg.verbose:
        print(f"{len(train[0])} training and {len(valid[0])} validation windows ({time.time() - t0:.0f} s)")
    keras.utils.set_random_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    args = {**nets.defaults("groovae"), "dec_bidi": True, **({"styles": len(STYLES)} if cfg.styles else {}),
            **cfg.args}
    model = nets.build("groovae", None, **args)
    base_meta = _start_from(model, cfg.init) if cfg.init else None
    enc, mu_l, lv_l = model.get_layer("encoder"), model.get_layer("mu"), model.get_layer("logvar")
    rep, cat, dec, out_l = (model.get_layer(n) for n in ("z_steps", "decoder_in", "decoder", "out"))
    opt = keras.optimizers.Adam(cfg.lr, clipnorm=1.0)
    opt.build(model.trainable_variables)  # its slots made now: `step` is traced once, not twice (~3.5 s)

    def forward(src, cond, target, eps, training=False):
        h = enc(src)
        if training and cfg.dropout:
            h = tf.nn.dropout(h, cfg.dropout)
        mu, lv = mu_l(h), lv_l(h)
        z = mu + eps * tf.exp(0.5 * lv)
        d = dec(cat([rep(z), cond]))
        if training and cfg.dropout:
            d = tf.nn.dropout(d, cfg.dropout)
        y = out_l(d)
        hits, vel, off = y[..., :C], tf.sigmoid(y[..., C:2 * C]), tf.tanh(y[..., 2 * C:])
        th, tv, to = target[..., :C], target[..., C:2 * C], target[..., 2 * C:]
        bce = tf.reduce_mean(tf.reduce_sum(tf.nn.sigmoid_cross_entropy_with_logits(th, hits), -1))
        n = tf.maximum(tf.reduce_sum(th), 1.0)
        if cfg.error == "absolute":  # the median of each velocity and offset: the least absolute error
            mse = (tf.reduce_sum(th * tf.abs(vel - tv)) + tf.reduce_sum(th * tf.abs(off - to))) / n
        else:
            mse = (tf.reduce_sum(th * tf.square(vel - tv)) + tf.reduce_sum(th * tf.square(off - to))) / n * 5.0
        kl = tf.reduce_mean(-0.5 * tf.reduce_sum(1 + lv - tf.square(mu) - tf.exp(lv), -1))
        return bce + mse + cfg.beta * tf.maximum(kl - cfg.free_bits, 0.0), (bce, mse, kl)

    @tf.function
    def step(src, cond, target, eps):
        with tf.GradientTape() as tape:
            loss, parts = forward(src, cond, target, eps, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
        opt.apply_gradients(zip(grads, model.trainable_variables))
        return loss, parts

    vt = rng.choice(3, len(valid[0]), p=TASK_SHARE)
    vsq = valid[4:] + valid[3:4] if cfg.styles else ()  # (style, qpm): the validation windows' own
    vsrc, vcond, vtarget = make_examples(*valid[:3], vt, *vsq)
    latent = args["latent"]

    def val_loss():
        total, parts_sum, n = 0.0, np.zeros(3), 0
        for a in range(0, len(vsrc), 256):
            b = min(a + 256, len(vsrc))
            loss, parts = forward(vsrc[a:b], vcond[a:b], vtarget[a:b], np.zeros((b - a, latent), np.float32))
            total += float(loss) * (b - a)
            parts_sum += np.array([float(p) for p in parts]) * (b - a)
            n += b - a
        return total / n, parts_sum / n

    early, history = EarlyStop(model, cfg.patience, cfg.max_minutes), []
    for epoch in range(cfg.epochs):
        losses = []
        for _ in range(cfg.steps_per_epoch):
            idx = rng.integers(0, len(train[0]), cfg.batch)
            tasks = rng.choice(3, cfg.batch, p=TASK_SHARE)
            sq = ()
            if cfg.styles:  # a share of the windows is not told its style: requests often say none
                sty = np.where(rng.random(cfg.batch) < cfg.style_drop, -1, train[4][idx])
                sq = (sty, train[3][idx] * np.exp(rng.normal(0.0, cfg.tempo_jitter, cfg.batch)))
            src, cond, target = make_examples(train[0][idx], train[1][idx], train[2][idx], tasks, *sq)
            eps = rng.standard_normal((cfg.batch, latent)).astype(np.float32)
            loss, _ = step(src, cond, target, eps)
            losses.append(float(loss))
        vl, vparts = val_loss()
        history.append({"epoch": epoch + 1, "loss": round(float(np.mean(losses)), 4), "val_loss": round(vl, 4),
                        "val_hits_bce": round(float(vparts[0]), 4), "val_vel_off_mse": round(float(vparts[1]), 4),
                        "val_kl": round(float(vparts[2]), 3)})
        if cfg.verbose:
            print(json.dumps(history[-1]), flush=True)
        if early.stop(vl):
            break
    early.restore()
    training = {**{k: str(v) if isinstance(v, Path) else v for k, v in asdict(cfg).items()},
                "seconds": round(time.time() - early.start), "history": history,
                **({"init_from": base_meta.get("training", {})} if base_meta else {})}
    counts = {"train": int(len(train[0])), "validation": int(len(valid[0]))}
    return _save(cfg, model, args, files, counts, training, early.best)


def _save(cfg: GrooveConfig, model, args: dict, files: dict, counts: dict, training: dict, best: float) -> Path:
    """A trained groove model into the store with its card (corpus, split, training, the validation loss),
    then calibrated (drumify's thresholds, the feel) on its training files."""
    from .. import __version__, store
    from ..codecs import get_codec
    from .layout import find_licences

    folder = Path(cfg.data)
    meta = {
        "name": cfg.name, "cadenza": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "arch": {"name": "groovae", "args": args, "parameters": int(model.count_params())},
        "codec": get_codec("drums").describe(),
        "task": "groove",
        "corpus": {"paths": [str(folder.resolve())], "note": cfg.note, "licences": find_licences(folder),
                   "files": {k: len(v) for k, v in files.items()},
                   "split": "the corpus's own (info.csv), 4/4 files", "windows": counts},
        "split": {k: [f"{folder.name}/{p.relative_to(folder)}" for p in v] for k, v in files.items()},
        "training": {**training, "task_share": dict(zip(TASKS, TASK_SHARE))},
        "metrics": {"val_loss": round(best, 4)},
    }
    out = store.save(Path(cfg.out) / cfg.name, model, meta)
    calibrate(str(out), files["train"])
    return out


def import_groove(cfg: GrooveConfig) -> Path:
    """`cadenza train-groove DATA --weights RUN.npz`: no training here; the weights of a run elsewhere
    (models/groove_gpu.py: the same net, windows, tasks and loss in PyTorch, on a GPU), in Keras' layout,
    saved as a groove model with that run's record, then calibrated as train-groove does. The run must have
    read this corpus's own split (the same files), so that its figures are measured on music it never heard."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .. import nets
    from ..nets.groovae import by_layer

    folder = Path(cfg.data)
    files = _files(folder, cfg.max_files)
    try:
        with np.load(cfg.weights, allow_pickle=False) as run:
            record = json.loads(str(run["record"]))
            layers = by_layer(run)
        args, counts, best = record["args"], record["windows"], float(record["best_val_loss"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise CadenzaError(f"--weights {cfg.weights}: not a run of models/groove_gpu.py ({e})") from None
    mine = {k: [str(p.relative_to(folder)) for p in v] for k, v in files.items()}
    if record.get("files") != mine:
        raise CadenzaError(f"--weights {cfg.weights}: trained on other files than {folder}'s own split; the "
                           "figures measure a model on music it was never trained on")
    model = nets.build("groovae", None, **args)
    for kind, weights in layers.items():
        try:
            model.get_layer(kind).set_weights(weights)
        except ValueError as e:
            raise CadenzaError(f"--weights {cfg.weights}: its {kind} does not fit the model its record "
                               f"describes ({e})") from None
    settings = record.get("settings", {})
    training = {**settings, "data": str(cfg.data), "name": cfg.name, "weights": str(cfg.weights),
                "trained_with": "models/groove_gpu.py", "machine": record.get("machine"),
                "seconds": record.get("seconds"), "history": record.get("history", []),
                "numpy_check": record.get("numpy_check")}
    return _save(cfg, model, args, files, counts, training, best)


def join_groove(cfg: GrooveConfig) -> Path:
    """`cadenza train-groove DATA --join A --join B ...`: no training; the trained groove models A, B, ... (the
    same sizes, inputs and split) joined into one ensemble, each member's weights as trained, then calibrated
    as one (drumify's thresholds, the feel). Groove and drumify play the mean of the members' performances:
    models trained apart err apart, and their mean errs less (docs/drums.md)."""
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from .. import __version__, nets, store
    from ..nets.groovae import LAYERS, layer_name

    if len(cfg.join) < 2:
        raise CadenzaError("--join takes two or more groove models")
    loaded = [store.load(name) for name in cfg.join]
    first = loaded[0].meta
    sizes = ("steps", "latent", "enc_units", "dec_units", "styles")
    base = nets.defaults("groovae")
    for m in loaded:
        theirs = m.meta.get("arch", {}).get("args", {})
        if m.meta.get("arch", {}).get("name") != "groovae" or theirs.get("members", 1) != 1:
            raise CadenzaError(f"--join {m.name}: not a single groove model")
        other = [k for k in sizes if theirs.get(k, base[k]) != first["arch"]["args"].get(k, base[k])]
        if other:
            raise CadenzaError(f"--join {m.name}: its {', '.join(other)} differ from {loaded[0].name}'s; members "
                               "read the same inputs at the same sizes")
        if m.meta.get("split") != first.get("split"):
            raise CadenzaError(f"--join {m.name}: trained on another split than {loaded[0].name}; the figures "
                               "measure every member on music none of them was trained on")
    ensemble = _uses(cfg.use, len(loaded))
    keras_models = [m.model for m in loaded]  # read before anything is written (a member may be replaced)
    args = {**{k: first["arch"]["args"].get(k, base[k]) for k in sizes},
            "dec_bidi": [bool(m.meta["arch"]["args"].get("dec_bidi", False)) for m in loaded],
            "members": len(loaded)}
    model = nets.build("groovae", None, **args)
    for k, km in enumerate(keras_models):
        for kind in LAYERS:
            model.get_layer(layer_name(kind, k)).set_weights(km.get_layer(kind).get_weights())
    meta = {key: value for key, value in first.items() if key not in ("drumify", "feel", "metrics", "training")}
    meta.update({
        "name": cfg.name, "cadenza": __version__, "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "arch": {"name": "groovae", "args": args, "parameters": int(model.count_params())},
        "training": {"join": [str(j) for j in cfg.join], "members": [m.meta.get("training", {}) for m in loaded]},
        "metrics": {"val_loss_members": [m.meta.get("metrics", {}).get("val_loss") for m in loaded]},
    })
    if ensemble:
        meta["ensemble"] = ensemble
    folder = store.save(Path(cfg.out) / cfg.name, model, meta)
    calibrate(str(folder))
    return folder


def _uses(use: list, members: int) -> dict:
    """`--use groove=0,3 --use drumify=0,1`: {"groove": [0, 3], "drumify": [0, 1]}, each member index checked."""
    from ..generation.groove import PLAYED

    out = {}
    for item in use:
        task, _, picks = str(item).partition("=")
        if task not in PLAYED:
            raise CadenzaError(f"--use {item}: say a task ({' or '.join(PLAYED)}) and its members, as groove=0,2")
        try:
            ks = [int(k) for k in picks.split(",")]
        except ValueError:
            raise CadenzaError(f"--use {item}: the members are numbers (0 is the first joined), as {task}=0,2") from None
        bad = [k for k in ks if not 0 <= k < members]
        if bad or len(set(ks)) != len(ks):
            raise CadenzaError(f"--use {item}: members are 0 to {members - 1}, each once ({members} joined)")
        out[task] = ks
    return out


def _start_from(model, init: str) -> dict:
    """Copy the weights of a groove model in the store built with the same arguments; its cadenza.json."""
    from .. import store

    folder = store.find(init)
    meta = store.read_meta(folder)
    base = store._load_keras(folder, meta)
    theirs, mine = base.get_weights(), model.get_weights()
    if meta["arch"]["name"] != "groovae" or [w.shape for w in theirs] != [w.shape for w in mine]:
        raise CadenzaError(f"--init {init}: not a groove model built with this run's arguments "
                           f"({meta['arch']['name']} {meta['arch'].get('args')})")
    model.set_weights(theirs)
    return meta


def feel_of(m, H, V, O, Q, S) -> dict:
    """What the model's likeliest performance of the training windows leaves out of the drummers': for each
    class, the spread of the real timing (steps) and velocity (0-1) around the model's, split into the part
    shared by a window's hits of that class (played ahead or behind for two bars) and the part from hit to
    hit. Groove and drumify draw it back with `temperature` (bridge.generation.groove.feel)."""
    zeros = np.zeros_like(H)
    _, pv, po = m.likeliest(m.features(H, zeros, zeros, np.zeros(H.shape[:2], np.float32), 0, S, Q))
    hit = H > 0.5
    out = {}
    for name, real, played in (("offset", O, po), ("velocity", V, pv)):
        between, within = [], []
        for k in range(H.shape[-1]):
            r = np.where(hit[..., k], real[..., k] - played[..., k], np.nan)  # (windows, steps)
            n = hit[..., k].sum(1)
            total = float(np.nanvar(r)) if n.sum() > 1 else 0.0
            several = n >= 2
            if several.sum() < 2:
                between.append(0.0)
                within.append(round(float(np.sqrt(total)), 4))
                continue
            inside = float(np.nanmean(np.nanvar(r[several], axis=1)) * n[several].mean() / max(1.0, n[several].mean() - 1))
            inside = min(inside, total)
            between.append(round(float(np.sqrt(total - inside)), 4))
            within.append(round(float(np.sqrt(inside)), 4))
        out[f"{name}_between"], out[f"{name}_within"] = between, within
    out["windows"] = int(len(H))
    out["how"] = ("per class, the spread of the drummers' timing (steps) and velocity (0-1) around the model's "
                  "likeliest performance of the training windows, between windows and within one "
                  "(bridge.training.groove.feel_of)")
    return out


def match_spread(m, feel: dict, H, O, Q, S, seed: int = 1) -> dict:
    """The feel with each class's timing spread scaled so that groove's performance of these windows (told their
    style, the likeliest with the feel drawn from `seed`, as `cadenza eval` draws it) spreads its offsets in ms as
    the drummers' do: a scale found by halving an interval, a class with fewer than 20 hits left as it is.
    Fitted on the training windows' residuals alone, the feel drawn on unseen music spread the offsets 0.78-1.19x
    the drummers' (the net plays its training windows more surely than music it never heard)."""
    from ..generation.groove import NEAREST

    zeros = np.zeros_like(H)
    _, _, po = m.likeliest(m.features(H, zeros, zeros, np.zeros(H.shape[:2], np.float32), 0, S, Q))
    rng = np.random.default_rng(seed)  # the draws of generation.groove.feel for the offsets, in its order
    shared, own = rng.standard_normal((len(H), 1, H.shape[-1])), rng.standard_normal(H.shape)
    ms = (60000.0 / np.asarray(Q, np.float64) / 4)[:, None]
    out = {k: list(v) if isinstance(v, (list, np.ndarray)) else v for k, v in feel.items()}
    scales = []
    for k in range(H.shape[-1]):
        sel = H[..., k] > 0.5
        real = float((O[..., k] * ms)[sel].std()) if sel.sum() >= 20 else 0.0
        if not real:
            scales.append(1.0)
            continue
        drawn = feel["offset_between"][k] * shared[..., k] + feel["offset_within"][k] * own[..., k]

        def spread(c: float) -> float:
            return float((np.clip(po[..., k] + c * drawn, -NEAREST, NEAREST) * ms)[sel].std()) / real

        lo, hi = 0.0, 4.0
        for _ in range(30):
            mid = (lo + hi) / 2
            lo, hi = (lo, mid) if spread(mid) > 1.0 else (mid, hi)
        scales.append(round((lo + hi) / 2, 4))
        for key in ("offset_between", "offset_within"):
            out[key][k] = round(float(feel[key][k]) * scales[-1], 4)
    out["offset_scale"] = scales
    return out


def guess_styles(H, Q, S, decay: float = 6e-4, steps: int = 800) -> dict:
    """The style guesser: a softmax regression from a window's drums and tempo (generation.groove.style_evidence)
    to its style, fitted on windows whose style is known (full batch, Adam, L2 `decay`). A window the musician
    does not tell its style is told the guesser's odds of every style (GrooveModel.perform)."""
    from ..generation.groove import style_evidence

    keep = S >= 0
    X, y = style_evidence(H[keep], Q[keep]).astype(np.float64), S[keep]
    k = len(STYLES)
    Y = np.eye(k)[y]
    W, b = np.zeros((X.shape[1], k)), np.zeros(k)
    m = [np.zeros_like(W), np.zeros_like(b)]
    v = [np.zeros_like(W), np.zeros_like(b)]
    for t in range(1, steps + 1):
        z = X @ W + b
        P = np.exp(z - z.max(1, keepdims=True))
        P /= P.sum(1, keepdims=True)
        G = (P - Y) / len(X)
        for i, (p, g) in enumerate(((W, X.T @ G + decay * W), (b, G.sum(0)))):
            m[i] = 0.9 * m[i] + 0.1 * g
            v[i] = 0.999 * v[i] + 0.001 * g * g
            p -= 0.05 * (m[i] / (1 - 0.9 ** t)) / (np.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8)
    accuracy = float(((X @ W + b).argmax(1) == y).mean())
    return {"weights": np.round(W, 5).tolist(), "bias": np.round(b, 5).tolist(), "windows": int(len(X)),
            "accuracy_on_them": round(accuracy, 3),
            "how": "a softmax regression from a window's drums (each class's hits at each step of a bar, and a bar) "
                   "and tempo to its style, on the training windows (bridge.training.groove.guess_styles)"}


def fit_lines(played: np.ndarray, real: np.ndarray, hits: np.ndarray, rounds: int = 30) -> list[list[float]]:
    """Per class, the line a + b x that takes the model's values to the drummers' with the least absolute error
    over the struck steps (iteratively reweighted least squares): [[a, b], ...]."""
    out = []
    for k in range(hits.shape[-1]):
        x, y = played[..., k][hits[..., k]].astype(np.float64), real[..., k][hits[..., k]].astype(np.float64)
        if len(x) < 50:
            out.append([0.0, 1.0])
            continue
        A = np.stack([np.ones_like(x), x], 1)
        w = np.ones_like(x)
        for _ in range(rounds):
            coef = np.linalg.lstsq(A * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
            w = 1.0 / np.maximum(np.abs(y - A @ coef), 1e-3)
        out.append([round(float(coef[0]), 5), round(float(coef[1]), 5)])
    return out


CAPS = (0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7)  # the drumify thresholds' caps calibrate tries


UNSAID_BAND = (0.6, 1.4)  # drumify without a style: each class's hits against the drummers' on validation
MIN_HELD = 0.1  # hits a window: a class the drummers struck as often is held to the band (the goal counts 0.5)


def fit_thresholds(prob: np.ndarray, hits: np.ndarray, tapped: np.ndarray, starts: list, band=UNSAID_BAND,
                   rounds: int = 4) -> list[float]:
    """Drumify's thresholds (one a class) with the best hit F1 over windows (`prob` and `hits` (N, 32, 9),
    `tapped` (N, 32)), played as drumify plays them (`strike`), with every class the drummers struck at least
    MIN_HELD times a window struck within `band` times as often as they did: each class's threshold in turn set to
    the best of a grid, `rounds` times, from each of `starts` and from the thresholds that strike each class as
    often as the drummers did; the best found."""
    real = hits.sum((0, 1)).astype(np.float64)
    held = real >= MIN_HELD * len(hits)  # the classes held to the band
    matched = [float(np.sort(prob[..., c].ravel())[::-1][min(int(real[c]), prob[..., c].size - 1)])
               for c in range(prob.shape[-1])]  # each class struck as often as the drummers did
    grid = np.exp(np.linspace(np.log(0.02), np.log(0.9), 70)).astype(np.float32)

    best = None
    for start in [*starts, matched]:
        th = np.array(start, np.float32)
        for _ in range(rounds):
            for c in range(prob.shape[-1]):
                tries = np.array([th[c], *grid], np.float32)
                got = _values_along(prob, hits, tapped, th, c, tries, held, real, band)
                th[c] = max(zip(got.tolist(), tries.tolist()))[1]
        got = float(_values_along(prob, hits, tapped, th, 0, th[:1], held, real, band)[0])  # th's own value
        if best is None or got > best[0]:
            best = (got, th.copy())
    return [round(float(t), 4) for t in best[1]]


def _values_along(prob, hits, tapped, th, c: int, tries, held, real, band) -> np.ndarray:
    """fit_thresholds' value of `th` with class c's threshold set to each of `tries` in turn (the hit F1 less 5x
    how far each held class's count is outside the band of the drummers'), all at once and exactly as `strike`
    plays each: only class c's hits and the taps where no class is struck (each the class
    likeliest for its threshold) move with it, so the other classes' hits, and which of them is likeliest, are
    counted once. (One `strike` a try took 83 s for the shipped groove model's 2,000 validation windows.)"""
    n = prob.shape[-1]
    p = prob.reshape(-1, n)
    h = hits.reshape(-1, n)
    on = np.asarray(tapped).reshape(-1) > 0.5
    thr = np.asarray(th, np.float32)
    other = np.arange(n) != c
    fixed = (p > thr) & on[:, None] & other  # the other classes' hits, whatever class c's threshold
    ratio = p / np.maximum(thr, 1e-6)  # as strike ranks the classes
    ratio[:, c] = -np.inf
    rival = np.argmax(ratio, -1)  # the likeliest other class for its threshold (the first of equals)
    rival_ratio = ratio[np.arange(len(p)), rival]
    rival_sounds = p[np.arange(len(p)), rival] > 0
    rival_hit = h[np.arange(len(p)), rival]
    free = on & ~fixed.any(-1)  # taps no other class strikes
    counts, true = fixed.sum(0), (fixed & h).sum(0)
    onehot = (rival[:, None] == np.arange(n)).astype(np.float64)
    pc, hc = p[:, c], h[:, c]
    out = []
    step = max(1, 4_000_000 // max(1, len(p)))
    for a in range(0, len(tries), step):
        g = np.asarray(tries[a:a + step], np.float32)[:, None]
        mine = (pc > g) & on  # (G, P) class c's own hits
        alone = free & ~mine  # taps nothing strikes: the likeliest class sounds
        rc = pc / np.maximum(g, np.float32(1e-6))
        takes = (rc > rival_ratio) | ((rc == rival_ratio) & (c < rival))  # argmax's first of equals
        lone_c = alone & takes & (pc > 0)
        lone_o = alone & ~takes & rival_sounds
        k = np.broadcast_to(counts, (len(g), n)).copy()
        k += np.rint(lone_o.astype(np.float64) @ onehot).astype(k.dtype)
        k[:, c] = mine.sum(1) + lone_c.sum(1)
        tp = true.sum() + ((mine | lone_c) & hc).sum(1) + (lone_o & rival_hit).sum(1)
        f1 = 2 * tp.astype(np.float64) / np.maximum(1.0, (k.sum(1) + hits.sum()).astype(np.float64))
        off = [float(np.maximum(band[0] - r, 0).sum() + np.maximum(r - band[1], 0).sum())  # row by row: value()'s
               for r in k[:, held] / real[held]]  # own sums, to the last bit
        out.append(f1 - 5.0 * np.array(off))
    return np.concatenate(out)


def calibrate(model: str, files: list | None = None, every: int = 3) -> list[float]:
    """Drumify's threshold for each drum class, from the training split: the probability above which a class
    is struck as often as the drummers struck it (every `every`-th training file), written into the model's
    cadenza.json (`drumify.thresholds`), each capped at the probability that gives the best hit F1 over those
    windows. At one threshold of 0.5 for all, the rarer classes (open hi-hat, toms, crash, ride) stayed under
    it and were never played. Then, where the validation split's files are here, the feel's timing scaled to the
    drummers' spread there (`match_spread`) and, for a model that hears styles, the thresholds for requests that
    say none fitted there (`fit_thresholds`); the style guesser and velocity lines from the training split."""
    from .. import store
    from ..generation.groove import model_for

    loaded = store.load(model)
    folder = store.corpus_folder(loaded.meta)  # the corpus folder it was trained on
    if files is None:  # the training split as the model records it
        files = [folder / rel.partition("/")[2] for rel in loaded.meta["split"].get("train", [])]
    all_files = [f for f in files if Path(f).is_file()]
    files = all_files[::every]
    if not files:
        raise CadenzaError(f"{model}: its training files are not here")
    m = model_for(loaded)
    H, V, O, Q, S = windows(files, styles=styles_of(folder) if m.styles else None)
    T = tap(H)
    zeros = np.zeros_like(H)

    def probabilities(style) -> np.ndarray:
        return m.likeliest(m.features(zeros, zeros, zeros, T, 1, style, Q), task="drumify")[0]

    hits = H > 0.5

    def f1(pred) -> float:
        return 2 * float((pred & hits).sum()) / max(1.0, float(pred.sum() + hits.sum()))

    def thresholds(*probs) -> list[float]:
        out = []
        for k in range(H.shape[-1]):
            real = int(hits[..., k].sum()) * len(probs)
            ranked = np.sort(np.concatenate([p[..., k].ravel() for p in probs]))[::-1]
            out.append(round(float(np.clip(ranked[min(real, len(ranked) - 1)], 0.02, 0.95)), 4))
        # Capped: a class whose count-matched threshold is high (kick, snare, hi-hat: struck surely) is also
        # struck wherever its probability passes the cap that gives the best hit F1 over the training windows,
        # with no class it lowers struck more than 1.4x as often as the drummers did (unseen music is struck
        # more than the training windows: 1.5x there was 1.6x for the snare on validation). Matching counts
        # alone left F1 at 0.546 on validation; the cap (0.4) brings it to 0.567 (0.522 not told the style).
        prob, real = probs[0], hits.sum((0, 1))
        fair = [g for g in CAPS if all((prob[..., k] > g).sum() <= 1.4 * real[k] for k in range(len(out)) if out[k] > g)]
        cap = max(fair, key=lambda g: f1(prob > np.minimum(out, g)), default=1.0)
        return [min(t, cap) for t in out]

    # A model that hears the style: a set for requests that say none (the windows not told theirs), and one for
    # those that do, from the windows told theirs and not told: told their own, the training windows are
    # struck more surely than unseen music is, and thresholds from them alone left the rarer classes short on
    # validation (open hi-hat 0.7 hits per 2 bars against 1.6; hit F1 0.552 against 0.538 so).
    said = probabilities(S)
    if m.styles:
        unsaid_prob = probabilities(np.full_like(S, -1))
        out, unsaid = thresholds(said, unsaid_prob), thresholds(unsaid_prob)
    else:
        out, unsaid = thresholds(said), None
    guess = None
    if m.styles:  # a window not told its style: told the odds of those its drums and tempo suggest
        AH, _, _, AQ, AS = windows(all_files, styles=styles_of(folder))
        guess = guess_styles(AH, AQ, AS)
        m.guess = (np.array(guess["weights"], np.float32), np.array(guess["bias"], np.float32))
    m.fit, fit = {}, {}  # the lines are fitted on what the net plays without them
    for key, style in (("said", S),) + ((("not_said", np.full_like(S, -1)),) if m.styles else ()):
        _, pv, _ = m.likeliest(m.features(H, zeros, zeros, np.zeros(H.shape[:2], np.float32), 0, style, Q))
        fit[key] = fit_lines(pv, V, hits)
    m.fit = {k: np.array(v, np.float32) for k, v in fit.items()}
    feel = feel_of(m, H, V, O, Q, S)  # what is left around the fitted performance
    path = Path(loaded.folder) / "cadenza.json"
    meta = json.loads(path.read_text())
    meta["feel"] = feel
    meta["groove_fit"] = {**fit, "windows": int(len(H)),
                          "how": "per class, the line (a + b x) taking groove's velocities to the drummers' with the "
                                 "least absolute error on the training windows, for windows told their style and "
                                 "not (bridge.training.groove.fit_lines)"}
    if guess is not None:
        meta["style_guess"] = guess
    meta["drumify"] = {"thresholds": out, "windows": int(len(H)), "files": len(files),
                       "how": "per class, the probability above which it is struck as often as in the training "
                              "windows, capped at the one that gives the best hit F1 over them "
                              "(bridge.training.groove.calibrate)"}
    valid = [folder / rel.partition("/")[2] for rel in loaded.meta["split"].get("validation", [])]
    valid = [f for f in valid if Path(f).is_file()]
    VH, _, VO, VQ, VS = windows(valid, styles=styles_of(folder) if m.styles else None) if valid else (None,) * 5
    if valid and len(VH):
        meta["feel"] = match_spread(m, feel, VH, VO, VQ, VS)
        meta["feel"]["how"] = (feel["how"] + "; each class's timing then scaled so that groove's performance of the "
                               f"validation split ({len(VH)} windows) spreads its offsets as the drummers' do "
                               "(offset_scale: bridge.training.groove.match_spread)")
    if unsaid is not None:
        meta["drumify"]["thresholds_style_not_said"] = unsaid
        if valid and len(VH):
            # Fitted again on the validation split: the training windows are struck more surely than unseen music
            # is, and thresholds from them left the snare at 1.57x the drummers' and the low tom at 0.43x on
            # validation (hit F1 0.550). Fitted on one half of the validation windows, the other half: F1
            # 0.551-0.555, every class at 0.50-1.47x. The goal is measured again on the test split.
            VT = tap(VH)
            vz = np.zeros_like(VH)
            vprob = m.likeliest(m.features(vz, vz, vz, VT, 1, np.full_like(VS, -1), VQ), task="drumify")[0]
            meta["drumify"]["thresholds_style_not_said"] = fit_thresholds(
                vprob, VH > 0.5, VT, [unsaid, [0.3] * len(unsaid)])
            meta["drumify"]["style_not_said"] = {
                "windows": int(len(VH)), "files": len(valid), "band": list(UNSAID_BAND),
                "how": "per class, fitted on the validation split for the best hit F1 with every class the "
                       "drummers struck at least 0.1 times a window struck 0.6-1.4x as often as they did "
                       "(bridge.training.groove.fit_thresholds), starting from the training split's"}
    from ..music.atomic import atomic_write_text

    atomic_write_text(path, json.dumps(meta, indent=1) + "\n")
    return out
