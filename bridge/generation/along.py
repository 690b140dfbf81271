"""Play along: a harmony model writing the parts beat by beat while the melody is being played.

The harmony codec reads the melody `lead` steps ahead of the parts (bridge.codecs.harmony). Live, that future
is not known yet, so at each beat the model *imagines* it: from the state after everything played so far it
draws the melody's next `lead` steps itself (the same model, trained on melodies too), and under that imagined
melody writes the parts of the coming beat. Only the parts are kept; the imagined melody is thrown away, and at
the next beat the real melody played in the meantime is read instead (the model's state is kept at the last
step where every token is real, and the speculation runs on a copy).

    along = Along(loaded, request, voices=3)
    for each beat b, shortly before it sounds:
        notes = along.beat(melody_so_far, 12 * (b + 1))   # [(pitch, on, off)]: parts starting in beat b

On a beat, a part's start that would take what sounds out of one chord's notes (a triad or a seventh) is drawn
less (CHORDAL_NATS): live there are no candidates to judge, as harmonize judges its own.

Latency: a melody note counts for the parts of beat b when it started before the moment `beat(.., b)` is
called (the daemon calls it `margin` before the beat). A note that arrives later is read at the first step
not yet read, so the parts never go back in time.
"""
from __future__ import annotations

import numpy as np

from ..errors import CadenzaError
from .runner import Request, as_drawn

NEG = np.float32(-1e9)
HOLD = 8  # a part started by the speculation sounds at most to HOLD beats after the end of its own beat (ended there)
CHORDAL_NATS = 2.0  # nats off a part's start on a beat that would take what sounds out of one chord's notes
# (voicing.CHORDAL; the melody's note there is the one the model imagines: the note played on the beat comes after
# its parts are decided). Session 28, `cadenza bench along --melodies 40 --beats 8 --qpm 120` (359 beats live):
# beats sounding one chord 0.584 -> 0.682 (5 nats 0.711; Bach 0.895), the melody's on-beat notes in the parts
# 0.265 -> 0.303 (5 nats 0.241: the figure moves ~0.03 between runs), all on time. Harmonize judges its candidates
# by the same figure instead (harmonize_kernels.judge).


def _breaks_chord(pitches: np.ndarray, melody: list, sounding) -> np.ndarray:
    """(len(pitches),) whether starting each pitch now would take what sounds (the melody's note, the parts)
    out of one chord's notes (voicing.CHORDAL) where it is one now."""
    from ..music.voicing import CHORDAL, pitch_classes

    mask = pitch_classes(list(melody) + list(sounding))
    if not CHORDAL[mask]:
        return np.zeros(len(pitches), bool)
    return ~CHORDAL[mask | (1 << (pitches % 12))]


