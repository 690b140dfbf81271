"""One function runs a task, for every door: `run(task, models, sink)`.

It reads a file prime, checks the request against the limits before any work, loads the model, generates
with cancellation and the deadline checked between chunks, writes the files the task asks for (atomically)
and hands events to `sink` as it goes (bridge.tasks.events). It never raises for a request that cannot be
done: the last event says why (Failed), and an unexpected fault is logged with its traceback and answered
the same way, so a door always gets its answer.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..errors import CadenzaError
from ..music import Score
from . import events as E
from .types import HARMONY_MODEL, Continue, Drums, Harmonize, Infill, outputs

log = logging.getLogger("cadenza")
Sink = Callable[[object], None]
MIN_QPM, MAX_QPM = 4.0, 1500.0  # the tempos a prime file may have


@dataclass(frozen=True)
class Limits:
    """What one request may spend: tokens in all its variations (checked before any work) and seconds."""
    max_tokens: int = 0  # 0: no limit
    max_seconds: float = 0.0  # 0: no limit


class StoreModels:
    """The model store as `run` uses it (a daemon passes its own cache, host/models.py)."""

    def get(self, name: str = ""):
        from .. import store

        return store.load(name or "piano")

    def find(self, name: str = ""):
        from .. import store

        return store.find(name or "piano")


def run(task, models=None, sink: Sink = lambda e: None, cancel: threading.Event | None = None,
        limits: Limits = Limits()) -> object:
    """Carry out `task`; every event goes to `sink`, the last one (returned too) is Done, Cancelled or Failed."""
    models = models or StoreModels()
    cancel = cancel or threading.Event()
    work = _Work(models, limits, sink, cancel)
    try:
        if cancel.is_set():
            final = E.Cancelled()
        elif isinstance(task, Continue):
            final = work.continue_(task)
        elif isinstance(task, Infill):
            final = work.infill(task)
        elif isinstance(task, Drums):
            final = work.drums(task)
        elif isinstance(task, Harmonize):
            final = work.harmonize(task)
        else:
            raise TypeError(f"not a task: {type(task).__name__}")
    except CadenzaError as e:
        final = E.Cancelled() if cancel.is_set() and not work.late else E.Failed(str(e))
    except Exception as e:  # noqa: BLE001 - a fault in the work is answered, never left silent
        log.exception("task %s failed", type(task).__name__)
        final = E.Failed(f"Cadenza could not finish this request ({type(e).__name__}: {e}); the daemon's log "
                         "has the details")
    sink(final)
    return final


def read(path: Path, limits: Limits = Limits(), cancel: threading.Event | None = None) -> Score:
    """A prime file, read once (every track, tempo map and meter kept) within the bounds every door shares
    (bridge.music.bounded), stopped past the request's time limit or on a cancel; an unreadable one named."""
    from ..music import load_score
    from ..music.bounded import LIMITS

    bounds = dataclasses.replace(LIMITS, seconds=limits.max_seconds) if limits.max_seconds else LIMITS
    try:
        return load_score(path, limits=bounds, cancel=cancel)
    except OSError as e:
        raise CadenzaError(f"{path.name}: cannot read it ({e.strerror or e})") from None


def check_cost(loaded, req, limits: Limits, candidates: int = 1, readings: int = 1) -> None:
    """Refuse, before any work, a request whose estimated cost is over the limit. Every candidate is drawn
    (harmonize, infill): it costs what a variation does; so does every reading of harmonize's transpositions."""
    from ..generation import expected_tokens

    if not limits.max_tokens:
        return
    rows = req.variations * max(1, candidates) * max(1, readings)
    cost = expected_tokens(loaded, dataclasses.replace(req, variations=rows))
    if cost > limits.max_tokens:
        what = (f"{req.variations} variation(s)" + (f" x {candidates} candidates" if candidates > 1 else "")
                + (f" x {readings} transpositions" if readings > 1 else ""))
        fewer = ", ".join(["beats", "variations"] + ["candidates"] * (candidates > 1)
                          + ["transpositions"] * (readings > 1))
        fewer = " or ".join(fewer.rsplit(", ", 1))
        raise CadenzaError(
            f"{req.beats:g} beats x {what} of {loaded.name} is about {cost:,} tokens; this daemon allows "
            f"{limits.max_tokens:,} a request (--max-tokens): ask fewer {fewer}")


