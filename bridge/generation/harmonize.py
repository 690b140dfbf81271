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
- the scale and pitch range of the request, on the parts' starts.

Variations are one batch, one row each; each row keeps its own place in time. Draws are seeded by
(seed, variation, token) as in the compiled loop (bridge.generation.kernels), so a seed gives the same parts.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import CadenzaError
from ..music import Score
from .runner import Request

NEG = np.float32(-1e9)
MAX_POLYPHONY = 0.25  # a melody with chords at more than this share of its starts is refused


@dataclass
class Harmony:
    parts: list[np.ndarray]  # per variation: (N, 4) pitch, velocity, start tick, end tick (the melody's ticks)
    tokens: int
    seconds: float
    cancelled: bool = False


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


class _Rows:
    """Each variation's place: its step, the melody tokens it has read, the parts sounding."""

    def __init__(self, B: int):
        self.step = np.zeros(B, np.int64)
        self.next = np.zeros(B, np.int64)  # index of the next melody token to read
        self.sounding = np.zeros((B, 128), bool)
        self.started = np.full((B, 128), -1, np.int64)  # step a sounding part started
        self.done = np.zeros(B, bool)
        self.notes: list[list] = [[] for _ in range(B)]  # (pitch, start step, end step) in stream steps
        self.fresh: list[list] = [[] for _ in range(B)]  # ended since the last chunk


def harmonize(loaded, melody: Score, req: Request, voices: int = 3, on_chunk=None, cancel=None,
              chunk: int = 64, candidates: int = 1) -> Harmony:
    """Parts under `melody` (one line, as melody_of gives it) for each variation of `req`.

    `on_chunk(rows)`: per variation the part notes finished since the last call, as (pitch, start beat,
    duration beats) in the melody's beats: every `chunk` tokens, or once at the end with `candidates` above 1.
    `candidates`: parts drawn for each variation in the same batch; the one kept has the fewest parallel fifths
    and octaves between voices and the most of the melody's on-beat notes among its pitch classes
    (bridge.music.voicing). `cancel`: an Event checked between chunks."""
    if candidates <= 1:
        return _draw(loaded, melody, req, voices, on_chunk, cancel, chunk)
    import dataclasses

    from ..music import voicing

    many = _draw(loaded, melody, dataclasses.replace(req, variations=req.variations * candidates), voices, None,
                 cancel, chunk)
    mel = melody.tracks[0].array
    chosen = []
    for v in range(req.variations):
        group = many.parts[v * candidates:(v + 1) * candidates]
        chosen.append(min(group, key=lambda parts: _score(voicing, mel, parts, melody.tpq)))
    if on_chunk is not None and not many.cancelled:
        on_chunk([[(int(q), a / melody.tpq, (b - a) / melody.tpq) for q, _, a, b in parts.tolist()]
                  for parts in chosen])
    return Harmony(chosen, many.tokens, many.seconds, many.cancelled)


def _score(voicing, melody: np.ndarray, parts: np.ndarray, tpq: int) -> float:
    """Lower is better: parallel fifths and octaves per 100 voice-pair motions, weighted five times, less the
    percentage of the melody's on-beat notes whose pitch class the parts sound."""
    if not len(parts):
        return float("inf")
    m = voicing.motion_figures(melody, parts)
    agree, counted = voicing.chord_tone_share(melody, parts, tpq)
    return 500.0 * m["parallels"] / max(m["motions"], 1) - 100.0 * agree / max(counted, 1)


