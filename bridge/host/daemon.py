"""`cadenza serve`: the OSC front door, the watch folder, the job queue and the model store together.

Handlers only parse, validate and queue (see protocol.py); a worker runs the generation and
streams replies. Every reply carries the client's request id. The address map is `routes()`.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path


from ..errors import CadenzaError
from ..settings import parse_meter, request_of
from . import protocol as P
from .config import ServeConfig
from .jobs import Busy, Job, JobQueue
from .models import ModelStore
from .osc import OscServer

log = logging.getLogger("cadenza")
_ABSOLUTE = re.compile(r"(^|[\s'\"(=])(/(?!cadenza/)[^\s'\":,()]+)")  # an absolute path (not an OSC address)
# Requests generated at once: the compiled loop releases the GIL, so two use the two cores of a small machine.
WORKERS = max(1, min(2, os.cpu_count() or 1))
MAX_CLIENTS = 256  # senders whose settings or live notes are kept; the least recently heard is forgotten first
MAX_LIVE_NOTES = 1024  # notes a client's /cadenza/note prime keeps (the oldest go first)


@dataclass
class Client:
    settings: P.Settings
    held: dict[int, tuple[float, int]] = field(default_factory=dict)  # live notes sounding: pitch -> (t, vel)
    played: list[tuple[int, float, float, int]] = field(default_factory=list)  # (pitch, t_on, t_off, vel)


class Daemon:
    def __init__(self, cfg: ServeConfig):
        self.cfg = cfg
        self.models = ModelStore(cfg.model)
        self.jobs = JobQueue(cfg.queue, workers=WORKERS)
        self.clients: OrderedDict[tuple, Client] = OrderedDict()  # only senders that set something or play
        self.started = time.time()
        self.server = OscServer(cfg.host, cfg.port, self.routes(), allow=cfg.allow, on_error=self.error)
        self.watcher = None
        self.web = None  # the page (host/web.py), when cfg.http_port is set
        self.live = None  # MIDI ports, the clock, jam mode (host/live.py), when asked for
        self._lock = threading.Lock()
        self.ready = threading.Event()  # the default model is loaded
        self.stats = {"requests": 0, "errors": 0}

    # ----- the address map ------------------------------------------------------------------------
    def routes(self) -> dict:
        p = P.PREFIX
        return {
            f"{p}/generate": self.on_generate,
            f"{p}/continue": self.on_continue,
            f"{p}/note": self.on_note,
            f"{p}/continue_file": self.on_continue_file,
            f"{p}/infill": self.on_infill,
            f"{p}/groove": self.on_groove,
            f"{p}/drumify": self.on_drumify,
            f"{p}/interpolate": self.on_interpolate,
            f"{p}/render": self.on_render,
            f"{p}/set": self.on_set,
            f"{p}/cancel": self.on_cancel,
            f"{p}/models": self.on_models,
            f"{p}/load": self.on_load,
            f"{p}/status": self.on_status,
            f"{p}/ping": self.on_ping,
        }

    # ----- clients and replies --------------------------------------------------------------------
    def client(self, sender: tuple) -> Client:
        """The state kept for a sender (made on first use; the least recently heard of MAX_CLIENTS go)."""
        with self._lock:
            c = self.clients.get(sender)
            if c is None:
                c = self.clients[sender] = Client(self.defaults())
                while len(self.clients) > MAX_CLIENTS:
                    self.clients.popitem(last=False)
            else:
                self.clients.move_to_end(sender)
            return c

    def settings_of(self, sender: tuple) -> P.Settings:
        """A sender's settings, without keeping state for a sender that never set any."""
        with self._lock:
            c = self.clients.get(sender)
        return c.settings if c is not None else self.defaults()

    def defaults(self) -> P.Settings:
        """A new client's settings: the spec's, the daemon's length, and the tempo of the clock it plays on
        (a Link session or MIDI clock drives qpm)."""
        qpm = self.live.qpm if self.live is not None else self.cfg.qpm
        return P.Settings(beats=self.cfg.beats, qpm=round(min(400.0, max(10.0, qpm)), 3))

    def settings(self, sender: tuple, pairs: list) -> P.Settings:
        """The sender's settings with a request's key value pairs applied, each checked (protocol.py),
        plus what needs the daemon: the model is in the store, replies may go where they ask."""
        s = P.apply_pairs(self.settings_of(sender), list(pairs))
        self.destination(sender, s)
        if s.model:
            try:
                self.models.find(s.model)
            except CadenzaError as e:
                raise P.ProtocolError(str(e)) from None
        return s

    def destination(self, sender: tuple, s: P.Settings) -> tuple:
        """Where replies go: the sender's host, or a reply_host the allowlist admits; never this daemon."""
        host = s.reply_host or sender[0]
        if host != sender[0] and not (self.cfg.allow and self.server.allowed(host)):
            raise P.ProtocolError(f"reply_host {host}: replies go only to the sender's own address"
                                  + (" or hosts that --allow admits" if self.cfg.allow else
                                     " (start the daemon with --allow to admit other hosts)"))
        to = (host, s.reply_port or sender[1])
        if self.server.is_self(to):
            raise P.ProtocolError(f"reply_port {to[1]} is this daemon's own port; replies need a port of yours")
        return to

    def reply_to(self, sender: tuple, s: P.Settings | None = None) -> tuple:
        s = s or self.settings_of(sender)
        try:
            return self.destination(sender, s)
        except P.ProtocolError:
            return tuple(sender)

    def send(self, to: tuple, address: str, args: list) -> None:
        """`to`: where replies go, from reply_to()."""
        self.server.send(to, address, args)

    def route(self, sender: tuple, params: list | None) -> tuple:
        """Where a request's replies go: its own reply_host/reply_port pairs if it carries any (a shell's
        oscsend sends every request from a new port), else the client's setting, else the sender.
        A pair that is refused, or a destination that is not allowed, sends the answer to the sender."""
        s = self.settings_of(sender)
        params = params or []
        for i in range(len(params) - 1):
            if params[i] in ("reply_port", "reply_host"):
                try:
                    s = P.apply_setting(s, params[i], params[i + 1])
                except CadenzaError:
                    return tuple(sender)  # a refused destination: the answer goes to whoever asked
        return self.reply_to(sender, s)

    def error(self, sender: tuple, rid: int, message: str, params: list | None = None) -> None:
        self.stats["errors"] += 1
        to = self.route(sender, params)
        message = self.public(message)
        log.warning("error to %s:%s id %s: %s", to[0], to[1], rid, message)
        self.send(to, "/cadenza/error", [rid, message])

    def public(self, message: str) -> str:
        """An error as a client may see it: the inbox, outbox, allowed folders and model store as short
        names, any other absolute path as its file name."""
        roots = [(Path(self.cfg.inbox), "inbox"), (Path(self.cfg.outbox), "outbox")]
        roots += [(Path(d), Path(d).name) for d in self.cfg.allowed_dirs]
        from .. import store

        roots += [(r, "models") for r in store.search_path()]
        for root, label in roots:
            for form in {str(root.resolve()), str(root.absolute()), str(root)}:
                if len(form) > 1:
                    message = message.replace(form, label)
        return _ABSOLUTE.sub(lambda m: m.group(1) + Path(m.group(2)).name, message)[:1000]

    # ----- handlers: parse, validate, queue ---------------------------------------------------------
    def on_ping(self, sender, args):
        rid = P.request_id(args) if args else 0
        self.send(self.route(sender, args), "/cadenza/pong", [rid])

    def on_set(self, sender, args):
        # /cadenza/set key value [key value ...]; an optional leading id is echoed in /cadenza/ok
        rid = 0
        if args and not isinstance(args[0], str):
            rid = P.request_id(args)
            args = args[1:]
        if not args:
            raise P.ProtocolError("/cadenza/set needs key value pairs, e.g. temperature 0.9")
        s = self.settings(sender, list(args))  # checked whole before any of it is kept
        self.client(sender).settings = s
        self.send(self.reply_to(sender, s), "/cadenza/ok", [rid, "set"] + list(args))

    def on_models(self, sender, args):
        rid = P.request_id(args) if args else 0
        names = [m["name"] for m in self.models.available()]
        self.send(self.route(sender, args), "/cadenza/models", [rid] + names)

    def on_load(self, sender, args):
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/load id name")
        name = args[1]
        P.apply_setting(P.Settings(), "model", name)  # a name in the store, never a path
        try:
            self.models.find(name)
        except CadenzaError as e:
            raise P.ProtocolError(str(e)) from None

        def run(job):
            problem = self.models.check(name)
            self.jobs.release(job.key)
            if problem:
                self.error(sender, rid, problem, args)
            else:
                self.send(self.route(sender, args), "/cadenza/loaded", [rid, name])

        self._submit(sender, rid, run, f"load {name}")

    def on_status(self, sender, args):
        rid = P.request_id(args) if args else 0
        s = self.settings_of(sender)
        state = "ok" if self.ready.is_set() else "loading"
        self.send(self.route(sender, args), "/cadenza/status", [rid, state, s.model or self.cfg.model, self.jobs.active,
                                                                self.jobs.waiting, round(time.time() - self.started, 1)])

    def on_cancel(self, sender, args):
        rid = P.request_id(args)
        found = self.jobs.cancel((sender, rid))
        if not found:
            raise P.ProtocolError(f"no request {rid} to cancel")

    def on_note(self, sender, args):
        """/cadenza/note id pitch velocity: a live prime, velocity 0 ends the note."""
        P.request_id(args)
        if len(args) != 3:
            raise P.ProtocolError("/cadenza/note id pitch velocity")
        pitch = P.integer(args[1], "pitch")
        vel = P.integer(args[2], "velocity")
        if not 0 <= pitch <= 127 or not 0 <= vel <= 127:
            raise P.ProtocolError(f"note {pitch} velocity {vel}: both must be 0-127")
        c = self.client(sender)
        now = time.monotonic()
        if pitch in c.held:
            t0, v0 = c.held.pop(pitch)
            c.played.append((pitch, t0, now, v0))
        if vel > 0:
            c.held[pitch] = (now, vel)  # at most 128: one per pitch
        if len(c.played) > MAX_LIVE_NOTES:
            del c.played[:len(c.played) - MAX_LIVE_NOTES]
        if self.live is not None and self.live.jam_cfg is not None:
            self.live.note(pitch, vel, sender=tuple(sender))  # jam mode listens to /cadenza/note too

    def on_generate(self, sender, args):
        rid = P.request_id(args)
        s = self.settings(sender, list(args[1:]))
        self._queue_generation(sender, rid, s, prime=None, label="generate")

    def on_continue(self, sender, args):
        rid = P.request_id(args)
        flat, pairs = P.split_continue_args(list(args[1:]))
        s = self.settings(sender, pairs)
        if flat:
            notes = [(n.pitch, n.start, n.duration, n.velocity) for n in P.parse_notes(flat)]
        else:
            notes = self._take_live(sender, s.qpm)
            if not notes:
                raise P.ProtocolError("nothing to continue: send prime notes, or /cadenza/note first")
        from ..music import Score

        prime = Score.from_beats(notes, qpm=s.qpm, time_signature=parse_meter(s.meter))
        self._queue_generation(sender, rid, s, prime=prime, label=f"continue {len(notes)} notes")

    def on_infill(self, sender, args):
        """/cadenza/infill id start end pitch start dur vel ... [key value ...]: the notes of the piece, and the
        region (in its beats) to write anew with an infill model; the region's notes come back."""
        rid = P.request_id(args)
        if len(args) < 3:
            raise P.ProtocolError("/cadenza/infill id start_beat end_beat notes... [key value ...]")
        start, end = P.number(args[1], "start beat"), P.number(args[2], "end beat")
        if not end > start >= 0:
            raise P.ProtocolError(f"the region {start:g}-{end:g}: give 0 <= start < end (beats)")
        flat, pairs = P.split_continue_args(list(args[3:]))
        s = self.settings(sender, pairs)
        if not flat:
            raise P.ProtocolError("send the piece's notes after the region: pitch start duration velocity ...")
        from ..music import Score

        notes = [(n.pitch, n.start, n.duration, n.velocity) for n in P.parse_notes(flat)]
        score = Score.from_beats(notes, qpm=s.qpm, time_signature=parse_meter(s.meter))
        req = request_of(s)

        def emit(address, a):
            self.send(self.reply_to(sender, s), address, a)

        def run(job):
            self._infill(job, emit, rid, s, req, score, start, end, f"osc-{sender[1]}-{rid}")

        self._submit(sender, rid, run, f"infill {start:g}-{end:g}")

    def _infill(self, job, emit, rid, s, req, score, start: float, end: float, stem: str) -> None:
        """An infill job: the region's notes streamed (in the piece's beats), the whole piece written."""
        from ..generation.infill import infill
        from ..generation.stream import NoteStream
        from ..music import write_midi

        def finish(address, a):
            self.jobs.release(job.key)
            emit(address, a)

        try:
            loaded = self.models.get(s.model)
            self.check_cost(loaded, req)
        except CadenzaError as e:
            finish("/cadenza/error", [rid, self.public(str(e))])
            return
        emit("/cadenza/started", [rid, loaded.name])
        streams: list = []
        deadline = time.perf_counter() + float(self.cfg.max_seconds)

        def on_prime(prime, r):  # the region's context, once infill() has built it
            streams.extend(NoteStream(loaded.codec, prime, qpm=r.qpm, beats=end - start,
                                      velocity_range=r.controls.velocity_range) for _ in range(r.variations))

        def on_chunk(chunk):
            for k, rows in enumerate(chunk):
                send(k, streams[k].feed(rows))
            if time.perf_counter() > deadline:
                job.cancel.set()

        def send(k, notes):
            shifted = [(p, st + start, d, v) for p, st, d, v in notes]
            for part in P.note_chunks(shifted):
                emit("/cadenza/notes" if k == 0 else "/cadenza/variation", [rid] + ([] if k == 0 else [k + 1]) + part)

        try:
            wholes, regions, result = infill(loaded, score, start, end, req, on_chunk=on_chunk, cancel=job.cancel,
                                             on_prime=on_prime)
        except CadenzaError as e:
            finish("/cadenza/error", [rid, self.public(str(e))])
            return
        if result.cancelled:
            finish("/cadenza/cancelled" if time.perf_counter() <= deadline else "/cadenza/error",
                   [rid] + ([] if time.perf_counter() <= deadline else
                            [f"stopped after {self.cfg.max_seconds:g} s (--max-seconds)"]))
            return
        for k, stream in enumerate(streams):
            send(k, stream.finish())
        if s.write_file:
            for k, whole in enumerate(wholes):
                suffix = "" if len(wholes) == 1 else f"-{k + 1}"
                out = write_midi(whole, Path(self.cfg.outbox) / f"{stem}.infill{suffix}.mid")
                emit("/cadenza/file", [rid, str(out.resolve())] + ([k + 1] if len(wholes) > 1 else []))
        finish("/cadenza/done", [rid, len(regions[0])])

    # ----- drums: groove, drumify, interpolate (the groove model) ----------------------------------------
    def on_groove(self, sender, args):
        """/cadenza/groove id pitch start dur vel ... [key value ...]: General MIDI drum notes, played with feel."""
        self._drum_request(sender, args, "groove")

    def on_drumify(self, sender, args):
        """/cadenza/drumify id pitch start dur vel ... [key value ...]: any notes; a kit plays their rhythm."""
        self._drum_request(sender, args, "drumify")

    def on_interpolate(self, sender, args):
        """/cadenza/interpolate id count_a notes_a... notes_b... [key value ...]: two drum beats (the first
        count_a notes are A); `steps` beats from A to B come back."""
        rid = P.request_id(args)
        if len(args) < 2:
            raise P.ProtocolError("/cadenza/interpolate id count_a notes_a... notes_b... [key value ...]")
        count = int(P.number(args[1], "count_a"))
        flat, pairs = P.split_continue_args(list(args[2:]))
        notes = P.parse_notes(flat)
        if not 0 < count < len(notes):
            raise P.ProtocolError(f"count_a {count}: give how many of the {len(notes)} notes are beat A; the rest are B")
        s = self.settings(sender, pairs)
        beats = [self._drum_score(notes[:count], s, True), self._drum_score(notes[count:], s, True)]
        self._queue_drums(sender, rid, s, "interpolate", beats)

    def _drum_score(self, notes, s, drums: bool):
        from ..music import Score

        score = Score.from_beats([(n.pitch, n.start, n.duration, n.velocity) for n in notes], qpm=s.qpm,
                                 time_signature=parse_meter(s.meter))
        if drums:
            score = score.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in score.tracks))
        return score

    def _drum_request(self, sender, args, task):
        rid = P.request_id(args)
        flat, pairs = P.split_continue_args(list(args[1:]))
        if not flat:
            raise P.ProtocolError(f"/cadenza/{task} id pitch start duration velocity ... [key value ...]: send the notes")
        s = self.settings(sender, pairs)
        self._queue_drums(sender, rid, s, task, [self._drum_score(P.parse_notes(flat), s, task == "groove")])

    def _queue_drums(self, sender, rid, s, task, primes):
        def emit(address, a):
            self.send(self.reply_to(sender, s), address, a)

        def run(job):
            self._drums(job, emit, rid, s, task, primes, f"osc-{sender[1]}-{rid}")

        self._submit(sender, rid, run, task)

    def groove_model(self, s):
        """The groove model a drum task uses: the one `model` names if it is a groove model, else `groove`."""
        loaded = self.models.get(s.model) if s.model else None
        if loaded is not None and loaded.arch == "groovae":
            return loaded
        return self.models.get("groove")

    def _drums(self, job, emit, rid, s, task, primes, stem: str) -> None:
        """A drum task: the drum part (or each step's beat) sent as notes, files written, done."""
        from ..generation.groove import run_task
        from ..music import write_midi

        def finish(address, a):
            self.jobs.release(job.key)
            emit(address, a)

        try:
            loaded = self.groove_model(s)
            emit("/cadenza/started", [rid, loaded.name])
            scores, note = run_task(task, loaded, primes, s)
        except CadenzaError as e:
            finish("/cadenza/error", [rid, self.public(str(e))])
            return
        if note:
            emit("/cadenza/info", [rid, note])
        first = 0
        for k, score in enumerate(scores):
            tpq = score.tpq
            notes = sorted(((int(p), a / tpq, (b - a) / tpq, int(v)) for t in score.tracks if t.is_drum
                            for p, v, a, b in t.array.tolist()), key=lambda n: (n[1], n[0]))
            first = first or len(notes)
            for part in P.note_chunks(notes):
                emit("/cadenza/notes" if k == 0 else "/cadenza/variation", [rid] + ([] if k == 0 else [k + 1]) + part)
            if s.write_file:
                suffix = "" if len(scores) == 1 else f"-{k + 1}"
                out = write_midi(score, Path(self.cfg.outbox) / f"{stem}.{task}{suffix}.mid")
                emit("/cadenza/file", [rid, str(out.resolve())] + ([k + 1] if len(scores) > 1 else []))
        finish("/cadenza/done", [rid, first])  # as continue: the notes of the first answer

    def on_continue_file(self, sender, args):
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/continue_file id path")
        path = self.confined(args[1])
        s = self.settings(sender, list(args[2:]))
        self._queue_generation(sender, rid, s, prime=None, path=path, label=f"continue_file {path.name}")

    def on_render(self, sender, args):
        """/cadenza/render id path [format]: audio (wav flac ogg mp3) or a piano roll (png) of a file."""
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/render id path [wav|flac|ogg|mp3|png]")
        path = self.confined(args[1])
        fmt = str(args[2]).lower().lstrip(".") if len(args) > 2 else "flac"
        if fmt not in P.RENDER_FORMATS + ("png",):
            raise P.ProtocolError(f"render format {fmt!r}: choose one of {', '.join(P.RENDER_FORMATS + ('png',))}")
        to = self.route(sender, list(args[3:]))
        out = Path(self.cfg.outbox) / f"{path.stem}.{fmt}"

        def run(job):
            from ..audio.render import render_file

            try:
                render_file(path, out)
            except CadenzaError as e:
                self.jobs.release(job.key)
                self.stats["errors"] += 1
                self.send(to, "/cadenza/error", [rid, self.public(str(e))])
                return
            self.jobs.release(job.key)
            self.send(to, "/cadenza/rendered", [rid, str(out.resolve())])

        self._submit(sender, rid, run, f"render {path.name}")

    def extras(self, midi_path: Path, s: P.Settings) -> list[tuple[str, Path]]:
        """Audio and picture beside a written MIDI file, as its settings ask (bridge.audio.render.extras)."""
        from ..audio.render import extras

        return extras(midi_path, s.render, s.picture)

    def send_timed(self, to, rid, s, address, args, received: float) -> None:
        """Each note again as a bundle time-tagged with when it sounds: from the request's arrival plus the
        latency, or on the daemon's clock (Link, MIDI clock) from its first downbeat after that."""

        k, flat = (1, args[1:]) if address == "/cadenza/notes" else (int(args[1]), args[2:])
        origin = received + s.latency  # monotonic seconds of beat 0
        spb = 60.0 / s.qpm
        if self.live is not None:
            clock = self.live.clock
            origin = clock.time_at(self.live.next_downbeat(clock.beat_at(origin)))
            spb = 60.0 / clock.qpm
        for i in range(0, len(flat) - 3, 4):
            pitch, start, dur, vel = flat[i:i + 4]
            self.send_bundle(to, origin + float(start) * spb, "/cadenza/play",
                             [rid, int(pitch), int(vel), float(dur) * spb, k])

    def send_bundle(self, to, when: float, address: str, args: list) -> None:
        """One message in a bundle time-tagged with `when` (monotonic seconds, sent as NTP time)."""
        from pythonosc.osc_bundle_builder import OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        b = OscBundleBuilder(when + time.time() - time.monotonic())
        m = OscMessageBuilder(address)
        for value in args:
            m.add_arg(value, "f" if isinstance(value, float) else "i")
        b.add_content(m.build())
        self.server.send_raw(to, b.build().dgram)

    def jam_settings(self) -> P.Settings:
        """Jam mode's settings for phrases from MIDI: the defaults, then `[jam]` in the config."""
        s = self.defaults()
        for key, value in (self.cfg.jam_defaults or {}).items():
            s = P.apply_setting(s, key, value)
        return s

    def check_cost(self, loaded, req) -> None:
        """Refuse, before any work, a request whose estimated cost is over the daemon's limit."""
        from ..generation import expected_tokens

        cost = expected_tokens(loaded, req)
        if cost > self.cfg.max_tokens:
            raise CadenzaError(
                f"{req.beats:g} beats x {req.variations} variation(s) of {loaded.name} is about {cost:,} tokens; "
                f"this daemon allows {self.cfg.max_tokens:,} a request (--max-tokens): ask fewer beats or variations")

    # ----- helpers ------------------------------------------------------------------------------------
    def confined(self, text: str) -> Path:
        """A path from the network, allowed only inside the inbox or the configured folders."""
        roots = [Path(self.cfg.inbox).resolve()] + [Path(d).resolve() for d in self.cfg.allowed_dirs]
        if len(text) > 1024 or "\0" in text:
            raise P.ProtocolError(f"{P.short(text)}: not a file name this daemon can read")
        try:
            raw = Path(text)
            path = (raw if raw.is_absolute() else roots[0] / raw).resolve()
            inside = any(path == r or r in path.parents for r in roots)
            exists = inside and path.is_file()
        except (OSError, ValueError, RuntimeError) as e:  # too long a name, a link loop
            raise P.ProtocolError(f"{P.short(text)}: not a file this daemon can read "
                                  f"({getattr(e, 'strerror', None) or 'bad name'})") from None
        if not inside:
            raise P.ProtocolError(f"{P.short(text)}: outside the folders this daemon may read "
                                  "(the inbox and the --allow-dir folders)")
        if not exists:
            raise P.ProtocolError(f"{P.short(text)}: no such file")
        return path

    def _take_live(self, sender: tuple, qpm: float) -> list:
        with self._lock:
            c = self.clients.get(sender)
        if c is None:
            return []
        now = time.monotonic()
        played = list(c.played) + [(p, t, now, v) for p, (t, v) in c.held.items()]
        c.played.clear()
        c.held.clear()
        if not played:
            return []
        t0 = min(t for _, t, _, _ in played)
        k = qpm / 60.0
        return [(p, (t - t0) * k, max((e - t) * k, 1 / 64), v) for p, t, e, v in played]

    def _submit(self, sender, rid, run, label):
        job = Job(key=(sender, rid), run=run, label=label)
        try:
            self.jobs.submit(job)
        except Busy as e:
            raise P.ProtocolError(str(e)) from None

    def _queue_generation(self, sender, rid, s: P.Settings, prime, label, path: Path | None = None):
        req = request_of(s)  # the one Request every door makes (bridge.settings)
        self.stats["requests"] += 1
        stem = path.stem if path is not None else f"osc-{sender[1]}-{rid}"

        received = time.monotonic()

        def emit(address, args):
            to = self.reply_to(sender, s)
            self.send(to, address, args)
            if s.timed and address in ("/cadenza/notes", "/cadenza/variation"):
                self.send_timed(to, rid, s, address, args, received)

        self._submit(sender, rid, lambda job: self._generate(job, emit, rid, s, req, prime, path, stem), label)

    # ----- the work ---------------------------------------------------------------------------------------
    def _generate(self, job: Job, emit, rid, s: P.Settings, req, prime, path: Path | None, stem: str) -> None:
        """Generate for one request from any door and stream its replies through `emit(address, args)` (OSC
        sends them as datagrams; the web page gets them as events). A file prime (continue_file) is read once here
        and written back as the watch folder and `cadenza continue` write it: the prime as read, then
        the new music, in the prime's tempo map and meter. Notes sent as a prime get the new music alone."""
        from ..generation import (add_track, asked_beats, continuation_of, continue_drums, continue_ids, drum_note,
                                  drums_model_here, tempo_at, with_meter)
        from ..generation.stream import NoteStream
        from ..music import Score, Tempo, TimeSignature, load_score, midi_bytes, write_midi
        from ..music.score import qpm_to_usec

        t_start = time.perf_counter()

        def finish(address, args):
            self.jobs.release(job.key)
            emit(address, args)

        if job.cancel.is_set():
            finish("/cadenza/cancelled", [rid])
            return
        try:
            loaded = self.models.get(s.model)
            codec = loaded.codec
            self.check_cost(loaded, req)
            # the prime as a Score: a file as read, notes as sent (at the client's qpm and meter), or nothing
            like = prime if prime is not None else Score(tpq=960, tempos=(Tempo(0, qpm_to_usec(s.qpm)),),
                                                          time_signatures=(TimeSignature(0, *parse_meter(s.meter)),))
            if path is not None:
                like = load_score(path)
                said = drum_note(codec, like, loaded.name, drums_too=bool(s.with_drums) and drums_model_here(self.models))
                if said:
                    log.info("%s: %s", path.name, said)
                prime_ids = codec.encode_read(like, path)
                if not len(prime_ids):
                    raise CadenzaError(f"{path.name}: no notes to continue")
                req = dataclasses.replace(req, qpm=tempo_at(like, like.end_tick))  # beats are the prime's beats
                self.check_cost(loaded, req)  # at the prime's tempo
            elif prime is not None:
                if codec.drums:  # notes sent to a drums model are drum notes (General MIDI drums)
                    prime = like = prime.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in prime.tracks))
                prime_ids = codec.encode(prime)
                if codec.drums and not len(prime_ids):
                    raise CadenzaError(f"{loaded.name} plays drums: send General MIDI drum notes (36 kick, 38 snare, "
                                       "42 closed hi-hat, ...)")
            else:
                prime_ids = codec.empty()
            req = with_meter(req, like)  # the controls count in the prime's bars
        except CadenzaError as e:
            finish("/cadenza/error", [rid, self.public(str(e))])
            return
        emit("/cadenza/started", [rid, loaded.name])
        first = [None]
        counts = [0] * req.variations
        # one stream a variation: each chunk decoded with a bounded context, so a chunk costs the same at
        # the end of a long continuation as at its start (generation/stream.py)
        streams = [NoteStream(codec, prime_ids, qpm=req.qpm, beats=asked_beats(req),
                              velocity_range=req.controls.velocity_range) for _ in range(req.variations)]

        def send_notes(k: int, notes: list) -> None:
            """Variation 1 on /cadenza/notes (every client reads it); 2, 3, ... on /cadenza/variation id k."""
            counts[k] += len(notes)
            for chunk in P.note_chunks(notes):
                if k == 0:
                    emit("/cadenza/notes", [rid] + chunk)
                else:
                    emit("/cadenza/variation", [rid, k + 1] + chunk)
            if notes and first[0] is None:
                first[0] = time.perf_counter()

        deadline = time.perf_counter() + float(self.cfg.max_seconds)
        late = threading.Event()

        def on_chunk(chunk):
            for k, rows in enumerate(chunk):
                send_notes(k, streams[k].feed(rows))
            if time.perf_counter() > deadline:  # stopped between chunks, like a cancel
                late.set()
                job.cancel.set()

        try:
            result = continue_ids(loaded, prime_ids, req, on_chunk=on_chunk, cancel=job.cancel)
        except CadenzaError as e:
            finish("/cadenza/error", [rid, self.public(str(e))])
            return
        if result.cancelled and late.is_set():
            finish("/cadenza/error", [rid, f"stopped after {self.cfg.max_seconds:g} s, this daemon's limit for one "
                                          "request (--max-seconds); ask fewer beats or variations"])
            return
        if result.cancelled:
            finish("/cadenza/cancelled", [rid])
            log.info("request %s (%s) cancelled", rid, job.label)
            return
        for k in range(req.variations):
            send_notes(k, streams[k].finish())
        final_beats = asked_beats(req)
        note_count = counts[0]
        from_file = path is not None  # a file is written back whole, as the other file doors write it

        drums = None
        if from_file and s.with_drums and not codec.drums and (s.write_file or s.midi):
            drums = continue_drums(like, req, self.models)  # a mixed prime's drums, by the drums model alongside

        def written(new):
            return add_track(continuation_of(codec, prime_ids, new, like, beats=final_beats, include_prime=from_file,
                                             velocity_range=req.controls.velocity_range), drums)

        whole = written(result.new[0]) if s.write_file or s.midi else None  # only when a file or blob is asked for
        if s.write_file:
            for k, new in enumerate(result.new):
                score = whole if k == 0 else written(new)
                suffix = "" if req.variations == 1 else f"-{k + 1}"
                out = write_midi(score, Path(self.cfg.outbox) / f"{stem}.cadenza{suffix}.mid")
                which = [k + 1] if req.variations > 1 else []
                emit("/cadenza/file", [rid, str(out.resolve())] + which)
                try:
                    for kind, made in self.extras(out, s):
                        emit(f"/cadenza/{kind}", [rid, str(made.resolve())] + which)
                except CadenzaError as e:
                    emit("/cadenza/error", [rid, self.public(f"{out.name} written, but: {e}")])
        if s.midi:
            data = midi_bytes(whole)
            if len(data) <= P.MAX_BLOB:
                emit("/cadenza/midi", [rid, data])
        finish("/cadenza/done", [rid, note_count])
        t_end = time.perf_counter()
        fn = (first[0] - job.received) * 1000 if first[0] else float("nan")
        log.info("request %s: %s, %d tokens, %d notes, %.1f beats; first notes %.1f ms, done %.1f ms "
                 "(waited %.1f ms)", rid, job.label, result.tokens, note_count,
                 result.beats[0], fn, (t_end - job.received) * 1000, (t_start - job.received) * 1000)

    # ----- life -------------------------------------------------------------------------------------------
    def start(self, warm: bool = True) -> None:
        Path(self.cfg.outbox).mkdir(parents=True, exist_ok=True)
        Path(self.cfg.inbox).mkdir(parents=True, exist_ok=True)
        for stale in Path(self.cfg.outbox).glob(".*.part"):  # left by a write that a kill cut short
            stale.unlink(missing_ok=True)
        self.server.start()  # answers ping and status at once; the default model loads behind it
        if self.cfg.watch:
            from .watch import Watcher

            self.watcher = Watcher(self)
            self.watcher.start()
        if self.cfg.midi_in or self.cfg.midi_out or self.cfg.virtual_ports or self.cfg.link or self.cfg.jam:
            from ..settings import parse_meter
            from .live import JamConfig, Live

            jam = JamConfig(mode=self.cfg.jam_mode, wait=float(self.cfg.jam_wait), bars=int(self.cfg.jam_bars),
                            meter=parse_meter(self.cfg.jam_meter), channel=int(self.cfg.jam_channel) - 1) \
                if self.cfg.jam else None
            self.live = Live(self, midi_in=self.cfg.midi_in or None, midi_out=self.cfg.midi_out or None,
                             virtual=bool(self.cfg.virtual_ports), api=self.cfg.midi_api, jam=jam,
                             link=bool(self.cfg.link), qpm=float(self.cfg.qpm))
            self.live.start()
        if self.cfg.http_port:
            from .web import WebDoor

            self.web = WebDoor(self)
            self.web.start()
            log.info("Cadenza Studio, the page: %s", self.web.url)
        host, port = self.server.address
        log.info("cadenza listening on %s:%s (OSC), model %s, inbox %s -> outbox %s", host, port, self.cfg.model,
                 self.cfg.inbox, self.cfg.outbox)
        if warm:
            threading.Thread(target=self._load_default, name="cadenza-load", daemon=True).start()
        else:
            self.ready.set()

    def _load_default(self) -> None:
        """Load and warm the default model; a request that comes first waits for it (the store's lock)."""
        t0 = time.perf_counter()
        try:
            self.models.get("")
            log.info("default model %s ready in %.2f s", self.cfg.model, time.perf_counter() - t0)
        except CadenzaError as e:
            log.error("default model: %s", e)
        finally:
            self.ready.set()

    def wait_ready(self, timeout: float | None = None) -> bool:
        """Block until the default model is loaded (or failed to load)."""
        return self.ready.wait(timeout)

    def stop(self) -> None:
        log.info("stopping: cancelling running requests")
        if self.watcher is not None:
            self.watcher.stop()
        if self.web is not None:
            self.web.stop()
        if self.live is not None:
            self.live.stop()
        self.server.stop()
        self.jobs.stop()
        log.info("stopped")
