"""The settings of `cadenza prepare`, `train` and `train-groove`: one default and one help text each, from
which the command's flags are made (bridge.flags). No heavy imports: `cadenza --help` reads these."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..flags import option
from .split import GENERATION, SEED, VALIDATION


def repo_models() -> Path:
    """This repository's models/ folder: where a trained model goes unless --out says otherwise."""
    from ..store import REPO_MODELS

    return REPO_MODELS


@dataclass
class PrepareConfig:
    corpus: Path = option(help="folder of .mid/.midi/.krn/.xml/.mxl/.musicxml files (searched recursively)",
                          positional=True)
    out: Path = option(help="output folder for shard-*.npy and manifest.json")
    codec: str = option("performance", "performance, notewise, messages, kern, midibytes, pianoroll")
    params: dict = option({}, "a codec parameter, e.g. --param num_velocity_bins=16 (repeatable); stored in the "
                              "manifest", flag="--param")
    workers: int = option(0, "processes (0: every core; with --runner beam, the DirectRunner's, default 1)",
                          show_default=False)
    shards: int = option(0, "shards (0: one per 16 MB of input files and their transposed copies)",
                         show_default=False)
    transpose: int = option(0, "also write each file transposed by -N..N semitones (training transposes windows "
                               "anyway; this is for training elsewhere)", metavar="N")
    runner: str = option("local", "local: this machine's processes; beam: an Apache Beam pipeline "
                                  "(pip install 'cadenza[beam]'), the same shards", choices=("local", "beam"))
    beam_options: list = option([], "a Beam pipeline option passed through, e.g. --beam-option=--runner=FlinkRunner "
                                    "(repeatable; the DirectRunner by default)", flag="--beam-option", metavar="OPTION")
    progress: bool = option(True, "no progress bar", invert="--quiet")
    max_files: int = 0  # encode only the first N files (0: all): smoke tests and quick trials


@dataclass
class TrainConfig:
    data: list = option(help="corpus folder(s), or folder(s) written by `cadenza prepare`", positional=True,
                        nargs="+")
    name: str = option(help="the model's name in the store")
    codec: str = option("performance", "performance, notewise, messages, kern, midibytes, pianoroll")
    codec_params: dict = option({}, "a codec parameter (repeatable)", flag="--param")
    arch: str = option("lstm", "lstm, rnn, attention_lstm")
    arch_args: dict = option({}, "an architecture argument, e.g. --arg window=128 (repeatable; --layers, --units, "
                                 "--embed and --dropout are the common ones)", flag="--arg")
    seq_len: int = option(256, "tokens per training window")
    batch: int = option(32, "windows per step")
    steps_per_epoch: int = option(200, "steps per epoch")
    epochs: int = option(100, "an upper bound: early stopping or the time budget usually ends sooner")
    lr: float = option(2e-3, "learning rate")
    patience: int = option(4, "epochs without a better validation loss before stopping")
    transpose: int = option(5, "each window is transposed by a random shift in -N..N semitones (0: off)", metavar="N")
    val_fraction: float = VALIDATION
    gen_fraction: float = GENERATION
    seed: int = option(SEED, "the split (a hash of each path with it), and the draws unless --sample-seed is given")
    sample_seed: int = option(-1, "initial weights and training windows only: another draw over the same split "
                                  "(-1: --seed)", show_default=False)
    max_minutes: float = option(0.0, "stop after this long, keeping the best weights (0: no limit)",
                                show_default=False)
    max_files: int = option(0, "use only the first N files (0: all; smoke tests)", show_default=False)
    out: Path = option(help="store folder the model is exported to (default: this repository's models/)",
                       factory=repo_models, show_default=False)
    runs: Path = option(Path("runs"), "checkpoint folder, for resuming (default runs/)")
    corpus_note: str = option("", "a note on the corpus for cadenza.json (e.g. its licence in words)", flag="--note")
    val_windows: int = 96  # validation windows checked each epoch (the final figure uses them all)
    init: str = option("", "start from this model's weights (a name or folder; same architecture and codec): train "
                           "a shipped model further")
    fim: bool = option(False, "train for infill: windows in fill-in-the-middle order (with --init, an infill model "
                              "starts from a plain one)", group="infill (docs/infill.md)")
    fim_reminder: int = option(0, "with --fim: read the first N tokens of the music after the gap again just before "
                                  "the gap", group="infill (docs/infill.md)", show_default=False)
    fim_order: str = option("spm", "with --fim: spm reads suffix, prefix, middle; psm reads the prefix, then the "
                                   "first --fim-suffix tokens after the gap right before the middle",
                            choices=("spm", "psm"), group="infill (docs/infill.md)")
    fim_suffix: int = option(32, "with --fim-order psm: tokens after the gap read", group="infill (docs/infill.md)")
    fim_plain: float = option(0.0, "with --fim: the share of windows left in plain order, so the model also "
                                   "continues", group="infill (docs/infill.md)", show_default=False)
    fim_again: int = option(0, "with --fim-order psm: the last N tokens before the gap read again after the suffix",
                            group="infill (docs/infill.md)", show_default=False)
    weights: str = option("", "no training here: the weights of a run of models/lstm_gpu.py (PyTorch, on a GPU: "
                               "the same net, windows and loss, from the .npz its `windows` wrote with these flags), "
                               "saved as this model with that run's record", show_default=False, metavar="RUN.npz")
    distribute: str = option("", "data-parallel training: mirrored (the GPUs of one machine) or multiworker (the "
                                 "workers TF_CONFIG names; run the same command on each)",
                             choices=("", "mirrored", "multiworker"), group="scale-out (docs/cluster.md)")
    worker_timeout: float = option(300.0, "multiworker: how long a step waits for the other workers before the run "
                                          "stops with its checkpoint kept (0: for ever)", metavar="SECONDS",
                                   group="scale-out (docs/cluster.md)")
    verbose: int = option(1, "no progress", invert="--quiet")


