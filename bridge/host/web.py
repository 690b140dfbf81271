"""Cadenza Studio: the web page, served by the daemon beside its OSC door (http://127.0.0.1:8000).

Starlette (an ASGI toolkit: routing, multipart uploads, streaming responses, nothing hand-parsed) under
uvicorn, in a thread of the daemon. Why Starlette and not Flask: the page follows a generation as it
happens through server-sent events, one long response per request, which an ASGI server holds without a
thread each; the daemon's job queue stays the one place where work runs.

One request path: a page request is the same `Settings` (bridge/settings.py) and the same task
(bridge.tasks), run by the same job queue with the same cost and time limits as an OSC request; only its
events arrive as server-sent events instead of datagrams.

Security (docs/security.md): bound to 127.0.0.1 unless --host says otherwise, the OSC allowlist applies;
the Host header must name this server by IP address or `localhost` (DNS rebinding gets 421); a request
that changes anything must come from this page's own origin (Origin checked) and carry the page's token
(else 403); uploads are size-limited, typed by their content, kept in a private folder and never served
back; downloads are of files this page made, by id, never by a client's path.
"""
from __future__ import annotations

import asyncio
import ipaddress
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CadenzaError
from .expiry import Expiring, Kept

log = logging.getLogger("cadenza.web")
STATIC = Path(__file__).resolve().parent.parent / "web"
MAX_JOBS_KEPT = 200  # finished page jobs remembered (their events and files); older ones are forgotten
MAX_BODY = 1 << 20  # bytes of a request's JSON (a 4,096-note prime is about 150 KB)
MAX_DEPTH = 32  # nesting of a request's JSON
HEADER_SECONDS = 10.0  # a connection must send a whole request's headers within this (slowloris)
IDLE_SECONDS = 5.0  # a kept-alive connection with no new request is closed after this
MAX_CONNECTIONS = 512  # open connections in all; more are closed at once
MAX_CONNECTIONS_PER_CLIENT = 64  # open connections from one address
MAX_STREAMS_PER_CLIENT = 16  # open event streams from one address
STREAM_EVERY = 0.1  # seconds: after a write a stream gathers what comes for this long (the first goes at once):
# 16 followers of a long job woke 50 times a second at 0.02 (session 33: an OSC ping's p99 2.5-2.7x quiet; 1.1x)


@dataclass
class WebJob:
    id: str
    rid: int
    prime: dict  # what the page draws before the continuation: notes in beats, where the new music starts
    events: list = field(default_factory=list)  # each as the stream sends it ("data: {json}\n\n")
    done: bool = False
    created: float = field(default_factory=time.time)
    key: tuple = ()
    waiters: set = field(default_factory=set)  # (loop, asyncio.Event) of the streams following it

    def tell(self, event: dict, final: bool = False) -> None:
        """One event for every stream following this job, encoded once (called from a worker thread)."""
        self.events.append(f"data: {json.dumps(event)}\n\n")
        if final:
            self.done = True
        self.notify()

    def notify(self) -> None:
        """Wake every stream following this job: one call into each event loop, however many follow."""
        loops: dict = {}
        for loop, event in list(self.waiters):
            loops.setdefault(loop, []).append(event)
        for loop, news in loops.items():
            loop.call_soon_threadsafe(_set_all, news)


def _set_all(events) -> None:
    for e in events:
        e.set()