class Along:
    def __init__(self, loaded, req: Request, voices: int = 3, transpositions: int = 1):
        from .constraints import mask as make_mask
        from .harmonize import readings
        from .decode import generator_for
        from .sampling import STRATEGIES

        req = as_drawn(loaded, req)  # the model's own priors and nucleus where the request leaves them to it
        codec = loaded.codec
        if not codec.harmonizes:
            raise CadenzaError(f"{loaded.name} does not play along (it is a {codec.name} model): choose a harmony "
                               "model, e.g. chorale-harmony")
        self.codec, self.req, self.voices = codec, req, voices
        self.gen = generator_for(loaded)
        p = codec.params
        self.spq, self.lead, self.lo, self.n = p["steps_per_quarter"], p["lead"], p["low"], codec.n_pitches
        self.w0, self.mw, self.m0 = codec.wait0, p["max_wait"], codec.melody0
        self.code = STRATEGIES.index(req.sampling.strategy)
        self.onp = codec.onset_pitches()
        self.mask = make_mask(self.onp, req.scale, req.pitch_range, forbid=(codec.eos,) if codec.eos is not None else ())
        self.base = self.mask  # and the key prior of the melody played so far, each beat (beat())
        # the music read at `transpositions` transpositions at once, each draw from their pooled distribution
        # (harmonize's readings and mixture)
        self.fwd, self.has = readings(codec, transpositions)
        self.logits, self.state = self.gen.prime(np.zeros(0, np.int32))
        if transpositions > 1:
            self.state, self.logits = self.gen.new_state(transpositions), np.repeat(self.logits, transpositions, 0)
        self.read = 0  # stream steps read for good (real melody, parts as decided)
        self.decided = 0  # real steps whose parts are decided
        self.parts: list[tuple[int, int, str, int]] = []  # (real step, order, "on"/"off", pitch), as decided
        self.notes: list[tuple[int, int, int]] = []  # the parts decided and not over: (pitch, on, off)
        self.draws = 0
        self.heard: dict[tuple[int, int], int] = {}  # melody notes read: (pitch, on) -> the step read at
        self.ended: set[tuple[int, int]] = set()  # melody notes whose end is read

    # ----- tokens --------------------------------------------------------------------------------------
    def _feed(self, tokens: list[int], state, logits):
        for t in tokens:
            logits = self.gen.step(np.ascontiguousarray(self.fwd[:, t]), state)
        return logits

    def _row(self, logits) -> np.ndarray:
        """(V,) float32: what the next token is drawn from: the logits, or with several readings their mixture."""
        if len(self.fwd) == 1:
            return logits[0]
        from .harmonize import mixture

        return np.maximum(mixture(logits, self.fwd, self.has), NEG).astype(np.float32)

    def _waits(self, gap: int) -> list[int]:
        out = []
        while gap > 0:
            w = min(gap, self.mw)
            out.append(self.w0 + w - 1)
            gap -= w
        return out

    def _melody_events(self, melody, lo: int, hi: int):
        """(stream step, order, id) of the real melody's tokens not read yet, at steps before `hi`: a note that
        began before `lo` but was not read (it arrived late) counts at `lo`; an end not known yet waits."""
        out = []
        for pitch, on, off in melody:
            q = int(pitch)
            while q < self.lo:
                q += 12
            while q > self.lo + self.n - 1:
                q -= 12
            i, key = q - self.lo, (int(pitch), int(on))
            at = self.heard.get(key)
            if at is None and int(on) < hi:
                at = max(int(on), lo)
                self.heard[key] = at
                out.append((at, 1, self.m0 + i))
            if at is not None and off is not None and key not in self.ended:
                end = max(int(off), at + 1, lo)
                if end < hi:
                    self.ended.add(key)
                    out.append((end, 0, self.m0 + self.n + i))
        # what is remembered of the melody is bounded by the melody given (the daemon keeps a bounded phrase)
        given = {(int(p), int(on)) for p, on, _ in melody}
        self.heard = {k: v for k, v in self.heard.items() if k in given}
        self.ended &= given
        return sorted(out)

    def _part_events(self, lo: int, hi: int):
        """(stream step, order, id) of the decided parts in stream steps [lo, hi) (real steps minus lead)."""
        out = []
        for step, _, kind, pitch in self.parts:
            s = step + self.lead
            if lo <= s < hi:
                out.append((s, 2 if kind == "off" else 3, (self.n if kind == "off" else 0) + pitch - self.lo))
        return sorted(out)

    def _stream(self, events, lo: int, hi: int) -> list[int]:
        tokens, cur = [], lo
        for s, _, t in events:
            tokens += self._waits(s - cur)
            cur = s
            tokens.append(t)
        return tokens + self._waits(hi - cur)

    # ----- one beat ------------------------------------------------------------------------------------------
    def beat(self, melody, upto: int) -> list[tuple[int, int, int]]:
        """Decide the parts that start before real step `upto` (from the last decided step), given the melody
        played so far: (pitch, on step, off step or None while held). Returns the new parts as whole notes
        [(pitch, on step, off step)]: a part that starts now is given its end now too (the speculation runs
        on until it ends, at most HOLD beats), so a client can be sent each note, with its length, on time."""
        from .constraints import key_prior

        start = self.decided
        if upto <= start:
            return []
        self.base = self.mask + key_prior(self.onp, [int(m[0]) for m in melody], self.req.key_prior)
        # 1. read for good what is real: the melody up to `start`, the parts decided up to start - lead
        ev = self._melody_events(melody, self.read, start) + self._part_events(self.read, start)
        self.logits = self._feed(self._stream(sorted(ev), self.read, start), self.state, self.logits)
        self.read = start
        held = [int(p) for p, on, off in melody if off is None or int(off) > start]
        top = max(held, default=None)
        last = int(max(melody, key=lambda m: m[1])[0]) if melody else None
        # 2. imagine: a copy of the state runs on, the melody drawn by the model; the parts of [start, upto) kept
        state = {k: v.copy() for k, v in self.state.items()}
        logits = self.logits.copy()
        forced = self._part_events(start, 10**9)  # decided parts still to read: starts and ends (stream steps)
        fi = 0
        end = upto + self.lead
        limit = end + HOLD * self.spq  # how far the speculation may run to end the parts it starts
        s = start
        mel = set(held)
        mel_started: dict[int, int] = {}
        tops: list[tuple[int, int | None]] = []
        new: dict[int, int] = {}  # parts started in [start, upto): pitch -> on step
        notes: list[tuple[int, int, int]] = []
        sounding = {q: on for q, on, off in self.notes if on < start < off}  # parts sounding: pitch -> on step
        owed = set(sounding)  # their ends are decided already: read when they come, never drawn
        while s < end or (new and s < limit):
            self._imagine(logits, state, mel, mel_started, s)
            tops.append((s, max(mel) if mel else (top if top is not None else last), bool(mel)))
            logits = state["_logits"]
            real = s - self.lead
            while fi < len(forced) and forced[fi][0] == s:  # decided parts, read as they are
                tok = forced[fi][2]
                if tok >= self.n:
                    sounding.pop(self.lo + tok - self.n, None)
                    owed.discard(self.lo + tok - self.n)
                logits = self._feed([tok], state, logits)
                fi += 1
            nxt = forced[fi][0] if fi < len(forced) else 10**9
            if real < start:  # before the beat: only time passes
                t = self._draw_wait(logits, min(nxt, start + self.lead) - s)
            else:
                t = None
                order = (0, 0)  # the codec's order at a step: ends, then starts, each in ascending pitch
                for _ in range(2 * self.n):
                    room = min(nxt, end if s < end else limit) - s
                    under, singing = self._top_at(tops, real, top, last)
                    t = self._draw_part(logits, sounding, owed, real, under, room, starting=s < end, full=singing,
                                        order=order)
                    if t >= self.w0:
                        break
                    q = self.lo + (t % self.n)
                    order = (2 if t < self.n else 1, q)
                    if t < self.n:
                        sounding[q] = real
                        new[q] = real
                    else:
                        sounding.pop(q)
                        if q in new:
                            notes.append((q, new.pop(q), real))
                    logits = self._feed([t], state, logits)
                if t is None or t < self.w0:
                    t = self.w0
            logits = self._feed([t], state, logits)
            state["_logits"] = logits
            s += t - self.w0 + 1
        for q, on in new.items():  # still sounding at the limit: they end there
            notes.append((q, on, limit - self.lead))
            sounding.pop(q, None)
        state.pop("_logits", None)
        self.decided = upto
        for q, on, off in notes:
            self.parts += [(on, 1, "on", q), (off, 0, "off", q)]
        self.notes = [n for n in self.notes + notes if n[2] > upto]
        self.parts.sort()
        self.parts = [e for e in self.parts if e[0] + self.lead >= self.read]  # what is read for good is dropped
        return sorted(notes, key=lambda n: (n[1], n[0]))

    def _imagine(self, logits, state, mel: set, mel_started: dict, s: int) -> None:
        """The melody at step s as the model imagines it: its ends and starts drawn one by one until it draws
        anything else (one melody note at a time). The state moves on; its last logits go to state["_logits"]."""
        for _ in range(4):
            allow = np.zeros(self.gen.vocab, bool)
            for q in mel:
                if mel_started.get(q, -1) != s and self.lo <= q < self.lo + self.n:
                    allow[self.m0 + self.n + q - self.lo] = True
            if not mel:
                allow[self.m0:self.m0 + self.n] = True
            row = (self._row(logits) + self.base).astype(np.float64)
            probs = np.exp(row - row.max())
            total = probs.sum()
            probs = np.where(allow, probs, 0)
            u = self._uniform() * total
            if total <= 0 or u >= probs.sum():
                break
            t = int(np.searchsorted(np.cumsum(probs), u))
            q = (t - self.m0) % self.n + self.lo
            if t < self.m0 + self.n:
                mel.add(q)
                mel_started[q] = s
            else:
                mel.discard(q)
            logits = self._feed([t], state, logits)
        state["_logits"] = logits

    @staticmethod
    def _top_at(tops, step: int, top, last):
        """(the melody's top pitch at `step`, a stream step of the melody, and whether a note sounds then)."""
        found, sounding = (top if top is not None else last), top is not None
        for s, p, on in tops:
            if s > step:
                break
            found, sounding = (p if p is not None else found), on
        return found, sounding

    def _uniform(self) -> float:
        from . import kernels

        self.draws += 1
        return float(kernels.uniform(self.req.seed, 1, self.draws, 0))

    def _draw(self, row) -> int:
        from . import kernels

        s = self.req.sampling
        self.draws += 1
        # (t and p the float32 they were, as float64: sample_row's one compiled version, the same numbers)
        return int(kernels.sample_row(row, self.code, float(np.float32(s.temperature)), s.top_k or 40,
                                      float(np.float32(s.top_p)), s.n, self.req.seed, 0, self.draws, self.gen.T[0]))

    def _draw_wait(self, logits, gap: int) -> int:
        row = np.full(self.gen.vocab, NEG, np.float32)
        k = min(max(gap, 1), self.mw)
        row[self.w0:self.w0 + k] = self._row(logits)[self.w0:self.w0 + k]
        return self._draw(row)

    def _draw_part(self, logits, sounding: dict, owed: set, real: int, top, room: int, starting: bool,
                   full: bool = False, order: tuple[int, int] = (0, 0)) -> int:
        """A part's start or end, or a wait of at most `room` steps. `owed`: parts whose end is decided already
        (read when it comes, never drawn); `starting`: whether a part may start here (not past the beat, where
        the speculation only ends what it started); `full`: a melody note sounds, so time moves on only with
        every part sounding (as harmonize does); `order`: the last part token at this step (0 none, 1 an end,
        2 a start) and its pitch, so the stream keeps the codec's order (ends, then starts, ascending)."""
        row = self._row(logits) + self.base
        row[self.m0:] = NEG  # the melody is the player's
        pitches = np.arange(self.lo, self.lo + self.n)
        snd = np.array([q in sounding for q in pitches.tolist()])
        free = np.array([q in sounding and q not in owed and sounding[q] != real for q in pitches.tolist()])
        row[:self.n] += np.where(snd, NEG, 0)
        row[self.n:2 * self.n] += np.where(free, 0, NEG)
        kind, after = order
        if kind == 2:
            row[self.n:2 * self.n] = NEG
            row[:self.n] += np.where(pitches > after, 0, NEG)
        elif kind == 1:
            row[self.n:2 * self.n] += np.where(pitches > after, 0, NEG)
        if not starting or snd.sum() >= self.voices:
            row[:self.n] = NEG
        elif top is not None:
            row[:self.n] += np.where(pitches < top, 0, NEG)
        if CHORDAL_NATS and starting and real % self.spq == 0:
            row[:self.n] -= CHORDAL_NATS * _breaks_chord(pitches, [top] if full and top is not None else [], sounding)
        k = min(max(room, 1), self.mw)
        row[self.w0 + k:self.w0 + self.mw] = NEG
        if full and starting and snd.sum() < self.voices and (row[:self.n] > NEG / 2).any():
            row[self.w0:self.w0 + self.mw] = NEG
        return self._draw(row)
