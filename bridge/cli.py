"""The `cadenza` command.

Only argparse is imported at start-up, so `cadenza --help` answers at once; each subcommand
imports what it needs (TensorFlow only where a model runs).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from . import settings

EPILOG = """examples:
  cadenza prepare ../shared/corpus/piano-midi --codec performance --out data/piano
  cadenza prepare ../shared/corpus/kern --codec kern --out data/kern
  cadenza inspect song.mid --codec notewise
  cadenza bench prepare ../shared/corpus/piano-midi
"""


def _param(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    key, value = text.split("=", 1)
    try:
        parsed: object = json.loads(value)
    except ValueError:
        parsed = value
    return key.strip(), parsed


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="cadenza", description="Trained models of symbolic music for Max, Live, SuperCollider, Pd "
                                    "and a watched folder.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"cadenza {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("prepare", help="encode a folder of music into token shards",
                       description="Encode every music file under CORPUS on all cores into token shards "
                                   "and a manifest.json, streaming (memory stays flat at any corpus size). "
                                   "A file that cannot be read is listed with its reason, never fatal. "
                                   "--runner beam runs the same preparation as an Apache Beam pipeline "
                                   "(same shards, byte for byte), here or on Flink, Spark or Dataflow.",
                       epilog="examples:\n  cadenza prepare ../shared/corpus/piano-midi --codec performance "
                              "--out data/piano\n"
                              "  cadenza prepare ../shared/corpus/piano-midi --out data/piano --runner beam\n"
                              "  cadenza prepare /mnt/corpus --out /mnt/prepared --runner beam "
                              "--beam-option=--runner=FlinkRunner --beam-option=--flink_master=localhost:8081",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", help="folder of .mid/.midi/.krn/.xml/.mxl/.musicxml files (searched recursively)")
    p.add_argument("--codec", default="performance",
                   help="performance (default), notewise, messages, kern, midibytes, pianoroll")
    p.add_argument("--out", required=True, help="output folder for shard-*.npy and manifest.json")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE",
                   help="a codec parameter, e.g. --param num_velocity_bins=16 (repeatable)")
    p.add_argument("--workers", type=int, default=0,
                   help="processes (default: every core; with --runner beam, the DirectRunner's, default 1)")
    p.add_argument("--shards", type=int, default=0, help="shards (default: one per 16 MB of input files)")
    p.add_argument("--transpose", type=int, default=0, metavar="N",
                   help="also write each file transposed by -N..N semitones (training transposes windows "
                        "anyway; this is for training elsewhere)")
    p.add_argument("--runner", default="local", choices=["local", "beam"],
                   help="local (default): this machine's processes; beam: an Apache Beam pipeline "
                        "(pip install 'cadenza[beam]'), the same shards")
    p.add_argument("--beam-option", action="append", default=[], metavar="OPTION",
                   help="a Beam pipeline option passed through, e.g. --beam-option=--runner=FlinkRunner "
                        "(repeatable; the DirectRunner by default)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prepare)

    p = sub.add_parser("train", help="train a model on a corpus and put it in the store",
                       description="Train a model on one or more corpus folders (or folders written by "
                                   "`cadenza prepare`), split by file into training, validation and a "
                                   "generation set, and export it to models/NAME with its cadenza.json. "
                                   "An interrupted run resumes from runs/NAME.",
                       epilog="examples:\n"
                              "  cadenza train ../shared/corpus/kern/bach-370-chorales --codec notewise --name chorale\n"
                              "  cadenza train ../shared/corpus/piano-midi --codec performance --layers 2 --units 256 "
                              "--name piano --max-minutes 40",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", nargs="+", help="corpus folder(s) or prepared folder(s)")
    p.add_argument("--name", required=True, help="the model's name in the store")
    p.add_argument("--codec", default="performance")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE", help="codec parameter")
    p.add_argument("--arch", default="lstm", help="lstm (default), rnn, attention_lstm")
    p.add_argument("--layers", type=int, help="recurrent layers (lstm: 1-4)")
    p.add_argument("--units", type=int, help="units per recurrent layer")
    p.add_argument("--embed", type=int, help="embedding width")
    p.add_argument("--dropout", type=float, help="dropout rate")
    p.add_argument("--arg", action="append", type=_param, default=[], metavar="KEY=VALUE",
                   help="another architecture argument, e.g. --arg window=128")
    p.add_argument("--seq-len", type=int, default=256, help="tokens per training window (default 256)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--epochs", type=int, default=100, help="upper bound; early stopping usually ends sooner")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--patience", type=int, default=4)
    p.add_argument("--transpose", type=int, default=5, help="random transposition range in semitones (0: off)")
    p.add_argument("--max-minutes", type=float, default=0, help="time budget (0: none)")
    p.add_argument("--max-files", type=int, default=0, help="use only the first N files (smoke tests)")
    p.add_argument("--init", default="", help="start from this model's weights (same architecture and codec): "
                                              "train a shipped model further")
    p.add_argument("--fim", action="store_true", help="train for infill: windows in fill-in-the-middle order "
                                                      "(with --init, an infill model starts from a plain one)")
    p.add_argument("--fim-reminder", type=int, default=0, help="with --fim: read the first N tokens of the music "
                                                               "after the gap again just before the gap")
    p.add_argument("--fim-order", default="spm", choices=("spm", "psm"),
                   help="with --fim: spm reads suffix, prefix, middle; psm reads the prefix, then the first "
                        "--fim-suffix tokens after the gap right before the middle")
    p.add_argument("--fim-suffix", type=int, default=32, help="with --fim-order psm: tokens after the gap read")
    p.add_argument("--fim-again", type=int, default=0,
                   help="with --fim-order psm: the last N tokens before the gap read again after the suffix")
    p.add_argument("--fim-plain", type=float, default=0.0,
                   help="with --fim: the share of windows left in plain order, so the model also continues")
    p.add_argument("--distribute", default="", choices=("", "mirrored", "multiworker"),
                   help="data-parallel training: mirrored (the GPUs of one machine) or multiworker (the workers "
                        "TF_CONFIG names; run the same command on each)")
    p.add_argument("--worker-timeout", type=float, default=300.0, metavar="SECONDS",
                   help="multiworker: how long a step waits for the other workers before the run stops with "
                        "its checkpoint kept (default 300; 0: for ever)")
    p.add_argument("--seed", type=int, default=0, help="the split, and the draws unless --sample-seed is given")
    p.add_argument("--sample-seed", type=int, default=-1,
                   help="initial weights and training windows only: another draw over the same split")
    p.add_argument("--out", default=None, help="store folder (default: this repository's models/)")
    p.add_argument("--runs", default="runs", help="checkpoint folder (default runs/)")
    p.add_argument("--note", default="", help="a note on the corpus for cadenza.json")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("train-groove", help="train the groove model (groove, drumify, interpolate) on the Groove MIDI Dataset",
                       description="Train the 2-bar drum VAE (bridge/nets/groovae.py) on a Groove MIDI Dataset folder, "
                                   "with its own split (info.csv), and put it in the store.",
                       epilog="example:\n  cadenza train-groove ../shared/corpus/groove --name groove --max-minutes 30",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("data", help="the Groove MIDI Dataset folder (with info.csv)")
    p.add_argument("--name", default="groove")
    p.add_argument("--out", default=None, help="store folder (default: this repository's models/)")
    p.add_argument("--max-minutes", type=float, default=30.0)
    p.add_argument("--steps-per-epoch", type=int, default=200)
    p.add_argument("--epochs", type=int, default=200)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--beta", type=float, default=0.2, help="weight of the KL term")
    p.add_argument("--free-bits", type=float, default=16.0, help="nats of KL free of the penalty (default 16)")
    p.add_argument("--patience", type=int, default=10, help="epochs without a better validation loss before stopping")
    p.add_argument("--max-files", type=int, default=0, help="only the first N files of each part (smoke tests)")
    p.add_argument("--arg", action="append", type=_param, default=[], metavar="KEY=VALUE",
                   help="a groovae argument: latent, enc_units, dec_units")
    p.add_argument("--note", default="")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_train_groove)

    for name in ("generate", "continue"):
        if name == "generate":
            p = sub.add_parser("generate", help="generate new music with a model",
                               description="Generate music from nothing, or after the opening of a piece from "
                                           "the model's generation set (--prime-set), and write MIDI.",
                               epilog="examples:\n  cadenza generate --model piano --beats 32 --out x.mid\n"
                                      "  cadenza generate --model chorale --prime-set --variations 4 --out ch.mid",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
            p.add_argument("--prime-set", action="store_true",
                           help="prime with the opening of a generation-set piece (never trained on)")
            p.add_argument("--prime-beats", type=float, default=8.0, help="beats of that opening (default 8)")
        else:
            p = sub.add_parser("continue", help="continue a MIDI, **kern or MusicXML file",
                               description="Continue the notes of a file: the output holds the prime followed "
                                           "by the new music.",
                               epilog="example:\n  cadenza continue in.mid --model piano --beats 16 --out y.mid",
                               formatter_class=argparse.RawDescriptionHelpFormatter)
            p.add_argument("file", help="the prime: .mid .midi .krn .xml .mxl .musicxml")
            p.add_argument("--only-new", action="store_true", help="write only the continuation, not the prime")
        p.add_argument("--model", default="piano", help="model name or folder (default piano)")
        p.add_argument("--tokens", type=int, default=0, help="a length in tokens instead of --beats")
        p.add_argument("--out", help="output .mid (default: NAME.cadenza.mid; with variations, -1, -2, ...)")
        settings.add_arguments(p, exclude=("model",))  # every request setting, from the one specification (bridge/settings.py)
        p.set_defaults(func=cmd_generate)

    p = sub.add_parser("infill", help="write a region of a piece anew, given the music on both sides",
                       description="Regenerate the notes between two beats of a piece with an infill model "
                                   "(trained with `cadenza train --fim`): every note outside the region stays as "
                                   "it was; the new notes are a track of their own.",
                       epilog="example:\n  cadenza infill chorale.krn --start-beat 8 --end-beat 12 --out filled.mid",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file", help="the piece: .mid .midi .krn .xml .mxl .musicxml")
    p.add_argument("--start-beat", type=float, required=True, help="where the region begins (beats from the start)")
    p.add_argument("--end-beat", type=float, required=True, help="where it ends")
    p.add_argument("--model", default="chorale-infill", help="an infill model (default chorale-infill)")
    p.add_argument("--out", help="output .mid (default NAME.infill.mid; with variations, -1, -2, ...)")
    settings.add_arguments(p, exclude=("model", "beats"))
    p.set_defaults(func=cmd_infill)

    for task, what, example in (
            ("groove", "play a drum part with feel: timing and dynamics from the groove model (its hits kept)",
             "cadenza groove beat.mid --out played.mid --humanize 0.8 --swing 0.3"),
            ("drumify", "a drum part that plays a piece's rhythm (its drums' onsets, or its notes' where it has none)",
             "cadenza drumify riff.mid --out with-drums.mid --density 2")):
        p = sub.add_parser(task, help=what, description=what[0].upper() + what[1:] + "; the piece's other parts "
                           "are kept.", epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("file", help="the piece: .mid .midi .krn .xml .mxl .musicxml")
        p.add_argument("--model", default="groove", help="a groove model (default groove)")
        p.add_argument("--out", help=f"output .mid (default NAME.{task}.mid)")
        settings.add_arguments(p, exclude=("model", "beats"))
        p.set_defaults(func=cmd_drum_task, task=task)
    p = sub.add_parser("interpolate", help="2-bar beats going from one drum beat to another",
                       description="Decode beats from points between two 2-bar drum beats' latent codes (the groove "
                                   "model): the first is A's, the last B's.",
                       epilog="example:\n  cadenza interpolate a.mid b.mid --steps 5 --out-dir between/",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--model", default="groove", help="a groove model (default groove)")
    p.add_argument("--out-dir", required=True, help="folder for A-B-1.mid ... A-B-N.mid")
    settings.add_arguments(p, exclude=("model", "beats"))
    p.set_defaults(func=cmd_drum_task, task="interpolate")

    p = sub.add_parser("serve", help="run the daemon: OSC on 127.0.0.1:9000 and the watch folder",
                       description="Serve models to music software over OSC and continue files dropped into "
                                   "the inbox. Stops cleanly on Ctrl-C, SIGTERM or SIGHUP (a closed terminal). The protocol: "
                                   "docs/osc.md; limits and what is refused: docs/security.md.",
                       epilog="examples:\n  cadenza serve\n  cadenza serve --port 9001 --model chorale\n"
                              "  cadenza serve --host 0.0.0.0 --allow 192.168.1.0/24",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--host", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, help="UDP port (default 9000)")
    p.add_argument("--model", help="default model (default piano)")
    p.add_argument("--inbox", help="watched folder (default ./cadenza/inbox)")
    p.add_argument("--outbox", help="output folder (default ./cadenza/outbox)")
    p.add_argument("--allow", action="append", help="client address or network allowed (repeatable)")
    p.add_argument("--allow-dir", action="append", dest="allowed_dirs",
                   help="another folder /cadenza/continue_file may read (repeatable)")
    p.add_argument("--beats", type=float, help="default length of new music (default 16)")
    p.add_argument("--max-tokens", type=int, help="a request's cost limit in tokens, all variations together "
                                                  "(default 100000); a request over it is refused before any work")
    p.add_argument("--max-seconds", type=float, help="a request running longer is stopped with an error (default 30)")
    p.add_argument("--http-port", type=int, help="the web page's port (default 8000; 0: no page)")
    g = p.add_argument_group("playing in time (docs/timing.md)")
    g.add_argument("--midi-in", help="a MIDI input to listen to (a port name or part of one)")
    g.add_argument("--midi-out", help="a MIDI output to play on")
    g.add_argument("--virtual-ports", action="store_true", default=None,
                   help='open "Cadenza in" and "Cadenza out" for other programs to connect to')
    g.add_argument("--midi-api", help="alsa, jack, coremidi, windows or auto (default)")
    g.add_argument("--link", action="store_true", default=None,
                   help="join an Ableton Link session (needs the extra: pip install 'cadenza[link]')")
    g.add_argument("--qpm", type=float, help="the tempo when no Link session or MIDI clock gives one (default 120)")
    g.add_argument("--jam", action="store_true", default=None,
                   help="answer the player's phrases (MIDI in or /cadenza/note) on MIDI out, in time")
    g.add_argument("--jam-mode", choices=("call", "accompany"), help="call (default): answer when the player stops; "
                                                                      "accompany: at every bar line")
    g.add_argument("--jam-wait", type=float, help="beats of silence that end a phrase (default 2)")
    g.add_argument("--jam-bars", type=int, help="bars of answer (default 2)")
    g.add_argument("--jam-meter", help="the meter bars are counted in (default 4/4)")
    g.add_argument("--jam-channel", type=int, help="MIDI channel of the answer, 1-16 (default 1)")
    p.add_argument("--max-upload", type=float, dest="max_upload_mb", help="the largest file the page takes, in MB "
                                                                          "(default 20)")
    p.add_argument("--no-watch", action="store_true", help="do not watch the inbox")
    p.add_argument("--config", help="a TOML file of these settings (flags win)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("export-music21", help="write music21's bundled folk-tune collections (ABC) as MIDI files",
                       description="Write the folk-tune collections music21 ships (Essen, O'Neill 1850, Ryan's "
                                   "Mammoth; ABC) as one MIDI file a tune, a corpus folder for `cadenza train`.",
                       epilog="example:\n  cadenza export-music21 essenFolksong oneills1850 ryansMammoth --out data/folk",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("collections", nargs="+", help="essenFolksong, oneills1850, ryansMammoth")
    p.add_argument("--out", required=True, help="folder to write (one subfolder a collection)")
    p.add_argument("--workers", type=int, default=0, help="processes (0: every core)")
    p.add_argument("--max-files", type=int, default=0, help="only the first N ABC files of each (smoke tests)")
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=cmd_export_music21)

    p = sub.add_parser("models", help="list the models in the store")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("eval", help="a model's quality: NLL against baselines, music statistics, copy rate",
                       description="On the model's held-out pieces: validation NLL in bits per event next to "
                                   "unigram and bigram baselines; music statistics of generated pieces next to real "
                                   "ones; the share of generated 8-note pitch n-grams copied from the training set.",
                       epilog="examples:\n  cadenza eval --model piano\n"
                              "  cadenza eval --model chorale --pieces 32 --json --out chorale-eval.json --plot "
                              "chorale-eval.png",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="piano")
    p.add_argument("--corpus", help="the folder of the model's training corpus, if it is not where it was")
    p.add_argument("--pieces", type=int, default=16, help="generated pieces to compare (default 16)")
    p.add_argument("--beats", type=float, default=32.0, help="beats per generated piece (default 32)")
    p.add_argument("--prime-beats", type=float, default=8.0, help="beats of each held-out piece that prime (8)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print JSON instead of the table")
    p.add_argument("--out", help="also write the JSON report here")
    p.add_argument("--plot", help="also draw the statistics' distributions to this PNG")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("render", help="turn a MIDI file into audio (wav flac ogg mp3) or a piano-roll picture (png)",
                       description="Render a music file: audio through FluidSynth and a General MIDI SoundFont when "
                                   "both are present, else the built-in synthesiser, encoded with tensorflow-io; or, "
                                   "for .png, a piano roll with the prime and the continuation in two colours.",
                       epilog="examples:\n  cadenza render continued.mid --out continued.flac\n"
                              "  cadenza render continued.mid --out continued.png\n"
                              "  cadenza render tune.mid --out tune.wav --synth builtin --timbre organ",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("input", help="a MIDI, **kern or MusicXML file (or a recording: its transcription)")
    p.add_argument("--out", "-o", required=True, help="output: .wav .flac .ogg .mp3 or .png")
    p.add_argument("--synth", default="auto", choices=("auto", "fluidsynth", "builtin"),
                   help="auto (default): FluidSynth when it and a SoundFont are present, else built-in")
    p.add_argument("--soundfont", help="a .sf2 General MIDI SoundFont (default: $CADENZA_SOUNDFONT, "
                                       "fluid-soundfont-gm, or the one pretty_midi ships)")
    p.add_argument("--timbre", choices=("piano", "organ", "strings", "sine"),
                   help="built-in synthesiser voice for every track (default: by each track's program)")
    p.add_argument("--tail", type=float, default=1.0, help="seconds of release after the last note (default 1)")
    p.add_argument("--sample-rate", type=int, default=44100)
    p.add_argument("--prime-beats", type=float, help="for .png: where the continuation begins, in beats "
                                                     "(default: the file's continuation marker)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("inspect", help="show what Cadenza reads in a music file",
                       description="Read a file as Cadenza does and summarise it; with --codec, also its tokens.",
                       epilog="example:\n  cadenza inspect song.mid --codec performance --tokens 40",
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("file")
    p.add_argument("--codec", help="also encode with this codec")
    p.add_argument("--tokens", type=int, default=24, help="how many tokens to show (default 24)")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("codecs", help="list the codecs and their parameters")
    p.set_defaults(func=cmd_codecs)

    bench = sub.add_parser("bench", help="measure Cadenza's speed (figures as ratios to a baseline)")
    bsub = bench.add_subparsers(dest="bench", metavar="WHAT")
    b = bsub.add_parser("prepare", help="files/s of Cadenza's encoding path against note-seq's",
                        description="Read and encode the same MIDI files with Cadenza and with note-seq "
                                    "(performance events, sustain, 32 velocity bins) in one run.",
                        epilog="example:\n  cadenza bench prepare ../shared/corpus/piano-midi --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("corpus")
    b.add_argument("--files", type=int, default=0, help="use only the first N files (default: all)")
    b.add_argument("--workers", type=int, default=0, help="processes for the all-cores figure")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    b.set_defaults(func=cmd_bench_prepare)
    b = bsub.add_parser("corpus", help="prepare at scale: Beam against prepare, memory at 1x and 10x",
                        description="On the same folder: `cadenza prepare` against the same preparation as an "
                                    "Apache Beam pipeline (DirectRunner), shards compared byte for byte; then the "
                                    "peak memory of prepare on the corpus and on COPIES transposed copies of it.",
                        epilog="example:\n  cadenza bench corpus ../shared/corpus/piano-midi --copies 10",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("corpus")
    b.add_argument("--copies", type=int, default=10, help="the larger corpus, in transposed copies (default 10)")
    b.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    b.add_argument("--no-beam", action="store_true", help="skip the Beam runs")
    b.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    b.set_defaults(func=cmd_bench_corpus)
    b = bsub.add_parser("distribute", help="training on one worker against two (tf.distribute), and resuming",
                        description="Two `cadenza train --distribute multiworker` workers on 127.0.0.1 against "
                                    "one, each pinned to its own cores, the same global batch and steps: ms per "
                                    "step and validation NLL; then the two-worker checkpoint resumed on one.",
                        epilog="example:\n  cadenza bench distribute ../shared/corpus/kern/bach-370-chorales "
                               "--codec notewise",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("data", help="a corpus or prepared folder")
    b.add_argument("--codec", default="notewise")
    b.add_argument("--epochs", type=int, default=3)
    b.add_argument("--steps", type=int, default=50, help="steps per epoch")
    b.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    b.set_defaults(func=cmd_bench_distribute)
    b = bsub.add_parser("generate", help="the compiled loop against model.predict per token",
                        description="Tokens/s and ms per beat of the compiled loop at batch 1 and for 8 "
                                    "variations, and of a model.predict-per-token loop, on one model in one run.",
                        epilog="example:\n  cadenza bench generate --model piano --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="piano")
    b.add_argument("--tokens", type=int, default=1024)
    b.add_argument("--predict-tokens", type=int, default=24, help="tokens the slow loop is timed over")
    b.add_argument("--repeats", type=int, default=5, help="runs of each compiled timing; the median counts")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_generate)
    b = bsub.add_parser("osc", help="request to first notes and to done over OSC, at 1 and 8 clients",
                        epilog="example:\n  cadenza bench osc --model piano --requests 100",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="piano")
    b.add_argument("--requests", type=int, default=20, help="requests per client (default 20)")
    b.add_argument("--beats", type=float, default=32.0, help="beats asked for per request (default 32: 8 bars)")
    b.add_argument("--infill", default="", metavar="MODEL",
                   help="also an infill model: 2 bars of a 32-bar piece filled, after the continue runs")
    b.add_argument("--drums", action="store_true", help="also 2-bar groove and drumify requests (the groove model)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_osc)
    b = bsub.add_parser("serve", help="launch to first pong and first notes, first request of each model, RSS",
                        epilog="example:\n  cadenza bench serve --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="piano", help="the default model (default piano)")
    b.add_argument("--models", nargs="*", help="models whose first request is timed (default: every one in the store)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_serve)
    b = bsub.add_parser("web", help="the page in headless Chromium: load, click to first note, HTTP clients",
                        epilog="example:\n  cadenza bench web --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="piano")
    b.add_argument("--requests", type=int, default=20, help="page requests timed (default 20)")
    b.add_argument("--clients", type=int, default=8, help="HTTP clients at once (default 8)")
    b.add_argument("--per-client", type=int, default=50, help="requests each (default 50)")
    b.add_argument("--screenshot", help="also save a screenshot of the page here (.png)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_web)
    b = bsub.add_parser("clock", help="playing in time: MIDI out timing, clock follow, Link, jam, bad input",
                        epilog="example:\n  cadenza bench clock --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="piano")
    b.add_argument("--notes", type=int, default=1000, help="notes timed on MIDI out (default 1000)")
    b.add_argument("--jams", type=int, default=8, help="phrases answered in jam mode (default 8)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_clock)
    b = bsub.add_parser("infill", help="infill vs continuation: bits of the real middle, the joins, the speed",
                        epilog="example:\n  cadenza bench infill --model chorale-infill --baseline chorale",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="chorale-infill")
    b.add_argument("--baseline", default="chorale", help="the continuation model of the same family")
    b.add_argument("--gap", type=float, default=4.0, help="beats of each gap (default 4)")
    b.add_argument("--pieces", type=int, default=24, help="held-out pieces (default 24)")
    b.add_argument("--json", action="store_true")
    b.add_argument("--record", action="store_true", help="also write the figures into the model's cadenza.json")
    b.set_defaults(func=cmd_bench_infill)
    b = bsub.add_parser("groove", help="groove, drumify and interpolate on the Groove MIDI Dataset's validation split",
                        epilog="example:\n  cadenza bench groove --model groove",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="groove")
    b.add_argument("--max-files", type=int, default=0, help="only the first N files of each part (smoke tests)")
    b.add_argument("--pairs", type=int, default=200, help="interpolation pairs (default 200)")
    b.add_argument("--json", action="store_true")
    b.add_argument("--record", action="store_true", help="also write the figures into the model's cadenza.json")
    b.set_defaults(func=cmd_bench_groove)
    b = bsub.add_parser("controls", help="how often generated bars meet each control, and what each costs",
                        epilog="example:\n  cadenza bench controls --model chorale --generations 100",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--model", default="chorale")
    b.add_argument("--generations", type=int, default=100, help="per setting (default 100)")
    b.add_argument("--bars", type=int, default=8, help="bars each (default 8)")
    b.add_argument("--pieces", type=int, default=20, help="held-out pieces for the cost (default 20)")
    b.add_argument("--only", nargs="*", default=(), help="only these controls (density polyphony velocity leaps "
                                                         "offbeats no_repeat)")
    b.add_argument("--json", action="store_true")
    b.add_argument("--record", action="store_true", help="also write the figures into the model's cadenza.json")
    b.set_defaults(func=cmd_bench_controls)
    b = bsub.add_parser("fuzz", help="hostile datagrams against a real daemon: replies, thread deaths, memory",
                        epilog="example:\n  cadenza bench fuzz --datagrams 5000 --json",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--datagrams", type=int, default=5000, help="how many (default 5000)")
    b.add_argument("--seed", type=int, default=0, help="the generator's seed (the same seed, the same datagrams)")
    b.add_argument("--model", default="chorale", help="the daemon's model (default chorale)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_fuzz)
    b = bsub.add_parser("watch", help="file dropped in the inbox to output written",
                        epilog="example:\n  cadenza bench watch ../shared/corpus/nottingham --files 10",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("corpus", help="a folder of music files to drop")
    b.add_argument("--model", default="piano")
    b.add_argument("--files", type=int, default=10)
    b.add_argument("--beats", type=float, default=16.0)
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_watch)
    b = bsub.add_parser("transcribe", help="pitch tracking on melodies rendered from known notes",
                        description="Render seeded melodies with several voices at 60, 100 and 160 qpm, "
                                    "transcribe each recording, and count the notes recovered with the right "
                                    "pitch and an onset within 50 ms.",
                        epilog="example:\n  cadenza bench transcribe --seeds 2",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--seeds", type=int, default=2, help="melodies per voice and tempo (default 2)")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_transcribe)
    b = bsub.add_parser("pianoroll", help="train and score on a Boulanger-Lewandowski piano-roll .mat file",
                        description="Train Cadenza's frame-conditioned note-wise LSTM on traindata, keep the "
                                    "checkpoint best on validdata, and report test NLL in nats per frame (summed "
                                    "over keys, averaged over all test frames, each frame predicted from the "
                                    "frames before it), next to published figures.",
                        epilog="examples:\n  cadenza bench pianoroll ../shared/benchmarks/pianoroll/JSB_Chorales.mat"
                               "\n  cadenza bench pianoroll ../shared/benchmarks/pianoroll/Nottingham.mat "
                               "--minutes 35 --batch 32 --dropout 0.2",
                        formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("file", help="a .mat file with traindata, validdata and testdata (lists of frames x keys rolls)")
    b.add_argument("--minutes", type=float, default=None, help="training time budget (default 30)")
    b.add_argument("--epochs", type=int, default=None, help="at most this many epochs (default 500)")
    b.add_argument("--layers", type=int, default=None)
    b.add_argument("--units", type=int, default=None)
    b.add_argument("--dropout", type=float, default=None)
    b.add_argument("--batch", type=int, default=None)
    b.add_argument("--transpose", type=int, default=None, help="random transposition range in semitones (0: none)")
    b.add_argument("--seed", type=int, default=None)
    b.add_argument("--halve-lr", action="store_true", default=None,
                   help="halve the learning rate after each epoch that improves validation by under 0.5%%")
    b.add_argument("--out", default=None, help="also write the JSON report here")
    b.add_argument("--json", action="store_true")
    b.set_defaults(func=cmd_bench_pianoroll)
    bench.set_defaults(func=lambda args: _usage(bench))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_prepare(args) -> int:
    from .errors import CadenzaError
    from .training.prepare import PrepareConfig, prepare

    runner = "" if args.runner == "local" else args.runner
    if args.beam_option and runner != "beam":
        raise CadenzaError("--beam-option is for --runner beam")
    m = prepare(PrepareConfig(corpus=args.corpus, out=args.out, codec=args.codec, params=dict(args.param),
                              workers=args.workers, shards=args.shards, transpose=args.transpose,
                              progress=not args.quiet, runner=runner, beam_options=args.beam_option))
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

    from .store import REPO_MODELS
    from .training.train import TrainConfig, train

    arch_args = {k: v for k, v in (("layers", args.layers), ("units", args.units), ("embed", args.embed),
                                   ("dropout", args.dropout)) if v is not None}
    arch_args.update(dict(args.arg))
    cfg = TrainConfig(data=[Path(d) for d in args.data], name=args.name, codec=args.codec,
                      codec_params=dict(args.param), arch=args.arch, arch_args=arch_args, seq_len=args.seq_len,
                      batch=args.batch, steps_per_epoch=args.steps_per_epoch, epochs=args.epochs, lr=args.lr,
                      patience=args.patience, transpose=args.transpose, max_minutes=args.max_minutes,
                      max_files=args.max_files, seed=args.seed, sample_seed=args.sample_seed, out=Path(args.out) if args.out else REPO_MODELS,
                      runs=Path(args.runs), corpus_note=args.note, verbose=0 if args.quiet else 1, init=args.init,
                      fim=args.fim, fim_reminder=args.fim_reminder, fim_order=args.fim_order,
                      fim_suffix=args.fim_suffix, fim_plain=args.fim_plain, fim_again=args.fim_again,
                      distribute=args.distribute, worker_timeout=args.worker_timeout)
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
    from pathlib import Path

    from .store import REPO_MODELS
    from .training.groove import GrooveConfig, train_groove

    out = Path(args.out) if args.out else REPO_MODELS
    folder = train_groove(GrooveConfig(data=Path(args.data), name=args.name, out=out, max_minutes=args.max_minutes,
                                       steps_per_epoch=args.steps_per_epoch, epochs=args.epochs, batch=args.batch,
                                       lr=args.lr, beta=args.beta, free_bits=args.free_bits, patience=args.patience,
                                       max_files=args.max_files, args=dict(args.arg),
                                       note=args.note, verbose=0 if args.quiet else 1))
    print(f"{folder}: validation loss {json.loads((folder / 'cadenza.json').read_text())['metrics']['val_loss']}")
    return 0


def _run_task(task) -> int:
    """Carry out a task here, printing what it tells (bridge.tasks): 0 when it is done, else 1."""
    from .tasks import events as E, run

    problems = []

    def sink(e):
        if isinstance(e, E.File) and e.kind == "midi":
            print(f"{e.path}: {e.detail}" if e.detail else str(e.path))
        elif isinstance(e, E.File):
            print(f"{e.path}: {e.kind}")
        elif isinstance(e, E.Info):
            print(e.text)
        elif isinstance(e, (E.Warning, E.Failed)):
            problems.append(e.text if isinstance(e, E.Warning) else e.message)
            print(f"cadenza: {problems[-1]}", file=sys.stderr)

    final = run(task, sink=sink)
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


def cmd_serve(args) -> int:
    import logging
    import signal
    import threading

    from .host.config import build_config, load_toml
    from .host.daemon import Daemon

    toml = load_toml(args.config) if args.config else {}
    http_port = args.http_port if args.http_port is not None else toml.pop("http_port", 8000)
    cfg = build_config(toml, host=args.host, port=args.port, http_port=http_port, max_upload_mb=args.max_upload_mb,
                       model=args.model, inbox=args.inbox, outbox=args.outbox, allow=args.allow,
                       allowed_dirs=args.allowed_dirs, beats=args.beats, max_tokens=args.max_tokens,
                       max_seconds=args.max_seconds, midi_in=args.midi_in, midi_out=args.midi_out,
                       virtual_ports=args.virtual_ports, midi_api=args.midi_api, link=args.link, qpm=args.qpm,
                       jam=args.jam, jam_mode=args.jam_mode, jam_wait=args.jam_wait, jam_bars=args.jam_bars,
                       jam_meter=args.jam_meter, jam_channel=args.jam_channel,
                       watch=False if args.no_watch else None, log_level=args.log_level)
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


def cmd_eval(args) -> int:
    from pathlib import Path

    from .evaluate import evaluate, plot_png, table
    from .music import atomic_write_bytes, atomic_write_text

    if args.pieces < 1 or args.beats <= 0 or args.prime_beats <= 0:
        print("cadenza: error: --pieces, --beats and --prime-beats must be positive", file=sys.stderr)
        return 2
    def say(line):
        print(line, file=sys.stderr, flush=True)

    r = evaluate(args.model, corpus=args.corpus, pieces=args.pieces, beats=args.beats, prime_beats=args.prime_beats,
                 seed=args.seed, temperature=args.temperature, progress=say)
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
    if args.timbre and args.synth == "fluidsynth":
        print("cadenza: error: --timbre chooses a built-in voice; it cannot go with --synth fluidsynth",
              file=sys.stderr)
        return 2
    r = render_file(args.input, args.out, synth=args.synth, soundfont=args.soundfont, tail=args.tail,
                    timbre=args.timbre, sr=args.sample_rate, prime_beats=args.prime_beats)
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


def cmd_bench_prepare(args) -> int:
    from .bench.prepare import run, table

    r = run(args.corpus, files=args.files, workers=args.workers)
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_bench_corpus(args) -> int:
    from .bench.corpus import run, table

    r = run(args.corpus, copies=args.copies, workers=args.workers, beam=not args.no_beam,
            memory=not args.no_memory)
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_bench_distribute(args) -> int:
    from .bench.distribute import run, table

    r = run(args.data, codec=args.codec, epochs=args.epochs, steps=args.steps)
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_bench_generate(args) -> int:
    from .bench.generate import run, table

    r = run(args.model, tokens=args.tokens, predict_tokens=args.predict_tokens, repeats=max(1, args.repeats))
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_bench_osc(args) -> int:
    import logging

    from .bench.osc import run_osc, table_osc

    logging.basicConfig(level=logging.WARNING)
    r = run_osc(args.model, requests=args.requests, beats=args.beats, infill=args.infill, drums=args.drums)
    print(json.dumps(r, indent=1) if args.json else table_osc(r))
    return 0


def cmd_bench_serve(args) -> int:
    from .bench.serve import run_serve, table_serve

    r = run_serve(args.model, models=args.models)
    print(json.dumps(r, indent=1) if args.json else table_serve(r))
    return 0


def cmd_bench_web(args) -> int:
    import logging

    from .bench.web import run_web, table_web

    logging.basicConfig(level=logging.ERROR)
    r = run_web(args.model, requests=args.requests, clients=args.clients, per_client=args.per_client,
                screenshot=args.screenshot)
    print(json.dumps(r, indent=1) if args.json else table_web(r))
    return 0 if r["http_clients"]["lost"] == 0 else 1


def cmd_bench_clock(args) -> int:
    import logging

    from .bench.clock import run_clock, table_clock

    logging.basicConfig(level=logging.ERROR)
    r = run_clock(args.model, notes=args.notes, jams=args.jams)
    print(json.dumps(r, indent=1) if args.json else table_clock(r))
    return 0


def cmd_bench_infill(args) -> int:
    from .bench.infill import run_infill, table_infill

    r = run_infill(args.model, baseline=args.baseline, gap=args.gap, pieces=args.pieces)
    print(json.dumps(r, indent=1) if args.json else table_infill(r))
    if args.record:
        from .bench.record import record

        b = r["bits_per_token"]
        print(record(args.model, "infill_bench", {
            "held_out_middle_tokens": r["middle_tokens"], "gap_beats": r["gap_beats"],
            "bits_per_token_given_both_sides": b["infill_both_sides"],
            "bits_per_token_infill_model_left_only": b["infill_model_left_only"],
            "bits_per_token_continuation_model_left_only": b["continuation_model_left_only"],
            "continuation_model": r["baseline"], "joins": r.get("joins"), "two_bar_infill_ms": r["two_bar_infill_ms"]}))
    return 0


def cmd_bench_groove(args) -> int:
    from .bench.groove import run_groove, table_groove

    r = run_groove(args.model, max_files=args.max_files, pairs=args.pairs)
    print(json.dumps(r, indent=1) if args.json else table_groove(r))
    if args.record:
        from .bench.record import record

        print(record(args.model, "groove_bench", {k: v for k, v in r.items() if k != "model"}))
    return 0


def cmd_bench_controls(args) -> int:
    from .bench.controls import run_controls, table_controls

    r = run_controls(args.model, generations=args.generations, bars=args.bars, pieces=args.pieces,
                     only=tuple(args.only))
    print(json.dumps(r, indent=1) if args.json else table_controls(r))
    if args.record:
        from .bench.record import record

        print(record(args.model, "controls_bench", {k: v for k, v in r.items() if k != "model"}))
    return 0


def cmd_bench_fuzz(args) -> int:
    import logging

    from .bench.fuzz import run_fuzz, table_fuzz

    logging.basicConfig(level=logging.CRITICAL)  # thousands of refusals; the figures count them
    r = run_fuzz(args.datagrams, seed=args.seed, model=args.model)
    print(json.dumps(r, indent=1) if args.json else table_fuzz(r))
    return 0 if r["thread_deaths"] == 0 and r["checks_passed"] == r["checks"] else 1


def cmd_bench_watch(args) -> int:
    import logging
    from pathlib import Path

    from .bench.osc import run_watch, table_watch
    from .host.watch import SUFFIXES
    from .training.prepare import find_files

    logging.basicConfig(level=logging.WARNING)
    files = find_files(Path(args.corpus), SUFFIXES)[:args.files]
    r = run_watch(files, args.model, beats=args.beats)
    print(json.dumps(r, indent=1) if args.json else table_watch(r))
    return 0


def cmd_bench_transcribe(args) -> int:
    from .bench.transcribe import run, table

    r = run(seeds=args.seeds)
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


def cmd_bench_pianoroll(args) -> int:
    from pathlib import Path

    from .bench.pianoroll import BenchConfig, run, table
    from .music.atomic import atomic_write_text

    names = {"minutes": "max_minutes", "epochs": "max_epochs", "layers": "layers", "units": "units",
             "dropout": "dropout", "batch": "batch", "transpose": "transpose", "seed": "seed", "halve_lr": "halve_lr"}
    cfg = BenchConfig(**{field: getattr(args, arg) for arg, field in names.items() if getattr(args, arg) is not None})
    progress = (lambda line: print(line, file=sys.stderr, flush=True)) if args.json else print
    r = run(args.file, cfg, progress=progress)
    if args.out:
        atomic_write_text(Path(args.out), json.dumps(r, indent=1))
    print(json.dumps(r, indent=1) if args.json else table(r))
    return 0


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
