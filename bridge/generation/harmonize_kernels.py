"""Harmonize's loop as a compiled kernel (numba): the rules of bridge/generation/harmonize.py on every drawn
token, the seeded draw and the recurrent step, for every row, `iters` tokens a call, without the GIL.

The rules are those the module docstring of harmonize.py lists; `run()` is the loop that harmonize.py wrote
in numpy, a row at a time here (each row's mask costs the model's pitches and waits, not a vocabulary of
array operations): 8 bars went from ~50-90 ms to the recurrent steps' own cost.
"""
from __future__ import annotations

import numpy as np

from ..music.voicing import CHORDAL
from .kernels import NEG, _opts, advance, exp_shifted, njit, project, put, sample_row

HALF = NEG / np.float32(2)
CHORDAL_WEIGHT = 1.5  # judge's weight on the share of the beats that sound one chord's notes only
CHORDAL_NATS = 2.0  # with one candidate (nothing to judge), nats off a part's start on a beat that would take what
# sounds out of one chord's notes (chordal_starts; play along has the same rule, along.CHORDAL_NATS). Session 28,
# 40 held-out chorales, one candidate: beats sounding one chord 0.752 -> 0.840 (3 nats 0.878, 4 nats 0.904; Bach
# 0.888), the real chords' pitch classes 0.409 -> 0.452 (3: 0.430, 4: 0.446), the melody's on-beat notes in the
# parts 0.244 -> 0.247, parallels 0.14 -> 0.26 per 100 motions. With candidates the judge does it better (the rule
# on top, 2 nats: 0.934 of the beats, past Bach's, and the real chords 0.461 -> 0.453): there it is off.


@njit(**_opts)
def mixed(logits, r, K, fwd, has, out):
    """Row r's distribution: with one reading (K 1), its logits as they are; with K readings (rows r*K ... of
    `logits`, the music transposed by each of K shifts), the mean of their log-probabilities (a geometric mean:
    each token's taken from where its reading has it (fwd), over the readings that have it at all (has);
    unnormalised: the draw normalises)."""
    V = out.shape[0]
    if K == 1:
        for v in range(V):
            out[v] = logits[r, v]
        return
    for v in range(V):
        out[v] = 0.0
    e = np.empty(V, np.float32)
    for k in range(K):
        rr = r * K + k
        m = logits[rr, 0]
        for v in range(1, V):
            if logits[rr, v] > m:
                m = logits[rr, v]
        exp_shifted(logits[rr], m, np.float32(1), e)  # vectorised (the library's exp, one value at a time, ~10 ns)
        tot = np.float32(0)
        for v in range(V):
            tot += e[v]
        norm = m + np.log(tot)
        for v in range(V):
            if has[k, v]:
                out[v] += logits[rr, fwd[k, v]] - norm
    for v in range(V):
        n = 0
        for k in range(K):
            if has[k, v]:
                n += 1
        out[v] = out[v] / n if n > 0 else NEG


@njit(**_opts)
def _parallel(hi0, hi1, lo0, lo1):
    """Two voices moving from (hi0 over lo0) to (hi1 over lo1) in parallel fifths or octaves (or unisons), as
    bridge.music.voicing.parallels counts them: both move, the same way, the same interval (mod 12) 0 or 7."""
    if hi0 == hi1 or lo0 == lo1:
        return False
    a = (hi0 - lo0) % 12
    return a == (hi1 - lo1) % 12 and (a == 0 or a == 7) and (hi1 - hi0) * (lo1 - lo0) > 0


