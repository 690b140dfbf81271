"""The `cadenza` command.

Only argparse is imported at start-up, so `cadenza --help` answers at once; each subcommand
imports what it needs (TensorFlow only where a model runs).
"""
from __future__ import annotations

import argparse
import json
import sys

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
                                   "and a manifest.json. A file that cannot be read is listed with its "
                                   "reason, never fatal.",
                       epilog="example:\n  cadenza prepare ../shared/corpus/piano-midi --codec performance "
                              "--out data/piano", formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("corpus", help="folder of .mid/.midi/.krn/.xml/.mxl/.musicxml files (searched recursively)")
    p.add_argument("--codec", default="performance",
                   help="performance (default), notewise, messages, kern, midibytes, pianoroll")
    p.add_argument("--out", required=True, help="output folder for shard-*.npy and manifest.json")
    p.add_argument("--param", action="append", type=_param, default=[], metavar="KEY=VALUE",
                   help="a codec parameter, e.g. --param num_velocity_bins=16 (repeatable)")
    p.add_argument("--workers", type=int, default=0, help="processes (default: every core)")
    p.add_argument("--shard-tokens", type=int, default=2_000_000, help="tokens per shard (files stay whole)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_prepare)

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
    bench.set_defaults(func=lambda args: _usage(bench))
    return parser


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def cmd_prepare(args) -> int:
    from .training.prepare import PrepareConfig, prepare

    m = prepare(PrepareConfig(corpus=args.corpus, out=args.out, codec=args.codec, params=dict(args.param),
                              workers=args.workers, shard_tokens=args.shard_tokens, progress=not args.quiet))
    t = m["totals"]
    print(f"{t['encoded']} of {t['files']} files encoded ({t['tokens']} {m['codec']['name']} tokens, "
          f"{t['shards']} shard(s)) in {t['seconds']} s on {t['workers']} worker(s) -> {args.out}")
    if m["failed"]:
        print(f"{len(m['failed'])} failed:")
        for f in m["failed"]:
            print(f"  {f['error']}")
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
            print("  " + " ".join(repr(t) if codec.name == "kern" else t for t in codec.tokens(shown)))
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


def main(argv: list[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