@dataclass
class GrooveConfig:
    data: Path = option(help="the Groove MIDI Dataset folder (with info.csv)", positional=True)
    name: str = option("groove", "the model's name in the store")
    out: Path = option(help="store folder (default: this repository's models/)", factory=repo_models,
                       show_default=False)
    batch: int = option(64, "windows per step")
    lr: float = option(1e-3, "learning rate")
    beta: float = option(0.2, "weight of the KL term")
    free_bits: float = option(16.0, "nats of KL a window may use unpenalised (else the decoder ignores the latent)")
    max_minutes: float = option(30.0, "time budget")
    steps_per_epoch: int = option(200, "steps per epoch")
    epochs: int = option(200, "at most this many epochs")
    patience: int = option(10, "epochs without a better validation loss before stopping")
    seed: int = option(0, "the random seed: the first weights, the windows and tasks drawn (models trained apart, to "
                          "join, differ by it)")
    max_files: int = option(0, "only the first N files of each part (smoke tests)", show_default=False)
    args: dict = option({}, "a groovae argument: latent, enc_units, dec_units, dec_bidi (the decoder reads the "
                         "steps both ways; true unless given false) (repeatable)", flag="--arg")
    styles: bool = option(True, "no style and tempo at every step (the model then hears neither)",
                          invert="--no-styles")
    style_drop: float = option(0.5, "the share of training windows whose style is not said (so that a request "
                               "without one plays well too)")
    tempo_jitter: float = option(0.1, "the tempo a training window is told, off its file's by this much (log "
                                 "scale, one standard deviation): style and exact tempo together name a file, and "
                                 "the model learned the files by heart")
    note: str = option("", "a note on the corpus for cadenza.json")
    init: str = option("", "start from the weights of this groove model (a name in the store or a folder; built "
                       "with the same arguments), for a longer run", show_default=False)
    dropout: float = option(0.0, "share of the encoder's summary and the decoder's outputs dropped while training")
    error: str = option("squared", "how a velocity's or an offset's error counts in the loss: squared (the "
                        "model learns the mean) or absolute (the median: the least absolute error)",
                        choices=("squared", "absolute"))
    weights: str = option("", "no training here: the weights of a run of models/groove_gpu.py (PyTorch, on a GPU: "
                          "the same net, windows, tasks and loss), saved as this model with that run's record, "
                          "then calibrated", show_default=False, metavar="RUN.npz")
    join: list = option([], "no training: join this trained groove model (a name or a folder; repeat, two or "
                        "more, the same sizes and split) into one ensemble, calibrated as one", metavar="MODEL")
    calibrate: str = option("", "no training: calibrate this groove model again on its own split (drumify's "
                            "thresholds, the feel, the velocity lines, the style guesser), as training ends",
                            show_default=False, metavar="MODEL")
    use: list = option([], "with --join: the members that play one task, as TASK=I,J,... (groove or drumify; 0 is "
                       "the first joined; repeatable); every member plays both unless said", metavar="TASK=I,J")
    verbose: int = option(1, "no progress", invert="--quiet")
