"""Compiled inner loops (numba): MIDI track scanning, sustain pedal, performance events.

Each kernel is a plain loop over arrays with the same semantics as the documented Python
behaviour around it; numba caches the machine code on disk, so only the first run on a machine
pays the compile (a few seconds). The cache goes to $NUMBA_CACHE_DIR, by default
~/.cache/cadenza/numba/<a digest of the kernels' sources> (bridge/caches.py), so a read-only install still caches.
"""
from __future__ import annotations

from .. import caches

caches.use_kernel_cache()  # before numba is imported: a folder of these kernels' own (bridge/caches.py)

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402

MAX_OPEN = 32  # overlapping notes of one pitch on one channel kept open; older ones beyond are dropped


@njit(cache=True, nogil=True)
def _vlq(data, i, end):
    value = 0
    for _ in range(4):
        if i >= end:
            break
        c = data[i]
        i += 1
        value = (value << 7) | (c & 0x7F)
        if c < 0x80:
            break
    return value, i


@njit(cache=True, nogil=True)
def scan_track(data, i, end):
    """One MTrk body -> (notes, controls, metas, last_tick).

    notes: (pitch, velocity, start, end, channel, program) in the order they close;
    controls: (tick, channel, number, value); metas: (tick, type, a, b) for tempo (a = usec),
    time signature (a = numerator, b = log2 denominator) and track name (a = offset, b = length).
    """
    cap = (end - i) // 2 + 16
    notes = np.empty((cap, 6), np.int64)
    controls = np.empty((cap, 4), np.int64)
    metas = np.empty((cap // 2 + 16, 4), np.int64)
    nn = 0
    nc = 0
    nm = 0
    program = np.zeros(16, np.int64)
    open_cnt = np.zeros(2048, np.int64)
    open_start = np.empty((2048, MAX_OPEN), np.int64)
    open_vel = np.empty((2048, MAX_OPEN), np.int64)
    tick = 0
    status = 0
    while i < end:
        delta, i = _vlq(data, i, end)
        if i >= end:
            break
        tick += delta
        c = data[i]
        if c >= 0x80:
            i += 1
            if c < 0xF0:
                status = c
            elif c == 0xFF:
                if i >= end:
                    break
                mtype = data[i]
                i += 1
                length, i = _vlq(data, i, end)
                if mtype == 0x2F:
                    break
                if mtype == 0x51 and length == 3 and i + 3 <= end:
                    usec = (np.int64(data[i]) << 16) | (np.int64(data[i + 1]) << 8) | np.int64(data[i + 2])
                    if usec > 0:
                        metas[nm, 0] = tick
                        metas[nm, 1] = 0x51
                        metas[nm, 2] = usec
                        metas[nm, 3] = 0
                        nm += 1
                elif mtype == 0x58 and length >= 2 and i + 2 <= end:
                    if data[i] > 0:
                        metas[nm, 0] = tick
                        metas[nm, 1] = 0x58
                        metas[nm, 2] = data[i]
                        metas[nm, 3] = data[i + 1]
                        nm += 1
                elif mtype == 0x59 and length >= 2 and i + 2 <= end:  # key signature: sharps (signed), minor
                    metas[nm, 0] = tick
                    metas[nm, 1] = 0x59
                    metas[nm, 2] = data[i]
                    metas[nm, 3] = data[i + 1]
                    nm += 1
                elif mtype == 0x03 or mtype == 0x06:  # track name, marker: offset and length of the text
                    metas[nm, 0] = tick
                    metas[nm, 1] = mtype
                    metas[nm, 2] = i
                    metas[nm, 3] = min(length, end - i)
                    nm += 1
                i += length
                continue
            elif c == 0xF0 or c == 0xF7:
                length, i = _vlq(data, i, end)
                i += length
                continue
            else:
                # system common and real-time messages have no place in a file, but some files hold them:
                # skip each with its data bytes (MIDI 1.0: F1 and F3 one, F2 two; F4-F6 and F8-FE none)
                n = 1 if (c == 0xF1 or c == 0xF3) else (2 if c == 0xF2 else 0)
                while n > 0 and i < end and data[i] < 0x80:
                    i += 1
                    n -= 1
                continue
        elif status == 0:
            i += 1  # a data byte with no status to run on
            continue
        kind = status & 0xF0
        ch = status & 0x0F
        if kind == 0xC0 or kind == 0xD0:
            if i >= end:
                break
            d1 = min(np.int64(data[i]), 127)
            i += 1
            if kind == 0xC0:
                program[ch] = d1
            continue
        if i + 1 >= end:
            break
        d1 = min(np.int64(data[i]), 127)
        d2 = min(np.int64(data[i + 1]), 127)
        i += 2
        if kind == 0x90 and d2 > 0:
            key = (ch << 7) | d1
            k = open_cnt[key]
            if k == MAX_OPEN:
                for j in range(1, MAX_OPEN):
                    open_start[key, j - 1] = open_start[key, j]
                    open_vel[key, j - 1] = open_vel[key, j]
                k -= 1
            open_start[key, k] = tick
            open_vel[key, k] = d2
            open_cnt[key] = k + 1
        elif kind == 0x80 or kind == 0x90:
            key = (ch << 7) | d1
            k = open_cnt[key]
            if k == 0:
                continue
            kept = 0
            closed = 0
            for j in range(k):
                if open_start[key, j] != tick:
                    notes[nn, 0] = d1
                    notes[nn, 1] = open_vel[key, j]
                    notes[nn, 2] = open_start[key, j]
                    notes[nn, 3] = tick
                    notes[nn, 4] = ch
                    notes[nn, 5] = program[ch]
                    nn += 1
                    closed += 1
                else:
                    open_start[key, kept] = open_start[key, j]
                    open_vel[key, kept] = open_vel[key, j]
                    kept += 1
            # as pretty_midi: notes begun on this very tick survive only if older ones were closed
            open_cnt[key] = kept if closed > 0 else 0
        elif kind == 0xB0:
            controls[nc, 0] = tick
            controls[nc, 1] = ch
            controls[nc, 2] = d1
            controls[nc, 3] = d2
            nc += 1
    for key in range(2048):
        for j in range(open_cnt[key]):
            if tick > open_start[key, j]:
                if nn == notes.shape[0]:
                    break
                notes[nn, 0] = key & 0x7F
                notes[nn, 1] = open_vel[key, j]
                notes[nn, 2] = open_start[key, j]
                notes[nn, 3] = tick
                notes[nn, 4] = key >> 7
                notes[nn, 5] = program[key >> 7]
                nn += 1
    return notes[:nn], controls[:nc], metas[:nm], tick


@njit(cache=True, nogil=True)
def sustain_ends(pitch, start, end, ev_time, ev_kind, ev_idx):
    """note-seq's apply_sustain_control_changes over sorted events; returns (new ends, kept mask).

    ev_kind: 0 pedal down, 1 pedal up, 2 note on, 3 note off; ev_idx: the note of a note event.
    """
    n = len(pitch)
    end = end.copy()
    keep = np.ones(n, np.bool_)
    active = np.empty(n, np.int64)
    na = 0
    down = False
    time = 0
    for e in range(len(ev_time)):
        time = ev_time[e]
        kind = ev_kind[e]
        i = ev_idx[e]
        if kind == 0:
            down = True
        elif kind == 1:
            down = False
            m = 0
            for a in range(na):
                j = active[a]
                if end[j] < time:
                    end[j] = time
                else:
                    active[m] = j
                    m += 1
            na = m
        elif kind == 2:
            if down:
                m = 0
                for a in range(na):
                    j = active[a]
                    if pitch[j] == pitch[i]:
                        end[j] = time
                        if start[j] == end[j]:
                            keep[j] = False
                    else:
                        active[m] = j
                        m += 1
                na = m
            active[na] = i
            na += 1
        elif not down:
            for a in range(na):
                if active[a] == i:
                    for b in range(a + 1, na):
                        active[b - 1] = active[b]
                    na -= 1
                    break
    for a in range(na):
        end[active[a]] = time
    return end, keep


@njit(cache=True, nogil=True)
def performance_events(ev_step, ev_idx, ev_off, pitch, bins, max_shift, shift0, vel0, use_velocity):
    """Token ids from sorted (step, note, is_offset) events, as note-seq's Performance."""
    out = np.empty(3 * len(ev_step) + ev_step[-1] // max_shift + 8, np.int32)
    n = 0
    current = 0
    current_bin = 0
    for e in range(len(ev_step)):
        step = ev_step[e]
        i = ev_idx[e]
        if step > current:
            while step > current + max_shift:
                if n == len(out):
                    out = np.concatenate((out, np.empty(len(out), np.int32)))
                out[n] = shift0 + max_shift
                n += 1
                current += max_shift
            if n == len(out):
                out = np.concatenate((out, np.empty(len(out), np.int32)))
            out[n] = shift0 + step - current
            n += 1
            current = step
        if n + 2 >= len(out):
            out = np.concatenate((out, np.empty(len(out), np.int32)))
        if ev_off[e]:
            out[n] = 128 + pitch[i]
            n += 1
        else:
            if use_velocity and bins[i] != current_bin:
                current_bin = bins[i]
                out[n] = vel0 + current_bin
                n += 1
            out[n] = pitch[i]
            n += 1
    return out[:n]


@njit(cache=True, nogil=True, inline="always")
def _put(out, made, pitch, velocity, start, end):
    """One note into row `made` of an (N, 4) note array; the next free row."""
    out[made, 0] = pitch
    out[made, 1] = velocity
    out[made, 2] = start
    out[made, 3] = end
    return made + 1


@njit(cache=True, nogil=True)
def performance_notes(ids, eos, velocity_offset, bin_size, use_velocity):
    """(N, 4) pitch, velocity, start step, end step of the notes in performance tokens, as note-seq reads them:
    note-offs close a pitch's open notes first in, first out; an off with none open is ignored, and so is a
    note of no length; notes still open at the end close there. Made in the order they close."""
    n = len(ids)
    out = np.empty((n, 4), np.int64)
    q_step = np.empty(n, np.int64)  # the open notes, one linked queue per pitch
    q_vel = np.empty(n, np.int64)
    q_next = np.empty(n, np.int64)
    head = np.full(128, -1, np.int64)
    tail = np.full(128, -1, np.int64)
    nodes = 0
    made = 0
    step = 0
    velocity = 64
    for k in range(n):
        t = ids[k]
        if t == eos:
            break
        if t < 128:
            q_step[nodes] = step
            q_vel[nodes] = velocity
            q_next[nodes] = -1
            if tail[t] >= 0:
                q_next[tail[t]] = nodes
            else:
                head[t] = nodes
            tail[t] = nodes
            nodes += 1
        elif t < 256:
            p = t - 128
            a = head[p]
            if a >= 0:
                head[p] = q_next[a]
                if head[p] < 0:
                    tail[p] = -1
                if step > q_step[a]:
                    made = _put(out, made, p, q_vel[a], q_step[a], step)
        elif t < velocity_offset:
            step += t - 255
        elif use_velocity:
            velocity = 1 + (t - velocity_offset) * bin_size
    for p in range(128):
        a = head[p]
        while a >= 0:
            if step > q_step[a]:
                made = _put(out, made, p, q_vel[a], q_step[a], step)
            a = q_next[a]
    return out[:made]


@njit(cache=True, nogil=True)
def notewise_notes(ids, eos, n_pitches, low, max_wait, velocity):
    """(N, 4) pitch, velocity, start step, end step of the notes in notewise tokens: a pitch sounds once at a
    time (struck again without a release, the sounding note ends there); a note of no length is dropped;
    notes still sounding at the end close there."""
    n = len(ids)
    out = np.empty((n, 4), np.int64)
    start = np.full(n_pitches, -1, np.int64)
    made = 0
    step = 0
    w0 = 2 * n_pitches
    for k in range(n):
        t = ids[k]
        if t == eos:
            break
        if t < w0:
            q = t if t < n_pitches else t - n_pitches
            s = start[q]
            if s >= 0:
                start[q] = -1
                if step > s:
                    made = _put(out, made, q + low, velocity, s, step)
            if t < n_pitches:
                start[q] = step
        elif t < w0 + max_wait:
            step += t - w0 + 1
    for q in range(n_pitches):
        s = start[q]
        if s >= 0 and step > s:
            made = _put(out, made, q + low, velocity, s, step)
    return out[:made]