@njit(**_opts)
def parallel_starts(r, st, real, sounding, started, notes, count, topx, singx, lo, n, voices, row, pen):
    """Each part start row r may draw at step st (real time `real`) that would move in parallel fifths or
    octaves with the melody or with a part already started at this step loses `pen` nats (a start is never
    forbidden, so no stream is cut short). Voices are ranked as voicing.slices ranks them: the melody on top,
    the parts by pitch; a part's voice before the step is the one at its rank from the bottom among the parts
    sounding then (those held and those that ended at this step), and only where `voices` parts sound under a
    sounding melody at both moments (four voices, as voicing counts a motion). Starts come in ascending pitch,
    so each pair is looked at once, when the higher of the two is drawn."""
    if real < 1 or not singx[real] or not singx[real - 1]:
        return
    held = np.empty(voices + 1, np.int64)  # the parts held through the step, ascending
    new = np.empty(voices + 1, np.int64)  # those started at it so far, ascending
    nh = 0
    nn = 0
    for j in range(n):
        q = lo + j
        if sounding[r, q] and nh + nn <= voices:
            if started[r, q] == st:
                new[nn] = q
                nn += 1
            else:
                held[nh] = q
                nh += 1
    ended = 0  # the parts that ended at this step: the last notes written
    while ended < count[r] and notes[r, count[r] - 1 - ended, 2] == st:
        ended += 1
    if nh + ended != voices or nn + nh >= voices:
        return  # not `voices` parts before the step, or none left to start
    before = np.empty(voices, np.int64)  # the parts sounding before the step, ascending (insertion)
    for x in range(voices):
        q = held[x] if x < nh else notes[r, count[r] - 1 - (x - nh), 0]
        y = x
        while y > 0 and before[y - 1] > q:
            before[y] = before[y - 1]
            y -= 1
        before[y] = q
    m0, m1 = topx[real - 1], topx[real]
    for j in range(n):
        if row[j] <= HALF:
            continue
        q = lo + j
        k = nn  # its rank from the bottom after the step: the starts so far and the held parts below it
        for x in range(nh):
            if held[x] < q:
                k += 1
        if k >= voices:
            continue
        was = before[k]
        hit = _parallel(m0, m1, was, q)
        for y in range(nn):  # each part started at this step below it
            s = new[y]
            ks = y
            for x in range(nh):
                if held[x] < s:
                    ks += 1
            if ks < voices and _parallel(was, q, before[ks], s):
                hit = True
        if hit:
            row[j] -= pen


@njit(**_opts)
def chordal_starts(r, real, sounding, topx, singx, lo, n, row, pen):
    """On a beat, each part start row r may draw that would take what sounds (the melody's note, the parts
    sounding: those that end at this step have ended, as ends come first) out of one chord's notes (a triad or
    a seventh: voicing.CHORDAL) loses `pen` nats, where what sounds is one chord's notes now."""
    mask = 0
    if singx[real]:
        mask |= 1 << (topx[real] % 12)
    for j in range(n):
        if sounding[r, lo + j]:
            mask |= 1 << ((lo + j) % 12)
    if not CHORDAL[mask]:
        return
    for j in range(n):
        if row[j] > HALF and not CHORDAL[mask | (1 << ((lo + j) % 12))]:
            row[j] -= pen


@njit(**_opts)
def _finish(r, step, sounding, started, notes, count, done, lo, n):
    """Row r is over: every part still sounding ends at its step (ascending pitch)."""
    for j in range(n):
        q = lo + j
        if sounding[r, q]:
            notes[r, count[r], 0] = q
            notes[r, count[r], 1] = started[r, q]
            notes[r, count[r], 2] = step[r]
            count[r] += 1
            sounding[r, q] = False
    done[r] = True


