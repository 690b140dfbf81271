"""The `cadenza` command.

Only argparse is imported at start-up, so `cadenza --help` answers at once; each subcommand
imports what it needs (TensorFlow only where a model runs).
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from dataclasses import dataclass

from . import settings

EPILOG = """examples:
  cadenza prepare ../shared/corpus/piano-midi --codec performance --out data/piano
  cadenza prepare ../shared/corpus/kern --codec kern --out data/kern
  cadenza inspect song.mid --codec notewise
  cadenza bench prepare ../shared/corpus/piano-midi
"""


def arg(*flags, **kwargs) -> tuple:
    return flags, kwargs


FILE = arg("file", help="the piece: .mid .midi .krn .xml .mxl .musicxml (or a recording: .wav .flac .ogg .mp3)")
OUT_MID = "output .mid (default {}; with variations, -1, -2, ... beside it)"


@dataclass(frozen=True)
class Command:
    """One `cadenza` command: its flags come from `args`, from config dataclasses (`configs`: their fields'
    one default and help, bridge.flags) and from the settings specification (`request`: every request
    setting except those named in `skip`)."""
    name: str
    help: str
    func: str  # the cmd_ function below
    args: tuple = ()
    description: str = ""
    example: str = ""
    configs: tuple = ()  # "module:Class" whose option() fields are flags
    unset: bool = False  # config flags default to None (serve layers them over its TOML file)
    request: bool = False
    skip: tuple = ("model",)
    defaults: tuple = ()  # (name, value) set without a flag


COMMANDS = (
    Command("prepare", "encode a folder of music into token shards", "cmd_prepare",
            description="Encode every music file under CORPUS on all cores into token shards and a manifest.json, "
                        "streaming (memory stays flat at any corpus size). A file that cannot be read is listed with "
                        "its reason, never fatal. --runner beam runs the same preparation as an Apache Beam pipeline "
                        "(same shards, byte for byte), here or on Flink, Spark or Dataflow.",
            example="cadenza prepare ../shared/corpus/piano-midi --codec performance --out data/piano\n"
                    "  cadenza prepare ../shared/corpus/piano-midi --out data/piano --runner beam\n"
                    "  cadenza prepare /mnt/corpus --out /mnt/prepared --runner beam "
                    "--beam-option=--runner=FlinkRunner --beam-option=--flink_master=localhost:8081",
            configs=("training.config:PrepareConfig",)),
    Command("train", "train a model on a corpus and put it in the store", "cmd_train",
            (arg("--layers", type=int, help="recurrent layers (lstm: 1-4)"),
             arg("--units", type=int, help="units per recurrent layer"),
             arg("--embed", type=int, help="embedding width"), arg("--dropout", type=float, help="dropout rate")),
            "Train a model on one or more corpus folders (or folders written by `cadenza prepare`), split by file "
            "into training, validation and a generation set, and export it to models/NAME with its cadenza.json. An "
            "interrupted run resumes from runs/NAME.",
            "cadenza train ../shared/corpus/kern/bach-370-chorales --codec notewise --name chorale\n"
            "  cadenza train ../shared/corpus/piano-midi --codec performance --layers 2 --units 256 --name piano "
            "--max-minutes 40", configs=("training.config:TrainConfig",)),
    Command("train-groove", "train the groove model (groove, drumify, interpolate) on the Groove MIDI Dataset",
            "cmd_train_groove", description="Train the 2-bar drum VAE (bridge/nets/groovae.py) on a Groove MIDI "
                                            "Dataset folder, with its own split (info.csv), and put it in the store.",
            example="cadenza train-groove ../shared/corpus/groove --name groove --max-minutes 30",
            configs=("training.config:GrooveConfig",)),
    Command("generate", "generate new music with a model", "cmd_generate",
            (arg("--prime-set", action="store_true",
                 help="prime with the opening of a generation-set piece (never trained on)"),
             arg("--prime-beats", type=float, default=8.0, help="beats of that opening (default 8)"),
             arg("--model", default="piano", help="model name or folder (default piano)"),
             arg("--tokens", type=int, default=0, help="a length in tokens instead of --beats"),
             arg("--out", help=OUT_MID.format("generated.cadenza.mid"))),
            "Generate music from nothing, or after the opening of a piece from the model's generation set "
            "(--prime-set), and write MIDI.",
            "cadenza generate --model piano --beats 32 --out x.mid\n"
            "  cadenza generate --model chorale --prime-set --variations 4 --out ch.mid", request=True),
    Command("continue", "continue a MIDI, **kern or MusicXML file", "cmd_generate",
            (FILE, arg("--only-new", action="store_true", help="write only the continuation, not the prime"),
             arg("--model", default="piano", help="model name or folder (default piano)"),
             arg("--tokens", type=int, default=0, help="a length in tokens instead of --beats"),
             arg("--out", help=OUT_MID.format("NAME.cadenza.mid"))),
            "Continue the notes of a file: the output holds the prime followed by the new music.",
            "cadenza continue in.mid --model piano --beats 16 --out y.mid", request=True),
    Command("infill", "write a region of a piece anew, given the music on both sides", "cmd_infill",
            (FILE, arg("--start-beat", type=float, required=True, help="where the region begins (beats from the start)"),
             arg("--end-beat", type=float, required=True, help="where it ends"),
             arg("--model", default="chorale-infill", help="an infill model (default chorale-infill)"),
             arg("--out", help=OUT_MID.format("NAME.infill.mid"))),
            "Regenerate the notes between two beats of a piece with an infill model (trained with `cadenza train "
            "--fim`): every note outside the region stays as it was; the new notes are a track of their own.",
            "cadenza infill chorale.krn --start-beat 8 --end-beat 12 --out filled.mid",
            request=True, skip=("model", "beats")),
    Command("harmonize", "write the parts under a melody (the melody stays as given, on top)", "cmd_harmonize",
            (FILE, arg("--model", default="chorale-harmony",
                       help="a harmony model (default chorale-harmony: alto, tenor and bass under a soprano)"),
             arg("--out", help=OUT_MID.format("NAME.harmony.mid"))),
            "Harmonize a melody (MIDI, **kern or MusicXML; one line): the output holds the melody exactly as given, "
            "its top line, and the parts the model wrote under it as a track of their own.",
            "cadenza harmonize tune.mid --model chorale-harmony --out h.mid\n"
            "  cadenza harmonize tune.mid --variations 4 --temperature 0.9 --voices 3 --out h.mid",
            request=True, skip=("model", "beats")),
    Command("groove", "play a drum part with feel: timing and dynamics from the groove model (its hits kept)",
            "cmd_drum_task", (FILE, arg("--model", default="groove", help="a groove model (default groove)"),
                              arg("--out", help="output .mid (default NAME.groove.mid)")),
            "Play a drum part with feel; the piece's other parts are kept.",
            "cadenza groove beat.mid --out played.mid --humanize 0.8 --swing 0.3", request=True,
            skip=("model", "beats"), defaults=(("task", "groove"),)),
    Command("drumify", "a drum part that plays a piece's rhythm (its drums' onsets, or its notes' where it has none)",
            "cmd_drum_task", (FILE, arg("--model", default="groove", help="a groove model (default groove)"),
                              arg("--out", help=OUT_MID.format("NAME.drumify.mid"))),
            "A drum part that plays a piece's rhythm; the piece's other parts are kept.",
            "cadenza drumify riff.mid --out with-drums.mid --density 2", request=True, skip=("model", "beats"),
            defaults=(("task", "drumify"),)),
    Command("interpolate", "2-bar beats going from one drum beat to another", "cmd_drum_task",
            (arg("a"), arg("b"), arg("--model", default="groove", help="a groove model (default groove)"),
             arg("--out-dir", required=True, help="folder for A-B-1.mid ... A-B-N.mid")),
            "Decode beats from points between two 2-bar drum beats' latent codes (the groove model): the first is "
            "A's, the last B's.", "cadenza interpolate a.mid b.mid --steps 5 --out-dir between/", request=True,
            skip=("model", "beats"), defaults=(("task", "interpolate"),)),
    Command("serve", "run the daemon: OSC on 127.0.0.1:9000, the page on :8000 and the watch folder", "cmd_serve",
            (arg("--config", help="a TOML file of these settings (flags win)"),),
            "Serve models to music software over OSC and continue files dropped into the inbox. Stops cleanly on "
            "Ctrl-C, SIGTERM or SIGHUP (a closed terminal). The protocol: docs/osc.md; limits and what is refused: "
            "docs/security.md.",
            "cadenza serve\n  cadenza serve --port 9001 --model chorale\n"
            "  cadenza serve --host 0.0.0.0 --allow 192.168.1.0/24", configs=("host.config:ServeConfig",), unset=True),
    Command("export-music21", "write music21's bundled folk-tune collections (ABC) as MIDI files",
            "cmd_export_music21",
            (arg("collections", nargs="+", help="essenFolksong, oneills1850, ryansMammoth"),
             arg("--out", required=True, help="folder to write (one subfolder a collection)"),
             arg("--workers", type=int, default=0, help="processes (0: every core)"),
             arg("--max-files", type=int, default=0, help="only the first N ABC files of each (smoke tests)"),
             arg("--quiet", action="store_true")),
            "Write the folk-tune collections music21 ships (Essen, O'Neill 1850, Ryan's Mammoth; ABC) as one MIDI "
            "file a tune, a corpus folder for `cadenza train`.",
            "cadenza export-music21 essenFolksong oneills1850 ryansMammoth --out data/folk"),
    Command("models", "list the models in the store", "cmd_models", (arg("--json", action="store_true"),)),
    Command("warm", "compile Cadenza for this machine ahead of the first `cadenza serve`", "cmd_warm",
            (arg("models", nargs="*", help="the models to warm (default: every one in the store)"),),
            "Run every model in the store once, and read and write a MIDI file, so that numba compiles Cadenza's "
            "kernels for this machine and this checkout now (~45-60 s on a 2-core machine, once) and caches each "
            "model's arrays: then the first phrase after `cadenza serve` comes at once. The README's install "
            "command runs it; running it again costs a second or two.", "cadenza warm\n  cadenza warm piano chorale"),
    Command("eval", "a model's quality: NLL against baselines, music statistics, copy rate", "cmd_eval",
            (arg("--model", default="piano"),
             arg("--all", action="store_true", help="every shipped model, each measured as it is used (continue, "
                 "harmonize, infill, groove and drumify), in one table against the goals"),
             arg("--only", nargs="+", metavar="MODEL", help="with --all: only these models"),
             arg("--corpus", help="the folder of the model's training corpus, if it is not where it was"),
             arg("--pieces", type=int, default=16, help="generated pieces to compare (default 16)"),
             arg("--samples", type=int, default=1, help="continuations drawn for each primed piece, the generated "
                 "figures averaged over all (1-64, default 1; 4: gaps with less of the draw's noise)"),
             arg("--beats", type=float, default=32.0, help="beats per generated piece (default 32)"),
             arg("--prime-beats", type=float, default=8.0, help="beats of each held-out piece that prime (8)"),
             arg("--temperature", type=float, default=None, help="the temperature setting (default: the "
                 "setting's default, as every door samples)"), arg("--seed", type=int, default=0),
             arg("--strategy", default=None, help="the strategy setting (default: the setting's default)"),
             arg("--top-p", type=float, default=None, help="the top_p setting (default: the setting's default; "
                 "1: the model's whole distribution)"),
             arg("--key-prior", type=float, default=None,
                 help="the key_prior setting (default: the setting's default; 0: the model's own distribution)"),
             arg("--register-prior", type=float, default=None,
                 help="the register_prior setting (default: the setting's default; 0: off)"),
             arg("--time-prior", type=float, default=None,
                 help="the time_prior setting (default: the model's own; 0: off)"),
             arg("--json", action="store_true", help="print JSON instead of the table"),
             arg("--out", help="also write the JSON report here"),
             arg("--plot", help="also draw the statistics' distributions to this PNG")),
            "On the model's held-out pieces: validation NLL in bits per event next to unigram and bigram baselines; "
            "music statistics of generated pieces next to real ones; the share of generated 8-note pitch n-grams "
            "copied from the training set.",
            "cadenza eval --model piano\n  cadenza eval --model chorale --pieces 32 --json --out chorale-eval.json "
            "--plot chorale-eval.png\n  cadenza eval --all --json --out eval-all.json"),
    Command("render", "turn a MIDI file into audio (wav flac ogg mp3) or a piano-roll picture (png)", "cmd_render",
            (arg("input", help="a MIDI, **kern or MusicXML file (or a recording: its transcription)"),
             arg("--out", "-o", required=True, help="output: .wav .flac .ogg .mp3 or .png"),
             arg("--synth", default="auto", choices=("auto", "fluidsynth", "builtin"),
                 help="auto (default): FluidSynth when it and a SoundFont are present, else built-in"),
             arg("--soundfont", help="a .sf2 General MIDI SoundFont (default: $CADENZA_SOUNDFONT, "
                                     "fluid-soundfont-gm, or the one pretty_midi ships)"),
             arg("--timbre", choices=("piano", "organ", "strings", "sine"),
                 help="built-in synthesiser voice for every track (default: by each track's program)"),
             arg("--tail", type=float, default=1.0, help="seconds of release after the last note (default 1)"),
             arg("--sample-rate", type=int, default=44100, help="8000-192000 Hz (default 44100)"),
             arg("--max-minutes", type=float, default=10.0,
                 help="the longest music rendered (default 10; the daemon's doors keep to 10)"),
             arg("--prime-beats", type=float, help="for .png: where the continuation begins, in beats (default: "
                                                   "the file's continuation marker)")),
            "Render a music file: audio through FluidSynth and a General MIDI SoundFont when both are present, else "
            "the built-in synthesiser (WAV written by Python's wave, the others by tensorflow-io); or, for .png, a piano roll with the prime and the "
            "continuation in two colours.",
            "cadenza render continued.mid --out continued.flac\n  cadenza render continued.mid --out continued.png\n"
            "  cadenza render tune.mid --out tune.wav --synth builtin --timbre organ"),
    Command("inspect", "show what Cadenza reads in a music file", "cmd_inspect",
            (arg("file"), arg("--codec", help="also encode with this codec"),
             arg("--tokens", type=int, default=24, help="how many tokens to show (default 24)")),
            "Read a file as Cadenza does and summarise it; with --codec, also its tokens.",
            "cadenza inspect song.mid --codec performance --tokens 40"),
    Command("codecs", "list the codecs and their parameters", "cmd_codecs"),
)


def _load(spec: str, package: str = __package__):
    module, name = spec.split(":")
    return getattr(importlib.import_module(f"{package}.{module}"), name)


def _add(sub, name: str, help_text: str, description: str = "", example: str = ""):
    return sub.add_parser(name, help=help_text, description=description or None,
                          epilog=f"example{'s' if chr(10) in example else ''}:\n  {example}" if example else None,
                          formatter_class=argparse.RawDescriptionHelpFormatter)


class _Parser(argparse.ArgumentParser):
    """argparse's parser, whose errors name the fix for a command or an option typed a little wrong
    (`cadenza generat`, `--temprature`: bridge.errors.did_you_mean)."""

    def error(self, message: str):
        import re

        from .errors import did_you_mean

        if m := re.match(r"argument \S+: invalid choice: '([^']*)' \(choose from (.*)\)", message):
            message += did_you_mean(m.group(1), re.findall(r"'([^']*)'", m.group(2)))
        elif m := re.match(r"unrecognized arguments: (-\S+)", message):
            message += did_you_mean(m.group(1).split("=")[0], [s for a in self._actions for s in a.option_strings])
        super().error(message)

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an unknown option is refused by the command it was given to, which knows its
        options (argparse leaves that to the top parser, which knows only --help and --version)."""
        parsed, extra = self.parse_known_args(args, namespace)
        if extra:
            chosen = self
            for dest in ("command", "bench"):  # cadenza COMMAND, cadenza bench WHAT
                chosen = getattr(chosen, "commands", {}).get(getattr(parsed, dest, None), chosen)
            chosen.error(f"unrecognized arguments: {' '.join(extra)}")
        return parsed


