"""Harmonize: the parts under a given melody, by a model of the `harmony` codec (bridge.codecs.harmony).

The melody's tokens are read into the model at their steps, as given, never drawn; between them the
model draws the parts, `lead` steps behind the melody it has already read (it hears what the tune does
next before it writes the chord under it). What is drawn is held to what the parts may do:

- a wait never jumps past the melody's next token (the melody is read on time, every time);
- a part starts only below the melody note sounding with it, and ends where the melody comes down to it
  (the melody stays the top line);
- `voices` parts sound whenever a melody note does (a chorale's three under the soprano): time moves on only
  once they all sound, and never more than `voices`;
- the note grammar: a part ends only if it sounds, starts only if silent, lasts at least a step;
- the stream's order at a step, as the codec writes it (and so as the model learned it): the parts' ends
  before their starts, each in ascending pitch; no part before the melody's first note; a wait that stops
  short of the melody's next token (and of the longest wait) is followed by a part's start or end, as the
  codec never writes two waits in a row; where nothing but time can move, the wait is the one the codec
  would write (the longest that fits), not drawn;
- the scale and pitch range of the request, on the parts' starts;
- with one candidate, a part's start on a beat that would take what sounds out of one chord's notes is drawn
  less (harmonize_kernels.chordal_starts; with candidates, the judge prefers the beats that sound one chord);
- no part held longer than `max_hold` beats (8 by default): time waits for its end.

Variations are one batch, one row each (with candidates, `candidates` rows each, judged at every bar line);
each row keeps its own place in time, and from two rows up the batch runs in parts, one a core (two halves on
two cores; the compiled loop releases Python's lock; a row's draws are seeded by its place in the whole batch, so
the parts are the same either way). With `transpositions` above 1, each row is that many rows of the net,
the music (melody and parts) read as given and a semitone up, down, ... (`readings`), and every part token is
drawn from the geometric mean of their distributions (`mixture`; compiled, `harmonize_kernels.mixed`). The
loop is compiled (bridge.generation.harmonize_kernels). Draws are seeded by (seed, row, token) as in the
continuation's loop (bridge.generation.kernels), so a seed gives the same parts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import CadenzaError
from ..music import Score
from .runner import Request, as_drawn

MAX_POLYPHONY = 0.25  # a melody with chords at more than this share of its starts is refused
HOLD_BEATS = 8.0  # the longest a part is held by default: Bach's longest in the chorales (the model held up to 47)
SHIFTS = (0, 1, -1, 2, -2)  # the transpositions the music is read at, in semitones: the first `transpositions`


@dataclass
class Harmony:
    parts: list[np.ndarray]  # per variation: (N, 4) pitch, velocity, start tick, end tick (the melody's ticks)
    tokens: int
    seconds: float
    cancelled: bool = False
    read: list[np.ndarray] | None = None  # with harmonize(read=True): per variation, every token the model read


def melody_of(score: Score, name: str = "the melody") -> Score:
    """The one line to harmonize: every pitched note of `score`, one at a time. Chords are refused by name
    (harmonize takes a tune); a note that overlaps the next a little (legato) is cut where the next starts."""
    from ..music.transforms import top_line

    tracks = [t for t in score.tracks if not t.is_drum and len(t.array)]
    if not tracks:
        drums = any(t.is_drum and len(t.array) for t in score.tracks)
        raise CadenzaError(f"{name}: {'only drums' if drums else 'no notes'}; harmonize takes a melody "
                           "(one pitched line)")
    a = np.concatenate([t.array for t in tracks])
    starts = np.unique(a[:, 2])
    chords = len(a) - len(starts)
    if chords > MAX_POLYPHONY * len(starts):
        raise CadenzaError(f"{name}: {chords} of its {len(a)} notes start together with another; harmonize takes "
                           "a melody, one note at a time (send the tune alone, or its top line)")
    one = score.replace(tracks=(tracks[0].replace(notes=a[np.lexsort((a[:, 0], a[:, 2]))]),))
    return top_line(one)


def own(loaded, key: str, asked: int = 0, default: int = 1) -> int:
    """A harmonize setting where 0 means the model's own: `asked`, else the card's `harmonize.<key>`, else
    `default`."""
    return int(asked) or int(loaded.meta.get("harmonize", {}).get(key, default))


def transpositions_of(loaded, asked: int = 0) -> int:
    """The readings a harmonize of `loaded` makes: those asked, or (0) the model's own (1 where it says none)."""
    return own(loaded, "transpositions", asked, 1)