@njit(**_opts)
def run(iters, logits, base, h, c, snd, z, scratch, W, lstm, note_state,  # the model and its state
        step, nxt, sounding, started, done, lastk, lastq, owe, produced,  # each row's place
        notes, count,  # each row's parts: (pitch, start step, end step), how many
        ev_step, ev_id, topx, singx,  # the melody: its tokens' steps and ids; its pitch and whether it sings
        lo, n, w0, mw, lead, first, end, cap, voices, hold,  # the codec's layout, the piece's bounds
        code, temperature, top_k, top_p, top_n, seed, trace, traced, pause_at, K, fwd, has, r0, parallel,
        chordal=0.0, beat=0):
    """Up to `iters` tokens for every row (fewer when every row is done): returns (iterations, tokens made).
    With K readings (K > 1), each row is K rows of the net's state and logits, the music transposed by a shift
    each: row r draws from their geometric mean (mixed) and each reads what it draws as its shift has it (fwd).
    `trace` (rows, length), when it has rows: every token each row reads, `traced` of them so far.
    `pause_at` (a step, or -1): a row that reaches it stops there, its state as it was when it arrived, until
    every row has (or is done): the call returns then. `r0`: the first row's index in the whole batch (its draws
    are seeded by it: rows run in two calls at once, one a core, draw what they draw in one). `parallel`: nats
    off a start that would move in parallel fifths or octaves (parallel_starts; 0: none)."""
    B = logits.shape[0] // K
    V = logits.shape[1]
    tok = np.empty(B, np.int32)
    tokk = np.empty(B * K, np.int32)
    row = np.empty(V, np.float32)
    starts_note = np.zeros(V, np.bool_)  # a part's start: the first n tokens (top_p_notes' nucleus)
    starts_note[:n] = True
    paused = np.zeros(B, np.bool_)
    held_h = np.empty_like(h)
    held_c = np.empty_like(c)
    held_logits = np.empty_like(logits)
    made = 0
    it = 0
    while it < iters:
        alive = False
        for r in range(B):
            if not done[r] and not paused[r]:
                alive = True
        if not alive:
            break
        for r in range(B):
            if done[r] or paused[r]:
                tok[r] = w0  # a row that is done or paused reads waits, and nothing of it is kept
                continue
            st = step[r]
            if 0 <= pause_at <= st:  # arrived: its state kept as it is now
                paused[r] = True
                for rr in range(r * K, r * K + K):
                    for layer in range(h.shape[0]):
                        put(held_h[layer, rr], h[layer, rr])
                        put(held_c[layer, rr], c[layer, rr])
                    put(held_logits[rr], logits[rr])
                tok[r] = w0
                continue
            k = nxt[r]
            if ev_step[k] == st:  # the melody, read as given
                tok[r] = ev_id[k]
                nxt[r] = k + 1
                lastk[r] = 0
                continue
            if st >= end or produced[r] >= cap:
                _finish(r, step, sounding, started, notes, count, done, lo, n)
                tok[r] = w0
                continue
            # the mask of what this row may do now
            real = st - lead if st > lead else 0
            mixed(logits, r, K, fwd, has, row)
            for v in range(V):
                row[v] += base[v]
            under = topx[real]
            lk = lastk[r]
            lq = lastq[r]
            voiced = 0
            highest = -1
            any_must = False
            overdue = False
            low_must = lo + n  # the lowest part that must end at this step: no end above it comes before it
            due = mw + 1  # steps until the first part sounding has been held as long as a part may be
            for j in range(n):
                q = lo + j
                if sounding[r, q]:
                    voiced += 1
                    highest = q
                    if hold > 0 and hold - (st - started[r, q]) < due:
                        due = hold - (st - started[r, q])
                    if started[r, q] != st and q >= under:
                        any_must = True  # the melody has come down to it: it ends first
                        low_must = min(low_must, q)
                    if 0 < hold <= st - started[r, q]:
                        any_must = True  # held as long as a part may be: it ends now
                        overdue = True
                        low_must = min(low_must, q)
            closed = voiced >= voices or st < lead or real < first  # no part before the tune
            for j in range(n):
                q = lo + j
                on = sounding[r, q]
                young = started[r, q] == st  # a part lasts at least a step
                must = on and not young and (q >= under or 0 < hold <= st - started[r, q])
                if on:
                    row[j] += NEG
                if not (on and not young):
                    row[n + j] += NEG
                # the codec's order at a step: ends, then starts, each in ascending pitch
                if (lk == 2 or (lk == 1 and q <= lq)) and not must:
                    row[n + j] += NEG
                if q > low_must:  # ends go up in pitch: a part that must end goes before any above it
                    row[n + j] += NEG
                if (lk == 2 and q <= lq) or any_must:
                    row[j] += NEG
                if closed or q >= under:
                    row[j] += NEG
            if parallel > 0 and not closed:
                parallel_starts(r, st, real, sounding, started, notes, count, topx, singx, lo, n, voices, row,
                                parallel)
            if chordal > 0 and not closed and st >= lead and beat > 0 and real % beat == 0:
                chordal_starts(r, real, sounding, topx, singx, lo, n, row, chordal)
            nx = ev_step[nxt[r]]
            gap = (nx if nx < end else end) - st
            if highest >= 0:  # a part sounding reaches the melody where it goes down: it ends there first
                if topx[real] <= highest:
                    gap = 0
                else:
                    first_low = mw + 1
                    if st >= lead:
                        for el in range(1, mw + 1):
                            if topx[real + el] <= highest:
                                first_low = el
                                break
                    if first_low < gap:
                        gap = first_low
            if overdue:
                gap = 0  # time waits for the overdue part's end
            elif due < gap:
                gap = due  # and never passes the step it is due
            for el in range(1, mw + 1):
                if el > gap:
                    row[w0 + el - 1] += NEG
            open_start = False
            for j in range(n):
                if row[j] > HALF:
                    open_start = True
            open_part = open_start
            for j in range(n, 2 * n):
                if row[j] > HALF:
                    open_part = True
            # under a sounding melody, time moves on only with every part sounding; after a wait stopped
            # short of the melody, a part's start or end comes next
            if (singx[real] and voiced < voices and st >= lead and open_start) or (owe[r] and open_part):
                for el in range(mw):
                    row[w0 + el] = NEG
            if not open_part:  # nothing but time can move: the wait the codec writes, up to what comes next
                t = w0 + max(1, min(gap, mw)) - 1
            else:
                t = sample_row(row, code, np.float64(temperature), top_k, np.float64(top_p), top_n, seed, r0 + r,
                               produced[r], starts_note)
            if row[t] <= HALF:  # nothing allowed is left (cannot happen: a wait of 1 always fits)
                t = w0
            tok[r] = t
            if t < n:
                q = lo + t
                sounding[r, q] = True
                started[r, q] = st
                lastk[r] = 2
                lastq[r] = q
            elif t < 2 * n:
                q = lo + t - n
                notes[r, count[r], 0] = q
                notes[r, count[r], 1] = started[r, q]
                notes[r, count[r], 2] = st
                count[r] += 1
                sounding[r, q] = False
                lastk[r] = 1
                lastq[r] = q
            elif t < w0 + mw:
                step[r] = st + t - w0 + 1
                lastk[r] = 0
            owe[r] = w0 <= t < w0 + mw and t - w0 + 1 < min(gap, mw)  # short of the melody's next
            produced[r] += 1
        for r in range(B):
            if paused[r]:
                continue
            if not done[r]:
                made += 1
            if r < trace.shape[0] and traced[r] < trace.shape[1]:
                trace[r, traced[r]] = tok[r]
                traced[r] += 1
        for r in range(B):  # each reading reads the token as its shift has it
            for k in range(K):
                tokk[r * K + k] = fwd[k, tok[r]]
        advance(tokk, snd, h, c, z, scratch, W, lstm, note_state)
        project(h[-1], W, logits, scratch)
        it += 1
    for r in range(B):  # the paused rows as they arrived: what they were fed since is forgotten
        if paused[r]:
            for rr in range(r * K, r * K + K):
                for layer in range(h.shape[0]):
                    put(h[layer, rr], held_h[layer, rr])
                    put(c[layer, rr], held_c[layer, rr])
                put(logits[rr], held_logits[rr])
    return it, made