def _draw(loaded, melody: Score, req: Request, voices: int, on_chunk, cancel, chunk: int) -> Harmony:
    """Parts under the melody for each variation of `req`, one row each (harmonize's loop)."""
    from . import kernels
    from .constraints import key_prior
    from .constraints import mask as make_mask
    from .decode import generator_for
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
    B = req.variations
    V = gen.vocab
    onp = codec.onset_pitches()
    base = make_mask(onp, req.scale, req.pitch_range, forbid=codec.never_sampled())
    base = base + key_prior(onp, melody.tracks[0].array[:, 0], req.key_prior)  # the parts keep to the tune's key
    part_on = np.arange(n)
    pitches = lo + part_on
    wait_len = np.arange(1, mw + 1)
    s = req.sampling
    code = STRATEGIES.index(s.strategy)
    rows = _Rows(B)
    state = gen.new_state(B)
    logits = np.zeros((B, V), np.float32)
    tokens = 0
    produced = np.zeros(B, np.int64)
    first = int(mel[:, 2].min())  # the melody's first note (real steps): no part sounds before it
    lastk = np.zeros(B, np.int8)  # the last part token at this step: 0 none yet, 1 an end, 2 a start
    lastq = np.zeros(B, np.int64)  # ... and its pitch
    owe = np.zeros(B, bool)  # a wait stopped short of the melody: a part's start or end comes next
    cap = 64 * (end + 1) + 4 * len(events)  # no row can need more; a bound, never reached in practice
    cancelled = False
    it = 0

    def finish(r: int) -> None:
        for q in np.flatnonzero(rows.sounding[r]).tolist():
            rows.notes[r].append((q, int(rows.started[r, q]), int(rows.step[r])))
            rows.fresh[r].append(rows.notes[r][-1])
        rows.sounding[r] = False
        rows.done[r] = True

    def flush() -> None:
        if on_chunk is None:
            return
        out = []
        for r in range(B):
            out.append([(q, (a - lead) / spq, (b - a) / spq) for q, a, b in rows.fresh[r] if b - lead > 0])
            rows.fresh[r] = []
        on_chunk(out)

    topx = np.concatenate([top, np.full(mw + 1, 128)])  # the melody's pitch, with room to look ahead
    singx = np.concatenate([singing, np.zeros(mw + 1, bool)])
    look = np.arange(1, mw + 1)
    while not rows.done.all():
        tok = np.zeros(B, np.int32)
        draw = []
        for r in range(B):  # rows that are done, read the melody, or end: no draw
            if rows.done[r]:
                tok[r] = w0  # a row that is done reads waits, and nothing of it is kept
                continue
            st = int(rows.step[r])
            k = int(rows.next[r])
            if ev_step[k] == st:  # the melody, read as given
                tok[r] = ev_id[k]
                rows.next[r] = k + 1
                lastk[r] = 0
                continue
            if st >= end or produced[r] >= cap:
                finish(r)
                tok[r] = w0
                continue
            draw.append(r)
        if draw:
            # the masks of every row that draws, at once: (R, vocab)
            R = np.array(draw)
            st = rows.step[R]
            real_ = np.maximum(st - lead, 0)
            rowsL = logits[R] + base
            snd = rows.sounding[R][:, pitches]
            count = snd.sum(1)
            young = rows.started[R][:, pitches] == st[:, None]  # a part lasts at least a step
            rowsL[:, :n] += np.where(snd, NEG, 0)
            rowsL[:, n:2 * n] += np.where(snd & ~young, 0, NEG)
            # the codec's order at a step: ends, then starts, each in ascending pitch; a part the melody has come
            # down to ends first (before any start), and may end out of order rather than sound above the tune
            under = topx[real_]
            lk, lq = lastk[R][:, None], lastq[R][:, None]
            must = snd & ~young & (pitches[None, :] >= under[:, None])
            rowsL[:, n:2 * n] += np.where(((lk == 2) | ((lk == 1) & (pitches[None, :] <= lq))) & ~must, NEG, 0)
            rowsL[:, :n] += np.where(((lk == 2) & (pitches[None, :] <= lq)) | must.any(1)[:, None], NEG, 0)
            closed = (count >= voices) | (st < lead) | (real_ < first)  # no part before the tune
            rowsL[:, :n] += np.where(closed[:, None] | (pitches[None, :] >= under[:, None]), NEG, 0)
            gap = np.minimum(ev_step[rows.next[R]], end) - st
            # a part sounding reaches the melody where it goes down: it ends there, before time moves on
            highest = np.where(snd, pitches[None, :], -1).max(1)
            ahead = np.where((st >= lead)[:, None], topx[real_[:, None] + look[None, :]], 128)
            low = ahead <= highest[:, None]
            first_low = np.where(low.any(1), low.argmax(1) + 1, mw + 1)
            gap = np.where(highest >= 0, np.where(topx[real_] <= highest, 0, np.minimum(gap, first_low)), gap)
            rowsL[:, w0:w0 + mw] += np.where(wait_len[None, :] <= gap[:, None], 0, NEG)
            # under a sounding melody, time moves on only with every part sounding
            full = singx[real_] & (count < voices) & (st >= lead) & (rowsL[:, :n] > NEG / 2).any(1)
            rowsL[full, w0:w0 + mw] = NEG
            act = owe[R] & (rowsL[:, :2 * n] > NEG / 2).any(1)
            rowsL[act, w0:w0 + mw] = NEG
            only_time = ~(rowsL[:, :2 * n] > NEG / 2).any(1)
            for i, r in enumerate(draw):
                row = rowsL[i]
                if only_time[i]:  # nothing but time can move: the wait the codec writes, up to what comes next
                    t = w0 + int(max(1, min(gap[i], mw))) - 1
                else:
                    t = int(kernels.sample_row(row, code, np.float32(s.temperature), s.top_k or 40,
                                               np.float32(s.top_p), s.n, req.seed, r, int(produced[r])))
                if row[t] <= NEG / 2:  # nothing allowed is left (cannot happen: a wait of 1 always fits)
                    t = w0
                tok[r] = t
                stp = int(st[i])
                if t < n:
                    q = lo + t
                    rows.sounding[r, q] = True
                    rows.started[r, q] = stp
                    lastk[r], lastq[r] = 2, q
                elif t < 2 * n:
                    q = lo + t - n
                    rows.notes[r].append((q, int(rows.started[r, q]), stp))
                    rows.fresh[r].append(rows.notes[r][-1])
                    rows.sounding[r, q] = False
                    lastk[r], lastq[r] = 1, q
                elif t < w0 + mw:
                    rows.step[r] = stp + t - w0 + 1
                    lastk[r] = 0
                owe[r] = w0 <= t < w0 + mw and t - w0 + 1 < min(int(gap[i]), mw)  # short of the melody's next
                produced[r] += 1
        tokens += int((~rows.done).sum())
        logits = gen.step(tok, state)
        it += 1
        if it % chunk == 0:
            flush()
            if cancel is not None and cancel.is_set():
                cancelled = True
                break
    flush()
    vel = int(np.median(real[:, 1])) if len(real) else p["velocity"]
    vel = max(1, min(127, int(round(vel * 0.85))))  # the parts a little under the tune
    parts = []
    for r in range(B):
        arr = [(q, vel, int(round((a - lead) * f)), int(round((b - lead) * f))) for q, a, b in rows.notes[r]
               if b - lead > 0]
        a = np.array(arr, np.int64).reshape(-1, 4)
        a[:, 2] = np.maximum(a[:, 2], 0)
        parts.append(a[np.lexsort((a[:, 0], a[:, 2]))] if len(a) else a)
    return Harmony(parts, tokens, time.perf_counter() - t0, cancelled)
