"""`cadenza train`: a corpus (or prepared shards) -> a model folder in the store.

    cadenza train ../shared/corpus/kern/bach-370-chorales --codec notewise --name chorale

The split is by file, fixed by a hash of each file's path: training, validation (for early stopping
and the reported NLL) and a *generation set* never trained on, whose pieces supply primes (article
002 found that priming with training pieces makes a model recite them). Windows are cut at random
from the training files in a tf.data pipeline that also transposes them (in the graph, by a lookup
table) on every core. Checkpoints go to `runs/NAME/`; an interrupted run resumes from there.
"""
from __future__ import annotations

import json
import os
import platform
import shutil
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .. import __version__
from .data import LN2, Data
from .config import TrainConfig  # noqa: F401 - the settings (and flags) of `cadenza train`
from .split import official_split, split_of
from ..errors import CadenzaError



def load_corpus(cfg: TrainConfig) -> tuple[dict, list[str], list[np.ndarray]]:
    """Every file of every data folder, encoded: (corpus description, paths, ids)."""
    from .prepare import PrepareConfig, load_prepared, prepare

    folders = [Path(d) for d in (cfg.data if isinstance(cfg.data, (list, tuple)) else [cfg.data])]
    corpus = {"paths": [], "licences": []}
    paths: list[str] = []
    seqs: list[np.ndarray] = []
    for k, data in enumerate(folders):
        if (data / "manifest.json").is_file():
            manifest, part = load_prepared(data)
            if manifest["codec"]["name"] != cfg.codec:
                raise CadenzaError(f"{data} was prepared with codec {manifest['codec']['name']!r}, not {cfg.codec!r}")
        else:
            out = Path(cfg.runs) / cfg.name / f"prepared-{k}{_worker_suffix(cfg)}"
            prepare(PrepareConfig(corpus=data, out=out, codec=cfg.codec, params=cfg.codec_params,
                                  progress=cfg.verbose > 0, max_files=cfg.max_files))
            manifest, part = load_prepared(out)
        prefix = Path(manifest["corpus"]).name
        paths += [f"{prefix}/{e['path']}" for e in manifest["files"]]
        official = official_split(Path(manifest["corpus"]))
        corpus.setdefault("official", {}).update({f"{prefix}/{k}": v for k, v in official.items()})
        seqs += part
        corpus["paths"].append(manifest["corpus"])
        corpus["licences"] += [l for l in manifest.get("licences", []) if l not in corpus["licences"]]
    if cfg.max_files:
        paths, seqs = paths[:cfg.max_files], seqs[:cfg.max_files]
    return corpus, paths, seqs


def _draws(cfg: TrainConfig) -> int:
    return cfg.seed if cfg.sample_seed < 0 else cfg.sample_seed


def _worker_suffix(cfg: TrainConfig) -> str:
    """Workers of one multi-worker run prepare a corpus folder each into their own folder (their runs folder
    may be one shared disk); better, `cadenza prepare` it once and give them all the prepared folder."""
    if cfg.distribute != "multiworker":
        return ""
    task = json.loads(os.environ.get("TF_CONFIG", "{}") or "{}").get("task", {})
    return f"-{task.get('type', 'worker')}{task.get('index', 0)}"


def bigram_bits(train: list[np.ndarray], valid: list[np.ndarray], vocab: int, eos: int | None) -> dict:
    """Unigram and bigram (add-one smoothed) bits per token on the validation tokens."""
    uni = np.ones(vocab)
    bi = np.ones((vocab, vocab))
    start = eos if eos is not None else 0
    for s in train:
        s = s.astype(np.int64)
        np.add.at(uni, s, 1)
        prev = np.concatenate([[start], s[:-1]])
        np.add.at(bi, (prev, s), 1)
    uni /= uni.sum()
    bi /= bi.sum(axis=1, keepdims=True)
    total_u = total_b = n = 0.0
    for s in valid:
        s = s.astype(np.int64)
        prev = np.concatenate([[start], s[:-1]])
        total_u += -np.log2(uni[s]).sum()
        total_b += -np.log2(bi[prev, s]).sum()
        n += len(s)
    return {"unigram_bits_per_token": total_u / n, "bigram_bits_per_token": total_b / n}