# ----- judging the candidates at a bar line --------------------------------------------------------
@njit(**_opts)
def _top_at(melody, t):
    """The melody's highest pitch sounding at tick t (-1: none)."""
    top = -1
    for i in range(melody.shape[0]):
        if melody[i, 2] <= t < melody[i, 3] and melody[i, 0] > top:
            top = melody[i, 0]
    return top


@njit(**_opts)
def _sorted(a):
    """A copy of a (1-D) in ascending order: an insertion sort, one pass over what comes in order (notes by their
    starts, as judge's do)."""
    out = np.empty(a.shape[0], a.dtype)
    for i in range(a.shape[0]):
        x = a[i]
        j = i
        while j > 0 and out[j - 1] > x:
            out[j] = out[j - 1]
            j -= 1
        out[j] = x
    return out


@njit(**_opts)
def distinct(a, b):
    """np.unique(np.concatenate((a, b))) for 1-D a and b: each sorted (`_sorted`), then merged without repeats
    (np.unique's sort compiled ~3.5 s of a machine's first `cadenza warm`)."""
    a, b = _sorted(a), _sorted(b)
    out = np.empty(a.shape[0] + b.shape[0], a.dtype)
    i = j = n = 0
    while i < a.shape[0] or j < b.shape[0]:
        if j >= b.shape[0] or (i < a.shape[0] and a[i] <= b[j]):
            x = a[i]
            i += 1
        else:
            x = b[j]
            j += 1
        if n == 0 or out[n - 1] != x:
            out[n] = x
            n += 1
    return out[:n]


@njit(**_opts)
def _slice_at(melody, parts, t, out):
    """The pitches sounding at tick t from the top into out (the melody's highest first, where one sounds;
    then the parts', highest first, a pitch as often as it sounds): how many (voicing.slices' lists)."""
    top = _top_at(melody, t)
    m = 0
    if top >= 0:
        out[0] = top
        m = 1
    first = m
    for i in range(parts.shape[0]):
        if parts[i, 2] <= t < parts[i, 3]:
            if m >= out.shape[0]:
                return m + 1  # more than the slice can hold: not four voices
            q = parts[i, 0]
            j = m
            while j > first and out[j - 1] < q:  # insertion, descending
                out[j] = out[j - 1]
                j -= 1
            out[j] = q
            m += 1
    return m


