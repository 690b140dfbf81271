"""The one specification of a request's settings, and the one function that turns settings into a Request.

Every door reads its settings through this module: the CLI's flags (`add_arguments`, `from_args`),
OSC `/cadenza/set` and a request's key value pairs (`apply`, via host/protocol.py), the watch folder's
TOML (the same `apply`), and the docs table (`markdown`, checked against docs/osc.md by a test).
Validation and its error text live here, once. No TensorFlow, no sockets.

    from bridge.settings import Settings, apply, request_of
    s = apply(Settings(), "temperature", 0.9)
    req = request_of(s)
"""
from __future__ import annotations

import dataclasses
import ipaddress
import random
import re
from dataclasses import dataclass
from typing import Any, Callable

from .errors import CadenzaError, did_you_mean
from .generation.constraints import KEY_PRIOR, REGISTER_PRIOR  # where a model's card says none (docs/controls.md)
from .generation.sampling import STRATEGIES, TOP_P  # the kernels' order; checked here, as every value is
from .music.styles import STYLES

MAX_BEATS = 1024.0
MAX_TEXT = 200  # characters of any text setting
MAX_NOTES = 4096  # prime notes in one request
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # a model's folder name in the store, never a path
RENDER_FORMATS = ("wav", "flac", "ogg", "mp3")


class SettingError(CadenzaError):
    """A setting refused; the text names the setting and what it accepts."""


@dataclass(frozen=True)
class Setting:
    name: str
    kind: type  # int, float or str
    default: Any
    help: str
    low: float | None = None  # inclusive, unless low_open
    high: float | None = None
    low_open: bool = False
    also: tuple = ()  # values allowed outside [low, high] (e.g. -1: "the model's default")
    choices: tuple | None = None
    aliases: tuple = ()
    osc_only: bool = False  # about replies: no meaning on the command line or in the watch folder
    check: Callable[[Any], Any] | None = None  # further parsing (scale, pitch range): raises CadenzaError
    tasks: tuple = ()  # the tasks it means something to (TASKS); (): every one
    label: str = ""  # the page's words for it ("" : the name, spaced)
    first: bool = False  # one of the few the page shows before "More"

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def range_text(self) -> str:
        if self.choices:
            return ", ".join(f"`{c}`" if c else '`""`' for c in self.choices)
        if self.low is None and self.high is None:
            return ""
        lo = "" if self.low is None else _num(self.low)
        hi = "" if self.high is None else _num(self.high)
        text = f"{lo}-{hi}" if hi else f">= {lo}"
        if self.low_open:
            text = f"> {lo}, <= {hi}" if hi else f"> {lo}"
        return text + "".join(f" or {_num(a)}" for a in self.also)