def groove_model(models, s):
    """The groove model a drum task uses: the one `model` names if it is a groove model, else `groove`."""
    loaded = models.get(s.model) if s.model else None
    if loaded is not None and loaded.arch == "groovae":
        return loaded
    return models.get("groove")


def harmony_model(models, s):
    """The model a harmonize task uses: the one `model` names, or with none named the daemon's own (its
    --model) where that harmonizes, else chorale-harmony (HARMONY_MODEL). The card is read, not the model
    loaded, to tell (`cadenza harmonize` without --model loads no piano model to find it does not)."""
    from .. import store
    from ..codecs import codec_class

    if s.model:
        return models.get(s.model)
    own = store.read_meta(models.find(""))["codec"]["name"]
    return models.get("" if codec_class(own).harmonizes else HARMONY_MODEL)


def empty_like(s) -> Score:
    """No prime: an empty Score at the settings' tempo and meter (what the new music is counted in)."""
    from ..music import Tempo, TimeSignature
    from ..music.score import TPQ, qpm_to_usec
    from ..settings import parse_meter

    return Score(tpq=TPQ, tempos=(Tempo(0, qpm_to_usec(s.qpm)),),
                 time_signatures=(TimeSignature(0, *parse_meter(s.meter)),))


def as_drums(score: Score) -> Score:
    """Every track of `score` on the drum channel (notes sent to a drum model are General MIDI drums)."""
    return score.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in score.tracks))


class _Told:
    """The models a task reads, the musician told first (an Info, once) when the one it needs is being compiled
    for this machine and the request waits for it (a daemon's store says so: `compiling`)."""

    def __init__(self, models, sink: Sink):
        self.models, self.sink, self.said = models, sink, False

    def get(self, name: str = ""):
        compiling = getattr(self.models, "compiling", None)
        text = compiling(name) if compiling is not None and not self.said else None
        if text:
            self.said = True
            self.sink(E.Info(text))
        return self.models.get(name)

    def find(self, name: str = ""):
        return self.models.find(name)