def guarded_protocol():
    """uvicorn's HTTP protocol with what it lacks for a door on a network: a connection must send its
    request's headers within HEADER_SECONDS (idle and slowloris connections are closed), and there are at
    most MAX_CONNECTIONS open, MAX_CONNECTIONS_PER_CLIENT from one address."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class Guarded(H11Protocol):
        def connection_made(self, transport) -> None:
            super().connection_made(transport)
            self._timer = None
            ip = self.client[0] if self.client else ""
            mine = sum(1 for c in self.connections if c.client and c.client[0] == ip)
            if len(self.connections) > MAX_CONNECTIONS or mine > MAX_CONNECTIONS_PER_CLIENT:
                transport.close()
                return
            self._arm()

        def _arm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self.loop.call_later(HEADER_SECONDS, self._expire, self.cycle)

        def _expire(self, cycle) -> None:
            if self.cycle is cycle and not self.transport.is_closing():  # no request began since
                self.transport.close()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._arm()  # the next request's headers, too, must come in time

        def connection_lost(self, exc) -> None:
            if getattr(self, "_timer", None) is not None:
                self._timer.cancel()
            super().connection_lost(exc)

    return Guarded


def sniff(head: bytes) -> str | None:
    """A file's kind from its first bytes (never from its name): the suffix Cadenza reads it by."""
    if head.startswith(b"MThd"):
        return ".mid"
    if head.startswith(b"RIFF") and head[8:12] == b"RMID":
        return ".rmi"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return ".wav"
    if head.startswith(b"fLaC"):
        return ".flac"
    if head.startswith(b"OggS"):
        return ".ogg"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return ".mp3"
    if head.startswith(b"PK\x03\x04"):
        return ".mxl"
    text = head[:8192].decode("utf-8", "replace")
    if "**kern" in text:
        return ".krn"
    if "<score-partwise" in text or "<score-timewise" in text:
        return ".musicxml"
    return None


def notes_in_beats(score) -> list[list]:
    out = []
    for t in score.tracks:
        for p, v, a, b in t.array.tolist():
            out.append([int(p), round(a / score.tpq, 4), round((b - a) / score.tpq, 4), int(v), int(t.is_drum)])
    out.sort(key=lambda n: (n[1], n[0]))
    return out[:20000]