def parse_meter(text: str) -> tuple[int, int]:
    """'3/4' -> (3, 4): a numerator 1-32 over a power of two up to 64."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", str(text))
    if not m or not 1 <= int(m.group(1)) <= 32 or int(m.group(2)) not in (1, 2, 4, 8, 16, 32, 64):
        raise SettingError(f"meter {short(text)}: write it as N/D, e.g. 3/4 or 6/8")
    return int(m.group(1)), int(m.group(2))


def _num(x: float) -> str:
    return str(int(x)) if float(x) == int(x) else f"{x:g}"


def _scale(text: str):
    from .generation.constraints import parse_scale

    return parse_scale(text)


def _range(text: str):
    from .generation.constraints import parse_range

    return parse_range(text)


def _reply_host(text: str) -> str:
    text = "127.0.0.1" if text == "localhost" else text
    try:
        ipaddress.ip_address(text)
    except ValueError:
        raise SettingError(f"reply_host {short(text)}: give an IP address (e.g. 192.168.1.20), "
                           "or \"\" for the sender's") from None
    return text


def _drum_classes(text: str):
    from .codecs.drums import parse_classes

    return parse_classes(text)


def _velocity(text: str):
    from .generation.controls import parse_velocity_range

    return parse_velocity_range(text)


def _model(text: str) -> str:
    if not MODEL_NAME.fullmatch(text):
        raise SettingError(f"model {short(text)}: a model is named by its folder in the model store "
                           "(letters, digits, '.', '_', '-'; at most 64), never by a path")
    return text


TASKS = ("continue", "infill", "harmonize", "groove", "drumify", "interpolate")  # what a request can ask for
TOKEN_TASKS = ("continue", "infill", "harmonize")  # the tasks a token model samples for
NOTE_TASKS = ("continue", "infill")  # the tasks the note controls work in
DRUMS = ("groove", "drumify", "interpolate")

SPEC: tuple[Setting, ...] = (
    Setting("model", str, "", "which model: a name in the model store (`cadenza models`, `/cadenza/models`); "
            "\"\": the daemon's default", check=_model),
    Setting("beats", float, 16.0, "length of the new music, in the prime's beats (quarter notes)", 0, MAX_BEATS,
            low_open=True, aliases=("length_beats",), tasks=("continue",), label="length (beats)", first=True),
    Setting("temperature", float, 1.0, "lower is safer, higher wilder", 0.01, 10, tasks=TOKEN_TASKS + ("groove", "drumify"), first=True),
    Setting("strategy", str, "top_p_notes", "how each token is drawn (article 003's top_n_95 and truncated too; "
            "top_p_notes: the nucleus of the notes, time as the model gives it)",
            choices=STRATEGIES, tasks=TOKEN_TASKS),
    Setting("top_k", int, 0, "top_k: tokens kept (0: 40)", 0, 100_000, tasks=TOKEN_TASKS),
    Setting("top_p", float, -1.0, f"top_p and top_p_notes: the probability mass kept; -1: the model's own (its "
            f"card's sampling.top_p: 0.98 for piano, 0.97 for chorale, else {TOP_P:g})", 0, 1, low_open=True, also=(-1,),
            tasks=TOKEN_TASKS, label="top_p (-1: the model's own)"),
    Setting("n", int, 4, "top_n_95 and truncated: the n of \"top n\"", 1, 1000, tasks=TOKEN_TASKS),
    Setting("seed", int, -1, "-1: a new seed each time (the one used is reported); else the same seed gives "
            "the same music", 0, 2**31 - 1, also=(-1,), first=True),
    Setting("variations", int, 1, "versions generated as one batch (each written as a file)", 1, 16, tasks=TOKEN_TASKS + ("groove", "drumify"), first=True),
    Setting("qpm", float, 120.0, "the tempo notes given in beats mean; a file prime's own tempo map wins", 10, 400, label="tempo (quarter notes a minute)", first=True),
    Setting("meter", str, "4/4", "the meter notes given in beats are in, e.g. 3/4, 6/8; a file prime's own "
            "meter wins", check=lambda t: parse_meter(t) and t, tasks=("continue", "infill", "harmonize")),
    Setting("scale", str, "", "only notes of this scale: 'C major', 'F# minor', 'D dorian', '0,2,4,7,9'",
            check=_scale, tasks=TOKEN_TASKS, first=True),
    Setting("key_prior", float, -1.0, "how strongly new notes keep to the key of the music given (a prime's, "
            "the music around an infill's region, a melody's): a note outside it is this many nats less likely "
            f"(a factor of e^n), never forbidden; -1: the model's own (its card's sampling.key_prior: 0.5 for piano, "
            f"0.4 for chorale and messages, else {KEY_PRIOR:g}); 0: off. Models whose tokens name pitches", 0, 10, also=(-1,),
            tasks=TOKEN_TASKS, label="keep to the key (-1: the model's own, 0: off)"),
    Setting("register_prior", float, -1.0, "how strongly new notes keep to the register of the music "
            "given: a note more than a fifth below its lowest or above its highest is this many nats less likely "
            f"per octave further out, never forbidden; -1: the model's own (its card's sampling.register_prior: 1.5 "
            f"for piano, else {REGISTER_PRIOR:g}); 0: off. Models whose tokens name pitches (not harmonize: its "
            "parts sit below the melody)", 0, 10, also=(-1,), tasks=NOTE_TASKS,
            label="keep to the register (-1: the model's own, 0: off)"),
    Setting("time_prior", float, -1.0, "how strongly the time steps lean longer: a step of d beats is this many "
            "nats likelier per doubling of d beyond half a beat (shorter ones as much less likely), never forbidden; "
            "-1: the model's own (its card's sampling.time_prior: 0.25 for chorale, else 0); 0: off. Continue and "
            "infill with models whose tokens step through time", 0, 5, also=(-1,), tasks=NOTE_TASKS,
            label="lean to longer notes (-1: the model's own)"),
    Setting("pitch_range", str, "", "only notes in LOW-HIGH (MIDI numbers), e.g. 36-96", aliases=("range",),
            check=_range, tasks=TOKEN_TASKS, label="pitch range (MIDI notes)"),
    Setting("max_hold", float, -1.0, "release any note held this many beats; -1: the model's default "
            "(5 s for performance models, as Magenta; 12 beats for notewise models such as chorale and melody; "
            "8 beats for harmonize's parts and the messages model), 0: never", 0, MAX_BEATS,
            also=(-1,), tasks=NOTE_TASKS + ("harmonize",), label="longest note (beats)"),
    Setting("density", float, 0.0, "notes per beat, held bar by bar within density_tolerance; 0: the model's own",
            0, 16, tasks=NOTE_TASKS + ("drumify", "interpolate"), label="density (notes a beat)"),
    Setting("density_tolerance", float, 0.25, "how far a bar's notes may be from density, as a share of it", 0, 1, tasks=NOTE_TASKS),
    Setting("polyphony_min", int, 0, "at least this many notes sounding whenever time passes; 0: free", 0, 16, tasks=NOTE_TASKS),
    Setting("polyphony_max", int, 0, "at most this many notes sounding; 0: the model's own (a melody model plays one, "
            "chorale four, the others are free)", 0, 16, tasks=NOTE_TASKS),
    Setting("velocity_range", str, "", "only velocities in LOW-HIGH (1-127), e.g. 40-90", check=_velocity, tasks=NOTE_TASKS),
    Setting("leaps", float, -1.0, "the share of the top voice's intervals larger than a whole tone, bar by bar; "
            "-1: free", 0, 1, also=(-1,), tasks=NOTE_TASKS),
    Setting("offbeats", float, -1.0, "the share of notes starting off the beat (rhythmic interest), bar by bar; "
            "-1: free", 0, 1, also=(-1,), tasks=NOTE_TASKS),
    Setting("rhythm_variety", float, -1.0, "how strongly each bar's rhythm differs from the bar before: a time step "
            "is this many nats likelier for each place in the bar (1/12 beat) it makes differ from the last bar (an "
            "onset that bar had and this step passes over, or one where it had none), never forbidden; -1: the model's "
            "own (its card's sampling.rhythm_variety: 0.25 for chorale, else 0); 0: off. Pitched models whose tokens "
            "are notes and time steps", 0, 5, also=(-1,), tasks=NOTE_TASKS, label="vary the rhythm (-1: the model's own)"),
    Setting("share_tolerance", float, 0.15, "how far a bar's leaps and offbeats shares may be from the asked", 0, 1, tasks=NOTE_TASKS),
    Setting("no_repeat", int, 0, "n: no n-gram of the top voice's pitch intervals twice in the new music; 0: off",
            0, 16, tasks=NOTE_TASKS),
    Setting("humanize", float, 1.0, "groove: 0 keeps the drums as quantised, 1 plays them as the groove model "
            "does, between blends timing and velocity", 0, 1, tasks=("groove",), first=True),
    Setting("swing", float, 0.0, "groove, drumify, interpolate: the second 16th of each 8th later by up to a "
            "third of a step", 0, 1, tasks=DRUMS, first=True),
    Setting("drum_classes", str, "", "drums: only these classes, e.g. 'kick,snare,closed hi-hat' (kick snare "
            "closed hi-hat, open hi-hat, low tom, mid tom, high tom, crash, ride); \"\": all", check=_drum_classes, tasks=("continue",) + DRUMS),
    Setting("style", str, "", "groove, drumify, interpolate: the style the groove model plays in (the Groove MIDI "
            "Dataset's); \"\": not said (groove then plays the styles the beat's drums and tempo suggest)",
            choices=("",) + STYLES, tasks=DRUMS, first=True),
    Setting("steps", int, 5, "interpolate: beats from the first to the second, both included", 2, 64, tasks=("interpolate",), first=True),
    Setting("voices", int, 0, "harmonize: at most this many parts sounding under the melody; 0: the model's own "
            "(three under a chorale's soprano)", 0, 8, tasks=("harmonize",), first=True),
    Setting("candidates", int, 4, "harmonize and infill: drawn for each variation at once, the best kept (harmonize: "
            "judged at every bar line (judge_beats), the best so far carried on by all, by the fewest parallel fifths and octaves "
            "and the most chord tones under the melody; infill: the middle the music after the region follows "
            "best); 1: the first, streamed as it is written", 1, 16,
            tasks=("harmonize", "infill")),
    Setting("judge_beats", int, 4, "harmonize with candidates: they are judged every this many beats (4: at each "
            "bar line; 1: at each beat: half the parallel fifths and octaves, ~15% more time)", 1, 16,
            tasks=("harmonize",)),
    Setting("parallels", float, -1.0, "harmonize: nats taken off a part's start that would move in parallel "
            "fifths or octaves with the melody or another part (the rule of voice leading, soft: never forbidden); "
            "0: none (block chords move in parallel); -1: the model's own (its card's harmonize.parallels: 6 for "
            "chorale-harmony, else 0)", 0, 20, also=(-1,), tasks=("harmonize",)),
    Setting("transpositions", int, 0, "harmonize: the model reads the melody and its parts at this many "
            "transpositions at once (as given, a semitone up, down, two up, two down) and draws each part from the "
            "geometric mean of what they expect (docs/harmonize.md); 1: as given, the fastest; 0: the model's own "
            "(its card's harmonize.transpositions: 3 for chorale-harmony, else 1)", 0, 5, tasks=("harmonize",)),
    Setting("with_drums", int, 1, "continue: where the prime has drums, 1 continues them with the drums model "
            "too (one output, both parts); 0 keeps them as they were", 0, 1, tasks=("continue",)),
    Setting("render", str, "", "also write each output as audio", choices=("",) + RENDER_FORMATS),
    Setting("picture", int, 0, "1: also draw each output as a piano-roll PNG", 0, 1),
    Setting("reply_host", str, "", "where replies go: the sender's own address (\"\") or one --allow admits",
            osc_only=True, check=_reply_host),
    Setting("reply_port", int, 0, "where replies go; 0: the sender's port", 0, 65535, osc_only=True),
    Setting("midi", int, 1, "also send the whole MIDI file as a blob (when it fits in 8 KB)", 0, 1, osc_only=True),
    Setting("write_file", int, 1, "write the output under the outbox and send its path", 0, 1, osc_only=True),
    Setting("timed", int, 0, "1: also send each note as an OSC bundle time-tagged with when it should sound "
            "(/cadenza/play id pitch velocity seconds variation; SuperCollider and Sonic Pi schedule by it)", 0, 1,
            osc_only=True),
    Setting("latency", float, 0.2, "timed notes: seconds from the request (or, on a clock, from its next "
            "downbeat) to the first beat", 0, 10, osc_only=True),
)
BY_NAME: dict[str, Setting] = {s.name: s for s in SPEC}
KEYS: dict[str, Setting] = {**BY_NAME, **{a: s for s in SPEC for a in s.aliases}}

Settings = dataclasses.make_dataclass(
    "Settings", [(s.name, s.kind, dataclasses.field(default=s.default)) for s in SPEC], frozen=True)
Settings.__doc__ = "A request's settings, every one from SPEC, with its default."


def short(text: Any, limit: int = 40) -> str:
    """A value quoted for an error message, cut to a readable length."""
    t = repr(text)
    return t if len(t) <= limit else t[:limit - 4] + "...'"


def number(value: Any, what: str) -> float:
    """Numbers are accepted as int or float or a numeric string (Max sends floats where Pd sends ints)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        if value != value or value in (float("inf"), float("-inf")):
            raise SettingError(f"{what} must be a finite number, not {value}")
        return float(value)
    if isinstance(value, str):
        try:
            return number(float(value), what)
        except ValueError:
            pass
    raise SettingError(f"{what} must be a number, not {short(value)}")