class _Work:
    def __init__(self, models, limits: Limits, sink: Sink, cancel: threading.Event):
        self.models, self.limits, self.sink, self.cancel = _Told(models, sink), limits, sink, cancel
        self.deadline = time.perf_counter() + limits.max_seconds if limits.max_seconds else None
        self.late = False
        self.first_notes: float | None = None
        self.t0 = time.perf_counter()

    # ----- shared steps ------------------------------------------------------------------------------
    def read(self, path: Path) -> Score:
        score = read(path, self.limits, self.cancel)
        if self.cancel.is_set():
            raise CadenzaError(f"{path.name}: reading stopped")
        for tempo in score.tempos:  # beats are counted at the file's tempo: an absurd one asks for absurd work
            if not MIN_QPM <= tempo.qpm <= MAX_QPM:
                raise CadenzaError(f"{path.name}: a tempo of {tempo.qpm:,.6g} qpm at beat {tempo.tick / score.tpq:g}; "
                                   f"Cadenza reads music at {MIN_QPM:g}-{MAX_QPM:g} qpm")
        return score

    def tick(self) -> None:
        """Between chunks: a request past its time limit is stopped as a cancel is."""
        if self.deadline is not None and time.perf_counter() > self.deadline:
            self.late = True
            self.cancel.set()

    def stopped(self, result) -> object | None:
        if not result.cancelled:
            return None
        if self.late:
            return E.Failed(f"stopped after {self.limits.max_seconds:g} s, this daemon's limit for one request "
                            "(--max-seconds); ask fewer beats or variations")
        return E.Cancelled()

    def notes(self, k: int, notes: list) -> None:
        if notes:
            if self.first_notes is None:
                self.first_notes = time.perf_counter()
            self.sink(E.Notes(k + 1, tuple(notes)))

    def write(self, score: Score, out: Path, which: int | None, s, detail: str = "") -> Path:
        """A MIDI file written atomically, then its audio and picture if the settings ask for them."""
        from ..music import write_midi

        out = write_midi(score, out)
        self.sink(E.File("midi", out, which, detail))
        if s.render or s.picture:
            from ..music.render import extras

            try:
                for kind, made in extras(out, s.render, s.picture):
                    self.sink(E.File(kind, made, which))
            except CadenzaError as e:  # the MIDI file stands; say what did not work
                self.sink(E.Warning(f"{out.name} written, but: {e}"))
        return out

    def done(self, notes: int, result, loaded, req, label: str) -> E.Done:
        now = time.perf_counter()
        first = (self.first_notes - self.t0) * 1000 if self.first_notes else float("nan")
        log.info("%s with %s: %d tokens, %d notes; first notes %.1f ms, done %.1f ms", label, loaded.name,
                 result.tokens, notes, first, (now - self.t0) * 1000)
        return E.Done(notes, tokens=result.tokens, seconds=result.seconds, model=loaded.name, seed=req.seed)

    # ----- continue / generate ---------------------------------------------------------------------------
    def continue_(self, task: Continue):
        from ..generation import (add_track, asked_beats, continuation_of, continue_drums, continue_ids,
                                  drum_note, drums_model_here, prime_from_generation_set, tempo_at, with_meter)
        from ..generation.stream import NoteStream
        from ..settings import request_of

        s = task.settings
        req = request_of(s, tokens=task.tokens)
        loaded = self.models.get(s.model)
        if loaded.arch == "groovae":
            raise CadenzaError(f"{loaded.name} is a groove model: it plays drum parts with feel (groove, drumify, "
                               "interpolate), it does not continue music; the drums model continues a beat "
                               "(model drums)")
        if loaded.codec.harmonizes:
            raise CadenzaError(f"{loaded.name} writes the parts under a melody (harmonize), it does not continue "
                               "music: send the melody to harmonize, or choose a continuation model (e.g. chorale)")
        codec = loaded.codec
        check_cost(loaded, req, self.limits)
        path = task.prime if isinstance(task.prime, Path) else None
        include = task.include_prime if task.include_prime is not None else path is not None
        like = empty_like(s)
        said = None
        if path is not None:
            like = self.read(path)
            said = drum_note(codec, like, loaded.name,
                             drums_too=bool(s.with_drums) and include and drums_model_here(self.models))
            prime_ids = codec.encode_read(like, path)
            if not len(prime_ids):
                raise CadenzaError(f"{path.name}: no notes to continue")
            if said:
                said = f"{path.name}: {said}"
            req = dataclasses.replace(req, qpm=tempo_at(like, like.end_tick))  # beats are the prime's beats
            check_cost(loaded, req, self.limits)  # at the prime's tempo
        elif task.prime is not None:
            like = as_drums(task.prime) if codec.drums else task.prime
            prime_ids = codec.encode(like)
            if codec.drums and not len(prime_ids):
                raise CadenzaError(f"{loaded.name} plays drums: send General MIDI drum notes (36 kick, 38 snare, "
                                   "42 closed hi-hat, ...)")
        elif task.held_out:
            source, prime_ids = prime_from_generation_set(loaded, task.held_out, req.seed)
            said = f"prime: the first {task.held_out:g} beats of {source} (generation set)"
        else:
            prime_ids = codec.empty()
        req = with_meter(req, like)  # the controls count in the prime's bars
        length = f"{req.tokens} tokens" if req.tokens else f"{req.beats:g} beats"
        self.sink(E.Started(loaded.name, f"{'continuing' if len(prime_ids) else 'generating'} with {loaded.name} "
                                         f"for {length}"))
        if said:
            self.sink(E.Info(said))
        beats = asked_beats(req)
        # one stream a variation: each chunk decoded with a bounded context (generation/stream.py)
        streams = [NoteStream(codec, prime_ids, qpm=req.qpm, beats=beats, velocity_range=req.controls.velocity_range)
                   for _ in range(req.variations)]
        counts = [0] * req.variations

        def on_chunk(chunk):
            told = False
            for k, rows in enumerate(chunk):
                notes = streams[k].feed(rows)
                counts[k] += len(notes)
                self.notes(k, notes)
                told |= bool(notes)
            self.tick()
            return told  # (False: no note ended yet, so the next chunk comes at once, not gathered: runner.GATHER)

        result = continue_ids(loaded, prime_ids, req, on_chunk=on_chunk, cancel=self.cancel)
        final = self.stopped(result)
        if final is not None:
            return final
        for k, stream in enumerate(streams):
            notes = stream.finish()
            counts[k] += len(notes)
            self.notes(k, notes)
        if task.out is None and not s.midi:
            return self.done(counts[0], result, loaded, req, "continue")
        drums = None
        if path is not None and include and s.with_drums and not codec.drums:
            drums = continue_drums(like, req, self.models)  # a mixed prime's drums, by the drums model alongside

        def written(new):
            return add_track(continuation_of(codec, prime_ids, new, like, beats=beats, include_prime=include,
                                             velocity_range=req.controls.velocity_range), drums)

        first = written(result.new[0])
        if task.out is not None:
            from ..music import CONTINUATION

            many = req.variations > 1
            for k, (new, out) in enumerate(zip(result.new, outputs(task.out, req.variations))):
                score = first if k == 0 else written(new)
                marks = [m.tick for m in score.markers if m.text == CONTINUATION]
                new_beats = (score.end_tick - (marks[0] if marks else 0)) / score.tpq  # measured from what is written
                self.write(score, out, k + 1 if many else None, s,
                           f"{len(new)} new tokens, {new_beats:.1f} beats new; {score.note_count} notes, "
                           f"{score.duration_beats:.1f} beats in all")
        if s.midi:
            from ..music import midi_bytes

            self.sink(E.Midi(midi_bytes(first)))
        return self.done(counts[0], result, loaded, req, "continue")

    # ----- infill ----------------------------------------------------------------------------------------
    def infill(self, task: Infill):
        from ..generation.infill import infill
        from ..generation.stream import NoteStream
        from ..settings import request_of

        s = task.settings
        req = request_of(s)
        loaded = self.models.get(s.model)
        start, end = task.start, task.end
        check_cost(loaded, dataclasses.replace(req, beats=end - start), self.limits, s.candidates)
        score = self.read(task.prime) if isinstance(task.prime, Path) else task.prime
        self.sink(E.Started(loaded.name, f"infilling beats {start:g}-{end:g} with {loaded.name}"))
        streams: list = []

        def on_prime(prime, r):  # the region's context, once infill() has built it
            streams.extend(NoteStream(loaded.codec, prime, qpm=r.qpm, beats=end - start,
                                      velocity_range=r.controls.velocity_range) for _ in range(r.variations))

        def shifted(notes):  # the region's notes in the piece's beats
            return [(p, st + start, d, v) for p, st, d, v in notes]

        def on_chunk(chunk):
            for k, rows in enumerate(chunk):
                self.notes(k, shifted(streams[k].feed(rows)))
            self.tick()

        wholes, regions, result = infill(loaded, score, start, end, req, on_chunk=on_chunk, cancel=self.cancel,
                                         on_prime=on_prime, candidates=s.candidates)
        final = self.stopped(result)
        if final is not None:
            return final
        for k, stream in enumerate(streams):
            self.notes(k, shifted(stream.finish()))
        if task.out is not None:
            many = len(wholes) > 1
            for k, (whole, region, out) in enumerate(zip(wholes, regions, outputs(task.out, len(wholes)))):
                self.write(whole, out, k + 1 if many else None, s,
                           f"{len(region)} new notes in beats {start:g}-{end:g}; {whole.note_count} notes in all")
        return self.done(len(regions[0]), result, loaded, req, "infill")

    # ----- drums: groove, drumify, interpolate -------------------------------------------------------------
    def drums(self, task: Drums):
        from ..generation.groove import run_task

        s = task.settings
        loaded = groove_model(self.models, s)
        primes = [self.read(p) if isinstance(p, Path) else p for p in task.primes]
        self.sink(E.Started(loaded.name, f"{task.kind} with {loaded.name}"))
        t0 = time.perf_counter()
        scores, note = run_task(task.kind, loaded, primes, s)
        if note:
            self.sink(E.Info(note))
        many = len(scores) > 1
        outs = outputs(task.out, len(scores)) if task.out is not None else [None] * len(scores)
        first = None
        for k, (score, out) in enumerate(zip(scores, outs)):
            tpq = score.tpq
            notes = sorted(((int(p), a / tpq, (b - a) / tpq, int(v)) for t in score.tracks if t.is_drum
                            for p, v, a, b in t.array.tolist()), key=lambda n: (n[1], n[0]))
            first = len(notes) if first is None else first
            self.notes(k, notes)
            if out is not None:
                other = score.note_count - len(notes)
                self.write(score, out, k + 1 if many else None, s,
                           f"{len(notes)} drum hits" + (f", {other} other notes kept" if other else ""))
        log.info("%s with %s: %d answers, %d hits in the first, %.1f ms", task.kind, loaded.name, len(scores),
                 first or 0, (time.perf_counter() - t0) * 1000)
        return E.Done(first or 0, model=loaded.name, seconds=time.perf_counter() - t0, seed=s.seed)

    # ----- harmonize -------------------------------------------------------------------------------------
    def harmonize(self, task: Harmonize):
        from ..generation.harmonize import harmonize, melody_of, parallels_of, transpositions_of, voices_of
        from ..music import Track
        from ..settings import MAX_BEATS, request_of

        s = task.settings
        loaded = harmony_model(self.models, s)
        if not loaded.codec.harmonizes:
            raise CadenzaError(f"{loaded.name} does not harmonize: it is a {loaded.codec.name} model; the harmony "
                               f"models write parts under a melody (model {HARMONY_MODEL})")
        path = task.prime if isinstance(task.prime, Path) else None
        if task.prime is None:
            raise CadenzaError("harmonize needs a melody")
        score = self.read(path) if path is not None else task.prime
        name = path.name if path is not None else "the melody"
        melody = melody_of(score, name)
        beats = melody.end_tick / melody.tpq
        if beats > MAX_BEATS:
            raise CadenzaError(f"{name} is {beats:,.0f} beats long; harmonize takes at most {MAX_BEATS:,.0f} beats "
                               "a request: send it in sections")
        req = dataclasses.replace(request_of(s), beats=max(beats, 1.0))
        readings = transpositions_of(loaded, s.transpositions)
        check_cost(loaded, req, self.limits, s.candidates, readings)
        voices = voices_of(loaded, s.voices)
        self.sink(E.Started(loaded.name, f"harmonizing {beats:g} beats of melody with {loaded.name}, "
                                         f"{voices} parts under it"))
        vel = [0]

        def on_chunk(rows):
            for k, notes in enumerate(rows):
                self.notes(k, [(q, a, d, vel[0]) for q, a, d in notes])
            self.tick()

        vel[0] = max(1, min(127, int(round(float(np.median(melody.tracks[0].array[:, 1])) * 0.85))))
        result = harmonize(loaded, melody, req, voices=voices, on_chunk=on_chunk, cancel=self.cancel,
                           candidates=s.candidates, transpositions=readings, judge_beats=s.judge_beats,
                           parallels=parallels_of(loaded, s.parallels))
        if result.cancelled:
            if self.late:
                return E.Failed(f"stopped after {self.limits.max_seconds:g} s, this daemon's limit for one "
                                "request (--max-seconds); send a shorter melody")
            return E.Cancelled()
        many = len(result.parts) > 1
        outs = outputs(task.out, len(result.parts)) if task.out is not None else [None] * len(result.parts)
        first = None
        for k, (parts, out) in enumerate(zip(result.parts, outs)):
            parts = parts.copy()
            parts[:, 2:] = np.round(parts[:, 2:] * (score.tpq / melody.tpq))
            whole = score.replace(tracks=score.tracks + (Track(parts, name="harmony", channel=1),))
            first = whole if first is None else first
            if out is not None:
                self.write(whole, out, k + 1 if many else None, s,
                           f"the melody as given (the top line) and {len(parts)} notes of {voices} parts under it")
        if s.midi and first is not None:
            from ..music import midi_bytes

            self.sink(E.Midi(midi_bytes(first)))
        log.info("harmonize with %s: %d tokens, %d notes in the first, %.1f ms", loaded.name, result.tokens,
                 len(result.parts[0]), result.seconds * 1000)
        return E.Done(len(result.parts[0]), tokens=result.tokens, seconds=result.seconds, model=loaded.name,
                      seed=req.seed)
