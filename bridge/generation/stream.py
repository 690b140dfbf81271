"""New notes as their tokens come, each once, in constant time a chunk.

A `NoteStream` follows one variation. Each chunk is decoded together with a bounded context (the
codec's decodable `tail` of everything before it, 512 tokens), never with the whole continuation, so
the time a chunk costs stays flat however long the music grows. A note is given once it has ended;
notes still sounding wait for a later chunk. A note that began in the context and ends in the chunk is
found there too. `finish()` gives the notes still sounding at the end from the last chunk's decode;
only when a note outlived the context (it sounded at one chunk's end, and at the next its start had left
the context) does it decode the whole variation once and give whatever is still missing.

Times are beats from the start of the continuation, at the request's tempo for codecs that count
seconds; `beats` (the length asked) drops notes that start at or after it and ends notes there.
"""
from __future__ import annotations

from collections import Counter
from operator import itemgetter

import numpy as np

from ..music.score import TPQ

CONTEXT = 512  # tokens of what came before, decoded with each chunk
GRID = TPQ  # notes are told apart by pitch and start on a grid of 1/TPQ beat (the ticks Cadenza writes)


class NoteStream:
    def __init__(self, codec, prime_ids: np.ndarray, qpm: float | None = None, beats: float | None = None,
                 velocity_range: tuple[int, int] | None = None):
        from . import prime_beats

        self.codec, self.qpm, self.beats = codec, qpm, beats
        self.velocity_range = velocity_range
        per = codec.token_beats(qpm) if qpm else codec.token_beats()  # beats each token takes, looked up once
        self._beats_of = (lambda ids: float(per[np.asarray(ids, np.int64)].sum()) if len(ids) else 0.0) \
            if per is not None else (lambda ids: prime_beats(codec, ids, qpm))
        self.prime_tail = codec.tail(np.asarray(prime_ids), CONTEXT)
        self.context = self.prime_tail
        self.offset = 0.0  # beats of new music before the next chunk
        self.new: list[np.ndarray] = []
        self.sent: dict = {}  # how many notes of each key were given
        self.given_to: float | None = None  # beats of the continuation before which every ended note was given
        self.pending: Counter = Counter()  # notes sounding at the end of the last decode: (pitch, start) keys
        self.outlived = False  # a note outlived the context: finish() decodes the whole variation
        self.last: tuple | None = None  # the last decode (`_decode`) and its zero

    def _decode(self, ids: np.ndarray) -> tuple:
        """The notes of `ids` as each track's array, the ticks a beat and the last note's end tick (what these
        functions read of a decoded Score: `Codec.note_arrays`, without building one)."""
        arrays, tpq = self.codec.note_arrays(ids, self.qpm if self.qpm and self.codec.time_in_seconds else None)
        return arrays, tpq, max((int(a[:, 3].max()) for a in arrays if len(a)), default=0)

    def _key(self, pitch: int, start: float) -> tuple[int, int]:
        return int(pitch), round(start * GRID)

    def _sounding(self, decoded: tuple, zero: float) -> Counter:
        """The notes of a decode sounding at its end that would be given (as `_notes` keys them)."""
        arrays, tpq, end = decoded
        out = Counter()
        for arr in arrays:
            for p, _, a, _ in arr[(arr[:, 3] >= end) & (arr[:, 2] >= (zero - 1e-9) * tpq)].tolist():
                start = a / tpq - zero
                if self.beats is None or start < self.beats - 1e-9:
                    out[self._key(p, start)] += 1
        return out

    def _notes(self, decoded: tuple, zero: float, final: bool, since: float | None = None,
               keys: Counter | None = None) -> list[tuple[int, float, float, int]]:
        """Notes of a decode at or after `zero` beats (the continuation's start in its time), not yet given.
        `since` (in the decode's beats): where the decode before ended (its last event); a note that ended
        before it was complete then, and given then, so it is not looked at again."""
        arrays, tpq, end = decoded
        last = self.beats - 1e-9 if self.beats is not None else float("inf")
        here: dict = {}  # (plain dicts and their get: a Counter's missing key is a Python call, ~600 a request)
        sent = self.sent
        out = []
        for arr in arrays:
            keep = arr[:, 2] >= (zero - 1e-9) * tpq  # the prime's notes: never
            if not final:
                keep &= arr[:, 3] < end  # still sounding: it may grow
            if since is not None:
                keep &= arr[:, 3] >= since * tpq - 2  # (two ticks: seconds made ticks round)
            for p, v, a, b in arr[keep].tolist():
                start = a / tpq - zero
                if start >= last:
                    continue
                dur = (b - a) / tpq
                if self.beats is not None:
                    dur = min(dur, self.beats - start)
                key = (int(p), round(start * GRID))  # (self._key, inline: ~150 calls a request)
                n = here.get(key, 0) + 1
                here[key] = n
                if n <= sent.get(key, 0):
                    continue
                sent[key] = n
                if keys is not None:
                    keys[key] = keys.get(key, 0) + 1
                if self.velocity_range is not None:
                    v = min(max(v, self.velocity_range[0]), self.velocity_range[1])
                out.append((p, start, dur, v))
        out.sort(key=itemgetter(1, 0))
        return out

    def feed(self, ids: np.ndarray) -> list[tuple[int, float, float, int]]:
        """The notes that the chunk `ids` completes."""
        ids = np.asarray(ids)
        self.new.append(ids)
        if not len(ids) or not self.codec.streams:
            return []
        ctx = self.context
        full = np.concatenate([ctx, ids]) if len(ctx) else ids
        decoded = self._decode(full)
        _, tpq, end = decoded
        zero = self._beats_of(ctx) - self.offset  # where the continuation starts, in this decode's beats
        since = None if self.given_to is None else zero + self.given_to
        given: Counter = Counter()
        out = self._notes(decoded, zero, final=False, since=since, keys=given)
        sounding = self._sounding(decoded, zero)
        if any(n > sounding.get(k, 0) + given.get(k, 0) for k, n in self.pending.items()):
            self.outlived = True  # sounding at the last chunk's end, and now neither sounding nor ended here
        self.pending, self.last = sounding, (decoded, zero)
        self.given_to = end / tpq - zero  # every note that ended before it is given
        self.offset += self._beats_of(ids)
        self.context = self.codec.tail(full, CONTEXT)
        return out

    def finish(self) -> list[tuple[int, float, float, int]]:
        """Whatever the chunks could not give: notes still sounding at the end, notes longer than the context."""
        from . import decode_continuation

        if self.last is not None and not self.outlived:  # what still sounds is all in the last decode
            decoded, zero = self.last  # (every note that ended before its end was given then: only those sounding)
            return self._notes(decoded, zero, final=True, since=decoded[2] / decoded[1])
        new = np.concatenate(self.new) if self.new else self.codec.empty()
        score = decode_continuation(self.codec, self.prime_tail, new, include_prime=False, qpm=self.qpm)
        return self._notes((tuple(t.array for t in score.tracks), score.tpq, score.end_tick), 0.0, final=True)