@njit(**_opts)
def judge(melody, parts, tpq, chordal=CHORDAL_WEIGHT):
    """A candidate's parts against the melody, lower is better: parallel fifths and octaves per 100 voice-pair
    motions (bridge.music.voicing.parallels), weighted five times, less the percentage of the melody's on-beat
    notes whose pitch class the parts sound (voicing.chord_tone_share), weighted one and a half times (at once,
    on 40 held-out chorales judged bar by bar: 0.33 of those notes sounded, Bach 0.36, and 2.2 parallels per 100
    motions; weighted as the parallels' fifth, 0.30 and 1.4; twice, 0.36 and 3.0). The same figures as voicing's
    (tested), in one compiled pass: numpy's took ~5 ms of 8 bars' 50. Less, too, the percentage of the moments on
    a beat that sound one chord's notes only (a triad or a seventh: voicing.chordal_share), weighted `chordal`
    (CHORDAL_WEIGHT, 1.5; session 28, 40 held-out chorales with chorale-harmony's parallels at 6 nats: 0.79 of
    those moments were chords, 0.89 so, Bach 0.89; the real chords' pitch classes sounded 0.435 -> 0.461, the
    melody's on-beat notes in the parts 0.384 -> 0.367, Bach 0.357; weighted 2, 0.91 and 0.341; folk-chords
    0.83 -> 0.87, Nottingham 0.86). melody and parts: (N, 4) pitch, velocity, start, end, in ticks."""
    if parts.shape[0] == 0:
        return np.inf
    times = distinct(melody[:, 2], parts[:, 2])
    a = np.empty(8, np.int64)
    b = np.empty(8, np.int64)
    found = 0
    motions = 0
    na = -1
    for ti in range(times.shape[0]):
        nb = _slice_at(melody, parts, times[ti], b)
        if na == 4 and nb == 4:
            for i in range(4):
                for j in range(i + 1, 4):
                    if a[i] == b[i] or a[j] == b[j]:
                        continue
                    motions += 1
                    found += _parallel(a[i], b[i], a[j], b[j])
        for i in range(min(nb, 8)):
            a[i] = b[i]
        na = nb
    fit = 0  # moments on a beat that sound one chord's notes only (voicing.chordal_share)
    beats = 0
    for ti in range(times.shape[0]):
        t = times[ti]
        if t % tpq != 0:
            continue
        top = _top_at(melody, t)
        mask = 0
        if top >= 0:
            mask |= 1 << (top % 12)
        for i in range(parts.shape[0]):
            if parts[i, 2] <= t < parts[i, 3]:
                mask |= 1 << (parts[i, 0] % 12)
        if mask & (mask - 1):
            beats += 1
            fit += CHORDAL[mask]
    agree = 0
    counted = 0
    for i in range(melody.shape[0]):
        s = melody[i, 2]
        if s % tpq != 0:
            continue
        counted += 1
        pc = melody[i, 0] % 12
        for j in range(parts.shape[0]):
            if parts[j, 2] <= s < parts[j, 3] and parts[j, 0] % 12 == pc:
                agree += 1
                break
    return 500.0 * found / max(motions, 1) - 150.0 * agree / max(counted, 1) - chordal * 100.0 * fit / max(beats, 1)


@njit(**_opts)
def _tick(x):
    """np.round's rounding (half to even) of a float, as an integer."""
    r = np.floor(x)
    d = x - r
    if d > 0.5 or (d == 0.5 and r % 2 == 1):
        r += 1
    return np.int64(r)


@njit(**_opts)
def judge_row(triples, sounding, started, since, at, real, lead, f, tpq, chordal=CHORDAL_WEIGHT):
    """judge() of a row's parts from stream step `since` on (those ended after it; with `at` >= 0, those still
    sounding too, as if they ended there) against the melody's notes there (`real`, ticks). triples: the row's
    parts as (pitch, start step, end step); f: ticks a step."""
    n = 0
    for i in range(triples.shape[0]):
        n += triples[i, 2] > since
    if at >= 0:
        for q in range(sounding.shape[0]):
            n += sounding[q]
    parts = np.empty((n, 4), np.int64)
    m = 0
    for i in range(triples.shape[0] + (sounding.shape[0] if at >= 0 else 0)):
        if i < triples.shape[0]:
            if triples[i, 2] <= since:
                continue
            q, a, b = triples[i, 0], triples[i, 1], triples[i, 2]
        else:
            q = i - triples.shape[0]
            if not sounding[q]:
                continue
            a, b = started[q], at
        if b - lead <= 0:  # over before the melody's time begins (the lead): not heard
            continue
        parts[m, 0] = q
        parts[m, 1] = 0
        parts[m, 2] = max(_tick((a - lead) * f), 0)
        parts[m, 3] = _tick((b - lead) * f)
        m += 1
    keep = np.zeros(real.shape[0], np.bool_)
    for i in range(real.shape[0]):
        keep[i] = real[i, 3] > (since - lead) * f and (at < 0 or real[i, 2] < (at - lead) * f)
    return judge(real[keep], parts[:m], tpq, chordal)
