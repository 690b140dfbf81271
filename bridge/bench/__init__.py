"""`cadenza bench ...`: each benchmark prints its figures as ratios against a baseline measured in the same run
(these machines are noisy), never as timed assertions. BENCHES is the table `cadenza bench` is made from:
one entry a benchmark, its flags passed to its run function as keywords. Importing this module imports
nothing else (`cadenza --help` reads it)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


def arg(*flags, **kwargs) -> tuple:
    """One argparse argument: its flags (or positional name) and keywords."""
    return flags, kwargs


@dataclass(frozen=True)
class Bench:
    help: str
    run: str  # "module:function" in bridge.bench, called with the flags as keywords
    table: str  # "module:function": the report as a table
    args: tuple = ()
    description: str = ""
    example: str = ""
    log: str = "WARNING"  # the logging level while it runs (refusals it provokes are counted, not printed)
    ok: Callable | None = None  # report -> whether the run passed (the exit status)
    record: Callable | None = None  # report -> (key, figures) for the model's cadenza.json (--record)


def _infill_figures(r: dict) -> tuple[str, dict]:
    b = r["bits_per_token"]
    return "infill_bench", {
        "held_out_middle_tokens": r["middle_tokens"], "gap_beats": r["gap_beats"],
        "bits_per_token_given_both_sides": b["infill_both_sides"],
        "bits_per_token_infill_model_left_only": b["infill_model_left_only"],
        "bits_per_token_continuation_model_left_only": b["continuation_model_left_only"],
        "continuation_model": r["baseline"], "joins": r.get("joins"), "two_bar_infill_ms": r["two_bar_infill_ms"],
        "by_candidates": r.get("candidates")}


def _all_but_model(key: str):
    return lambda r: (key, {k: v for k, v in r.items() if k != "model"})


MODEL = arg("--model", default="piano", help="the model (default piano)")

BENCHES: dict[str, Bench] = {
    "prepare": Bench(
        "files/s of Cadenza's encoding path against note-seq's", "prepare:run", "prepare:table",
        (arg("corpus"), arg("--files", type=int, default=0, help="use only the first N files (default: all)"),
         arg("--workers", type=int, default=0, help="processes for the all-cores figure")),
        "Read and encode the same MIDI files with Cadenza and with note-seq (performance events, sustain, 32 "
        "velocity bins) in one run.", "cadenza bench prepare ../shared/corpus/piano-midi --json"),
    "corpus": Bench(
        "prepare at scale: Beam against prepare, memory at 1x and 10x", "corpus:run", "corpus:table",
        (arg("corpus"), arg("--copies", type=int, default=10, help="the larger corpus, in transposed copies (default 10)"),
         arg("--workers", type=int, default=0, help="processes (default: every core)"),
         arg("--no-beam", dest="beam", action="store_false", help="skip the Beam runs"),
         arg("--no-memory", dest="memory", action="store_false", help="skip the memory runs")),
        "On the same folder: `cadenza prepare` against the same preparation as an Apache Beam pipeline "
        "(DirectRunner), shards compared byte for byte; then the peak memory of prepare on the corpus and on "
        "COPIES transposed copies of it.", "cadenza bench corpus ../shared/corpus/piano-midi --copies 10"),
    "distribute": Bench(
        "training on one worker against two (tf.distribute), and resuming", "distribute:run", "distribute:table",
        (arg("data", help="a corpus or prepared folder"), arg("--codec", default="notewise"),
         arg("--epochs", type=int, default=3), arg("--steps", type=int, default=50, help="steps per epoch")),
        "Two `cadenza train --distribute multiworker` workers on 127.0.0.1 against one, each pinned to its own "
        "cores, the same global batch and steps: ms per step and validation NLL; then the two-worker checkpoint "
        "resumed on one.", "cadenza bench distribute ../shared/corpus/kern/bach-370-chorales --codec notewise"),
    "generate": Bench(
        "the compiled loop against model.predict per token", "generate:run", "generate:table",
        (MODEL, arg("--tokens", type=int, default=1024),
         arg("--predict-tokens", type=int, default=24, help="tokens the slow loop is timed over"),
         arg("--repeats", type=int, default=5, help="runs of each compiled timing; the median counts")),
        "Tokens/s and ms per beat of the compiled loop at batch 1 and for 8 variations, and of a "
        "model.predict-per-token loop, on one model in one run.", "cadenza bench generate --model piano --json"),
    "osc": Bench(
        "request to first notes and to done over OSC, at 1, 8 or any number of clients at once", "osc:run_osc", "osc:table_osc",
        (MODEL, arg("--requests", type=int, default=20, help="requests per client (default 20)"),
         arg("--beats", type=float, default=32.0, help="beats asked for per request (default 32: 8 bars)"),
         arg("--infill", default="", metavar="MODEL",
             help="also an infill model: 2 bars of a 32-bar piece filled, after the continue runs"),
         arg("--drums", action="store_true", help="also 2-bar groove and drumify requests (the groove model)"),
         arg("--harmonize", default="", metavar="MODEL",
             help="also a harmony model: an 8-bar melody harmonized with 1 candidate (streamed) and 4"),
         arg("--clients", nargs="+", type=int, default=[1, 8], help="how many clients at once, each count a run "
                                                                    "(default 1 8)"),
         arg("--rounds", type=int, default=3, help="rounds of every client count in turn; each count's figures are of "
                                                   "all its rounds (default 3)"),
         arg("--distinct-primes", action="store_true",
             help="each request a prime of its own (the line transposed and its velocities moved), as players in an "
                  "ensemble send; by default every request sends the same 8 notes, as the Live device's variations "
                  "do, and the daemon reads a prime it has read before once (its last 32 kept)")),
        example="cadenza bench osc --model piano --requests 100\n  cadenza bench osc --distinct-primes"),
    "serve": Bench(
        "launch to first pong and first notes, first request of each model, RSS", "serve:run_serve",
        "serve:table_serve",
        (arg("--model", default="piano", help="the default model (default piano)"),
         arg("--models", nargs="*", help="models whose first request is timed (default: every one in the store)"),
         arg("--fresh", type=int, default=0, metavar="N",
             help="also N launches as on a new machine (empty numba and array caches), without and after `cadenza warm`")),
        example="cadenza bench serve --json\n  cadenza bench serve --fresh 5 --models"),
    "web": Bench(
        "the page in headless Chromium: load, click to first note, HTTP clients", "web:run_web", "web:table_web",
        (MODEL, arg("--requests", type=int, default=20, help="page requests timed (default 20)"),
         arg("--clients", type=int, default=8, help="HTTP clients at once (default 8)"),
         arg("--per-client", type=int, default=50, help="requests each (default 50)"),
         arg("--screenshot", help="also save a screenshot of the page here (.png)")),
        example="cadenza bench web --json", log="ERROR", ok=lambda r: r["http_clients"]["lost"] == 0),
    "siege": Bench(
        "the page's door under siege (idle connections, open streams): what OSC, the page and generation cost then",
        "siege:run_siege", "siege:table_siege",
        (arg("--model", default="chorale", help="the daemon's model (default chorale)"),
         arg("--idle", type=int, default=20000, help="idle TCP connections to the page (default 20000)"),
         arg("--streams", type=int, default=200, help="event streams on one job from one address (default 200)"),
         arg("--beats", type=float, default=450.0, help="beats of each of the two timed continuations (default 450)")),
        "Quiet, then with IDLE connections that send nothing, then with STREAMS event streams following one job: "
        "an OSC ping, GET / and two continuations at once, each against the quiet figure of the same run.",
        "cadenza bench siege --idle 20000 --streams 200", log="ERROR",
        ok=lambda r: r["idle_connections"]["get_ms"] is not None and r["streams"]["get_ms"] is not None),
    "clock": Bench(
        "playing in time: MIDI out timing, clock follow, Link, jam, bad input", "clock:run_clock",
        "clock:table_clock",
        (MODEL, arg("--notes", type=int, default=1000, help="notes timed on MIDI out (default 1000)"),
         arg("--jams", type=int, default=8, help="phrases answered in jam mode (default 8)")),
        example="cadenza bench clock --json", log="ERROR"),
    "infill": Bench(
        "infill vs continuation: bits of the real middle, the joins, the speed", "infill:run_infill",
        "infill:table_infill",
        (arg("--model", default="chorale-infill"),
         arg("--baseline", default="chorale", help="the continuation model of the same family"),
         arg("--gap", type=float, default=4.0, help="beats of each gap (default 4)"),
         arg("--pieces", type=int, default=24, help="held-out pieces (default 24)"),
         arg("--candidates", type=int, nargs="+", help="the counts of candidates whose joins and speed are measured "
                                                      "(default: 1 and the setting's default)")),
        example="cadenza bench infill --model chorale-infill --baseline chorale --candidates 1 2 4 8",
        record=_infill_figures),
    "harmonize": Bench(
        "harmonize: does the model listen to the melody (bits), how its parts sound, the speed",
        "harmonize:run", "harmonize:table",
        (arg("--model", default="chorale-harmony"),
         arg("--baseline", default="chorale", help="the unconditional model of the same music (\"\": none)"),
         arg("--pieces", type=int, default=40, help="held-out pieces (default 40)"),
         arg("--temperature", type=float, default=1.0, help="of the generated parts (default 1.0)"),
         arg("--voices", type=int, default=3, help="parts under the melody (default 3)"),
         arg("--candidates", type=int, default=4, help="parts drawn per melody, the best kept (default 4)"),
         arg("--key-prior", type=float, default=None, help="the key_prior setting (default: the setting's)"),
         arg("--transpositions", type=int, default=None, help="the transpositions setting: readings of the music "
                                                             "whose pooled distribution the parts are drawn from and "
                                                             "scored by (default: the model's own)"),
         arg("--judge-beats", type=int, default=4, help="the judge_beats setting: the candidates judged every "
                                                        "this many beats (default 4: at bar lines)"),
         arg("--parallels", type=float, default=-1.0, help="the parallels setting: nats off a part's start moving "
                                                           "in parallel fifths or octaves (default -1: the "
                                                           "model's own)")),
        "On held-out pieces: bits per part token of the real parts given the melody, with it withheld and by the "
        "unconditional model; on-beat chord tones, parallels, parts above the melody and voice ranges of "
        "generated parts against the real ones; 8 bars harmonized.",
        "cadenza bench harmonize --model chorale-harmony --baseline chorale --json",
        record=_all_but_model("harmonize_bench")),
    "along": Bench(
        "jam mode along played live: beats on time, note timing, harmony against offline and Bach",
        "along:run", "along:table",
        (arg("--model", default="chorale-harmony"),
         arg("--melodies", type=int, default=12, help="held-out melodies at each tempo (default 12)"),
         arg("--beats", type=float, default=16.0, help="beats of each melody (default 16)"),
         arg("--qpm", type=float, nargs="+", default=[60.0, 120.0, 180.0], help="tempi (default 60 120 180)"),
         arg("--seed", type=int, default=0),
         arg("--transpositions", type=int, default=None, help="the transpositions setting, live, offline and told "
                                                             "the past bar alike (default: the model's own)")),
        "A daemon in jam mode along on its steady clock; a test player sends held-out melodies over OSC "
        "(/cadenza/note) in real time. Per tempo: beats decided on time, MIDI-out timing error, decision time, and "
        "the melody's on-beat notes among the parts' pitch classes, live against offline harmonize and Bach.",
        "cadenza bench along --melodies 34 --qpm 60 120 180 --json"),
    "groove": Bench(
        "groove, drumify and interpolate on the Groove MIDI Dataset's validation split", "groove:run_groove",
        "groove:table_groove",
        (arg("--model", default="groove"),
         arg("--max-files", type=int, default=0, help="only the first N files of each part (smoke tests)"),
         arg("--pairs", type=int, default=200, help="interpolation pairs (default 200)")),
        example="cadenza bench groove --model groove", record=_all_but_model("groove_bench")),
    "controls": Bench(
        "how often generated bars meet each control, and what each costs", "controls:run_controls",
        "controls:table_controls",
        (arg("--model", default="chorale"),
         arg("--generations", type=int, default=100, help="per setting (default 100)"),
         arg("--bars", type=int, default=8, help="bars each (default 8)"),
         arg("--pieces", type=int, default=20, help="held-out pieces for the cost (default 20)"),
         arg("--only", nargs="*", default=(), help="only these controls (density polyphony velocity leaps offbeats "
                                                   "no_repeat)")),
        example="cadenza bench controls --model chorale --generations 100", record=_all_but_model("controls_bench")),
    "fuzz": Bench(
        "hostile datagrams against a real daemon, then hostile page requests and jam notes: replies, thread deaths, memory",
        "fuzz:run_fuzz",
        "fuzz:table_fuzz",
        (arg("--datagrams", dest="n", type=int, default=5000, help="how many (default 5000)"),
         arg("--seed", type=int, default=0, help="the generator's seed (the same seed, the same datagrams)"),
         arg("--model", default="chorale", help="the daemon's model (default chorale)"),
         arg("--page", type=int, default=500, help="then this many hostile requests to the page (default 500; 0: none)"),
         arg("--jam", type=int, default=500, help="then this many hostile notes to the daemon's jam, which must still "
                                                  "answer a phrase after them (default 500; 0: none)")),
        example="cadenza bench fuzz --datagrams 5000 --page 500 --jam 500 --json", log="CRITICAL",
        ok=lambda r: r["thread_deaths"] == 0 and r["checks_passed"] == r["checks"]
        and r.get("page", {}).get("server_errors", 0) == 0 and r.get("jam", {}).get("answered_after", True)),
    "watch": Bench(
        "file dropped in the inbox to output written", "osc:run_watch_folder", "osc:table_watch",
        (arg("corpus", help="a folder of music files to drop"), MODEL, arg("--files", type=int, default=10),
         arg("--beats", type=float, default=16.0)),
        example="cadenza bench watch ../shared/corpus/nottingham --files 10"),
    "transcribe": Bench(
        "pitch tracking on melodies rendered from known notes", "transcribe:run", "transcribe:table",
        (arg("--seeds", type=int, default=2, help="melodies per voice and tempo (default 2)"),),
        "Render seeded melodies with several voices at 60, 100 and 160 qpm, transcribe each recording, and count "
        "the notes recovered with the right pitch and an onset within 50 ms.", "cadenza bench transcribe --seeds 2"),
    "pianoroll": Bench(
        "train and score on a Boulanger-Lewandowski piano-roll .mat file", "pianoroll:main", "pianoroll:table",
        (arg("file", help="a .mat file with traindata, validdata and testdata (lists of frames x keys rolls)"),
         arg("--minutes", dest="max_minutes", type=float, help="training time budget (default 30)"),
         arg("--epochs", dest="max_epochs", type=int, help="at most this many epochs (default 500)"),
         arg("--layers", type=int), arg("--units", type=int), arg("--dropout", type=float), arg("--batch", type=int),
         arg("--transpose", type=int, help="random transposition range in semitones (0: none)"),
         arg("--seed", type=int),
         arg("--halve-lr", action="store_true", default=None,
             help="halve the learning rate after each epoch that improves validation by under 0.5%%"),
         arg("--out", help="also write the JSON report here")),
        "Train Cadenza's frame-conditioned note-wise LSTM on traindata, keep the checkpoint best on validdata, and "
        "report test NLL in nats per frame (summed over keys, averaged over all test frames, each frame predicted "
        "from the frames before it), next to published figures. Progress goes to stderr.",
        "cadenza bench pianoroll ../shared/benchmarks/pianoroll/JSB_Chorales.mat\n"
        "  cadenza bench pianoroll ../shared/benchmarks/pianoroll/Nottingham.mat --minutes 35 --batch 32 --dropout 0.2"),
}


def dest(flags: tuple, kwargs: dict) -> str:
    """The keyword a flag is passed to the run function as."""
    if "dest" in kwargs:
        return kwargs["dest"]
    long = [f for f in flags if f.startswith("--")]
    return (long[0][2:] if long else flags[0].lstrip("-")).replace("-", "_")