class WebDoor:
    def __init__(self, service):
        self.service = service
        self.cfg = service.cfg
        self.token = secrets.token_urlsafe(24)
        self.jobs: OrderedDict[str, WebJob] = OrderedDict()
        limits = lambda: (self.cfg.page_files_hours, self.cfg.page_files_mb)  # noqa: E731 - read when a file comes
        self.files = Expiring(limits, "the page's files")  # id -> a file this page made (outbox)
        self.uploads = Expiring(limits, "the page's uploads")  # id -> an uploaded file (private folder, never served)
        self.streams: dict[str, int] = {}  # client address -> event streams open
        self.history: list[dict] = []
        self._rids = itertools.count(1)
        self._lock = threading.Lock()
        self.private = Path(self.cfg.outbox) / ".uploads"
        self.server = None
        self.thread: threading.Thread | None = None
        self.address: tuple[str, int] | None = None

    # ----- life ---------------------------------------------------------------------------------------
    def start(self) -> None:
        import socket

        import uvicorn

        self.private.mkdir(parents=True, exist_ok=True)
        os.chmod(self.private, 0o700)
        family = socket.AF_INET6 if ":" in self.cfg.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # accepted connections inherit it: each streamed event leaves at once instead of waiting out the
        # client's delayed ACK (Nagle: 40 ms a request, measured)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            sock.bind((self.cfg.host, int(self.cfg.http_port)))
        except OSError as e:
            raise CadenzaError(f"cannot serve the page on {self.cfg.host}:{self.cfg.http_port}: "
                               f"{e.strerror or e} (--http-port, 0 turns the page off)") from None
        sock.listen(64)
        self.address = sock.getsockname()[:2]
        config = uvicorn.Config(self.app(), log_level="warning", lifespan="off", access_log=False,
                                timeout_graceful_shutdown=1, http=guarded_protocol(), timeout_keep_alive=IDLE_SECONDS,
                                h11_max_incomplete_event_size=32 * 1024)
        self.server = uvicorn.Server(config)
        self.server.install_signal_handlers = lambda: None  # the daemon owns signals
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [sock]}, name="cadenza-web",
                                       daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.address
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}/"

    def stop(self) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(5)

    # ----- checks ---------------------------------------------------------------------------------------
    def host_ok(self, host_header: str) -> bool:
        """The Host header names this server: an IP address or localhost, with our port (DNS rebinding
        brings a name of the attacker's instead)."""
        port = self.address[1]
        host, _, p = host_header.rpartition(":")
        if not host or p != str(port):
            return False
        host = host.strip("[]")
        if host == "localhost":
            return True
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return False
        return True

    # ----- the page's jobs -----------------------------------------------------------------------------
    def sink_for(self, job: WebJob):
        """A task's events (bridge.tasks.events) as the page's events."""
        from ..tasks import events as E

        public = self.service.public

        def sink(event) -> None:
            if isinstance(event, E.Notes):
                ev = {"type": "notes", "variation": event.variation, "notes": [list(n) for n in event.notes]}
            elif isinstance(event, E.File):
                fid = secrets.token_hex(8)
                path = Path(event.path)
                self.files.keep(fid, Kept(path, path.stat().st_size if path.is_file() else 0))
                ev = {"type": "file", "kind": event.kind, "id": fid, "name": path.name,
                      "variation": event.variation or 1}
                if event.kind == "midi":
                    self.history.append({"job": job.id, "id": fid, "name": path.name, "time": time.time(),
                                         "variation": ev["variation"]})
                    del self.history[:-100]
            elif isinstance(event, E.Started):
                ev = {"type": "started", "model": event.model}
            elif isinstance(event, E.Info):
                ev = {"type": "info", "message": public(event.text)}
            elif isinstance(event, E.Warning):
                ev = {"type": "warning", "message": public(event.text)}
            elif isinstance(event, E.Done):
                ev = {"type": "done", "notes": event.notes}
            elif isinstance(event, E.Failed):
                ev = {"type": "error", "message": public(event.message)}
            elif isinstance(event, E.Cancelled):
                ev = {"type": "cancelled"}
            else:
                return  # the MIDI bytes: the page downloads the file instead
            job.tell(ev, final=isinstance(event, E.FINAL))

        return sink

    def submit(self, body: dict) -> WebJob:
        """A page request: settings and a prime, checked as every door checks them, queued as OSC's are."""
        from .. import settings as S
        from ..generation import tempo_at
        from ..music import Score, load_score

        given = body.get("settings") or {}
        if not isinstance(given, dict) or len(given) > 100:
            raise CadenzaError("settings must be an object of key: value")
        s = S.Settings(beats=self.cfg.beats)
        for key, value in given.items():
            spec = S.KEYS.get(key)
            if spec is not None and spec.osc_only:
                raise CadenzaError(f"{key} is an OSC setting; the page takes {', '.join(self.form_keys())}")
            try:
                s = S.apply(s, key, value)
            except S.SettingError as e:
                raise FieldError(key, str(e)) from None
        if s.model:
            self.service.models.find(s.model)
        s = S.apply(S.apply(s, "write_file", 1), "midi", 0)
        task_kind = body.get("task", "continue")
        if task_kind not in S.TASKS:
            raise CadenzaError(f"task {str(task_kind)[:40]!r}: the page does {', '.join(S.TASKS)}")
        prime = body.get("prime") or {"kind": "none"}
        if not isinstance(prime, dict):
            raise CadenzaError('prime must be an object: {"kind": "none" | "upload" | "piece" | "notes", ...}')
        kind = prime.get("kind", "none")
        path = score = None
        drawn = None
        if kind == "upload":
            kept = self.uploads.get(str(prime.get("id", "")))
            if kept is None or not kept.path.is_file():
                raise CadenzaError("that upload is gone; drop the file again")
            path, drawn = kept.path, kept.drawn
        elif kind == "piece":
            path = self.piece_path(s.model, str(prime.get("id", "")))
            whole = load_score(path)
            try:
                beats = float(prime.get("beats", 8))
            except (TypeError, ValueError):
                raise FieldError("prime_beats", "the opening to continue is a number of beats, 1-64") from None
            if not 0 < beats <= 64:
                raise FieldError("prime_beats", "the opening to continue is 1-64 beats")
            from ..generation import cut_at

            # continuing: the opening is the prime (it goes as notes); the other tasks take the whole piece
            score = cut_at(whole, int(beats * whole.tpq)) if task_kind == "continue" else whole
            if task_kind == "harmonize":  # a held-out piece's own melody, its top line, to harmonize anew
                from ..codecs.harmony import split_melody

                score = split_melody(whole)[0]
            path = None
        elif kind == "notes":
            notes = prime.get("notes")
            if not isinstance(notes, list) or not notes:
                raise CadenzaError("play or send some notes first")
            if not all(isinstance(n, list) and len(n) == 4 for n in notes[:S.MAX_NOTES + 1]):
                raise CadenzaError("notes are [pitch, start beat, duration, velocity]")
            flat = [x for n in notes[:S.MAX_NOTES + 1] for x in n]
            parsed = S.parse_notes(flat)  # the one check of prime notes, every door's
            score = Score.from_beats([(n.pitch, n.start, n.duration, n.velocity) for n in parsed], qpm=s.qpm,
                                     time_signature=S.parse_meter(s.meter))
        elif kind != "none":
            raise CadenzaError(f"prime {str(kind)[:40]!r}: choose none, upload, piece or notes")
        jid = secrets.token_hex(6)
        rid = next(self._rids)
        if drawn is None:
            drawn = {"notes": notes_in_beats(score) if score is not None else [],
                     "end": round(score.end_tick / score.tpq, 4) if score is not None else 0.0,
                     "qpm": round(tempo_at(score, score.end_tick), 3) if score is not None else s.qpm}
        job = WebJob(id=jid, rid=rid, prime=drawn, key=("web", jid))
        stem = path.stem if path is not None else f"page-{jid}"
        with self._lock:
            self.jobs[jid] = job
            while len(self.jobs) > MAX_JOBS_KEPT:
                self.jobs.popitem(last=False)
        task = self.task_of(task_kind, body, s, path if path is not None else score,
                            Path(self.cfg.outbox) / f"{stem}.{task_kind}.mid", self.second_beat(body, task_kind))
        try:
            self.service.submit(job.key, f"page {kind}", task, self.sink_for(job))
        except CadenzaError:
            with self._lock:
                self.jobs.pop(jid, None)
            raise
        return job

    def second_beat(self, body: dict, task_kind: str) -> Path | None:
        """Interpolate's beat to end on: an upload named by `to`."""
        if task_kind != "interpolate":
            return None
        to = body.get("to")
        if not isinstance(to, dict) or to.get("kind") != "upload":
            raise FieldError("to", "interpolate needs the beat to end on: choose a second drum file")
        kept = self.uploads.get(str(to.get("id", "")))
        if kept is None or not kept.path.is_file():
            raise FieldError("to", "the beat to end on is gone; choose the file again")
        return kept.path

    @staticmethod
    def task_of(kind: str, body: dict, s, prime, out: Path, second: Path | None = None):
        """The task a page request asks for (bridge.tasks), its prime already read or named."""
        from .. import settings as S
        from ..tasks import Continue, Drums, Harmonize, Infill

        if kind == "continue":
            return Continue(s, prime=prime, out=out)
        if prime is None:
            raise CadenzaError(f"{kind} needs music: drop a file, choose a piece or play some notes")
        if kind == "infill":
            region = body.get("region")
            if not isinstance(region, list) or len(region) != 2:
                raise FieldError("region", "infill needs a region: drag across the piano roll, or give its start "
                                           "and end beats")
            start = S.number(region[0], "the region's start")
            end = S.number(region[1], "the region's end")
            if not 0 <= start < end <= 100_000:
                raise FieldError("region", f"the region {start:g}-{end:g}: its start must be before its end, "
                                           "both beats from 0")
            return Infill(s, prime=prime, start=start, end=end, out=out)
        if kind == "harmonize":
            return Harmonize(s, prime=prime, out=out)
        return Drums(kind, s, (prime, second) if kind == "interpolate" else (prime,), out=out)

    def form_keys(self) -> list[str]:
        from .. import settings as S

        return [spec.name for spec in S.SPEC if not spec.osc_only]

    # ----- pieces of a model's generation set ---------------------------------------------------------
    def pieces(self, model: str) -> list[dict]:
        """The held-out pieces of a model that are on this machine: id, collection, title."""
        loaded_meta = self._meta(model)
        roots = [Path(p) for p in loaded_meta.get("corpus", {}).get("paths", [])]
        out = []
        for rel in loaded_meta.get("split", {}).get("generation", [])[:500]:
            head, _, tail = rel.partition("/")
            for root in roots:
                if root.name == head and (root / tail).is_file():
                    out.append({"id": rel, "collection": head, "title": Path(tail).stem.replace("_", " ")})
        return out

    def piece_path(self, model: str, pid: str) -> Path:
        for p in self.pieces(model):
            if p["id"] == pid:
                head, _, tail = pid.partition("/")
                for root in self._meta(model).get("corpus", {}).get("paths", []):
                    if Path(root).name == head:
                        return Path(root) / tail
        raise CadenzaError("choose a piece from the list")

    def _meta(self, model: str) -> dict:
        from .. import store

        folder = self.service.models.find(model)
        return store.read_meta(folder)

    # ----- the app ------------------------------------------------------------------------------------
    def app(self):
        from starlette.applications import Starlette
        from starlette.middleware import Middleware
        from starlette.requests import Request
        from starlette.responses import FileResponse, HTMLResponse, JSONResponse, StreamingResponse
        from starlette.routing import Mount, Route
        from starlette.staticfiles import StaticFiles

        door = self
        service = self.service

        class Guard:
            """Every request: the client allowlist, the Host header; state changes: Origin and token."""

            def __init__(self, app):
                self.app = app

            async def __call__(self, scope, receive, send):
                if scope["type"] != "http":
                    return await self.app(scope, receive, send)
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
                client = (scope.get("client") or ("", 0))[0]
                if not service.allowed(client):
                    return await JSONResponse({"error": "not in this daemon's client allowlist"}, 403)(
                        scope, receive, send)
                if not door.host_ok(headers.get("host", "")):
                    return await JSONResponse({"error": "this server is reached by IP address or localhost "
                                                        "only (Host header refused)"}, 421)(scope, receive, send)
                if scope["method"] not in ("GET", "HEAD", "OPTIONS"):
                    origin = headers.get("origin")
                    if origin is not None and origin != f"http://{headers['host']}":
                        return await JSONResponse({"error": f"requests from {origin} are refused"}, 403)(
                            scope, receive, send)
                    if not secrets.compare_digest(headers.get("x-cadenza-token", ""), door.token):
                        return await JSONResponse({"error": "missing or wrong page token: reload the page"}, 403)(
                            scope, receive, send)
                return await self.app(scope, receive, send)

        def problem(message: str, status: int = 400, field_name: str | None = None):
            body = {"error": service.public(message)}
            if field_name:
                body["field"] = field_name
            return JSONResponse(body, status)

        async def index(request: Request):
            html = (STATIC / "index.html").read_text(encoding="utf-8")
            return HTMLResponse(html.replace("{{TOKEN}}", door.token),
                                headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY",
                                         "Content-Security-Policy": "default-src 'self'; media-src 'self' blob:; "
                                                                    "img-src 'self' data: blob:; frame-ancestors 'none'"})

        async def models(request: Request):
            from .. import store

            out = []
            for m in store.list_models():
                try:
                    meta = store.read_meta(Path(m["path"]))
                except CadenzaError:
                    continue
                corpus = meta.get("corpus", {})
                metrics = meta.get("metrics") or {}
                figures = {label: metrics[key] for key, label in FIGURES if isinstance(metrics.get(key), (int, float))}
                files = corpus.get("files")
                if isinstance(files, dict):  # counted per split
                    files = sum(v for v in files.values() if isinstance(v, int))
                out.append({"name": m["name"], "codec": m["codec"], "arch": m["arch"], "tasks": tasks_of(meta),
                            "figures": figures, "licence": licence_of(corpus.get("note", "")),
                            "plays": meta.get("description") or corpus.get("note", ""),
                            "corpus": corpus.get("note", ""), "files": files,
                            "licences": [l.get("first_line", "") for l in corpus.get("licences", [])][:3],
                            "metrics": {k: v for k, v in (meta.get("metrics") or {}).items()
                                        if isinstance(v, (int, float))}})
            return JSONResponse({"models": out, "default": service.cfg.model})

        async def settings_spec(request: Request):
            from .. import settings as S

            spec = []
            for s in S.SPEC:
                if s.osc_only or s.name in ("write_file", "midi"):
                    continue
                spec.append({"name": s.name, "kind": s.kind.__name__, "default": s.default, "help": s.help,
                             "low": s.low, "high": s.high, "choices": list(s.choices) if s.choices else None,
                             "range": s.range_text(), "tasks": list(s.tasks or S.TASKS),
                             "label": s.label or s.name.replace("_", " "), "first": s.first})
            from ..codecs.drums import CLASSES

            kit = [[name, list(pitches)] for name, _, pitches in CLASSES]  # the drum grid's rows, top to bottom
            return JSONResponse({"settings": spec, "beats": service.cfg.beats, "tasks": list(S.TASKS), "kit": kit})

        async def pieces(request: Request):
            try:
                return JSONResponse({"pieces": door.pieces(request.query_params.get("model", ""))})
            except CadenzaError as e:
                return problem(str(e))

        async def status(request: Request):
            return JSONResponse({"state": "ok" if service.ready.is_set() else "loading", "model": service.cfg.model,
                                 "running": service.running, "waiting": service.waiting,
                                 "loaded": service.models.loaded(),
                                 "history": door.history[-50:][::-1] if has_token(request) else []})

        async def upload(request: Request):
            limit = int(service.cfg.max_upload_mb * 1024 * 1024)
            length = request.headers.get("content-length")
            if length is not None and length.isdigit() and int(length) > limit + 65536:
                return problem(f"the file is larger than this daemon takes ({service.cfg.max_upload_mb:g} MB, "
                               "--max-upload)", 413)
            try:
                form = await request.form(max_files=1, max_fields=4, max_part_size=limit + 1)
            except Exception as e:  # noqa: BLE001 - a malformed or oversized multipart body: say so
                text = str(e)
                if "size" in text.lower() or "large" in text.lower():
                    return problem(f"the file is larger than this daemon takes ({service.cfg.max_upload_mb:g} MB, "
                                   "--max-upload)", 413)
                return problem(f"not a file upload ({text[:100]})")
            item = form.get("file")
            if item is None or not hasattr(item, "read"):
                return problem("no file in the upload")
            data = await item.read(limit + 1)
            await form.close()
            if len(data) > limit:
                return problem(f"the file is larger than this daemon takes ({service.cfg.max_upload_mb:g} MB, "
                               "--max-upload)", 413)
            suffix = sniff(data[:8192])
            if suffix is None:
                return problem(f"{Path(item.filename or 'the file').name}: not a music file Cadenza reads "
                               "(MIDI, **kern, MusicXML, or a WAV, FLAC, OGG or MP3 recording)", 415)
            uid = secrets.token_hex(8)
            stem = "".join(c for c in Path(item.filename or "upload").stem if c.isalnum() or c in "-_ ")[:60]
            path = door.private / f"{stem or 'upload'}-{uid}{suffix}"
            from ..music import atomic_write_bytes, load_score

            atomic_write_bytes(path, data)
            from dataclasses import replace

            from ..music.bounded import LIMITS

            bounds = replace(LIMITS, seconds=float(service.cfg.max_seconds))
            try:
                score = await asyncio.to_thread(load_score, path, bounds)
            except CadenzaError as e:
                path.unlink(missing_ok=True)
                return problem(str(e).replace(str(path), Path(item.filename or "file").name), 422)
            from ..generation import tempo_at

            door.uploads.keep(uid, Kept(path, len(data), drawn={
                "notes": notes_in_beats(score), "end": round(score.end_tick / score.tpq, 4),
                "qpm": round(tempo_at(score, score.end_tick), 3)}))
            sigs = [(t.numerator, t.denominator) for t in score.time_signatures[:1]]
            return JSONResponse({"id": uid, "name": Path(item.filename or "upload").name,
                                 "notes": notes_in_beats(score), "end": round(score.end_tick / score.tpq, 4),
                                 "qpm": round(tempo_at(score, 0), 3), "meter": sigs[0] if sigs else [4, 4]})

        def event_stream(job: WebJob, request: Request, first: dict | None = None):
            """Server-sent events of a job, from its first to its last (done, error or cancelled). The stream
            sleeps until the job has news (no polling); Starlette ends it when the client leaves."""
            client = (request.client.host if request.client else "")
            with door._lock:
                if door.streams.get(client, 0) >= MAX_STREAMS_PER_CLIENT:
                    return problem(f"{MAX_STREAMS_PER_CLIENT} event streams are open from this address; close one "
                                   "first", 429)
                door.streams[client] = door.streams.get(client, 0) + 1

            async def stream():
                loop = asyncio.get_running_loop()
                news = asyncio.Event()
                waiter = (loop, news)
                job.waiters.add(waiter)
                try:
                    if first is not None:
                        yield f"data: {json.dumps(first)}\n\n"
                    sent = 0
                    while True:
                        news.clear()
                        if sent < len(job.events):
                            fresh = job.events[sent:]  # counted before yielding: more may come while we wait
                            sent += len(fresh)
                            yield "".join(fresh)
                            if not job.done:  # what comes next in this while, gathered: one write, not one a chunk
                                await asyncio.sleep(STREAM_EVERY)
                            continue
                        if job.done:
                            return
                        try:
                            await asyncio.wait_for(news.wait(), 15)
                        except asyncio.TimeoutError:
                            yield ": keep-alive\n\n"
                finally:
                    job.waiters.discard(waiter)
                    with door._lock:
                        left = door.streams.get(client, 1) - 1
                        if left > 0:
                            door.streams[client] = left
                        else:
                            door.streams.pop(client, None)

            return StreamingResponse(stream(), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

        async def read_json(request: Request):
            """The request's JSON object, read within MAX_BODY bytes and MAX_DEPTH levels; a 4xx line if not."""
            size = request.headers.get("content-length", "")
            if size.isdigit() and int(size) > MAX_BODY:
                return None, problem(f"the request is larger than {MAX_BODY // 1024} KB", 413)
            data = bytearray()
            async for chunk in request.stream():
                data += chunk
                if len(data) > MAX_BODY:
                    return None, problem(f"the request is larger than {MAX_BODY // 1024} KB", 413)
            depth = deepest = 0
            for byte in data:  # nesting counted before the parser recurses
                if byte in b"[{":
                    depth += 1
                    deepest = max(deepest, depth)
                elif byte in b"]}":
                    depth -= 1
            if deepest > MAX_DEPTH:
                return None, problem(f"the request's JSON is nested more than {MAX_DEPTH} deep")
            try:
                body = json.loads(bytes(data))
            except (ValueError, UnicodeDecodeError, RecursionError):
                return None, problem("the request is not JSON")
            if not isinstance(body, dict):
                return None, problem("the request is not a JSON object")
            return body, None

        async def create_job(request: Request):
            """A request; the answer is its event stream (one round trip: the first event names the job)."""
            body, refused = await read_json(request)
            if refused is not None:
                return refused
            try:
                job = await asyncio.to_thread(door.submit, body)
            except FieldError as e:
                return problem(e.message, 400, e.field)
            except CadenzaError as e:
                return problem(str(e), 400)
            if request.query_params.get("stream") == "0":
                return JSONResponse({"id": job.id, "prime": job.prime})
            return event_stream(job, request, {"type": "job", "id": job.id, "prime": job.prime})

        async def events(request: Request):
            job = door.jobs.get(request.path_params["jid"])
            if job is None:
                return problem("no such request", 404)
            return event_stream(job, request)

        async def cancel(request: Request):
            job = door.jobs.get(request.path_params["jid"])
            if job is None or not service.cancel(job.key):
                return problem("nothing to cancel", 404)
            return JSONResponse({"cancelled": job.id})

        def has_token(request: Request) -> bool:
            given = request.headers.get("x-cadenza-token") or request.query_params.get("t", "")
            return secrets.compare_digest(given, door.token)

        async def download(request: Request):
            kept = door.files.get(request.path_params["fid"])
            path = kept.path if kept is not None else None
            if path is None or not path.is_file():
                return problem("no such file", 404)
            fmt = request.query_params.get("as", "")
            if fmt:
                if not has_token(request):  # rendering costs the daemon time: only for its own page
                    return problem("missing or wrong page token: reload the page", 403)
                if fmt not in ("wav", "flac", "ogg", "mp3", "png"):
                    return problem("as: wav, flac, ogg, mp3 or png")
                out = path.with_suffix(f".{fmt}")
                if not out.is_file():
                    from ..music.render import render_file

                    try:
                        await asyncio.to_thread(render_file, path, out)
                    except CadenzaError as e:  # (music too long to render, say): the page says why
                        return problem(str(e), 422)
                path = out
            media = {".mid": "audio/midi", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
                     ".mp3": "audio/mpeg", ".png": "image/png"}.get(path.suffix, "application/octet-stream")
            return FileResponse(path, media_type=media, filename=path.name,
                                content_disposition_type="inline" if fmt else "attachment")

        routes = [
            Route("/", index), Route("/api/models", models), Route("/api/settings", settings_spec),
            Route("/api/pieces", pieces), Route("/api/status", status),
            Route("/api/upload", upload, methods=["POST"]), Route("/api/jobs", create_job, methods=["POST"]),
            Route("/api/jobs/{jid}/events", events), Route("/api/jobs/{jid}/cancel", cancel, methods=["POST"]),
            Route("/api/files/{fid}", download),
            Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
        ]

        async def not_found(request, exc):
            return JSONResponse({"error": "not found"}, 404)

        async def crashed(request, exc):
            log.exception("page request %s failed", request.url.path)
            return JSONResponse({"error": "internal error; the daemon's log has the details"}, 500)

        return Starlette(routes=routes, middleware=[Middleware(Guard)],
                         exception_handlers={404: not_found, 500: crashed})


FIGURES = (("val_bits_per_token", "bits per token (held out)"), ("bigram_bits_per_token", "bigram baseline"),
           ("unigram_bits_per_token", "unigram baseline"), ("val_loss", "validation loss"))


LICENCES = re.compile(r"CC[ -]BY(?:[- ](?:NC|SA|ND))*(?:[ -]\d\.\d)?|cc-by-sa|GPL-\d\.\d|CC0|MIT|public domain", re.I)


def licence_of(note: str) -> str:
    """The licence a model card's corpus note names (CC BY 4.0, CC BY-NC-SA 4.0, GPL-3.0, ...), else what its
    last parentheses say, else nothing."""
    m = LICENCES.search(note)
    if m:
        return m.group(0)
    inside = re.findall(r"\(([^()]*)\)", note)
    return inside[-1] if inside else ""


def tasks_of(meta: dict) -> list[str]:
    """What a model does, for the page's task switch: its card's words."""
    codec = meta.get("codec", {})
    if meta.get("arch", {}).get("name") == "groovae":
        return ["groove", "drumify", "interpolate"]
    from ..codecs import codec_class

    if codec.get("name") and codec_class(codec["name"]).harmonizes:
        return ["harmonize"]
    if codec.get("fim"):
        return ["infill", "continue"]
    return ["continue"]


class FieldError(CadenzaError):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message