def _stream(seqs: list[np.ndarray], eos: int | None, dtype=np.int32) -> np.ndarray:
    """The files one after another (each followed by eos), written once into one array."""
    out = np.empty(sum(len(q) for q in seqs) + (len(seqs) if eos is not None else 0), dtype)
    at = 0
    for q in seqs:
        out[at:at + len(q)] = q
        at += len(q)
        if eos is not None:
            out[at] = eos
            at += 1
    return out


NOTE_EVERY = 64  # tokens between the stored counts of sounding notes in a training stream


def note_counts(stream: np.ndarray, codec, every: int) -> np.ndarray:
    """(len(stream) // every + 1, 128) float32: how many notes of each pitch sound before tokens 0,
    every, 2 every, ... of the stream (a start adds one, a release takes one away)."""
    on, off = (np.asarray(t) for t in codec.note_tables())
    counts = np.zeros(128, np.int64)
    out = np.zeros((len(stream) // every + 1, 128), np.float32)
    s = np.asarray(stream, np.int64)
    for k in range(len(out)):
        out[k] = counts
        block = s[k * every:(k + 1) * every]
        counts += np.bincount(on[block][on[block] >= 0], minlength=128)
        counts -= np.bincount(off[block][off[block] >= 0], minlength=128)
        np.maximum(counts, 0, out=counts)
    return out


def val_windows(valid: list[np.ndarray], eos: int | None, L: int, count: int):
    """(the validation stream, x, y, pick): its consecutive windows of L tokens and the next token of each, and
    the evenly spread `count` of them each epoch checks (the reported figure uses every window)."""
    vstream = _stream(valid, eos)
    n = (len(vstream) - 1) // L
    if n < 1:
        raise CadenzaError(f"the validation files hold {len(vstream)} tokens: fewer than one window of {L}")
    return (vstream, vstream[:n * L].reshape(n, L), vstream[1:n * L + 1].reshape(n, L),
            np.linspace(0, n - 1, min(n, count)).astype(np.int64))


def make_datasets(cfg: TrainConfig, codec, train: list[np.ndarray], valid: list[np.ndarray]):
    """Windows of seq_len tokens (x, y); for note_state models ((x, held), y), with the counts of notes
    sounding before each window (moved with the window's transposition)."""
    import tensorflow as tf

    # the training stream as small as its ids allow (2 bytes a token for every codec but messages), held once
    # by numpy and once by TensorFlow; windows are cast to int32 as they are cut
    stream = _stream(train, codec.eos, np.uint16 if codec.vocab_size <= 65535 else np.int32)
    L = cfg.seq_len
    if len(stream) < L + 2:
        raise CadenzaError(f"the training files hold {len(stream)} tokens: fewer than one window of {L}")
    table = codec.transpose_table(cfg.transpose) if cfg.transpose else None
    tokens = tf.constant(stream)
    fim = hasattr(codec, "infill_prime")
    psm = fim and codec.order == "psm"
    extra = (3 + (codec.reminder + 1 if codec.reminder and not psm else 0) + (codec.again + 1 if psm and codec.again
                                                                                else 0)) if fim else 0  # the added tokens
    n_starts = len(stream) - L - 1 - extra
    tab = tf.constant(table) if table is not None else None
    notes = bool(cfg.arch_args.get("note_state"))
    if fim:
        beats_t = tf.constant(codec.token_beats().astype(np.float32))

        def fim_order(w, a, b):
            gap = tf.reduce_sum(tf.gather(beats_t, w[a:b]))
            n = tf.clip_by_value(tf.cast(tf.math.ceil(gap - 1e-6), tf.int32), 1, codec.max_gap)
            if psm:
                again = [[codec.prefix_id], w[a - codec.again:a]] if codec.again else []
                seq = tf.concat([[codec.prefix_id], w[:a], [codec.suffix_id], w[b:], *again, [codec.middle0 - 1 + n],
                                 w[a:b]], 0)
                return tf.ensure_shape(seq, [L + 1 + extra])
            again = [[codec.suffix_id], w[b:b + codec.reminder]] if codec.reminder else []
            seq = tf.concat([[codec.suffix_id], w[b:], [codec.prefix_id], w[:a], *again, [codec.middle0 - 1 + n],
                             w[a:b]], 0)
            return tf.ensure_shape(seq, [L + 1 + extra])
    if notes:
        ck = tf.constant(note_counts(stream, codec, NOTE_EVERY))
        on_t, off_t = (tf.constant(t, tf.int32) for t in codec.note_tables())
        pitches = tf.range(128)

        def held_before(start):  # counts at the checkpoint, plus the tokens from there to the start
            pre = tf.cast(tokens[(start // NOTE_EVERY) * NOTE_EVERY:start], tf.int32)
            on, off = tf.gather(on_t, pre), tf.gather(off_t, pre)
            d = tf.reduce_sum(tf.one_hot(on, 128), 0) - tf.reduce_sum(tf.one_hot(off, 128), 0)  # -1: no row
            return tf.maximum(ck[start // NOTE_EVERY] + d, 0.0)

    def window(r):
        start = tf.cast(r % n_starts, tf.int32)
        w = tf.cast(tokens[start:start + L + 1 + extra], tf.int32)  # a plain window as long as a reordered one
        semis = tf.constant(0)
        if tab is not None:
            shift = tf.cast((r // n_starts) % tab.shape[0], tf.int32)
            moved = tf.gather(tab[shift], w)
            bad = tf.reduce_any(moved < 0)
            w = tf.where(bad, w, moved)  # a shift out of range: keep the window as it is
            semis = tf.where(bad, 0, shift - cfg.transpose)
        if notes:
            held = held_before(start)
            src = pitches - semis
            held = tf.where((src >= 0) & (src < 128), tf.gather(held, tf.clip_by_value(src, 0, 127)), 0.0)
            return (w[:-1], held), w[1:]
        if fim:
            plain = w
            w = w[:L + 1]
            if psm:  # prefix, the suffix's first tokens (the window's last), then a middle of 8 to L/2 tokens
                b = L + 1 - codec.suffix_tokens
                a = b - tf.random.uniform([], 8, L // 2, dtype=tf.int32)
            else:  # suffix, prefix, then the middle: a gap of 8 to L/2 tokens somewhere in the window
                a = tf.random.uniform([], L // 8, L // 2, dtype=tf.int32)
                b = tf.minimum(a + tf.random.uniform([], 8, L // 2, dtype=tf.int32), L - 4 - codec.reminder)
            w = fim_order(w, a, b)
            if cfg.fim_plain > 0:  # some windows stay in plain order, so the model continues as well
                w = tf.cond(tf.random.uniform([]) < cfg.fim_plain, lambda: plain, lambda: w)
        return w[:-1], w[1:]

    ds = (tf.data.Dataset.random(seed=_draws(cfg))
          .map(window, num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
          .batch(cfg.batch, drop_remainder=True)
          .prefetch(tf.data.AUTOTUNE))
    vstream, x, y, pick = val_windows(valid, codec.eos, L, cfg.val_windows)
    n = len(x)
    if fim:  # validation in the same order, the gap fixed: a quarter of the window, after its first quarter
        rows = []
        for k in range(n):
            w = vstream[k * L:k * L + L + 1]
            a, b = (L // 4, L // 2) if not psm else (L + 1 - codec.suffix_tokens - L // 4, L + 1 - codec.suffix_tokens)
            gap = float(codec.token_beats()[w[a:b]].sum())
            rows.append(np.concatenate([codec.infill_prime(w[:a], w[b:], gap), w[a:b]]))
        seqs = np.array(rows, np.int32)
        x, y = seqs[:, :-1], seqs[:, 1:]
    if notes:
        held = note_counts(vstream, codec, L)[:n]
        full = tf.data.Dataset.from_tensor_slices(((x, held), y)).batch(cfg.batch).cache()
        quick = tf.data.Dataset.from_tensor_slices(((x[pick], held[pick]), y[pick])).batch(cfg.batch).cache()
        return ds, quick, full, int(n * L)
    full = tf.data.Dataset.from_tensor_slices((x, y)).batch(cfg.batch).cache()
    quick = tf.data.Dataset.from_tensor_slices((x[pick], y[pick])).batch(cfg.batch).cache()
    return ds, quick, full, int(n * L)


def split_files(cfg: TrainConfig, paths: list[str], official: dict | None = None) -> dict[str, list[int]]:
    """Files by part: a corpus's own split where it has one (its test files are never used: held out;
    its validation files are also the generation set), else a stable hash of each path."""
    parts: dict[str, list[int]] = {"train": [], "validation": [], "generation": []}
    for i, p in enumerate(paths):
        if official and p in official:
            part = official[p]
            if part in ("train", "validation"):
                parts[part].append(i)
            if part == "validation":
                parts["generation"].append(i)
            continue
        parts[split_of(p, cfg.seed, cfg.val_fraction, cfg.gen_fraction)].append(i)
    for part in ("train", "validation"):
        if not parts[part]:
            raise CadenzaError(f"no {part} files: the corpus has {len(paths)} encoded files; "
                               f"use more files or larger fractions")
    return parts


def train(cfg: TrainConfig) -> Path:
    """Train, then export to cfg.out / cfg.name. Returns the model folder."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from ..codecs import get_codec

    if cfg.weights:
        _run_fits(cfg)

    if cfg.distribute:  # before any TensorFlow op: the multi-worker strategy configures collectives at start-up
        from .distributed import strategy_for

        strategy_for(cfg.distribute, cfg.worker_timeout)
    codec = get_codec(cfg.codec, **cfg.codec_params)
    if cfg.fim:
        from ..codecs.fim import FimCodec

        if cfg.arch_args.get("note_state"):
            raise CadenzaError("--fim and note_state do not go together yet")
        try:
            codec = FimCodec(codec, reminder=int(cfg.fim_reminder), order=cfg.fim_order,
                             suffix_tokens=int(cfg.fim_suffix), again=int(cfg.fim_again))
        except ValueError as e:
            raise CadenzaError(str(e)) from None
    if cfg.arch_args.get("note_state") and not codec.pitch_tokens():
        raise CadenzaError(f"note_state needs a codec with note-on and note-off tokens (performance, notewise), "
                           f"not {cfg.codec!r}")
    data_for(cfg, codec, None, None)  # refuses a mismatched codec and architecture before reading the corpus
    corpus, paths, seqs = load_corpus(cfg)
    parts = split_files(cfg, paths, corpus.get("official"))
    train_seqs = [seqs[i] for i in parts["train"]]
    valid_seqs = [seqs[i] for i in parts["validation"]]
    data = data_for(cfg, codec, train_seqs, valid_seqs)
    if cfg.weights:
        return import_run(cfg, codec, data, corpus, paths, parts)
    return fit_and_export(cfg, codec, data, corpus, paths, parts)


RUN_KIND = "models/lstm_gpu.py"
# what a run trained elsewhere shares with the flags that save it: the model and the data it read
RUN_SAME = ("codec", "codec_params", "arch", "seq_len", "transpose", "seed", "val_fraction", "gen_fraction",
            "max_files")
# how it was trained: the run's own, recorded as the model's
RUN_OWN = ("batch", "lr", "steps_per_epoch", "epochs", "patience", "max_minutes", "sample_seed", "init")


def _settings(cfg: TrainConfig) -> dict:
    return json.loads(json.dumps({k: (str(v) if isinstance(v, Path) else [str(x) for x in v] if isinstance(v, list)
                                      else v) for k, v in asdict(cfg).items()}))


def _run_fits(cfg: TrainConfig) -> None:
    """What models/lstm_gpu.py can train: an lstm in plain order."""
    if cfg.arch != "lstm" or cfg.fim or cfg.distribute or cfg.init:
        raise CadenzaError("--weights saves a run of models/lstm_gpu.py: an lstm model in plain order (not with "
                           "--fim, --distribute or --init: the run started from its own first weights)")


def run_windows(cfg: TrainConfig) -> tuple[dict, dict]:
    """What models/lstm_gpu.py trains on, read here as `cadenza train` reads it: (arrays, meta). The training
    stream (every training file, each followed by eos), the transposition table, the counts of notes sounding
    every NOTE_EVERY tokens (note_state models), the validation windows, and the first weights as this machine's
    Keras draws them for the same flags (or --init's)."""
    import keras

    from .. import nets
    from ..codecs import get_codec

    if cfg.arch != "lstm" or cfg.fim or cfg.distribute:
        raise CadenzaError("models/lstm_gpu.py trains lstm models in plain order (not --fim or --distribute)")
    codec = get_codec(cfg.codec, **cfg.codec_params)
    notes = bool(cfg.arch_args.get("note_state"))
    if notes and not codec.pitch_tokens():
        raise CadenzaError(f"note_state needs a codec with note-on and note-off tokens, not {cfg.codec!r}")
    corpus, paths, seqs = load_corpus(cfg)
    parts = split_files(cfg, paths, corpus.get("official"))
    train_seqs = [seqs[i] for i in parts["train"]]
    valid_seqs = [seqs[i] for i in parts["validation"]]
    stream = _stream(train_seqs, codec.eos, np.uint16 if codec.vocab_size <= 65535 else np.int32)
    L = cfg.seq_len
    if len(stream) < L + 2:
        raise CadenzaError(f"the training files hold {len(stream)} tokens: fewer than one window of {L}")
    vstream, x, y, pick = val_windows(valid_seqs, codec.eos, L, cfg.val_windows)
    n = len(x)
    arrays = {"stream": stream, "val_x": x, "val_y": y, "val_pick": pick}
    table = codec.transpose_table(cfg.transpose) if cfg.transpose else None
    if table is not None:  # (a codec whose tokens do not move with the pitch has none: kern's text)
        arrays["table"] = np.asarray(table, np.int32)
    if notes:
        arrays["counts"] = note_counts(stream, codec, NOTE_EVERY)
        arrays["val_held"] = note_counts(vstream, codec, L)[:n]
        arrays["on"], arrays["off"] = (np.asarray(t, np.int32) for t in codec.note_tables())
    keras.utils.set_random_seed(_draws(cfg))  # as fit_and_export: the same first weights
    model = nets.build(cfg.arch, codec.vocab_size, codec=codec, **cfg.arch_args)
    if cfg.init:
        _start_from(model, cfg, codec)
    arrays.update({f"w/{k}": v for k, v in nets.flat_weights(model).items()})
    meta = {"kind": RUN_KIND, "config": _settings(cfg), "split": {p: [paths[i] for i in idx] for p, idx in parts.items()},
            "arch_args": {**nets.defaults(cfg.arch), **cfg.arch_args}, "note_every": NOTE_EVERY,
            "layers": [layer.name for layer in model.layers if layer.get_weights()],
            "corpus": corpus["paths"], "train_tokens": int(len(stream)), "val_tokens": int(n * L),
            "never_sampled": [int(t) for t in codec.never_sampled()]}
    if cfg.init:  # the model the run goes on from: its own record, kept with the new one's
        from .. import store

        base = store.load(cfg.init).meta
        meta["init_from"] = {"model": base.get("name"), "created": base.get("created"),
                             "val_bits_per_token": base.get("metrics", {}).get("val_bits_per_token"),
                             **{k: v for k, v in base.get("training", {}).items()
                                if k in ("epochs_run", "seconds", "lr", "max_minutes", "init", "init_from",
                                         "trained_with", "machine", "history")}}
    return arrays, meta


def import_run(cfg: TrainConfig, codec, data: Data, corpus: dict, paths: list[str], parts: dict) -> Path:
    """`cadenza train ... --weights RUN.npz`: a run of models/lstm_gpu.py saved as this model, with its record,
    once its weights give here, by Keras, the validation loss the run measured."""
    from dataclasses import replace

    from .. import nets

    try:
        run = np.load(cfg.weights)
        record = json.loads(str(run["record"]))
        ok = record.get("kind") == RUN_KIND
    except (OSError, ValueError, KeyError, json.JSONDecodeError, AttributeError):
        ok = False
    if not ok:
        raise CadenzaError(f"{cfg.weights}: not a run of {RUN_KIND} (its `train` writes one)")
    theirs, mine = record["config"], _settings(cfg)
    for key in RUN_SAME:
        if theirs.get(key) != mine[key]:
            raise CadenzaError(f"{cfg.weights}: its {key} {theirs.get(key)!r} differs from these flags' {mine[key]!r}")
    args = {k: v for k, v in record["arch_args"].items() if k != "dropout"}
    want = {k: v for k, v in {**nets.defaults(cfg.arch), **cfg.arch_args}.items() if k != "dropout"}
    if json.loads(json.dumps(want)) != args:
        raise CadenzaError(f"{cfg.weights}: its architecture {args} differs from these flags' {want}")
    for part in ("train", "validation"):
        if record["split"].get(part) != [paths[i] for i in parts[part]]:
            raise CadenzaError(f"{cfg.weights}: trained on other files than this corpus's {part} split here "
                               f"({len(record['split'].get(part, []))} files, here {len(parts[part])})")
    model = nets.build(cfg.arch, data.build_args, codec=codec, **cfg.arch_args)
    nets.set_flat_weights(model, run, cfg.weights)
    model.compile(loss=data.losses)
    result = model.evaluate(data.full_val, verbose=0)
    val_loss = float(result[0] if isinstance(result, (list, tuple)) else result)
    if abs(val_loss - float(record["full_val_loss"])) > 0.01:
        raise CadenzaError(f"{cfg.weights}: its weights give {val_loss:.4f} nats a token on the validation windows "
                           f"here, the run measured {record['full_val_loss']:.4f}: not the net it trained")
    cfg = replace(cfg, **{k: theirs[k] for k in RUN_OWN if k in theirs},
                  arch_args={**cfg.arch_args, "dropout": record["arch_args"].get("dropout", 0.0)})
    extra = {"trained_with": RUN_KIND, "machine": record.get("machine", ""), "numpy_check": record.get("numpy_check"),
             "run_val_loss": record["full_val_loss"], "weights": Path(cfg.weights).name,
             "torch": record.get("torch"), **{k: record[k] for k in ("init_from", "learning_rates", "given_weight") if k in record}}
    return _export(cfg, codec, data, corpus, paths, parts, model, val_loss, record.get("history", {}),
                   float(record.get("seconds", 0.0)), False, extra=extra)


def data_for(cfg: TrainConfig, codec, train_seqs, valid_seqs) -> Data | None:
    """The data a model family reads (one id stream, or messages of several fields), as training and
    evaluation both measure it. With no sequences: only checks that the codec suits the architecture."""
    several = codec.fields != ("token",)
    if cfg.arch == "attention_lstm" and not several:
        raise CadenzaError("attention_lstm is trained on the messages codec: add --codec messages")
    if several and cfg.arch != "attention_lstm":
        raise CadenzaError(f"codec {cfg.codec!r} has tokens of several fields: train it with --arch attention_lstm")
    if train_seqs is None:
        return None
    if several:
        from .messages import messages_data

        return messages_data(cfg, codec, train_seqs, valid_seqs)
    return token_data(cfg, codec, train_seqs, valid_seqs)


def token_data(cfg: TrainConfig, codec, train_seqs, valid_seqs) -> Data:
    import keras

    ds, quick, full, val_tokens = make_datasets(cfg, codec, train_seqs, valid_seqs)
    train_tokens = int(sum(len(s) for s in train_seqs))
    beats = codec.token_beats()
    tokens_per_beat = None
    if beats is not None:
        total_beats = float(sum(beats[s.astype(np.int64)].sum() for s in train_seqs))
        tokens_per_beat = train_tokens / total_beats if total_beats else None
    elif hasattr(codec, "beats_of"):  # e.g. kern: beats counted from its barlines and meters
        total_beats = float(sum(codec.beats_of(s) for s in train_seqs))
        tokens_per_beat = train_tokens / total_beats if total_beats else None
    return Data(ds, quick, full, val_tokens, codec.vocab_size,
                keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                bigram_bits(train_seqs, valid_seqs, codec.vocab_size, codec.eos), train_tokens, tokens_per_beat)


def fit_and_export(cfg: TrainConfig, codec, data: Data, corpus: dict, paths: list[str], parts: dict) -> Path:
    import keras
    import tensorflow as tf

    from .. import nets, store

    keras.utils.set_random_seed(_draws(cfg))
    if cfg.distribute:  # data-parallel over workers or devices (bridge/training/distributed.py)
        return _fit_distributed(cfg, codec, data, corpus, paths, parts)
    model = nets.build(cfg.arch, data.build_args, codec=codec, **cfg.arch_args)
    if cfg.init:
        _start_from(model, cfg, codec)
    model.compile(optimizer=keras.optimizers.Adam(cfg.lr, clipnorm=1.0), loss=data.losses,
                  jit_compile=False)  # XLA makes LSTM training slower on these CPUs (measured: 4.2k vs 7.7k tok/s)
    run_dir = Path(cfg.runs) / cfg.name
    run_dir.mkdir(parents=True, exist_ok=True)
    resumed = (run_dir / "backup").is_dir() and any((run_dir / "backup").iterdir())
    callbacks = [
        BitsPerToken(),
        keras.callbacks.BackupAndRestore(str(run_dir / "backup")),
        keras.callbacks.ModelCheckpoint(str(run_dir / "best.weights.h5"), monitor="val_loss", save_best_only=True,
                                        save_weights_only=True),
        keras.callbacks.EarlyStopping(monitor="val_loss", patience=cfg.patience, restore_best_weights=True),
        TimeBudget(cfg.max_minutes),
    ]
    t0 = time.time()
    history = model.fit(data.train, epochs=cfg.epochs, steps_per_epoch=cfg.steps_per_epoch,
                        validation_data=data.quick_val, callbacks=callbacks, verbose=cfg.verbose)
    seconds = time.time() - t0
    if (run_dir / "best.weights.h5").is_file():
        model.load_weights(run_dir / "best.weights.h5")
    result = model.evaluate(data.full_val, verbose=0)
    val_loss = float(result[0] if isinstance(result, (list, tuple)) else result)
    hist = {k: [round(float(v), 4) for v in vals] for k, vals in history.history.items()}
    return _export(cfg, codec, data, corpus, paths, parts, model, val_loss, hist, seconds, resumed)


def _fit_distributed(cfg: TrainConfig, codec, data: Data, corpus: dict, paths: list[str], parts: dict) -> Path:
    import keras

    from .. import nets
    from .distributed import distributed_fit

    def build():
        model = nets.build(cfg.arch, data.build_args, codec=codec, **cfg.arch_args)
        if cfg.init:
            _start_from(model, cfg, codec)
        return model

    model, hist, seconds, chief, val_loss = distributed_fit(cfg, codec, data, build)
    resumed = hist.pop("start_epoch") > 0
    out = _export(cfg, codec, data, corpus, paths, parts, model, val_loss, hist, seconds, resumed,
                  write=chief)
    keras.backend.clear_session()
    return out


def _export(cfg, codec, data, corpus, paths, parts, model, val_loss, hist, seconds, resumed, write=True,
            extra: dict | None = None) -> Path:
    """The model and its cadenza.json in the store (a worker that is not the chief writes nothing)."""
    import keras
    import tensorflow as tf

    from .. import nets, store

    run_dir = Path(cfg.runs) / cfg.name

    export = nets.build(cfg.arch, data.build_args, codec=codec, **cfg.arch_args)
    export.set_weights(model.get_weights())
    meta = {
        "name": cfg.name,
        "cadenza": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "arch": {"name": cfg.arch, "args": {**nets.defaults(cfg.arch), **cfg.arch_args},
                 "parameters": int(export.count_params())},
        "codec": codec.describe(),
        "corpus": {"paths": corpus["paths"], "licences": corpus["licences"], "note": cfg.corpus_note,
                   "files": len(paths), "split": "the corpus's own (info.csv)" if corpus.get("official") else
                   f"hash of each path (seed {cfg.seed})"},
        "split": {part: [paths[i] for i in idx] for part, idx in parts.items()},
        "training": {**_settings(cfg),
                     "epochs_run": len(hist.get("loss", [])), "seconds": round(seconds, 1), "resumed": resumed,
                     "train_tokens": data.train_tokens, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                     "tensorflow": tf.__version__, "keras": keras.__version__, "history": hist, **(extra or {})},
        "metrics": {"val_bits_per_token": round(val_loss / LN2, 4), "val_tokens": data.val_tokens,
                    **{k: round(v, 4) for k, v in data.baselines.items()}},
        "tokens_per_beat": round(data.tokens_per_beat, 3) if data.tokens_per_beat else None,
    }
    if not write:
        return Path(cfg.out) / cfg.name
    folder = store.save(Path(cfg.out) / cfg.name, export, meta)
    shutil.rmtree(run_dir / "backup", ignore_errors=True)
    return folder


def _start_from(model, cfg: TrainConfig, codec) -> None:
    """Copy the weights of an exported model that has this run's architecture and codec."""
    from .. import nets, store

    base = store.load(cfg.init)
    want = {"arch": cfg.arch, "args": {**nets.defaults(cfg.arch), **cfg.arch_args}, "codec": codec.describe()}
    have = {"arch": base.arch, "args": {**nets.defaults(base.arch), **base.meta["arch"]["args"]},
            "codec": dict(base.meta["codec"], params={**type(getattr(codec, "base", codec)).defaults(),
                                                      **base.meta["codec"].get("params", {})})}
    # dropout acts only while training, and a model may learn to read the sounding notes on top of its
    # weights (their input weights start at zero: it starts out computing exactly what the base did)
    # (or learn without them: their rows are dropped)
    free = ("dropout", "note_state") if cfg.arch == "lstm" else ("dropout",)
    rows = None  # another codec: its tokens' weights, matched to this codec's by what each token means
    if want["codec"]["name"] != have["codec"]["name"]:
        rows = token_map(codec, base.codec)
        want, have = {k: want[k] for k in ("arch", "args")}, {k: have[k] for k in ("arch", "args")}
    for key in want:
        if key == "args":
            w = {k: v for k, v in want[key].items() if k not in free}
            h = {k: v for k, v in have[key].items() if k not in free}
        elif key == "codec":  # an infill model may start from the plain model of its codec
            w = {k: v for k, v in want[key].items() if k not in ("fim", "vocab_size", "specials")}
            h = {k: v for k, v in have[key].items() if k not in ("fim", "vocab_size", "specials")}
        else:
            w, h = want[key], have[key]
        if json.loads(json.dumps(w)) != json.loads(json.dumps(h)):
            raise CadenzaError(f"--init {cfg.init}: its {key} {h} differs from this run's {w}")
    for layer in model.layers:
        mine = layer.get_weights()
        if not mine:
            continue
        theirs = base.model.get_layer(layer.name).get_weights()
        if rows is not None and layer.name in ("embed", "logits"):  # rows of the embedding, columns of logits
            fitted = [_by_token(a, b, rows, axis=0 if layer.name == "embed" or a.ndim == 1 else 1)
                      for a, b in zip(mine, theirs)]
            layer.set_weights(fitted)
            continue
        fitted = []
        for a, b in zip(mine, theirs):
            if a.shape != b.shape:  # grown: the note-state rows of the first LSTM's input kernel, or the
                grown = np.zeros(a.shape, b.dtype)  # infill tokens' rows of the embedding and columns of the
                common = tuple(slice(0, min(x, y)) for x, y in zip(a.shape, b.shape))  # logits: zero, so it
                grown[common] = b[common]  # starts where the base was; or the note-state rows dropped
                b = grown
            fitted.append(b)
        layer.set_weights(fitted)


def token_map(codec, base) -> np.ndarray:
    """For each token of `codec`, the token of `base` that means the same (-1: none): a note's start or end
    of the same pitch (a harmony codec's melody notes as notes), a wait of the same length, the same special.
    Raises where the two share too little to start one from the other."""
    out = np.full(codec.vocab_size, -1, np.int64)
    if not codec.pitch_tokens() or not base.pitch_tokens():
        raise CadenzaError(f"--init: a {base.name} model cannot start a {codec.name} model (their tokens differ)")
    theirs = {(kind, pitch): i for i, kind, pitch in base.pitch_tokens()}
    for i, kind, pitch in codec.pitch_tokens():
        out[i] = theirs.get((kind.replace("melody ", ""), pitch), -1)
    mine_b, their_b = codec.token_beats(), base.token_beats()
    if mine_b is not None and their_b is not None:
        waits = {round(float(b), 6): i for i, b in enumerate(their_b) if b > 0}
        for i, b in enumerate(mine_b):
            if b > 0:
                out[i] = waits.get(round(float(b), 6), -1)
    for name, i in codec.specials.items():
        out[i] = base.specials.get(name, -1)
    if (out >= 0).mean() < 0.5:
        raise CadenzaError(f"--init: a {base.name} model shares too few tokens with {codec.name} to start it")
    return out


def _by_token(mine: np.ndarray, theirs: np.ndarray, rows: np.ndarray, axis: int) -> np.ndarray:
    """`mine` with the slices along `axis` of the tokens `rows` matches taken from `theirs`."""
    out = mine.copy()
    have = np.flatnonzero(rows >= 0)
    idx = [slice(None)] * mine.ndim
    src = [slice(None)] * mine.ndim
    idx[axis], src[axis] = have, rows[have]
    out[tuple(idx)] = theirs[tuple(src)]
    return out


def _callback_base():
    import keras

    return keras.callbacks.Callback


class BitsPerToken(_callback_base()):
    """Adds bits per token (loss / ln 2) to the logs and the progress bar."""

    def on_train_batch_end(self, batch, logs=None):
        if logs is not None and "loss" in logs:
            logs["bits"] = float(logs["loss"]) / LN2

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for k in ("loss", "val_loss"):
            if k in logs:
                logs[k.replace("loss", "bits")] = float(logs[k]) / LN2


class TimeBudget(_callback_base()):
    def __init__(self, minutes: float):
        super().__init__()
        self.deadline = time.time() + minutes * 60 if minutes else None

    def on_epoch_end(self, epoch, logs=None):
        if self.deadline and time.time() > self.deadline:
            self.model.stop_training = True