def integer(value: Any, what: str) -> int:
    x = number(value, what)
    if x != int(x):
        raise SettingError(f"{what} must be a whole number, not {x}")
    return int(x)


def parse(key: Any, value: Any) -> tuple[str, Any]:
    """(name, checked value) of one setting given by any door; SettingError names what is wrong."""
    if not isinstance(key, str) or key not in KEYS:
        raise SettingError(f"unknown setting {short(key)}{did_you_mean(key, KEYS)}; settings are "
                           f"{', '.join(sorted(KEYS))}")
    spec = KEYS[key]
    if spec.kind is str:
        if isinstance(value, (int, float)) and spec.name == "pitch_range":
            raise SettingError("pitch_range is text LOW-HIGH, e.g. \"36-96\"")
        if isinstance(value, (bytes, bytearray)):
            raise SettingError(f"{key} is text, not a blob")
        v: Any = str(value)
        if len(v) > MAX_TEXT:
            raise SettingError(f"{key}: {len(v)} characters; at most {MAX_TEXT}")
        if spec.name == "render":
            v = v.lower().lstrip(".")
            v = "" if v in ("0", "no", "none", "off") else v
    elif spec.kind is int:
        v = integer(value, key)
    else:
        v = number(value, key)
    if spec.choices is not None and v not in spec.choices:
        what = "unknown strategy" if spec.name == "strategy" else spec.name
        raise SettingError(f"{what} {short(value)}{did_you_mean(value, spec.choices)}: choose one of "
                           f"{spec.range_text()}")
    if spec.kind is not str and v not in spec.also:
        low_bad = spec.low is not None and (v <= spec.low if spec.low_open else v < spec.low)
        high_bad = spec.high is not None and v > spec.high
        if low_bad or high_bad:
            raise SettingError(f"{key} {value} is out of range ({spec.range_text()})")
    if spec.check is not None and v:
        try:
            out = spec.check(v)
        except SettingError:
            raise
        except CadenzaError as e:  # the parser's own words, as a setting's refusal
            raise SettingError(str(e)) from None
        if isinstance(out, str):
            v = out
    return spec.name, v


