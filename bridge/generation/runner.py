"""The sampling loop, compiled, with the recurrent state carried from token to token.

A `Generator` reads a loaded model's weights once and lays them out for the compiled kernels
(bridge.generation.kernels). `run()` feeds the prime, then samples `chunk` tokens per call of the
compiled loop (state, sampling, masks and note grammar all inside it), hands each chunk to a
callback, checks for cancellation between chunks, and stops at a length in beats or tokens.
Variations are one batch: the prime is read once and its state copied to every variation; two or
more run in parts, one a core (`parts`: two halves on two cores). Requests in the air together join one of the
model's batches (`Batcher`, two on two cores or more: `Generator.lanes`).
"""
from __future__ import annotations

import functools
import os
import sys
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Callable, NamedTuple

import numpy as np

from ..errors import CadenzaError
from .constraints import KEY_PRIOR, REGISTER_PRIOR, key_prior, register_prior, time_prior
from .constraints import mask as make_mask
from .controls import Controls
from .sampling import TOP_P, Sampling

MAX_PRIME = 512  # prime tokens read into the state: older context adds little and costs time


@dataclass(frozen=True)
class Request:
    beats: float = 16.0  # stop after this much music (when the codec tells time per token)
    tokens: int = 0  # or after this many tokens (0: from beats)
    sampling: Sampling = field(default_factory=Sampling)
    seed: int = 0
    variations: int = 1
    scale: frozenset | None = None
    pitch_range: tuple[int, int] | None = None
    qpm: float | None = None  # the tempo beats are counted at, for codecs that count seconds
    max_hold: float | None = None  # release a note held this many beats (None: the model's default; 0: never)
    controls: Controls = field(default_factory=Controls)  # density, polyphony, velocity, leaps, ... (controls.py)
    bar: float = 4.0  # a bar's length in beats (the prime's meter): controls count bar by bar
    beat: float = 1.0  # the beat off-beat notes are counted against
    phase: float | None = None  # beats into a bar where the new music starts (None: from the prime's length)
    drum_classes: tuple = ()  # drum models: only these classes (bridge.codecs.drums); (): all
    key_prior: float = 0.0  # nats off the notes outside the key of the music given (constraints.key_prior); -1: the model's own
    register_prior: float = 0.0  # nats an octave off the notes beyond its register (constraints.register_prior); -1: the model's own
    time_prior: float = -1.0  # nats a doubling toward longer time steps (constraints.time_prior); -1: the model's own


def own(loaded, key: str, asked: float = -1.0, default: float = 0.0) -> float:
    """A setting a request of `loaded` draws with: the one asked, or (below 0: the model's own) its card's
    sampling[key], `default` where the card says none."""
    return float(asked) if asked >= 0 else float(loaded.meta.get("sampling", {}).get(key, default))


def key_prior_of(loaded, asked: float = -1.0) -> float:
    """The key prior a request of `loaded` draws with (the piano model's own: 0.5; KEY_PRIOR where a card says none)."""
    return own(loaded, "key_prior", asked, KEY_PRIOR)


def register_prior_of(loaded, asked: float = -1.0) -> float:
    """The register prior a request of `loaded` draws with (the piano model's own: 1.5; else REGISTER_PRIOR)."""
    return own(loaded, "register_prior", asked, REGISTER_PRIOR)


def top_p_of(loaded, asked: float = -1.0) -> float:
    """The probability mass top_p and top_p_notes keep for a request of `loaded` (the piano model's own: 0.98;
    else TOP_P)."""
    return own(loaded, "top_p", asked, TOP_P)


def time_top_p_of(loaded, sampling: Sampling) -> float:
    """The nucleus a model that draws its time steps as a factor of their own (the messages model) draws them from:
    with top_p_notes (the notes' nucleus) its card's sampling.time_top_p (messages: 0.85), else top_p."""
    return own(loaded, "time_top_p", -1.0, sampling.top_p) if sampling.strategy == "top_p_notes" else float(sampling.top_p)


def as_drawn(loaded, req: "Request") -> "Request":
    """`req` with each value it leaves to the model (below 0) made the model's own: its key, register and time
    priors and the nucleus it draws from (its card's `sampling`, else the defaults). Every generator starts with it."""
    if min(req.key_prior, req.register_prior, req.time_prior, req.sampling.top_p) >= 0:
        return req
    return replace(req, key_prior=key_prior_of(loaded, req.key_prior),
                   register_prior=register_prior_of(loaded, req.register_prior),
                   time_prior=time_prior_of(loaded, req.time_prior),
                   sampling=replace(req.sampling, top_p=top_p_of(loaded, req.sampling.top_p)))


def max_hold_of(codec, req: "Request") -> float:
    """Beats after which a held note is released: the request's, else the model's (its codec's), else never (1e9);
    for codecs that count seconds, counted at the codec's tempo as the loop counts them."""
    value = req.max_hold
    if value is None:
        value = codec.max_hold_beats() or 0
    if not value:
        return 1e9
    if req.qpm and codec.time_in_seconds:
        value = value * float(codec.params["decode_qpm"]) / float(req.qpm)
    return float(value)


def time_prior_of(loaded, asked: float = -1.0) -> float:
    """The time prior a request of `loaded` draws with (the chorale model's own: 0.25)."""
    return own(loaded, "time_prior", asked)


def variety_of(loaded, asked: float = -1.0) -> float:
    """The rhythm variety a request of `loaded` draws with (the chorale model's own: 0.25)."""
    return own(loaded, "rhythm_variety", asked)


def polyphony_of(loaded) -> int:
    """The most notes `loaded` sounds at once unless a request says otherwise (polyphony_max 0, polyphony_min
    no more than it): 1 for a melody model, its card's sampling.polyphony_max (chorale: Bach's four voices), else
    0 (free)."""
    return 1 if loaded.codec.monophonic else int(own(loaded, "polyphony_max"))


@dataclass
class Result:
    new: list[np.ndarray]  # the generated ids of each variation
    prime: np.ndarray
    beats: list[float]
    seconds: float
    cancelled: bool = False

    @property
    def tokens(self) -> int:
        return sum(len(n) for n in self.new)


REACHED = 1e-9  # beats short of the stop that count as reaching it: sums of a codec's steps (0.02 beats, not
# exact in binary) round otherwise chunk by chunk, and a request cut at 32 beats ended a few tokens apart (the
# notes at the stop itself) as it ran alone or in a batch of other chunk lengths (3 of 100 piano continuations)


class Stopper:
    """Between chunks: keeps each variation's tokens and cuts it at the token that reaches `stop` beats
    (`beats_of(rows)`: the beats each row advances; within REACHED); None: stop by token count alone."""

    def __init__(self, variations: int, stop: float | None, beats_of: Callable[[np.ndarray], np.ndarray],
                 counters: list | None = None):
        self.stop = stop
        self.beats_of = beats_of
        self.counters = counters  # or a codec's beat counter per variation (time not fixed per token)
        self.done = np.zeros(variations, bool)
        self.beats = np.zeros(variations)
        self.chunks: list[list[np.ndarray]] = []

    def take(self, rows_per_variation) -> list[np.ndarray]:
        chunk = []
        for v, rows in enumerate(rows_per_variation):
            if self.done[v]:
                rows = rows[:0]
            elif self.stop is not None:
                got = self.counters[v].advance(rows) if self.counters else self.beats_of(rows)
                cum = self.beats[v] + np.cumsum(got)
                hit = np.flatnonzero(cum >= self.stop - REACHED)
                if len(hit):
                    rows = rows[:hit[0] + 1]
                    self.done[v] = True
                self.beats[v] = cum[len(rows) - 1]
            chunk.append(rows)
        self.chunks.append(chunk)
        return chunk

    @property
    def finished(self) -> bool:
        return bool(self.done.all())

    def new(self, cap: int, empty: np.ndarray) -> list[np.ndarray]:
        return [(np.concatenate([c[v] for c in self.chunks]) if self.chunks else empty)[:cap]
                for v in range(len(self.done))]


