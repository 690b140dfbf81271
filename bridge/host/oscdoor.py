"""The OSC door: the address map, each request turned into a task, each event into OSC replies.

Handlers only parse, validate and queue (protocol.py parses values; bridge.settings checks them); a worker
runs the task (bridge.tasks) and the events come back here as /cadenza/started, /notes, /variation, /file,
/done, ... Every reply carries the client's request id. The address map is `routes()`; docs/osc.md is the
reference.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Callable

from ..errors import CadenzaError
from ..settings import parse_meter
from ..tasks import Continue, Drums, Harmonize, Infill, events as E
from . import protocol as P
from .clients import Clients
from .expiry import Expiring, Kept
from .osc import OscServer
from .service import Player, Service

log = logging.getLogger("cadenza")


def straight(origin: float, qpm: float) -> tuple[float, float]:
    """Beat 0 at `origin` (monotonic seconds) at `qpm`: (beat 0's time, seconds a beat)."""
    return origin, 60.0 / qpm


class OscDoor:
    def __init__(self, service: Service, jam: Callable | None = None, place: Callable = straight):
        """`jam(pitch, velocity, player)`: jam mode's ear for /cadenza/note (None: no jam); `place(origin, qpm)`:
        where beat 0 of an answer falls on the daemon's clock (the next downbeat of a Link session ...)."""
        cfg = service.cfg
        self.service = service
        self.clients = Clients(service.defaults)
        self.jam = jam
        self.place = place
        self.started = time.time()
        self.stats = {"requests": 0, "errors": 0}
        self.written = Expiring(lambda: (None, self.service.cfg.osc_files_mb), "the files OSC requests wrote")
        self.server = OscServer(cfg.host, cfg.port, self.routes(), allow=cfg.allow, on_error=self.error)

    # ----- the address map ------------------------------------------------------------------------
    def routes(self) -> dict:
        p = P.PREFIX
        return {
            f"{p}/generate": self.on_generate,
            f"{p}/continue": self.on_continue,
            f"{p}/note": self.on_note,
            f"{p}/continue_file": self.on_continue_file,
            f"{p}/infill": self.on_infill,
            f"{p}/harmonize": self.on_harmonize,
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

    # ----- settings and where replies go ------------------------------------------------------------
    def settings_of(self, sender: tuple) -> P.Settings:
        return self.clients.settings_of(sender)

    def settings(self, sender: tuple, pairs: list) -> P.Settings:
        """The sender's settings with a request's key value pairs applied, each checked (bridge.settings),
        plus what needs the daemon: the model is in the store, replies may go where they ask."""
        s = P.apply_pairs(self.settings_of(sender), list(pairs))
        self.destination(sender, s)
        if s.model:
            self.service.models.find(s.model)
        return s

    def destination(self, sender: tuple, s: P.Settings) -> tuple:
        """Where replies go: the sender's host, or a reply_host the allowlist admits; never this daemon."""
        host = s.reply_host or sender[0]
        allow = self.service.allowlist
        if host != sender[0] and not (allow and allow.allowed(host)):
            raise P.ProtocolError(f"reply_host {host}: replies go only to the sender's own address"
                                  + (" or hosts that --allow admits" if allow else
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

    def send(self, to: tuple, address: str, args: list) -> None:
        self.server.send(to, address, args)

    def error(self, sender: tuple, rid: int, message: str, params: list | None = None) -> None:
        self.stats["errors"] += 1
        to = self.route(sender, params)
        message = self.service.public(message)
        log.warning("error to %s:%s id %s: %s", to[0], to[1], rid, message)
        self.send(to, "/cadenza/error", [rid, message])

    # ----- events to replies ------------------------------------------------------------------------------
    def sink(self, to: Callable[[], tuple], rid: int, s: P.Settings, prefix: str = P.PREFIX,
             received: float | None = None) -> Callable[[object], None]:
        """A task's events as OSC replies to `to()`; with `timed` (and `received`), every note also as a
        bundle time-tagged with when it sounds."""

        def tell(event) -> None:
            dest = to()
            if isinstance(event, E.Notes):
                k = event.variation
                for chunk in P.note_chunks(list(event.notes)):
                    if k == 1:
                        self.send(dest, f"{prefix}/notes", [rid] + chunk)
                    else:
                        self.send(dest, f"{prefix}/variation", [rid, k] + chunk)
                if s.timed and received is not None:
                    self.send_timed(dest, rid, s, event, received)
            elif isinstance(event, E.Started):
                self.send(dest, f"{prefix}/started", [rid, event.model])
            elif isinstance(event, E.Info):
                self.send(dest, f"{prefix}/info", [rid, self.service.public(event.text)])
            elif isinstance(event, E.File):
                self.wrote(Path(event.path))
                which = [event.variation] if event.variation else []
                kind = "file" if event.kind == "midi" else event.kind
                self.send(dest, f"{prefix}/{kind}", [rid, str(Path(event.path).resolve())] + which)
            elif isinstance(event, E.Midi):
                if len(event.data) <= P.MAX_BLOB:
                    self.send(dest, f"{prefix}/midi", [rid, event.data])
            elif isinstance(event, (E.Warning, E.Failed)):
                self.stats["errors"] += isinstance(event, E.Failed)
                text = self.service.public(event.text if isinstance(event, E.Warning) else event.message)
                self.send(dest, f"{prefix}/error", [rid, text])
            elif isinstance(event, E.Done):
                self.send(dest, f"{prefix}/done", [rid, event.notes])
            elif isinstance(event, E.Cancelled):
                self.send(dest, f"{prefix}/cancelled", [rid])

        return tell

    def wrote(self, path: Path) -> None:
        """A file a request wrote: kept in the count of --osc-files-mb (the oldest deleted past it)."""
        try:
            size = path.stat().st_size
        except OSError:
            return
        self.written.keep(str(path), Kept(path, size))

    def send_timed(self, to, rid, s, event: E.Notes, received: float) -> None:
        """Each note again as a bundle time-tagged with when it sounds: from the request's arrival plus the
        latency, or on the daemon's clock (Link, MIDI clock) from its first downbeat after that."""
        origin, spb = self.place(received + s.latency, s.qpm)
        wall = time.time() - time.monotonic()  # one clock offset for the event: notes together stay together
        for pitch, start, dur, vel in event.notes:
            self.send_bundle(to, origin + float(start) * spb, "/cadenza/play",
                             [rid, int(pitch), int(vel), float(dur) * spb, event.variation], wall)

    def send_bundle(self, to, when: float, address: str, args: list, wall: float | None = None) -> None:
        """One message in a bundle time-tagged with `when` (monotonic seconds, sent as NTP time; `wall`: the
        wall clock minus the monotonic one, measured once for a group of bundles)."""
        from pythonosc.osc_bundle_builder import OscBundleBuilder
        from pythonosc.osc_message_builder import OscMessageBuilder

        b = OscBundleBuilder(when + (time.time() - time.monotonic() if wall is None else wall))
        m = OscMessageBuilder(address)
        for value in args:
            m.add_arg(value, "f" if isinstance(value, float) else "i")
        b.add_content(m.build())
        self.server.send_raw(to, b.build().dgram)

    def queue(self, sender: tuple, rid: int, s: P.Settings, task, label: str) -> None:
        self.stats["requests"] += 1
        sink = self.sink(lambda: self.reply_to(sender, s), rid, s, received=time.monotonic())
        self.service.submit((sender, rid), label, task, sink)

    def out(self, s: P.Settings, stem: str, what: str) -> Path | None:
        """Where a request's file goes: the outbox, when the settings ask for a file."""
        return Path(self.service.cfg.outbox) / f"{stem}.{what}.mid" if s.write_file else None

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
        self.clients.client(sender).settings = s
        self.send(self.reply_to(sender, s), "/cadenza/ok", [rid, "set"] + list(args))

    def on_models(self, sender, args):
        rid = P.request_id(args) if args else 0
        names = [m["name"] for m in self.service.models.available()]
        self.send(self.route(sender, args), "/cadenza/models", [rid] + names)

    def on_load(self, sender, args):
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/load id name")
        name = args[1]
        P.apply_setting(P.Settings(), "model", name)  # a name in the store, never a path
        self.service.models.find(name)

        def load(job):
            problem = self.service.models.check(name)
            self.service.release(job.key)
            if problem:
                self.error(sender, rid, problem, args)
            else:
                self.send(self.route(sender, args), "/cadenza/loaded", [rid, name])

        self.service.call((sender, rid), f"load {name}", load)

    def on_status(self, sender, args):
        rid = P.request_id(args) if args else 0
        s = self.settings_of(sender)
        state = "ok" if self.service.ready.is_set() else "loading"
        self.send(self.route(sender, args), "/cadenza/status",
                  [rid, state, s.model or self.service.cfg.model, self.service.running, self.service.waiting,
                   round(time.time() - self.started, 1)])

    def on_cancel(self, sender, args):
        rid = P.request_id(args)
        if not self.service.cancel((sender, rid)):
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
        self.clients.note(sender, pitch, vel)
        if self.jam is not None:  # jam mode listens to /cadenza/note too, and answers this client as well
            self.jam(pitch, vel, self.player(tuple(sender)))

    def player(self, sender: tuple):
        """An OSC client as a jam player: its settings, its answer's events as /cadenza/jam/..., and every
        note of the answer as a bundle time-tagged with when it sounds."""
        def sink(rid, s):
            return self.sink(lambda: self.reply_to(sender), rid, s, prefix=f"{P.PREFIX}/jam")

        def play(rid, pitch, vel, on, seconds):
            self.send_bundle(self.reply_to(sender), on, "/cadenza/play", [rid, pitch, vel, seconds, 1])

        return Player(key=sender, settings=lambda: self.settings_of(sender), sink=sink, play=play)

    def prime(self, notes, s: P.Settings):
        from ..music import Score

        return Score.from_beats([(n.pitch, n.start, n.duration, n.velocity) for n in notes], qpm=s.qpm,
                                time_signature=parse_meter(s.meter))

    def on_generate(self, sender, args):
        rid = P.request_id(args)
        s = self.settings(sender, list(args[1:]))
        self.queue(sender, rid, s, Continue(s, out=self.out(s, f"osc-{sender[1]}-{rid}", "cadenza")), "generate")

    def on_continue(self, sender, args):
        rid = P.request_id(args)
        flat, pairs = P.split_continue_args(list(args[1:]))
        s = self.settings(sender, pairs)
        if flat:
            notes = P.parse_notes(flat)
        else:
            notes = [P.PrimeNote(*n) for n in self.clients.take_live(sender, s.qpm)]
            if not notes:
                raise P.ProtocolError("nothing to continue: send prime notes, or /cadenza/note first")
        task = Continue(s, prime=self.prime(notes, s), out=self.out(s, f"osc-{sender[1]}-{rid}", "cadenza"))
        self.queue(sender, rid, s, task, f"continue {len(notes)} notes")

    def on_continue_file(self, sender, args):
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/continue_file id path")
        path = self.service.folders.confined(args[1])
        s = self.settings(sender, list(args[2:]))
        self.queue(sender, rid, s, Continue(s, prime=path, out=self.out(s, path.stem, "cadenza")),
                   f"continue_file {path.name}")

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
        task = Infill(s, prime=self.prime(P.parse_notes(flat), s), start=start, end=end,
                      out=self.out(s, f"osc-{sender[1]}-{rid}", "infill"))
        self.queue(sender, rid, s, task, f"infill {start:g}-{end:g}")

    def on_harmonize(self, sender, args):
        """/cadenza/harmonize id pitch start dur vel ... [key value ...]: a melody (one note at a time); a
        harmony model's parts under it stream back in the melody's beats."""
        rid = P.request_id(args)
        flat, pairs = P.split_continue_args(list(args[1:]))
        s = self.settings(sender, pairs)
        if not flat:
            raise P.ProtocolError("/cadenza/harmonize id pitch start dur vel ... [key value ...]: send the melody")
        task = Harmonize(s, prime=self.prime(P.parse_notes(flat), s), out=self.out(s, f"osc-{sender[1]}-{rid}",
                                                                                     "harmony"))
        self.queue(sender, rid, s, task, f"harmonize {len(flat) // 4} notes")

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
        count = P.integer(args[1], "count_a")
        flat, pairs = P.split_continue_args(list(args[2:]))
        notes = P.parse_notes(flat)
        if not 0 < count < len(notes):
            raise P.ProtocolError(f"count_a {count}: give how many of the {len(notes)} notes are beat A; the rest are B")
        s = self.settings(sender, pairs)
        from ..tasks.run import as_drums

        beats = (as_drums(self.prime(notes[:count], s)), as_drums(self.prime(notes[count:], s)))
        self._queue_drums(sender, rid, s, "interpolate", beats)

    def _drum_request(self, sender, args, task):
        rid = P.request_id(args)
        flat, pairs = P.split_continue_args(list(args[1:]))
        if not flat:
            raise P.ProtocolError(f"/cadenza/{task} id pitch start duration velocity ... [key value ...]: send the notes")
        s = self.settings(sender, pairs)
        prime = self.prime(P.parse_notes(flat), s)
        if task == "groove":
            from ..tasks.run import as_drums

            prime = as_drums(prime)
        self._queue_drums(sender, rid, s, task, (prime,))

    def _queue_drums(self, sender, rid, s, kind, primes):
        task = Drums(kind, s, primes, out=self.out(s, f"osc-{sender[1]}-{rid}", kind))
        self.queue(sender, rid, s, task, kind)

    def on_render(self, sender, args):
        """/cadenza/render id path [format]: audio (wav flac ogg mp3) or a piano roll (png) of a file."""
        rid = P.request_id(args)
        if len(args) < 2 or not isinstance(args[1], str):
            raise P.ProtocolError("/cadenza/render id path [wav|flac|ogg|mp3|png]")
        path = self.service.folders.confined(args[1])
        fmt = str(args[2]).lower().lstrip(".") if len(args) > 2 else "flac"
        if fmt not in P.RENDER_FORMATS + ("png",):
            raise P.ProtocolError(f"render format {fmt!r}: choose one of {', '.join(P.RENDER_FORMATS + ('png',))}")
        to = self.route(sender, list(args[3:]))
        out = Path(self.service.cfg.outbox) / f"{path.stem}.{fmt}"

        def render(job):
            from ..music.render import render_file

            try:
                render_file(path, out)
            except CadenzaError as e:
                self.service.release(job.key)
                self.stats["errors"] += 1
                self.send(to, "/cadenza/error", [rid, self.service.public(str(e))])
                return
            self.service.release(job.key)
            self.wrote(out)
            self.send(to, "/cadenza/rendered", [rid, str(out.resolve())])

        self.service.call((sender, rid), f"render {path.name}", render)

    # ----- life -------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop()