def apply(s, key: Any, value: Any):
    name, v = parse(key, value)
    return dataclasses.replace(s, **{name: v})


def apply_pairs(s, pairs: list):
    """Key value pairs applied in order (a key given twice: its last value), each checked, as one new Settings."""
    if len(pairs) % 2:
        raise SettingError("settings come as key value pairs")
    changed = dict(parse(pairs[i], pairs[i + 1]) for i in range(0, len(pairs), 2))
    return dataclasses.replace(s, **changed) if changed else s


def request_of(s, qpm: float | None = None, tokens: int = 0, rng: random.Random | None = None):
    """The one Request every door generates with. `qpm`: the tempo the prime's beats mean where a file
    gives it (its tempo at the prime's end), else the setting's. A seed of -1 becomes a fresh one."""
    from .generation import Request, Sampling, parse_range, parse_scale
    from .codecs.drums import parse_classes
    from .generation.controls import beat_of

    seed = s.seed if s.seed >= 0 else (rng or random).randrange(2**31)
    meter = parse_meter(s.meter)
    return Request(beats=s.beats, tokens=tokens, seed=seed, variations=s.variations, qpm=qpm or s.qpm,
                   sampling=Sampling(strategy=s.strategy, temperature=s.temperature, top_k=s.top_k, top_p=s.top_p,
                                     n=s.n),
                   scale=parse_scale(s.scale) if s.scale else None,
                   pitch_range=parse_range(s.pitch_range) if s.pitch_range else None,
                   max_hold=None if s.max_hold < 0 else s.max_hold, controls=controls_of(s),
                   bar=meter_beats(*meter), beat=beat_of(*meter),
                   drum_classes=parse_classes(s.drum_classes) if s.drum_classes else (), key_prior=s.key_prior,
                   register_prior=s.register_prior, time_prior=s.time_prior)