def expected_tokens(loaded, req: Request) -> int:
    """About how many tokens a request makes in all variations: what a daemon's cost limit counts.
    Codecs that count time in seconds need more tokens a beat at a slower tempo."""
    if req.tokens:
        return req.tokens * req.variations
    per = float(loaded.meta.get("tokens_per_beat") or 40.0)
    base = loaded.codec.token_beats()
    if req.qpm and base is not None and base.max() > 0:
        at = loaded.codec.token_beats(req.qpm)
        if at.max() > 0:
            per *= float(base.max()) / float(at.max())
    return int(req.beats * per * req.variations)


LANES = 2  # batches a model runs at once (Generator.lanes)
SPLIT_FROM = 2  # rows: from two, a batch runs in parts on several cores (one row a core costs what one row does)


def cores() -> int:
    """The most cores a batch is spread over: CADENZA_CORES where it is set (a whole number, 1 or more: fewer leave
    cores to a DAW on the same machine), else the physical cores of the CPUs this process may run on (its CPU
    affinity, which `taskset` narrows; `physical`), else the machine's count; no more than its control group's CPU
    quota allows (`quota`: a container's `--cpus`)."""
    asked = os.environ.get("CADENZA_CORES", "").strip()
    if asked:
        try:
            n = int(asked)
        except ValueError:
            n = 0
        if n < 1:
            raise CadenzaError(f"CADENZA_CORES={asked!r}: the most cores Cadenza may use, a whole number, 1 or more")
        return n
    try:
        n = physical(frozenset(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # (no affinity on this system)
        n = os.cpu_count() or 1
    q = _quota()
    return max(1, min(n, q)) if q else n


@functools.lru_cache(maxsize=1)
def _quota() -> int | None:
    return quota()  # (read once: cores() is asked at every chunk)


def quota(root: str = "/sys/fs/cgroup", groups: str = "/proc/self/cgroup") -> int | None:
    """The CPUs' worth of time this process's control group may use (a container's `--cpus`: its quota over its
    period, rounded up), or None where none is set: a container given two CPUs of a sixteen-core host sees all
    sixteen in its affinity, and sixteen parts would take turns on two (eight parts on two cores, two pairs of
    `bench osc` runs in turn: eight clients' done 119-125 against 89 ms in two parts). cgroup v2's cpu.max, else
    v1's cfs quota."""
    import math

    found = []

    def read(path):
        try:
            with open(path) as f:
                return f.read().split()
        except OSError:
            return None

    try:
        with open(groups) as f:
            lines = [line.rstrip("\n").split(":", 2) for line in f]
    except OSError:
        lines = []
    places = {("", "")}  # (v2 or v1, the group's path): the mount's own files too (a container's view)
    for fields in lines:
        if len(fields) == 3 and fields[0] == "0" and fields[1] == "":
            places.add(("2", fields[2]))
        elif len(fields) == 3 and "cpu" in fields[1].split(","):
            places.add(("1", fields[2]))
    for kind, path in places:
        path = path.strip("/")
        if kind in ("", "2"):
            v = read(os.path.join(root, path, "cpu.max"))
            if v and len(v) == 2 and v[0] != "max" and float(v[1]) > 0:
                found.append(math.ceil(float(v[0]) / float(v[1])))
        if kind in ("", "1"):
            for mount in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
                q = read(os.path.join(root, mount, path, "cpu.cfs_quota_us"))
                period = read(os.path.join(root, mount, path, "cpu.cfs_period_us"))
                if q and period and float(q[0]) > 0 and float(period[0]) > 0:
                    found.append(math.ceil(float(q[0]) / float(period[0])))
    return max(1, min(found)) if found else None


@functools.lru_cache(maxsize=8)
def physical(cpus: frozenset, root: str = "/sys/devices/system/cpu") -> int:
    """How many physical cores the logical CPUs `cpus` are on (Linux's topology; elsewhere each CPU a core): the
    hyperthreads of a core share its vector units and caches, and a step of two rows in one thread costs ~1.1x
    one row's (a 2x256 LSTM, Zen 3), so a batch is split a part a core, not a part a hyperthread."""
    seen = set()
    for n in cpus:
        for name in ("core_cpus_list", "thread_siblings_list"):  # (the first since Linux 5.6)
            try:
                seen.add(open(f"{root}/cpu{n}/topology/{name}").read().strip())
                break
            except OSError:
                continue
        else:
            return max(1, len(cpus))  # no topology: each CPU a core
    return max(1, len(seen))


def spread(split: bool) -> int:
    """The most parts a batch runs in: one a core (`cores`) where it may split, else one."""
    return cores() if split else 1


def parts(batch: int, most: int) -> list[tuple[int, int]]:
    """The rows each thread runs: a batch of SPLIT_FROM rows or more in up to `most` parts, one a core (the kernels
    release the GIL), as even as the rows allow, each a contiguous set of rows with its own state. On two cores,
    two halves; on eight, eight variations run a row a core."""
    k = max(1, min(most, batch)) if batch >= SPLIT_FROM else 1
    return [(i * batch // k, (i + 1) * batch // k) for i in range(k)]


class Rows(NamedTuple):
    """The state a run carries for a contiguous set of rows."""
    logits: np.ndarray  # (B, vocab) for the next token
    h: np.ndarray  # (layers, B, units)
    c: np.ndarray  # (layers, B, units)
    sounding: np.ndarray  # (B, 128) bool: pitches sounding
    held: np.ndarray  # (B, 128) beats each has sounded
    controls: np.ndarray  # (B, N_STATE) each row's place in the bar and what it holds (controls)
    history: np.ndarray  # (B, HIST_WIDTH) each row's top-voice intervals (no_repeat), last and this bar's onsets


class Draw(NamedTuple):
    """How each token is drawn (a kernel reads it as a plain tuple, in this order; `chunk` as each row's settings)."""
    strategy: float  # index into STRATEGIES
    temperature: float
    top_k: float
    top_p: float
    n: float
    max_hold: float  # beats after which a held note is released
    min_shift: float  # the shortest time step


class Loop(NamedTuple):
    """What the compiled loop does besides sampling (the model's, the same for every row)."""
    grammar: bool  # releases only sounding pitches, starts only silent ones
    hold: bool  # max_hold applies
    lstm: bool  # LSTM layers (else plain RNN)
    note_state: bool  # the first layer reads the sounding pitches


@dataclass(eq=False)
class Flight:
    """One request in the loop: its rows' state and what each of its rows brings to the kernel."""
    rows: Rows
    seed: int
    settings: np.ndarray  # (7,) float64: strategy, temperature, k, p, n, max_hold, shortest time step
    mask: np.ndarray  # (vocab,) float32
    ctl: np.ndarray | None  # the musician's controls (kernels.controls), or None
    stopper: "Stopper"
    cap: int
    on_chunk: Callable | None = None
    cancel: threading.Event | None = None
    scale: float = 1.0  # the kernel's beats a beat of the request (Generator.scale_of)
    made: int = 0  # tokens made per row so far
    told: int = 0  # times tokens were handed to the callback
    heard: bool | None = None  # what its callback returned last: False, nothing to tell yet (`gather`)
    held: list = field(default_factory=list)  # chunks made since, not yet handed over (`gather`)
    cancelled: bool = False
    error: BaseException | None = None  # what stopped the batch it flew in
    landed: threading.Event = field(default_factory=threading.Event)

    @property
    def size(self) -> int:
        return len(self.rows.logits)

    @property
    def over(self) -> bool:
        return self.stopper.finished or self.made >= self.cap or self.cancelled

    def gather(self, taken: list) -> list | None:
        """A chunk's tokens (one array a variation) kept with those before it until they are worth handing to the
        callback: the first chunk at once (its first notes), then GATHER tokens a row or more, and whatever is
        left when the flight is over; after a hand-over whose callback returned False (nothing to tell yet: no note
        of the piano's had ended in its first 16 tokens), the next chunk at once too. With eight players a batch's
        chunks end wherever one joins or leaves, and each chunk handed over is decoded again with its context and
        sent: fewer, longer ones (eight clients, ten pairs of runs in turn: 103.3 against 97.8 requests/s, median)."""
        self.held.append(taken)
        size = sum(max(len(rows) for rows in c) for c in self.held if len(c))  # (a row that stopped has none)
        if self.told and self.heard is not False and not self.over and size < GATHER:
            return None
        return self.flush()

    def tell(self, taken: list) -> None:
        """Tokens handed over to its callback; what it returns kept (`heard`: False, nothing to tell yet)."""
        self.heard = self.on_chunk(taken) is not False

    def flush(self) -> list | None:
        """The tokens gathered and not yet handed over (one array a variation), or None."""
        held, self.held = self.held, []
        if not held:
            return None
        self.told += 1
        return held[0] if len(held) == 1 else [np.concatenate([c[v] for c in held]) for v in range(self.size)]

    def beats_left(self) -> np.ndarray:
        """(rows,): the beats each row may still move time on in the kernel's beats before its stop is
        reached (inf: none here: no stop in beats, counted by a codec's counter, or reached)."""
        st = self.stopper
        if st.stop is None or st.counters is not None:
            return np.full(self.size, np.inf)
        return np.where(st.done, np.inf, (st.stop - st.beats) * self.scale)

    def tokens_left(self) -> float:
        """The most tokens a chunk of this flight's may need: to its cap (the kernel ends a chunk at a stop in
        beats itself: `beats_left`), or, where a codec's counter keeps the beats, about as many as reach the stop
        at the beats its rows made a token so far."""
        left = float(self.cap - self.made)
        st = self.stopper
        if st.stop is None or st.counters is None or st.done.all():
            return left
        went = float(st.beats.max())
        if went <= 0:
            return left
        return min(left, (st.stop - float(st.beats[~st.done].min())) * self.made / went)


_STATE = dict(logits="logits", h="h", c="c", snd="sounding", held="held", cs="controls", hist="history")
_AXIS = dict(h=1, c=1)  # (layers, rows, units): rows on axis 1; every other array has its rows on axis 0


def _rows_of(f: Flight, lo: int, hi: int) -> dict:
    """The kernel's arrays for rows lo..hi of one flight: its state (views of its own arrays) and what each row
    brings (its token index, variation, seed, settings and controls)."""
    from .kernels import N_CTL

    n = hi - lo
    ctl = f.ctl if f.ctl is not None else np.zeros(N_CTL, np.float32)
    arrays = dict(t0s=np.full(n, f.made, np.int64), variations=np.arange(lo, hi, dtype=np.int64),
                  seeds=np.full(n, f.seed, np.int64), settings=np.repeat(f.settings[None], n, 0),
                  ctls=np.repeat(np.asarray(ctl, np.float32)[None], n, 0), uses=np.full(n, f.ctl is not None))
    for key, name in _STATE.items():
        x = getattr(f.rows, name)
        arrays[key] = x[:, lo:hi] if key in _AXIS else x[lo:hi]
    return arrays


def _unmerge(parts, arrays) -> None:
    """The state the kernel advanced, back into each flight's own arrays."""
    at = 0
    for f, lo, hi in parts:
        n = hi - lo
        for key, name in _STATE.items():
            if key in _AXIS:
                getattr(f.rows, name)[:, lo:hi] = arrays[key][:, at:at + n]
            else:
                getattr(f.rows, name)[lo:hi] = arrays[key][at:at + n]
        at += n


class _Side:
    """The rows one thread runs (one half of a batch): its parts, (flight, lo, hi) each, laid end to end in the
    kernel's arrays `A`. `own`: one whole flight whose own arrays are the kernel's (nothing to copy back)."""

    def __init__(self):
        self.parts: list = []
        self.A: dict = {}
        self.own = False

    @property
    def rows(self) -> int:
        return sum(hi - lo for _, lo, hi in self.parts)

    def add(self, f: Flight, lo: int, hi: int) -> None:
        new = _rows_of(f, lo, hi)
        if not self.parts:
            self.own = lo == 0 and hi == f.size and all(x.flags.c_contiguous for x in f.rows)
            self.A = new if self.own else {k: np.ascontiguousarray(v) for k, v in new.items()}
        else:
            self.A = {k: np.concatenate([self.A[k], v], axis=_AXIS.get(k, 0)) for k, v in new.items()}
            self.own = False  # (the first flight's state now lives in these copies: given back when it leaves)
        self.parts.append((f, lo, hi))
        self._masks()

    def drop(self, gone: Callable[[Flight], bool]) -> None:
        """The parts of the flights `gone` names out of this side, their state given back to them first."""
        keep, kept, at = [], [], 0
        for part in self.parts:
            n = part[2] - part[1]
            if gone(part[0]):
                if not self.own:
                    _unmerge([part], {k: self.A[k][:, at:at + n] if k in _AXIS else self.A[k][at:at + n]
                                      for k in _STATE})
            else:
                keep.append(np.arange(at, at + n))
                kept.append(part)
            at += n
        if len(kept) == len(self.parts):
            return
        self.parts = kept
        if not kept:
            self.A, self.own = {}, False
            return
        rows = np.concatenate(keep)
        self.A = {k: np.ascontiguousarray(np.take(v, rows, axis=_AXIS.get(k, 0))) for k, v in self.A.items()
                  if k not in ("masks", "mrow")}
        self._masks()

    def _masks(self) -> None:
        self.A["masks"] = np.stack([f.mask for f, _, _ in self.parts])
        self.A["mrow"] = np.repeat(np.arange(len(self.parts), dtype=np.int32), [hi - lo for _, lo, hi in self.parts])

    def give_back(self) -> None:
        if not self.own:
            _unmerge(self.parts, self.A)
        self.parts, self.A, self.own = [], {}, False


class Merged:
    """A batch's rows, kept between chunks in the kernel's arrays, one set a part (`parts`; a half on two cores):
    the kernel advances them in place. When a flight joins, its rows fill the parts with fewer; when one leaves, its
    rows are taken out; the rest stay where they are (with eight requests, laying every flight end to end again at
    each change and taking them apart after was 10% of the interpreter's time, py-spy --gil). A flight's state goes back
    into its own arrays when it leaves, moves between parts or the batch ends (`flush`)."""

    def __init__(self):
        self.sides: list[_Side] = []

    def use(self, flights: list[Flight], most: int) -> list[_Side]:
        """The parts (`most` at most) laid out for one chunk of `flights`."""
        total = sum(f.size for f in flights)
        n = len(parts(total, most))
        if n != len(self.sides):
            self.flush()
            self.sides = [_Side() for _ in range(n)]
        there = {f for side in self.sides for f, _, _ in side.parts}
        now = set(flights)
        if there - now:
            for side in self.sides:
                side.drop(lambda f: f not in now)
        for f in flights:
            if f not in there:
                self._place(f, total)
        if n > 1 and max(s.rows for s in self.sides) - min(s.rows for s in self.sides) > 1:
            self._balance(total)
        return self.sides

    def _place(self, f: Flight, total: int) -> None:
        """A flight's rows into the parts, in order, each filled to its share of `total` (`parts`' sizes), the rows
        left (none, when the shares are kept) to the one with fewest."""
        at = 0
        for side, (lo, hi) in zip(self.sides, parts(total, len(self.sides))):
            k = min(max(hi - lo - side.rows, 0), f.size - at)
            if k:
                side.add(f, at, at + k)
                at += k
        if at < f.size:
            min(self.sides, key=lambda side: side.rows).add(f, at, f.size)

    def _balance(self, total: int) -> None:
        """Whole flights moved from the fullest part to the emptiest until no two differ by more than a row (or all
        laid out again, when no flight is small enough to move)."""
        while True:
            big = max(self.sides, key=lambda side: side.rows)
            small = min(self.sides, key=lambda side: side.rows)
            gap = big.rows - small.rows
            if gap <= 1:
                return
            movable = [p for p in big.parts if p[1] == 0 and p[2] == p[0].size and 2 * p[0].size <= gap + 1]
            if not movable:
                flights = [f for side in self.sides for f, lo, _ in side.parts if lo == 0]
                n = len(self.sides)
                self.flush()
                self.sides = [_Side() for _ in range(n)]
                for f in flights:
                    self._place(f, total)
                return
            f = movable[-1][0]
            big.drop(lambda g: g is f)
            small.add(f, 0, f.size)

    def flush(self) -> None:
        for side in self.sides:
            side.give_back()
        self.sides = []


# tokens a row handed to a request's callback at once, at least, after its first chunk (Flight.gather): each hand-over
# is decoded with its context and sent, in the interpreter, which every thread shares; with eight players a batch's
# chunks end wherever one joins or leaves (~8 pieces a 32-beat request): 64 gave ~4.8 hand-overs a request, 256 two
# or three (their decoding 1.7-2.6 -> 1.0-1.3 ms of a request's ~20-27 ms, eight clients, Zen 3); the first notes
# still come at once, and 256 piano tokens (~15 beats) are made in ~30 ms at eight clients, long before they sound
GATHER = 256


def step(gen: "Generator", flights: list[Flight], most: int = 1, merged: Merged | None = None,
         length: int = 0, halt: np.ndarray | None = None) -> list[np.ndarray]:
    """One chunk for every row of every flight, as one batch (in up to `most` parts, one a core, from SPLIT_FROM
    rows up: `parts`): each flight's (rows, chunk) tokens. Its state advances in place (with `merged`, in the
    batch's arrays it keeps until the batch changes). `length`: tokens a row this time (0: the generator's chunk);
    `halt`: an array whose first value, set by another thread, ends the chunk at the next token. A chunk also ends
    at the token where a row reaches its stop (`kernels.chunk`'s `ends`), and in parts the kernel tells the others
    so (it sets `halt`, or an array of this chunk's own): each ends at its next token, and a part that made fewer
    then makes the rest, so all made as many (a few tokens, more when a core was busy elsewhere; a row past its
    stop then is cut by the stopper, the same tokens either way)."""
    from . import kernels

    length = length or gen.chunk
    kept = merged is not None
    merged = merged if kept else Merged()
    sides = merged.use(flights, most)
    outs = [np.empty((side.rows, length), np.int32) for side in sides]
    stop = halt if halt is not None else np.zeros(1, np.int32)
    made = [0] * len(sides)

    def run(i, first, n, stop, ends):  # n tokens from token `first` of this chunk, into side i's rows
        A = sides[i].A
        out = outs[i] if n == length else np.empty((len(outs[i]), n), np.int32)  # (the kernel's `out`: C order)
        got = kernels.chunk(n, A["t0s"] + first, A["variations"], A["seeds"], A["logits"], A["h"], A["c"], A["snd"],
                            A["held"], A["masks"], A["mrow"], out, gen.W, gen.T, A["settings"], gen.loop.grammar,
                            gen.loop.hold, gen.loop.lstm, gen.loop.note_state, A["cs"], A["hist"], A["ctls"],
                            A["uses"], gen.starts, stop, ends)
        if out is not outs[i]:
            outs[i][:, first:first + n] = out
        return got

    def half(i):  # each row's beats to its stop, counted down by the kernel
        ends = np.concatenate([f.beats_left()[lo:hi] for f, lo, hi in sides[i].parts])
        made[i] = run(i, 0, length, stop, ends)

    def behind(i):  # another part went on to the token where it saw the stop: this one catches up
        run(i, made[i], n - made[i], np.zeros(1, np.int32), np.full(sides[i].rows, np.inf))

    at_once(half, range(len(sides)))
    n = max(made)
    at_once(behind, [i for i in range(len(sides)) if made[i] < n])
    for side in sides:
        side.A["t0s"] += n  # every flight in it that much further (advance_flights counts it so too)
    pieces: dict = {}
    for i, side in enumerate(sides):
        at = 0
        for f, lo, hi in side.parts:
            pieces.setdefault(f, []).append((lo, outs[i][at:at + hi - lo, :n]))
            at += hi - lo
    if not kept:
        merged.flush()
    return [p[0][1] if len(p := pieces[f]) == 1 else np.concatenate([x for _, x in sorted(p, key=lambda q: q[0])])
            for f in flights]


def advance_flights(gen: "Generator", flights: list[Flight], most: int = 1, merged: Merged | None = None,
                    length: int = 0, deliver: Callable[[Flight, list], None] | None = None,
                    halt: np.ndarray | None = None) -> None:
    """Each flight one chunk (`length` tokens; 0: the generator's chunk; fewer if `halt` is set meanwhile, see
    `step`) further: its tokens to its stopper and callback (or to `deliver(flight, tokens)`, which hands them to
    its callback later); a cancel seen between chunks."""
    live = []
    for f in flights:
        if f.cancel is not None and f.cancel.is_set():
            f.cancelled = True
            if f.held:  # what it made before the cancel still goes to its callback
                _hand(f, f.flush(), deliver)
        else:
            live.append(f)
    if not live:
        return
    for f, made in zip(live, step(gen, live, most, merged, length, halt)):
        f.made += made.shape[1]
        taken = f.gather(f.stopper.take(list(made)))
        if taken is not None:
            _hand(f, taken, deliver)


def _hand(f: Flight, taken: list, deliver) -> None:
    if deliver is not None:
        deliver(f, taken)
    elif f.on_chunk is not None:
        f.tell(taken)


def drive(pool, parts, make, chunk: int, cap: int, stopper: Stopper, on_chunk=None,
          cancel: threading.Event | None = None) -> bool:
    """The loop between chunks of a generator that runs alone (the attention-LSTM's): `make(part, first token
    index)` for every part (on the pool's threads when there are two), each chunk to the stopper and the
    callback, until the stopper is done, `cap` tokens are made or `cancel` is set (checked between chunks).
    Returns whether it was cancelled."""
    counter = 0
    while counter * chunk < cap:
        if cancel is not None and cancel.is_set():
            return True
        first = counter * chunk
        if len(parts) == 1:
            made = make(parts[0], first)
        else:
            made = np.concatenate([f.result() for f in [pool.submit(make, part, first) for part in parts]])
        counter += 1
        taken = stopper.take(list(made))
        if on_chunk is not None:
            on_chunk(taken)
        if stopper.finished:
            break
    return False


_POOL = None
_POOL_LOCK = threading.Lock()
LOOP_NICE = 10  # the compiled loop's threads' nice value (Linux)


def yield_cores() -> None:
    """The calling thread, one that runs the compiled loop, at a lower priority (on Linux, this thread alone:
    nice LOOP_NICE), so that a thread that wakes to answer (the OSC door, the page, the MIDI scheduler, the
    notes' delivery, a client on the same machine) has a core at once rather than after the loop's slice of it;
    with the cores to itself the loop runs as fast (what it was measured to give: docs/security.md, session 31)."""
    if sys.platform.startswith("linux"):
        try:
            os.setpriority(os.PRIO_PROCESS, 0, max(LOOP_NICE, os.getpriority(os.PRIO_PROCESS, 0)))
        except OSError:
            pass


def parts_pool():
    """The threads that run the parts of a batch: one pool for every model and request, its threads all
    started with it, so loading, reloading or dropping models never starts or leaks threads."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            from concurrent.futures import ThreadPoolExecutor

            n = max(2, cores())
            _POOL = ThreadPoolExecutor(n, thread_name_prefix="cadenza-part", initializer=yield_cores)
            gate = threading.Barrier(n + 1)  # all its threads started now, not one more now and then later
            for _ in range(n):
                _POOL.submit(gate.wait)
            gate.wait()
        return _POOL


def at_once(fn: Callable[[int], None], which) -> None:
    """fn(i) for each i, the first on this thread and the others on the parts' pool at once (the kernels release
    Python's lock: one a core); returns when all are done, raising the first error."""
    which = list(which)
    others = [parts_pool().submit(fn, i) for i in which[1:]]  # (the first on this thread: a pool thread that took
    try:  # two parts, the other not yet awake, made them one after the other now and then)
        if which:
            fn(which[0])
    finally:
        for f in others:
            f.result()


class Batcher:
    """Requests for one model that wait at the same moment run as one batch (continuous batching): a request
    joins the running batch at the next chunk boundary and leaves when its beats are done, each with its own
    settings, seed, controls and stop; its music is what it would be alone (each row's random numbers depend
    on its own seed, variation and token index). One thread runs the loop while requests fly, and another hands
    each chunk to its request's callback; a model has LANES of these (Generator.lanes)."""

    MAX_ROWS = 64  # rows in one batch; more wait for the next chunk
    LONG = 16  # chunks a long request alone makes at once (see _fly)

    def __init__(self, gen: "Generator"):
        self.gen = gen
        self.waiting: list[Flight] = []
        self.flying: list[Flight] = []
        self.lock = threading.Condition()
        self.thread: threading.Thread | None = None
        self.batches = 0  # chunks run, and of those, how many with more than one request
        self.shared = 0
        self._solo = threading.Semaphore(1)  # first chunks made outside the running batch, at once
        self.halt = np.zeros(1, np.int32)  # set when a request waits: a long chunk ends at the next token
        self.halted = 0  # long chunks ended so
        self.solos = 0  # how many
        self.width = 1  # the parts the chunk being made runs in: a lane that starts ends it if more than its share

    def rows(self) -> int:
        """Rows flying and waiting in this batch."""
        with self.lock:
            return sum(f.size for f in self.flying) + sum(f.size for f in self.waiting)

    def fly(self, flight: Flight) -> None:
        """Run `flight` with whatever else is in the air; returns when it has landed.

        A flight that finds this batch running (the model's other lanes busy too) would wait up to a whole chunk
        of it for the next boundary, and its first chunk would cost a row more there: so one such flight at a
        time (of four rows at most) makes its first half chunk here, at once, beside the batch (on the core a
        one-row batch leaves free, or sharing one with a half of a larger batch), and joins at the boundary after
        (the music is the same either way). Half a chunk: a token made alone costs two or three in the batch, and
        half a chunk already holds the first notes (eight clients: first notes p50 7.7 against 9.0 ms for a
        whole chunk, 21 ms with none made alone; requests/s 56.3 against 54.6 and 58.2: six runs each)."""
        with self.lock:
            busy = self.thread is not None
        if busy and flight.size <= 4 and self._solo.acquire(blocking=False):
            try:
                advance_flights(self.gen, [flight], 1, length=max(1, self.gen.chunk // 2))
                self.solos += 1
            finally:
                self._solo.release()
            if flight.over:
                return
        with self.lock:
            self.waiting.append(flight)
            self.halt[0] = 1
            if self.thread is None:
                self.thread = threading.Thread(target=self._loop, name="cadenza-batch", daemon=True)
                self.thread.start()
                for other in self.gen.lanes:  # a batch on more than its share of the cores ends its chunk (on
                    if other is not self and other.width > self.gen.share():  # two cores: goes on in one half)
                        other.halt[0] = 1
        flight.landed.wait()

    def _loop(self) -> None:
        # Each chunk's notes go to their requests' callbacks (decoded, sent to the client) on a thread of the
        # loop's own, in order, while the next chunk is made: eight requests' callbacks took a fifth of the
        # time between chunks, with both cores' halves waiting. A request lands after its last callback.
        post = _Post(self.halt)  # (at the interpreter's priority: started before this thread yields the cores)
        yield_cores()
        try:
            self._fly(post)
        finally:
            post.close()

    def _fly(self, post: "_Post") -> None:
        merged = Merged()  # the batch's arrays, kept between chunks while the same requests fly
        try:
            while True:
                with self.lock:
                    rows = sum(f.size for f in self.flying)
                    while self.waiting and (not self.flying or rows + self.waiting[0].size <= self.MAX_ROWS):
                        f = self.waiting.pop(0)
                        self.flying.append(f)
                        rows += f.size
                    if not self.flying:
                        self.thread, self.width = None, 1
                        return
                    flying = list(self.flying)
                self.batches += 1
                self.shared += len(flying) > 1
                # once every request in it has its first notes, a batch runs two chunks between its boundaries:
                # half the interpreter's work between them a token (with eight requests one core waited through
                # it: 2.8 ms a chunk); a request that comes meanwhile makes its first chunk beside it (`fly`)
                settled = all(f.made >= self.gen.chunk for f in flying)
                alone = all(b is self or b.thread is None for b in self.gen.lanes)  # the other lanes empty
                most = self.gen.spread() if alone else self.gen.share()
                length, halt = self.gen.chunk * (1 + settled), None
                # a batch (a page's 1,000 beats alone, eight players' requests, or a request's eight variations in
                # two halves), once each of its requests has made its first chunk (its first notes told), makes up
                # to 16 chunks at once (two halves since session 35: `bench generate`'s 8 variations of 1,024 tokens
                # 118-123k tokens/s, 96-101k with 64 tokens a chunk, three runs each): the
                # interpreter's work between chunks (0.2 ms, and its notes' decoding) came every 2.3 ms and held up
                # every other door (an OSC ping's p99 3-4x a quiet daemon's; now ~1x), and with eight players most
                # chunks were short ones after a request's join (eight clients, eight pairs of runs in turn: 89.2
                # against 79.1 requests/s, median). The chunk ends at the token where a row reaches its stop (the
                # kernel counts each row's beats: its request leaves then, nothing is made past it), or, when a
                # request comes meanwhile (it sets `halt`), at the next token, so it joins at once; so too when a
                # callback cancels its request (a time limit: `_Post`); a client's cancel is seen after the chunk
                f = flying[0]
                rows = sum(g.size for g in flying)
                self.width = len(parts(rows, most))
                if settled:
                    long = int(min(self.LONG * self.gen.chunk, min(g.tokens_left() for g in flying)))
                    if long > length:
                        with self.lock:
                            if not self.waiting:
                                self.halt[0] = 0
                                length, halt = long, self.halt
                        # in more parts than its share of the cores (two halves on two): a lane that starts
                        # from now on sets `halt` (`fly`); one that started before the halt was cleared is seen here
                        if self.width > self.gen.share() and not all(b is self or b.thread is None
                                                                    for b in self.gen.lanes):
                            most = self.gen.share()
                            self.width = len(parts(rows, most))
                post.wait()  # the loop _Post.AHEAD chunks ahead of the callbacks at most
                made = f.made
                advance_flights(self.gen, flying, most, merged, length, deliver=post.chunk, halt=halt)
                self.halted += halt is not None and halt[0] == 1 and f.made - made < length
                post.mark()
                with self.lock:
                    for f in flying:
                        if f.over:
                            self.flying.remove(f)
                            post.land(f)
        except BaseException as e:  # noqa: BLE001 - every request in the air is told; none is left waiting
            with self.lock:
                for f in self.flying + self.waiting:
                    f.error = e
                    post.land(f)
                self.flying, self.waiting, self.thread = [], [], None


class _Post:
    """The thread that hands a batch's chunks to their requests' callbacks, in the order they were made, and
    then lands each request (`land`, after its chunks). The loop makes its next chunks while the last are handed
    over, AHEAD at most (`mark` after each, `wait` before the next): a cancel a callback sees ends the chunk being
    made at its next token (`halt`), and nothing made waits for a slow client. A callback that fails stops its own
    request (its error is what it raises), not the batch.

    AHEAD = 2: with one, the loop waited for the hand-overs (decoding and sending, on a thread that shares the
    interpreter with every door) 0.4 s of each 3 s with eight clients, a core idle meanwhile; eight clients, four
    pairs of runs in turn: 104.2 against 91.8 requests/s, done p50 69.7 against 79.3 ms (medians); three ahead
    gave 111.5 against 107.2 (three pairs: within the noise)."""

    AHEAD = 2

    def __init__(self, halt: np.ndarray | None = None):
        import queue

        self.halt = halt  # the batch's: a callback that cancels its request (a time limit) ends the chunk being made
        self.queue: queue.SimpleQueue = queue.SimpleQueue()
        self.marks = [threading.Event() for _ in range(self.AHEAD + 1)]  # the last chunks' hand-overs done
        for m in self.marks:
            m.set()
        self.thread = threading.Thread(target=self._run, name="cadenza-post", daemon=True)
        self.thread.start()

    def chunk(self, flight: Flight, taken: list) -> None:
        if flight.on_chunk is not None:
            self.queue.put((flight, taken))

    def mark(self) -> None:
        """After a chunk's hand-overs are queued: an event set when they are done."""
        done = threading.Event()
        self.marks = self.marks[1:] + [done]
        self.queue.put(done)

    def wait(self) -> None:
        """Until no more than AHEAD chunks made wait to be handed over (besides the one about to be made)."""
        self.marks[0].wait()

    def land(self, flight: Flight) -> None:
        self.queue.put((flight, None))

    def close(self) -> None:
        self.queue.put(None)  # the thread ends after what is queued (it is not waited for)

    def _run(self) -> None:
        while (item := self.queue.get()) is not None:
            if isinstance(item, threading.Event):
                item.set()
                continue
            flight, taken = item
            if taken is None:
                flight.landed.set()
                continue
            try:
                if flight.error is None:
                    flight.tell(taken)
            except BaseException as e:  # noqa: BLE001 - the request is told; the batch flies on
                flight.error = e
                flight.cancelled = True
            if self.halt is not None and (flight.cancelled or (flight.cancel is not None and flight.cancel.is_set())):
                self.halt[0] = 1  # seen at the next token, not after a long chunk (up to Batcher.LONG of them)


PRIMED = 32  # primes whose state a model keeps (Generator.prime): ~6 KB each for the piano model


class Primed:
    """The values of the last `size` keys made (least recently used out first), each made once: a caller that asks
    for a key being made waits for it. A value that fails to be made is not kept (each caller then makes its own)."""

    def __init__(self, size: int):
        from collections import OrderedDict

        self.size = size
        self.items: OrderedDict = OrderedDict()  # key -> [ready Event, value or None]
        self.lock = threading.Lock()
        self.made = 0  # values made, and found made (or being made) already
        self.found = 0

    def get(self, key: bytes, make: Callable[[], object]):
        """The value kept for `key`, else `make()`'s, kept."""
        with self.lock:
            item = self.items.get(key)
            mine = item is None
            if mine:
                item = self.items[key] = [threading.Event(), None]
                self.made += 1
                while len(self.items) > self.size:
                    self.items.popitem(last=False)
            else:
                self.items.move_to_end(key)
                self.found += 1
        if not mine:
            item[0].wait()
            # (None: making it failed for the caller that made it; this one makes its own, and is told why)
            return item[1] if item[1] is not None else make()
        try:
            item[1] = make()
        except BaseException:
            with self.lock:
                if self.items.get(key) is item:
                    del self.items[key]
            raise
        finally:
            item[0].set()
        return item[1]


class Generator:
    """Compiled generation for one loaded model (lstm or rnn; attention_lstm has its own).

    The weights are read from the Keras model once, laid out for the kernels (bridge.generation.kernels);
    a run keeps its own state arrays, so runs on one model may overlap."""

    def __init__(self, loaded, chunk: int = 32, split: bool = True):
        self.split = split
        self.primed = Primed(PRIMED)
        self.loaded = loaded
        self.codec = loaded.codec
        self.chunk = chunk
        self._build()
        beats = self.codec.token_beats()
        tpb = loaded.meta.get("tokens_per_beat")
        self.token_beats = beats
        self.tokens_per_beat = float(tpb) if tpb else None

    # ----- weights laid out for the kernels ---------------------------------------------------------
    def _build(self):
        """From the weights as arrays (bridge.arrays), no Keras: an embedding, recurrent layers (their
        shapes say LSTM or plain RNN, and whether the first also reads the 128 sounding pitches), logits."""
        m = self.loaded.arrays
        recurrent = [n for n in m.names if n.startswith(("lstm_", "rnn_"))]
        if not recurrent or not m.has("embed") or not m.has("logits"):
            raise CadenzaError(f"model {self.loaded.name!r}: no compiled generator for its layers "
                               f"({', '.join(m.names)})")
        emb = m.get("embed")[0]
        dense_w, dense_b = m.get("logits")
        w = [m.get(n) for n in recurrent]  # kernel, recurrent_kernel, bias
        self.units = w[0][1].shape[0]
        self.is_lstm = w[0][1].shape[1] == 4 * self.units  # four gates; a plain RNN has one
        self.n_layers = len(w)
        e = emb.shape[1]

        def f32(a):
            return np.ascontiguousarray(a, np.float32)

        table0 = f32(emb @ w[0][0][:e] + w[0][2])  # the embedding folded into the first input product
        gates = table0.shape[1]
        # note_state models also read the sounding pitches: a row of the kernel per pitch, added where it sounds
        self.note_state = w[0][0].shape[0] == e + 128
        ws = f32(w[0][0][e:]) if self.note_state else np.zeros((128, gates), np.float32)
        U = self.units
        wr = f32([np.concatenate([k, r], 0).T for k, r, _ in w[1:]]).reshape(-1, gates, 2 * U)
        br = f32([b for _, _, b in w[1:]]).reshape(-1, gates)
        from . import int16, kernels

        rec0 = f32(w[0][1].T)
        wo = f32(dense_w.T)
        # the products' weights as 16-bit integers, each row with its scale (bridge/generation/int16.py): the rest
        # layers' input and recurrent halves padded apart, so that priming can read either alone
        rec0q, rec0s = int16.quantize_rows(rec0)
        rest = [int16.quantize_rows(k, parts=2) for k in wr] or [(np.zeros((0, 2 * int16.padded(U)), np.int16),
                                                                   np.zeros(0, np.float32))]
        wrq = np.ascontiguousarray(np.stack([int16.pack(q) for q, _ in rest]))
        wrs = np.ascontiguousarray(np.stack([s for _, s in rest]))
        woq, wos = int16.quantize_rows(wo)
        rec0q, woq = int16.pack(rec0q), int16.pack(woq)  # laid out for the products (int16.pack)
        wsq, wss = int16.quantize_sums(ws)  # the sounding pitches' rows: any sum of them exact in int32
        self.W = (table0, ws, rec0, wr, br, wo, f32(dense_b), rec0q, wrq, woq, rec0s, wrs, wos, wsq, wss)
        self.vocab = emb.shape[0]
        # note grammar: a release only for a sounding pitch, a start only for a silent one
        on_p, off_p = (np.asarray(t, np.int64) for t in self.codec.note_tables())
        self.grammar = bool((off_p >= 0).any())
        self.on_pitch, self.off_pitch = on_p, off_p
        self.onset_pitches = self.codec.onset_pitches()  # (for every request's masks: a loop over the vocabulary)
        beats = self.codec.token_beats()
        self.hold = self.grammar and beats is not None  # notes held too long can be released
        beats = beats if beats is not None else np.zeros(self.vocab)
        self.min_shift = float(beats[beats > 0].min()) if (beats > 0).any() else 0.0
        hits = self.codec.hits() if self.codec.drums and hasattr(self.codec, "hits") else None
        self.starts = (hits.sum(1) if hits is not None else (on_p >= 0)).astype(np.float32)  # notes a token starts
        self.T = kernels.tables(on_p, off_p, beats)
        self.loop = Loop(grammar=self.grammar, hold=self.hold, lstm=self.is_lstm, note_state=self.note_state)
        # two batches a model on two cores or more (each request joins the one with fewer rows): each runs on its
        # share of the cores (`share`: on two, one), on all of them only while the other is empty, so neither waits
        # for the other's parts or for the interpreter between the other's chunks (eight clients, two cores: 57
        # against 52 requests/s)
        self.lanes = [Batcher(self) for _ in range(LANES if self.split and cores() >= 2 else 1)]

    def spread(self) -> int:
        """The most parts a batch of this model's runs in: one a core (`cores`), or one where it may not split."""
        return spread(self.split)

    def share(self) -> int:
        """The most parts a lane's batch runs in while another lane of the model's is busy: its share of the cores
        (on two cores, one)."""
        return max(1, self.spread() // len(self.lanes))

    def new_state(self, batch: int) -> dict:
        """Zero state for `batch` rows: h, c (layers, batch, units), the sounding pitches and for how long."""
        shape = (self.n_layers, batch, self.units)
        return {"h": np.zeros(shape, np.float32), "c": np.zeros(shape, np.float32),
                "sounding": np.zeros((batch, 128), bool), "held": np.zeros((batch, 128), np.float32)}

    def step(self, tokens: np.ndarray, state: dict) -> np.ndarray:
        """One token per row through the network, state updated in place (its `sounding` is what the
        note_state input reads): (B, vocab) logits for the next token."""
        from . import kernels

        tokens = np.ascontiguousarray(tokens, np.int32)
        B = len(tokens)
        z = np.empty((B, self.W[0].shape[1]), np.float32)
        S = kernels.scratch(self.W, B)
        kernels.advance(tokens, state["sounding"], state["h"], state["c"], z, S, self.W, self.is_lstm,
                        self.note_state)
        logits = np.empty((B, self.vocab), np.float32)
        kernels.project(state["h"][-1], self.W, logits, S)
        return logits

    def prime(self, ids: np.ndarray, held: np.ndarray | None = None) -> tuple[np.ndarray, dict]:
        """(logits (1, vocab), state) after reading the prime, the caller's own copies.
        `held`: (128,) notes sounding before the ids, where they are the end of a longer prime.

        The state after the last PRIMED primes is kept (`Primed`): the Live device asks for each variation of a clip
        in a request of its own, all at once, and a loop sends the same phrase again; those are read once (the
        others wait for it), the same numbers as read again."""
        from . import kernels

        ids = np.ascontiguousarray(ids, np.int32)
        counts = np.zeros(128, np.float32) if held is None else np.array(held, np.float32)

        def read():
            state = self.new_state(1)
            logits = np.empty((1, self.vocab), np.float32)
            kernels.prime(ids, counts.copy(), state["h"], state["c"], logits, self.W, self.T, self.is_lstm,
                          self.note_state)
            return logits, state

        logits, state = self.primed.get(ids.tobytes() + counts.tobytes(), read)
        return logits.copy(), {k: v.copy() for k, v in state.items()}

    def note_counts(self, ids: np.ndarray) -> np.ndarray:
        """(128,) how many notes of each pitch sound after the ids."""
        ids = np.asarray(ids, np.int64)
        on, off = self.on_pitch[ids], self.off_pitch[ids]
        return (np.bincount(on[on >= 0], minlength=128) - np.bincount(off[off >= 0], minlength=128)).astype(np.float32)

    def sounding_after(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(128,) bool and (128,) float: the pitches still sounding after the ids, and for how many beats."""
        counts = np.zeros(128, np.int64)  # notes of one pitch end first in, first out, as the codecs decode
        since = np.zeros(128)
        beats = self.token_beats if self.token_beats is not None else np.zeros(self.vocab)
        now = 0.0
        for t in np.asarray(ids).tolist():
            if self.on_pitch[t] >= 0:
                if not counts[self.on_pitch[t]]:
                    since[self.on_pitch[t]] = now
                counts[self.on_pitch[t]] += 1
            elif self.off_pitch[t] >= 0 and counts[self.off_pitch[t]]:
                counts[self.off_pitch[t]] -= 1
            now += beats[t]
        on = counts > 0
        return on, np.where(on, now - since, 0.0).astype(np.float32)

    def max_hold(self, req: Request) -> float:
        """Beats after which a held note is released, as the loop counts them (max_hold_of)."""
        return max_hold_of(self.codec, req)

    # ----- the musician's controls ------------------------------------------------------------------
    def velocity_mask(self, rng: tuple[int, int] | None) -> np.ndarray:
        """0 where a velocity token is allowed, -1e9 where it is outside the range (codecs with velocity
        tokens; the others get the range at decoding). The nearest one stays if none is inside."""
        vel = self.codec.token_velocities()
        out = np.zeros(self.vocab, np.float32)
        if rng is None or vel is None:
            return out
        has = vel >= 0
        bad = has & ((vel < rng[0]) | (vel > rng[1]))
        if has.any() and bad[has].all():
            near = np.flatnonzero(has)[np.argmin(np.abs(vel[has] - (rng[0] + rng[1]) / 2))]
            bad[near] = False
        out[bad] = -1e9
        return out

    def beats_at(self, req: Request) -> np.ndarray | None:
        """The beats each token moves time on at the request's tempo (codecs that count seconds), or None."""
        return self.codec.token_beats(req.qpm) if req.qpm and self.token_beats is not None else self.token_beats

    def request_mask(self, req: Request, given: np.ndarray) -> np.ndarray:
        """(V,) float32, added to the logits before every draw: the scale, pitch range, velocity range and drum
        classes a request allows (-1e9 elsewhere), and its priors towards the key and register of the `given` ids'
        notes."""
        onp = self.onset_pitches
        mask = make_mask(onp, req.scale, req.pitch_range, self.codec.never_sampled())
        pitches = self.on_pitch[np.asarray(given, np.int64)]
        prior = key_prior(onp, pitches, 0.0 if self.codec.drums else req.key_prior)
        prior += register_prior(onp, pitches, 0.0 if self.codec.drums else req.register_prior)
        lean = 0.0 if self.codec.drums or self.token_beats is None else req.time_prior  # (as_drawn: the model's own)
        if lean:
            prior += time_prior(self.beats_at(req), lean)
        return np.ascontiguousarray(mask + self.velocity_mask(req.controls.velocity_range) + self.class_mask(req)
                                    + prior, np.float32)

    def class_mask(self, req: Request) -> np.ndarray:
        """-1e9 on drum steps that strike a class the request leaves out (drum models); else 0."""
        out = np.zeros(self.vocab, np.float32)
        if req.drum_classes and self.codec.drums and hasattr(self.codec, "hits"):
            banned = np.ones(self.codec.hits().shape[1], bool)
            banned[list(req.drum_classes)] = False
            out[self.codec.hits()[:, banned].any(1)] = -1e9
        return out

    def scale_of(self, req: Request) -> float:
        """Kernel beats per beat of the request: codecs that count seconds count them at their decode tempo."""
        if self.codec.time_in_seconds and req.qpm:
            return float(self.codec.params["decode_qpm"]) / float(req.qpm)
        return 1.0

    def control_array(self, req: Request) -> np.ndarray | None:
        """The kernel's ctl array, or None when no control works inside the loop. A model plays at most its own
        polyphony (polyphony_of: a melody model one note at a time, chorale four) and varies its rhythm by its own
        rhythm_variety (variety_of: chorale 0.25) unless asked otherwise."""
        from .controls import refuse_unsupported

        refuse_unsupported(req, self.loaded.name, in_loop=self.token_beats is not None and (self.grammar or self.codec.drums),
                           drums=self.codec.drums)
        c = req.controls
        grid = self.min_shift / self.scale_of(req) if self.min_shift else None
        c.check(self.codec, self.loaded.name, grid)
        if self.codec.drums and (c.polyphony_min or c.polyphony_max or c.leaps >= 0 or c.no_repeat
                                 or c.rhythm_variety > 0):
            raise CadenzaError(f"{self.loaded.name} plays drums: polyphony, leaps, no_repeat and rhythm_variety are for "
                               "pitched notes (density, offbeats and drum_classes apply)")
        voices = polyphony_of(self.loaded)
        if voices and not c.polyphony_max and c.polyphony_min <= voices:
            c = replace(c, polyphony_max=voices)
        if c.rhythm_variety < 0:
            c = replace(c, rhythm_variety=0.0 if self.codec.drums else variety_of(self.loaded))
        if not c.in_loop:
            return None
        return c.kernel_array(req.bar, req.beat, self.min_shift or 1.0 / 12, self.scale_of(req))

    def control_state(self, n: int, ctl: np.ndarray, music: np.ndarray, whole: np.ndarray, req: Request):
        """(n, N_STATE) control state and (n, HIST_WIDTH) history for rows starting after the prime: the
        place in the bar where the prime ends, the first bar's share of the density target, the prime's
        last note as the top voice's last, and the onsets of the prime's last bar and of the bar it ends in
        (rhythm_variety)."""
        from . import kernels as K

        cs = np.zeros((n, K.N_STATE), np.float32)
        body = np.asarray(music if len(music) else whole, np.int64)
        span = float(self.T[4][body].sum()) if len(body) else 0.0
        if req.phase is not None:
            span = req.phase * self.scale_of(req)
        bar = float(ctl[K.C_BAR])
        pos = span % bar if bar > 0 else 0.0
        if bar - pos < 1e-4:
            pos = 0.0
        cs[:, K.S_POS] = pos
        cs[:, K.S_TARGET] = ctl[K.C_DENSITY] * (bar - pos)
        ons = self.on_pitch[body] if len(body) else np.zeros(0, np.int64)
        ons = ons[ons >= 0]
        cs[:, K.S_TOP] = float(ons[-1]) if len(ons) else -1.0
        cs[:, K.S_STEP_TOP] = -1.0
        hist = np.zeros((n, K.HIST_WIDTH), np.int32)
        if ctl[K.C_VARY] > 0 and len(body) and bar > 0 and req.phase is None:  # what the new rhythm varies from
            at = np.concatenate([[0.0], np.cumsum(self.T[4][body], dtype=np.float64)])[:-1]
            onsets = at[self.on_pitch[body] >= 0] - (span - pos)  # beats from the start of the bar the prime ends in
            cells = np.floor(onsets * float(K.CELL) + 0.5).astype(np.int64)
            now = cells[(cells >= 0) & (cells < K.CELLS)]
            hist[:, K.NOW + now] = 1
            last = cells[cells < 0] + int(round(bar * float(K.CELL)))
            last = np.bincount(last[(last >= 0) & (last < K.CELLS)], minlength=K.CELLS)
            hist[:, K.LAST + 1:K.LAST + K.CELLS + 1] = np.cumsum(last > 0)
        return cs, hist

    def bits_of(self, ids: np.ndarray, req: Request, controls: bool = True) -> tuple[float, int]:
        """(bits, forbidden): the bits of real ids from the start of a piece under the model with the
        request's masks, grammar and (if `controls`) controls applied as in generation, summed over the
        tokens they allow, and how many real tokens they forbid. What a control costs the real music."""
        start = np.array([self.codec.eos if self.codec.eos is not None else 0], np.int32)
        logits, state = self.prime(start)
        return self._walk(np.ascontiguousarray(ids, np.int32), logits, state, req, controls, 0)

    def suffix_bits(self, prefix: np.ndarray, middles: list[np.ndarray], suffix: np.ndarray) -> list[float]:
        """For each candidate middle, the bits of the real `suffix` read after `prefix` + that middle, in plain
        order, with the note grammar and no masks or controls: how well the music after a gap follows each
        candidate (infill keeps the one it follows best). The prefix is read once."""
        prefix = np.ascontiguousarray(prefix[-MAX_PRIME:], np.int32)
        suffix = np.ascontiguousarray(suffix, np.int32)
        logits, state = self.prime(prefix) if len(prefix) else self.prime(
            np.array([self.codec.eos if self.codec.eos is not None else 0], np.int32))
        on, held = self.sounding_after(prefix)
        state["sounding"][:] = on
        state["held"][:] = held
        plain = Request()

        def judge(middle):
            ids = np.concatenate([np.asarray(middle, np.int32), suffix])
            return self._walk(ids, logits.copy(), {k: v.copy() for k, v in state.items()}, plain, False, len(middle))[0]

        if len(middles) < 2:
            return [judge(m) for m in middles]
        return list(parts_pool().map(judge, middles))  # the walks release Python's lock: one a core

    def _walk(self, ids: np.ndarray, logits: np.ndarray, state: dict, req: Request, controls: bool,
              skip: int) -> tuple[float, int]:
        from . import kernels
        from .sampling import STRATEGIES

        # the key prior keeps to the key of the walk's first quarter, as a continuation keeps to its prime's
        req = as_drawn(self.loaded, req)
        mask = self.request_mask(req, ids[:max(1, len(ids) // 4)])
        ctl = self.control_array(req) if controls else None
        use = ctl is not None
        if ctl is None:
            from .controls import Controls

            ctl = Controls().kernel_array(req.bar, req.beat, self.min_shift or 1.0 / 12)
        cs, hist = self.control_state(1, ctl, ids[:0], ids[:0], req)
        s = req.sampling
        draw = Draw(strategy=float(STRATEGIES.index(s.strategy)), temperature=1.0, top_k=40.0, top_p=1.0, n=4.0,
                    max_hold=self.max_hold(req), min_shift=self.min_shift)
        bits, forbidden = kernels.walk_bits(ids, logits, state["h"], state["c"], state["sounding"], state["held"],
                                            mask, self.W, self.T, tuple(draw), self.grammar, self.hold, self.is_lstm,
                                            self.note_state, cs, hist, ctl, self.starts, use, skip)
        return float(bits), int(forbidden)

    # ----- the loop ---------------------------------------------------------------------------------
    def budget(self, req: Request) -> tuple[int, float | None]:
        """(token cap, beats to stop at or None)."""
        if req.tokens:
            return req.tokens, None
        per = self.tokens_per_beat or 40.0
        if self.token_beats is not None:
            return int(max(64, req.beats * per * 4)), req.beats
        if self.codec.beat_counter() is not None:
            # counted as it comes, line by line; a model's text loses some time when it is repaired and read,
            # so a little more is made and the decoded music is cut at the asked beat (decode_continuation)
            return int(max(256, req.beats * per * 5)), req.beats * 1.25 + 2
        return int(req.beats * per), None

    def flight(self, prime: np.ndarray, req: Request, on_chunk=None, cancel=None) -> tuple[Flight, Callable]:
        """A request made ready to fly: its prime read into its rows' state, its masks, settings and stop;
        and the function that makes its Result when it has landed."""
        from . import kernels
        from .sampling import STRATEGIES

        t0 = time.perf_counter()
        req = as_drawn(self.loaded, req)
        whole = np.asarray(prime, dtype=np.int32).reshape(-1)
        prime = whole[-MAX_PRIME:]
        if len(whole) and (whole.min() < 0 or whole.max() >= self.vocab):
            raise CadenzaError(f"prime ids outside this model's vocabulary (0-{self.vocab - 1})")
        start = prime if len(prime) else np.array([self.codec.eos if self.codec.eos is not None else 0], np.int32)
        mask = self.request_mask(req, whole)
        ctl = self.control_array(req)
        cap, stop_beats = self.budget(req)
        token_beats = self.beats_at(req)
        B = req.variations
        s = req.sampling
        music = self.codec.context(whole)  # the music right before what comes next (for infill: the prefix)
        before = music[:-MAX_PRIME] if len(whole) > MAX_PRIME else music[:0]
        logits, state = self.prime(start, self.note_counts(before) if len(before) else None)
        on, held = self.sounding_after(music)
        state["sounding"][:] = on
        state["held"][:] = held
        if ctl is not None:
            cs, hist = self.control_state(B, ctl, music, whole, req)
        else:
            cs, hist = np.zeros((B, kernels.N_STATE), np.float32), np.zeros((B, kernels.HIST_WIDTH), np.int32)
        rows = Rows(logits=np.repeat(logits, B, 0), h=np.ascontiguousarray(np.repeat(state["h"], B, 1)),
                    c=np.ascontiguousarray(np.repeat(state["c"], B, 1)),
                    sounding=np.repeat(state["sounding"], B, 0), held=np.repeat(state["held"], B, 0),
                    controls=cs, history=hist)
        settings = np.array([float(STRATEGIES.index(s.strategy)), float(s.temperature), float(s.top_k or 40),
                             float(s.top_p), float(s.n), self.max_hold(req), self.min_shift], np.float64)
        counters = None
        if token_beats is None and stop_beats is not None:
            counters = [self.codec.beat_counter() for _ in range(B)]
        stopper = Stopper(B, stop_beats, lambda row: token_beats[row], counters)
        flight = Flight(rows=rows, seed=req.seed & 0x7FFFFFFF, settings=settings, mask=mask, ctl=ctl,
                        stopper=stopper, cap=cap, on_chunk=on_chunk, cancel=cancel, scale=self.scale_of(req))

        def result() -> Result:
            if flight.error is not None:
                raise flight.error
            new = stopper.new(cap, np.zeros(0, np.int32))
            if counters is not None:
                beats = [float(min(b, req.beats)) for b in stopper.beats]
            else:
                beats = [float(token_beats[n].sum()) if token_beats is not None else
                         len(n) / (self.tokens_per_beat or 40.0) for n in new]
            return Result(new=new, prime=prime, beats=beats, seconds=time.perf_counter() - t0,
                          cancelled=flight.cancelled)

        return flight, result

    def run(self, prime: np.ndarray, req: Request, on_chunk: Callable[[list[np.ndarray]], None] | None = None,
            cancel: threading.Event | None = None, alone: bool = False) -> Result:
        """Generate for one request: with the other requests for this model in one batch (the batcher), or
        `alone` in this thread. The music is the same either way."""
        flight, result = self.flight(prime, req, on_chunk, cancel)
        if alone:
            merged = Merged()
            while not flight.over:
                advance_flights(self, [flight], self.spread(), merged)
        else:
            min(self.lanes, key=Batcher.rows).fly(flight)
        return result()