def build_parser() -> argparse.ArgumentParser:
    """Every command from COMMANDS, every benchmark from bridge.bench.BENCHES."""
    from . import __version__
    from .bench import BENCHES  # the table only; nothing heavy
    from .flags import add_flags

    parser = _Parser(prog="cadenza", description="Trained models of symbolic music for Max, Live, "
                                     "SuperCollider, Pd and a watched folder.", epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    parser.commands = sub.choices  # (name -> its parser: _Parser.parse_args)
    for c in COMMANDS:
        p = _add(sub, c.name, c.help, c.description, c.example)
        for flags, kwargs in c.args:
            p.add_argument(*flags, **kwargs)
        for spec in c.configs:
            add_flags(p, _load(spec), unset=c.unset)
        if c.request:  # every request setting, from the one specification (bridge/settings.py)
            settings.add_arguments(p, exclude=c.skip)
        p.set_defaults(func=globals()[c.func], **dict(c.defaults))
    bench = sub.add_parser("bench", help="measure Cadenza's speed (figures as ratios to a baseline)")
    bsub = bench.add_subparsers(dest="bench", metavar="WHAT")
    bench.commands = bsub.choices
    for name, b in BENCHES.items():
        p = _add(bsub, name, b.help, b.description, b.example)
        for flags, kwargs in b.args:
            p.add_argument(*flags, **kwargs)
        p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
        if b.record:
            p.add_argument("--record", action="store_true", help="also write the figures into the model's cadenza.json")
        p.set_defaults(func=cmd_bench)
    bench.set_defaults(func=lambda args: _usage(bench))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_prepare(args) -> int:
    from .errors import CadenzaError
    from .flags import config_of
    from .training.prepare import PrepareConfig, prepare

    cfg = config_of(PrepareConfig, args)
    if cfg.beam_options and cfg.runner != "beam":
        raise CadenzaError("--beam-option is for --runner beam")
    m = prepare(cfg)
    t = m["totals"]
    copies = f", {t['records']} with the transposed copies" if m.get("transpose") else ""
    print(f"{t['encoded']} of {t['files']} files encoded ({t['tokens']} {m['codec']['name']} tokens{copies}, "
          f"{t['shards']} shard(s)) in {t['seconds']} s on {t['workers']} worker(s)"
          f"{' with Apache Beam' if t['runner'] == 'beam' else ''} -> {args.out}")
    parts = m["statistics"]["parts"]
    print("parts: " + ", ".join(f"{k} {v['files']} files" for k, v in parts.items()))
    if m["failed"]:
        print(f"{len(m['failed'])} failed:")
        for f in m["failed"]:
            print(f"  {f['error']}")
    return 0


def cmd_train(args) -> int:
    from pathlib import Path

    from .flags import config_of
    from .training.train import TrainConfig, train

    cfg = config_of(TrainConfig, args)
    shortcuts = {k: getattr(args, k) for k in ("layers", "units", "embed", "dropout") if getattr(args, k) is not None}
    cfg.arch_args = {**shortcuts, **cfg.arch_args}
    cfg.data = [Path(d) for d in cfg.data]
    folder = train(cfg)
    import json

    if args.distribute:
        from .training.distributed import is_chief

        if not is_chief():  # the chief (worker 0) exports the model; this worker's part is done
            print(f"worker done: the chief writes {folder}")
            return 0
    m = json.loads((folder / "cadenza.json").read_text())["metrics"]
    print(f"{folder}: validation {m['val_bits_per_token']:.3f} bits/token "
          f"(bigram {m['bigram_bits_per_token']:.3f}, unigram {m['unigram_bits_per_token']:.3f})")
    return 0


def _output(out: str | None, default_stem: str):
    """Where a command writes (variation k of several: NAME-k.mid beside it), checked before any work."""
    from pathlib import Path

    from .errors import CadenzaError

    base = Path(out) if out else Path(f"{default_stem}.cadenza.mid")
    if base.is_dir():
        raise CadenzaError(f"--out {base}: is a folder; give a file name such as {base / (default_stem + '.mid')}")
    if not base.parent.is_dir():
        raise CadenzaError(f"--out {base}: no folder {base.parent} to write into")
    return base


def cmd_train_groove(args) -> int:
    from .flags import config_of
    from .errors import CadenzaError
    from .training.groove import GrooveConfig, calibrate, import_groove, join_groove, train_groove

    cfg = config_of(GrooveConfig, args)
    if cfg.calibrate:
        if cfg.join or cfg.weights or cfg.init:
            raise CadenzaError("--calibrate calibrates a trained model again: no --join, --weights or --init with it")
        from . import store

        calibrate(cfg.calibrate)
        card = json.loads((store.find(cfg.calibrate) / "cadenza.json").read_text())["drumify"]
        print(f"{cfg.calibrate}: calibrated again; drumify's thresholds {card['thresholds']}, without a style "
              f"{card.get('thresholds_style_not_said', card['thresholds'])}")
        return 0
    if cfg.join and cfg.weights:
        raise CadenzaError("--join and --weights: one or the other (join trained models, or save one run's weights)")
    if cfg.use and not cfg.join:
        raise CadenzaError("--use chooses among the members of --join: join two or more models with it")
    if cfg.weights:
        folder = import_groove(cfg)
        print(f"{folder}: the weights of {cfg.weights}, validation loss "
              f"{json.loads((folder / 'cadenza.json').read_text())['metrics']['val_loss']}, calibrated")
        return 0
    if cfg.join:
        folder = join_groove(cfg)
        print(f"{folder}: {len(cfg.join)} members joined ({', '.join(map(str, cfg.join))}), calibrated as one")
        return 0
    folder = train_groove(cfg)
    print(f"{folder}: validation loss {json.loads((folder / 'cadenza.json').read_text())['metrics']['val_loss']}")
    return 0


def _run_task(task) -> int:
    """Carry out a task here, printing what it tells (bridge.tasks): 0 when it is done, 1 when a part of it
    (audio beside the MIDI) was not; a task that fails raises its reason."""
    from .errors import CadenzaError
    from .tasks import events as E, run

    problems = []

    def sink(e):
        if isinstance(e, E.File) and e.kind == "midi":
            print(f"{e.path}: {e.detail}" if e.detail else str(e.path))
        elif isinstance(e, E.File):
            print(f"{e.path}: {e.kind}")
        elif isinstance(e, E.Info):
            print(e.text)
        elif isinstance(e, E.Warning):
            problems.append(e.text)
            print(f"cadenza: warning: {e.text}", file=sys.stderr)

    from .caches import kernels_cached

    if not kernels_cached():  # a new machine or path, or an upgrade, without `cadenza warm`: say why it waits
        print("cadenza: compiling Cadenza for this machine, once: this first run takes up to a minute longer "
              "(`cadenza warm` after installing does it ahead)", file=sys.stderr, flush=True)
    final = run(task, sink=sink)
    if isinstance(final, E.Failed):
        raise CadenzaError(final.message)
    if isinstance(final, E.Done) and final.tokens:
        print(f"{final.tokens} tokens in {final.seconds:.2f} s ({final.tokens / max(final.seconds, 1e-9):.0f} "
              f"tokens/s, model {final.model}, seed {final.seed})")
    return 0 if isinstance(final, E.Done) and not problems else 1


def _task_settings(args):
    """The settings of a generating command, its model (a name in the store or a folder) and a fixed seed."""
    import dataclasses
    import random

    s = dataclasses.replace(settings.from_args(args), model=args.model)
    if s.seed < 0:
        s = dataclasses.replace(s, seed=random.randrange(2**31))
        print(f"seed {s.seed} (give --seed {s.seed} for the same music again)")
    return s


def cmd_generate(args) -> int:
    from pathlib import Path

    from .tasks import Continue

    s = _task_settings(args)
    if args.command == "continue":
        path = Path(args.file)
        out = _output(args.out, path.stem)  # a bad --out is reported before any work
        task = Continue(s, prime=path, out=out, include_prime=not args.only_new, tokens=args.tokens)
    else:
        out = _output(args.out, "generated")
        task = Continue(s, out=out, held_out=args.prime_beats if args.prime_set else 0.0, tokens=args.tokens)
    return _run_task(task)


def cmd_drum_task(args) -> int:
    from pathlib import Path

    from .errors import CadenzaError
    from .tasks import Drums

    from .store import find, read_meta

    if read_meta(find(args.model)).get("arch", {}).get("name") != "groovae":  # --model names the groove model
        raise CadenzaError(f"{args.model} is not a groove model: groove, drumify and interpolate need one "
                           "(the shipped `groove`, or train one with `cadenza train-groove`)")
    s = _task_settings(args)
    if args.task == "interpolate":
        out_dir = Path(args.out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise CadenzaError(f"--out-dir {out_dir}: a file, not a folder")
        out_dir.mkdir(parents=True, exist_ok=True)
        primes = (Path(args.a), Path(args.b))
        out = out_dir / f"{primes[0].stem}-{primes[1].stem}.mid"
    else:
        primes = (Path(args.file),)
        out = _output(args.out or f"{primes[0].stem}.{args.task}.mid", primes[0].stem)
    return _run_task(Drums(args.task, s, primes, out=out))


def cmd_infill(args) -> int:
    from pathlib import Path

    from .tasks import Infill

    s = _task_settings(args)
    path = Path(args.file)
    out = _output(args.out or f"{path.stem}.infill.mid", path.stem)
    return _run_task(Infill(s, prime=path, start=args.start_beat, end=args.end_beat, out=out))


def cmd_harmonize(args) -> int:
    from pathlib import Path

    from .tasks import Harmonize

    s = _task_settings(args)
    path = Path(args.file)
    out = _output(args.out or f"{path.stem}.harmony.mid", path.stem)
    return _run_task(Harmonize(s, prime=path, out=out))


def cmd_serve(args) -> int:
    import logging
    import signal
    import threading

    from .flags import values_of
    from .host.config import ServeConfig, build_config, load_toml
    from .host.daemon import Daemon

    cfg = build_config(load_toml(args.config) if args.config else {}, **values_of(ServeConfig, args))
    from .generation.runner import cores

    cores()  # a CADENZA_CORES that is not a number of cores stops the daemon here, not each request later
    logging.basicConfig(level=getattr(logging, str(cfg.log_level).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    if cfg.host not in ("127.0.0.1", "localhost", "::1") and not cfg.allow:
        logging.getLogger("cadenza").warning("listening on %s with no --allow list: any host that reaches this "
                                             "port may use it", cfg.host)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):  # SIGHUP: the terminal closed; stop cleanly
        signal.signal(sig, lambda *_: stop.set())
    daemon = Daemon(cfg)
    try:
        daemon.start()
        print(f"cadenza: ready on {cfg.host}:{daemon.server.address[1]}", flush=True)
        if daemon.web is not None:
            print(f"cadenza: the page is on {daemon.web.url}", flush=True)
        while not stop.wait(0.5):
            if not daemon.server.alive:  # never expected; a supervisor must see it
                logging.getLogger("cadenza").critical("the OSC receive loop died (%r): exiting", daemon.server.failure)
                return 1
    finally:
        daemon.stop()
    return 0


def cmd_export_music21(args) -> int:
    from .training.folk import export

    counts = export(args.collections, args.out, workers=args.workers, max_files=args.max_files,
                    progress=not args.quiet)
    print(f"{counts['tunes']} tunes from {counts['files']} ABC files -> {args.out}")
    for line in counts["problems"][:20]:
        print(f"  {line}")
    if len(counts["problems"]) > 20:
        print(f"  ... and {len(counts['problems']) - 20} more")
    return 0


def cmd_models(args) -> int:
    from .store import list_models

    models = list_models()
    if args.json:
        print(json.dumps(models, indent=1))
        return 0
    if not models:
        print("no models yet: train one with `cadenza train`")
    for m in models:
        met = m["metrics"]
        fig = (f"{met['val_bits_per_token']:.2f} bits/token (bigram {met['bigram_bits_per_token']:.2f})"
               if "val_bits_per_token" in met else "")
        print(f"{m['name']:<14} {m['arch'] or '?':<15} {m['codec'] or '?':<12} {fig}  {m['path']}")
    return 0


def cmd_warm(args) -> int:
    import time

    from . import store
    from .errors import CadenzaError
    from .generation.warm import warm, warm_midi

    import os
    import subprocess

    models = store.list_models()
    names = args.models or [m["name"] for m in models]
    t0 = time.perf_counter()
    # With a second core, second processes compile meanwhile what is their own: the attention-LSTM's kernels
    # from the start, and a harmony model's loop and judging (bridge.generation.harmonize_kernels) once this one
    # has compiled the loop every model runs (a harmony model runs it too: before, both would compile it)
    children: list = []

    def spawn(group: list[str]) -> None:
        children.append(subprocess.Popen([sys.executable, "-m", "bridge", "warm", *group], stdout=subprocess.PIPE,
                                         text=True))

    chosen = [m for m in models if m["name"] in names]
    apart = [m["name"] for m in chosen if m.get("arch") == "attention_lstm"]
    later = [m["name"] for m in chosen if m.get("codec") == "harmony" and m["name"] not in apart]
    if (os.cpu_count() or 1) < 2 or len(apart) + len(later) >= len(names):
        apart, later = [], []
    if apart:
        spawn(apart)
    names = [n for n in names if n not in apart and n not in later]

    def midi() -> None:
        t = time.perf_counter()
        warm_midi()
        print(f"MIDI reading and writing: {time.perf_counter() - t:.1f} s", flush=True)

    failed = 0
    for k, name in enumerate(names):
        t = time.perf_counter()
        try:
            warm(store.load(name))
            print(f"{name}: {time.perf_counter() - t:.1f} s", flush=True)
        except CadenzaError as e:
            print(f"cadenza: {name}: {e}", file=sys.stderr)
            failed += 1
        if k == 0:  # then the harmony models' process (the longest of all, so at once), then the MIDI kernels
            if later:  # (a process of models apart compiles these too, if it comes to them first)
                spawn(later)
            midi()
    if not names:
        midi()
    for child in children:
        out, _ = child.communicate()
        print("".join(ln for ln in out.splitlines(True) if not ln.startswith(("MIDI ", "warm in"))), end="")
        failed += child.returncode != 0
    print(f"warm in {time.perf_counter() - t0:.1f} s: the next `cadenza serve` starts with compiled code")
    return 1 if failed else 0


def cmd_eval(args) -> int:
    from pathlib import Path

    from .evaluate import evaluate, plot_png, table
    from .music import atomic_write_bytes, atomic_write_text

    for flag, value, top in (("--key-prior", args.key_prior, 10), ("--register-prior", args.register_prior, 10),
                             ("--time-prior", args.time_prior, 5)):
        if value is not None and not 0 <= value <= top:
            print(f"cadenza: error: {flag} {value:g}: nats, 0-{top} (0: off)", file=sys.stderr)
            return 2
    if args.pieces < 1 or args.beats <= 0 or args.prime_beats <= 0:
        print("cadenza: error: --pieces, --beats and --prime-beats must be positive", file=sys.stderr)
        return 2
    from .generation.sampling import STRATEGIES

    if args.strategy is not None and args.strategy not in STRATEGIES:
        print(f"cadenza: error: --strategy {args.strategy}: one of {', '.join(STRATEGIES)}", file=sys.stderr)
        return 2
    if args.top_p is not None and not 0 < args.top_p <= 1:
        print(f"cadenza: error: --top-p {args.top_p:g}: a probability mass above 0, at most 1", file=sys.stderr)
        return 2
    def say(line):
        print(line, file=sys.stderr, flush=True)

    if args.all:
        from .bench.evalall import run_all, table_all

        given = [flag for flag, value in (("--temperature", args.temperature), ("--strategy", args.strategy),
                                          ("--top-p", args.top_p), ("--key-prior", args.key_prior),
                                          ("--register-prior", args.register_prior),
                                          ("--time-prior", args.time_prior)) if value is not None]
        if given:
            print(f"cadenza: error: {', '.join(given)}: --all measures every model at the settings' defaults, as it is "
                  "used; these are for one --model", file=sys.stderr)
            return 2

        r = run_all(pieces=args.pieces, seed=args.seed, models=args.only, progress=say, samples=args.samples)
        if args.out:
            atomic_write_text(Path(args.out), json.dumps(r, indent=1))
        print(json.dumps(r, indent=1) if args.json else table_all(r))
        return 0
    r = evaluate(args.model, corpus=args.corpus, pieces=args.pieces, beats=args.beats, prime_beats=args.prime_beats,
                 seed=args.seed, temperature=args.temperature, progress=say, key_prior=args.key_prior,
                 register_prior=args.register_prior, top_p=args.top_p, strategy=args.strategy,
                 time_prior=args.time_prior, samples=args.samples)
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(r, indent=1))
    if args.plot:
        atomic_write_bytes(Path(args.plot), plot_png(r))
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_render(args) -> int:
    from pathlib import Path

    from .music.render import render_file

    if not 0 <= args.tail <= 60:
        print("cadenza: error: --tail is seconds, 0-60", file=sys.stderr)
        return 2
    if not 0 < args.max_minutes <= 24 * 60:
        print("cadenza: error: --max-minutes is minutes of music, more than 0 and at most 1440", file=sys.stderr)
        return 2
    if args.timbre and args.synth == "fluidsynth":
        print("cadenza: error: --timbre chooses a built-in voice; it cannot go with --synth fluidsynth",
              file=sys.stderr)
        return 2
    r = render_file(args.input, args.out, synth=args.synth, soundfont=args.soundfont, tail=args.tail,
                    timbre=args.timbre, sr=args.sample_rate, prime_beats=args.prime_beats,
                    max_minutes=args.max_minutes)
    if r["kind"] == "piano roll":
        print(f"{r['out']}: piano roll of {r['notes']} notes")
    else:
        via = f"FluidSynth with {Path(r['soundfont']).name}" if r["synth"] == "fluidsynth" else "the built-in synthesiser"
        print(f"{r['out']}: {r['seconds']:.2f} s of {r['kind']} at {r['sample_rate']} Hz (the music lasts "
              f"{r['midi_seconds']:.2f} s), rendered by {via}")
    return 0


def cmd_inspect(args) -> int:
    from .music import load_score

    score = load_score(args.file)
    print(f"{args.file}: {score.note_count} notes in {len(score.tracks)} track(s), "
          f"{score.duration_beats:.1f} beats, {score.duration_seconds:.1f} s, {score.tpq} ticks/quarter")
    print(f"  tempo {score.qpm:.1f} qpm" + (f" ({len(score.tempos)} changes)" if len(score.tempos) > 1 else ""))
    if score.time_signatures:
        ts = score.time_signatures[0]
        print(f"  time signature {ts.numerator}/{ts.denominator}")
    if score.key_signatures:
        print(f"  key {score.key_signatures[0].name}"
              + (f" ({len(score.key_signatures)} changes)" if len(score.key_signatures) > 1 else ""))
    for i, t in enumerate(score.tracks):
        lo_hi = f"pitches {t.array[:, 0].min()}-{t.array[:, 0].max()}" if len(t.array) else "no notes"
        print(f"  track {i}: {t.name or '(unnamed)'}, program {t.program}{', drums' if t.is_drum else ''}, "
              f"channel {t.channel}, {len(t.array)} notes, {lo_hi}")
    if args.codec:
        from .codecs import get_codec

        codec = get_codec(args.codec)
        ids = codec.encode_file(args.file)
        print(f"  {codec.name}: {len(ids)} tokens (vocabulary {codec.vocab_size})")
        shown = ids[:args.tokens]
        if shown.ndim == 2:
            print("  " + " ".join("(" + ",".join(map(str, row)) + ")" for row in shown.tolist()))
        else:
            print("  " + " ".join(repr(t) if codec.text_tokens else t for t in codec.tokens(shown)))
    return 0


def cmd_codecs(args) -> int:
    from .codecs import NAMES, codec_class

    for name in NAMES:
        cls = codec_class(name)
        codec = cls()
        doc = (cls.__doc__ or sys.modules[cls.__module__].__doc__ or "").strip().splitlines()[0]
        print(f"{name:<12} vocabulary {codec.vocab_size:>4}  {doc}")
        print(f"{'':<12} params: {json.dumps(codec.params)}")
    return 0


def cmd_bench(args) -> int:
    """`cadenza bench NAME`: run it with its flags, print the report (a table, or JSON), record it if asked."""
    import logging

    from .bench import BENCHES, dest

    b = BENCHES[args.bench]
    logging.basicConfig(level=getattr(logging, b.log))
    r = _load(b.run, f"{__package__}.bench")(**{dest(flags, kw): getattr(args, dest(flags, kw)) for flags, kw in b.args})
    print(json.dumps(r, indent=1) if args.json else _load(b.table, f"{__package__}.bench")(r))
    if b.record and args.record:
        from .bench.record import record

        print(record(args.model, *b.record(r)))
    return 0 if b.ok is None or b.ok(r) else 1


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up notes are not the user's business
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    from .errors import CadenzaError

    try:
        return int(args.func(args) or 0)
    except CadenzaError as e:
        print(f"cadenza: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("cadenza: interrupted", file=sys.stderr)
        return 130
    except OSError as e:  # a file the user named that cannot be read or written: one line, not a traceback
        if isinstance(e, BrokenPipeError):  # e.g. `cadenza inspect x.mid | head`: the reader left; so do we
            sys.stderr.close()
            return 0
        where = f"{e.filename}: " if e.filename else ""
        print(f"cadenza: error: {where}{e.strerror or e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