def controls_of(s):
    """The musician's controls a request asks for, checked for contradictions (bridge.generation.controls)."""
    from .generation.controls import Controls, parse_velocity_range

    c = Controls(density=s.density, density_tolerance=s.density_tolerance, polyphony_min=s.polyphony_min,
                 polyphony_max=s.polyphony_max,
                 velocity_range=parse_velocity_range(s.velocity_range) if s.velocity_range else None,
                 leaps=s.leaps, offbeats=s.offbeats, share_tolerance=s.share_tolerance, no_repeat=s.no_repeat,
                 rhythm_variety=s.rhythm_variety)
    try:
        c.check()
    except CadenzaError as e:
        raise SettingError(str(e)) from None
    return c


def meter_beats(numerator: int, denominator: int) -> float:
    """A bar's length in quarter-note beats."""
    return numerator * 4.0 / denominator


# ----- the command line -------------------------------------------------------------------------------
def add_arguments(parser, exclude: tuple = ()) -> None:
    """A flag for every setting that means something on the command line (default: the spec's)."""
    for spec in SPEC:
        if spec.osc_only or spec.name in exclude:
            continue
        default = spec.default
        extra = f" ({spec.range_text()})" if spec.range_text() else ""
        parser.add_argument(spec.flag, dest=spec.name, default=None, metavar=spec.name.upper(),
                            type=str if spec.kind is str else spec.kind,
                            help=f"{spec.help}{extra}; default {default!r}".replace("%", "%%"))