def parallels_of(loaded, asked: float = -1.0) -> float:
    """Nats off a part's start that would move in parallel fifths or octaves: those asked, or (-1) the model's own
    (the card's harmonize.parallels; 0 where it says none: block chords move in parallel)."""
    return float(asked) if asked >= 0 else float(loaded.meta.get("harmonize", {}).get("parallels", 0.0))


def voices_of(loaded, asked: int = 0) -> int:
    """The parts under the melody: those asked, or (0) the model's own (three, a chorale's, where it says none)."""
    return own(loaded, "voices", asked, 3)


def readings(codec, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The music read at the first `k` of SHIFTS: (fwd, has), (k, V) each: the id each token is in that reading
    (itself where the shift leaves the codec's range), and whether the reading has it at all."""
    if not 1 <= k <= len(SHIFTS):
        raise CadenzaError(f"transpositions {k}: 1 to {len(SHIFTS)}")
    V = codec.vocab_size
    same = np.arange(V, dtype=np.int32)
    if k == 1:
        return same[None, :].copy(), np.ones((1, V), bool)
    m = max(abs(x) for x in SHIFTS[:k])
    table = codec.transpose_table(m)
    if table is None:
        raise CadenzaError(f"transpositions {k}: the {codec.name} codec's tokens name no pitches to transpose")
    rows = np.stack([table[m + x] for x in SHIFTS[:k]]).astype(np.int32)
    return np.where(rows >= 0, rows, same[None, :]).astype(np.int32), rows >= 0


def mixture(logits: np.ndarray, fwd: np.ndarray, has: np.ndarray) -> np.ndarray:
    """(V,) log-probabilities: the K readings' distributions ((K, V) logits) pooled by their geometric mean,
    each token's log-probability taken from where its reading has it, averaged over the readings that have it,
    then normalised (harmonize_kernels.mixed, in numpy)."""
    x = logits.astype(np.float64)
    x = x - x.max(1, keepdims=True)
    lp = x - np.log(np.exp(x).sum(1, keepdims=True))
    got = np.take_along_axis(lp, fwd.astype(np.int64), 1)
    n = has.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(n > 0, (got * has).sum(0) / np.maximum(n, 1), -np.inf)
    top = out[np.isfinite(out)].max()
    return out - (top + np.log(np.exp(out - top).sum()))


def harmonize(loaded, melody: Score, req: Request, voices: int = 3, on_chunk=None, cancel=None,
              chunk: int = 64, candidates: int = 1, read: bool = False, transpositions: int = 1,
              split: bool = True, judge_beats: int = 4, parallels: float = 0.0) -> Harmony:
    """Parts under `melody` (one line, as melody_of gives it) for each variation of `req`.

    `on_chunk(rows)`: per variation the part notes finished since the last call, as (pitch, start beat,
    duration beats) in the melody's beats: every `chunk` tokens, or bar by bar with `candidates` above 1.
    `candidates`: parts drawn for each variation in the same batch, judged bar by bar: at each bar line (the
    melody's first token from it on) every candidate waits for the others, the best so far (the fewest
    parallel fifths and octaves between voices, the most of the melody's on-beat notes among the parts' pitch
    classes: bridge.music.voicing) is copied into the others, and all go on from it; at the end the best is
    kept. `cancel`: an Event checked between chunks. `read` (one candidate): also every token the model
    read, per variation (Harmony.read). `transpositions`: the model reads the music (melody and parts) at this
    many of SHIFTS at once, and each part token is drawn from the geometric mean of their distributions (a net
    trained on every transposition judges each a little differently; pooled, they predict Bach's parts better).
    `split`: two rows or more (variations times candidates) run in parts, one a core (runner.parts): the
    same music as in one, sooner. `judge_beats`: the candidates are judged every this many beats (4: at each
    bar line; 1: at each beat, half the parallels for ~15% more time: docs/harmonize.md). `parallels`: nats off
    a part's start that would move in parallel fifths or octaves with the melody or a part already started at
    that step (harmonize_kernels.parallel_starts; parallels_of gives the model's own)."""
    req = as_drawn(loaded, req)  # the model's own priors and nucleus where the request leaves them to it
    return _draw(loaded, melody, req, voices, on_chunk, cancel, chunk, read, max(1, int(candidates)),
                 int(transpositions), split, max(1, int(judge_beats)), max(0.0, float(parallels)))


class _Part:
    """Rows a to b of a harmonize batch (a part: runner.parts), run on a core of their own: the net's h and c for
    their R readings each, contiguous (the kernel's layout), and their scratch. `whole`: the only part, the state
    itself (no copies)."""

    def __init__(self, a: int, b: int, R: int, state: dict, z: np.ndarray, scratch: tuple, whole: bool):
        self.a, self.b, self.whole = a, b, whole
        self.net = slice(a * R, b * R)
        self.h, self.c = (state["h"], state["c"]) if whole else (None, None)
        self.z, self.scratch = (z, scratch) if whole else (z[self.net].copy(),
                                                            tuple(a[self.net].copy() for a in scratch))
        self.take(state)

    def take(self, state: dict) -> None:
        """The state's h and c for these rows, as they are now (after the bar line's copies)."""
        if not self.whole:
            self.h = np.ascontiguousarray(state["h"][:, self.net])
            self.c = np.ascontiguousarray(state["c"][:, self.net])

    def give(self, state: dict) -> None:
        """These rows' h and c back into the state (before the bar line's judging copies rows)."""
        if not self.whole:
            state["h"][:, self.net] = self.h
            state["c"][:, self.net] = self.c


def _draw(loaded, melody: Score, req: Request, voices: int, on_chunk, cancel, chunk: int,
          read: bool = False, candidates: int = 1, transpositions: int = 1, split: bool = True,
          judge_beats: int = 4, parallels: float = 0.0) -> Harmony:
    """Parts under the melody for each variation of `req`, `candidates` rows each (harmonize's loop)."""
    from . import harmonize_kernels, kernels
    from .constraints import key_prior
    from .constraints import mask as make_mask
    from .decode import generator_for
    from .runner import at_once, spread
    from .runner import parts as spans_of
    from .sampling import STRATEGIES

    codec = loaded.codec
    if not codec.harmonizes:
        raise CadenzaError(f"{loaded.name} does not harmonize (it is a {codec.name} model): choose a harmony model, "
                           "e.g. chorale-harmony")
    t0 = time.perf_counter()
    gen = generator_for(loaded)
    p = codec.params
    spq, lead, lo, n = p["steps_per_quarter"], p["lead"], p["low"], codec.n_pitches
    w0, mw = codec.wait0, p["max_wait"]
    mel = codec.quantize(melody)  # steps, pitches folded into the model's range for its tokens
    if not len(mel):
        raise CadenzaError("the melody has no notes")
    # what the model reads of the melody, and what sounds: the melody's real pitch at each step
    events = codec.melody_ids(mel)
    ev_step = np.array([s for s, _ in events] + [np.iinfo(np.int64).max], np.int64)
    ev_id = np.array([t for _, t in events] + [0], np.int32)
    last = int(mel[:, 3].max())
    top = np.full(last + lead + 1, 128, np.int64)  # the melody's pitch sounding at each real step (128: none)
    f = melody.tpq / spq
    real = melody.tracks[0].array
    for pitch, _, a, b in real.tolist():
        sa, sb = int(np.floor(a / f + 0.5)), max(int(np.floor(b / f + 0.5)), int(np.floor(a / f + 0.5)) + 1)
        top[sa:sb] = pitch
    singing = top < 128  # where a melody note sounds: there the parts sound in full (`voices` of them)
    # between notes the last melody pitch still bounds the parts (they stay under the tune through its rests)
    held = 128
    for i in range(len(top)):
        held = top[i] if top[i] < 128 else held
        top[i] = held
    end = last + lead  # the stream's last step: every part ends by the melody's end
    K = candidates
    B = req.variations * K  # candidate j of variation v is row v * K + j
    R = transpositions  # and reading k of row r, the net's row r * R + k
    fwd, has = readings(codec, R)
    V = gen.vocab
    onp = codec.onset_pitches()
    base = make_mask(onp, req.scale, req.pitch_range, forbid=codec.never_sampled())
    base = base + key_prior(onp, melody.tracks[0].array[:, 0], req.key_prior)  # the parts keep to the tune's key
    s = req.sampling
    code = STRATEGIES.index(s.strategy)
    state = gen.new_state(B * R)
    logits = np.zeros((B * R, V), np.float32)
    tokens = 0
    # each row's place: its step, the melody tokens it has read, the parts sounding (and the step each began)
    rows_step, rows_next = np.zeros(B, np.int64), np.zeros(B, np.int64)
    sounding, started = np.zeros((B, 128), bool), np.full((B, 128), -1, np.int64)
    done = np.zeros(B, bool)
    produced = np.zeros(B, np.int64)
    first = int(mel[:, 2].min())  # the melody's first note (real steps): no part sounds before it
    lastk = np.zeros(B, np.int8)  # the last part token at this step: 0 none yet, 1 an end, 2 a start
    lastq = np.zeros(B, np.int64)  # ... and its pitch
    owe = np.zeros(B, bool)  # a wait stopped short of the melody: a part's start or end comes next
    cap = 64 * (end + 1) + 4 * len(events)  # no row can need more; a bound, never reached in practice
    # the longest a part is held: max_hold beats (-1, the default: HOLD_BEATS; 0: as long as the model likes)
    hold = int(round((HOLD_BEATS if req.max_hold is None or req.max_hold < 0 else req.max_hold) * spq))
    cancelled = False

    topx = np.concatenate([top, np.full(mw + 1, 128)])  # the melody's pitch, with room to look ahead
    singx = np.concatenate([singing, np.zeros(mw + 1, bool)])
    # each row's parts: (pitch, start step, end step); at most `voices` start at a step, and each lasts a step
    notes = np.zeros((B, max(voices, 1) * (end + 1) + 129, 3), np.int64)
    trace = np.zeros((B, cap + len(events) + 2) if read else (0, 0), np.int32)
    traced = np.zeros(B, np.int64)
    count = np.zeros(B, np.int64)
    given = np.zeros(req.variations, np.int64)  # each variation's parts handed to on_chunk so far
    z = np.empty((B * R, gen.W[0].shape[1]), np.float32)
    scratch = kernels.scratch(gen.W, B * R)  # advance's (the rows' state as integers, their sounding input)
    base = np.ascontiguousarray(base, np.float32)

    vel = int(np.median(real[:, 1])) if len(real) else p["velocity"]
    vel = max(1, min(127, int(round(vel * 0.85))))  # the parts a little under the tune

    def parts_of(triples: np.ndarray) -> np.ndarray:
        """Stream-step parts, (N, 3) pitch, start, end, as notes in the melody's ticks, sorted."""
        t = np.asarray(triples, np.int64).reshape(-1, 3)
        t = t[t[:, 2] - lead > 0]
        a = np.column_stack([t[:, 0], np.full(len(t), vel, np.int64), np.round((t[:, 1] - lead) * f),
                             np.round((t[:, 2] - lead) * f)]).astype(np.int64)
        a[:, 2] = np.maximum(a[:, 2], 0)
        return a[np.lexsort((a[:, 0], a[:, 2]))] if len(a) else a

    best = np.arange(req.variations) * K  # each variation's row: the one whose parts are given

    def flush() -> None:
        if on_chunk is None:
            return
        out = []
        for v, r in enumerate(best.tolist()):
            fresh = notes[r, given[v]:count[r]].tolist()
            given[v] = count[r]
            out.append([(q, (a - lead) / spq, (b - a) / spq) for q, a, b in fresh if b - lead > 0])
        on_chunk(out)

    def judged(r: int, since: int, at: int | None) -> float:
        """Row r's parts from stream step `since` to `at` (those sounding then ended there; None: the end)
        against the melody there. Before `since` the candidates are alike (copied at the bar line before)."""
        return harmonize_kernels.judge_row(notes[r, :count[r]], sounding[r], started[r], since,
                                           -1 if at is None else at, real, lead, float(f), melody.tpq)

    def choose(since: int, at: int | None) -> None:
        """Each variation's best candidate since the bar line before; at a bar line, copied into the others."""
        for v in range(req.variations):
            rows = range(v * K, (v + 1) * K)
            b = min(rows, key=lambda r: judged(r, since, at))
            best[v] = b
            if at is None:
                continue
            for r in rows:
                if r != b:
                    for arr in (rows_step, rows_next, done, lastk, lastq, owe, produced, count, sounding, started):
                        arr[r] = arr[b]
                    mine, theirs = slice(r * R, r * R + R), slice(b * R, b * R + R)
                    logits[mine] = logits[theirs]
                    state["h"][:, mine], state["c"][:, mine] = state["h"][:, theirs], state["c"][:, theirs]
                    state["sounding"][mine] = state["sounding"][theirs]
                    notes[r, :count[b]] = notes[b, :count[b]]

    marks = []  # where the candidates are judged: every `judge_beats` beats, the melody's first token from each on
    if K > 1:
        period = judge_beats * spq
        steps = ev_step[:-1]
        k = 1
        while True:
            later = steps[steps >= k * period + lead]
            if not len(later) or later[0] >= end:
                break
            if not marks or later[0] > marks[-1]:  # (a melody note held across a mark: judged once)
                marks.append(int(later[0]))
            k += 1
    # the rows in parts, one a core (the kernel releases Python's lock), from two rows up: each part its
    # own contiguous state (its rows' slices of the arrays above, the net's h and c copied out and back around
    # each bar line's judging); a row draws what it draws in one call (its draws are seeded by its row)
    spans = spans_of(B, spread(split))
    own_parts = [_Part(a, b, R, state, z, scratch, len(spans) == 1) for a, b in spans]
    rows = (rows_step, rows_next, sounding, started, done, lastk, lastq, owe, produced, notes, count)

    def go(part, at) -> int:
        a, b = part.a, part.b
        lg, sn = logits[a * R:b * R], state["sounding"][a * R:b * R]
        return harmonize_kernels.run(
            chunk, lg, base, part.h, part.c, sn, part.z, part.scratch, gen.W, gen.is_lstm, gen.note_state,
            *(x[a:b] for x in rows),
            ev_step, ev_id, topx, singx, lo, n, w0, mw, lead, first, end, cap, voices, hold, code,
            np.float32(s.temperature), s.top_k or 40, np.float32(s.top_p), s.n, req.seed,
            trace[a:b], traced[a:b], at, R, fwd, has, a, np.float32(parallels),
            np.float32(harmonize_kernels.CHORDAL_NATS if K == 1 else 0.0), spq)[1]

    def over(part, at) -> bool:
        """The part has nothing to do before the bar line `at` (-1: before the end)."""
        live = ~done[part.a:part.b]
        return not live.any() or (at >= 0 and bool((rows_step[part.a:part.b][live] >= at).all()))

    since = -1
    for at in marks + [-1]:
        while True:
            todo = [x for x in own_parts if not over(x, at)]
            if not todo:
                break
            made = [0] * len(todo)

            def one(i, todo=todo, at=at):
                made[i] = go(todo[i], at)

            at_once(one, range(len(todo)))
            tokens += sum(made)
            if K == 1:
                flush()
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
        if cancelled:
            break
        if at >= 0:
            for x in own_parts:
                x.give(state)
            choose(since, at)
            for x in own_parts:
                x.take(state)
            flush()
            since = at - min(2, judge_beats) * spq  # the next judged with the motion into it
    if K > 1:
        choose(since, None)
        if not cancelled:
            flush()
    parts = [parts_of(notes[r, :count[r]]) for r in best.tolist()]
    return Harmony(parts, tokens, time.perf_counter() - t0, cancelled,
                   [trace[r, :traced[r]] for r in best.tolist()] if read else None)