def from_args(args, base=None, exclude: tuple = ("model",)):
    """Settings from parsed flags: the spec's defaults, then each flag given (the command line's --model,
    which may also be a folder, is its own)."""
    s = base if base is not None else Settings()
    for spec in SPEC:
        if spec.name in exclude:
            continue
        value = getattr(args, spec.name, None)
        if value is not None:
            s = apply(s, spec.name, value)
    return s


# ----- the docs -----------------------------------------------------------------------------------------
def markdown() -> str:
    """The settings table of docs/osc.md (a test keeps the two equal)."""
    rows = ["| key | default | range | meaning |", "|---|---|---|---|"]
    for spec in SPEC:
        key = " or ".join(f"`{k}`" for k in (spec.name,) + spec.aliases)
        default = '`""`' if spec.default == "" else f"`{spec.default}`"
        rows.append(f"| {key} | {default} | {spec.range_text()} | {spec.help}{' (OSC only)' if spec.osc_only else ''} |")
    return "\n".join(rows) + "\n"


if __name__ == "__main__":  # python -m bridge.settings: the table for the docs
    print(markdown(), end="")


# ----- prime notes a client sends -------------------------------------------------------------------
@dataclass(frozen=True)
class PrimeNote:
    pitch: int
    start: float  # beats
    duration: float  # beats
    velocity: int


def parse_notes(flat: list) -> list[PrimeNote]:
    """Prime notes sent by a client (OSC, the page), as flat (pitch, start beats, duration beats, velocity)
    numbers: each checked here, for every door."""
    if len(flat) % 4:
        raise SettingError(f"prime notes come as 4 numbers each (pitch, start, duration, velocity); "
                            f"got {len(flat)} numbers")
    if len(flat) // 4 > MAX_NOTES:
        raise SettingError(f"{len(flat) // 4} prime notes: at most {MAX_NOTES} in one request")
    notes = []
    for i in range(0, len(flat), 4):
        k = i // 4 + 1
        pitch = integer(flat[i], f"note {k} pitch")
        start = number(flat[i + 1], f"note {k} start")
        dur = number(flat[i + 2], f"note {k} duration")
        vel = integer(flat[i + 3], f"note {k} velocity")
        if not 0 <= pitch <= 127:
            raise SettingError(f"note {k}: pitch {pitch} is outside 0-127")
        if not 0 <= start <= 100_000 or not 0 < dur <= 1024:
            raise SettingError(f"note {k}: start {start} and duration {dur} must be beats >= 0 (duration > 0)")
        if not 1 <= vel <= 127:
            raise SettingError(f"note {k}: velocity {vel} is outside 1-127")
        notes.append(PrimeNote(pitch, start, dur, vel))
    return notes
