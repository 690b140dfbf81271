"""Hostile input, seeded, and the runs that throw it at a real daemon (`cadenza bench fuzz` and the tests).

The datagrams come from a seeded generator over the real OSC grammar (`datagrams(seed, n)`): every
address the daemon serves and the addresses it replies with, every type tag python-osc writes and
some it does not, hostile numbers (NaN, infinities, 2**31, huge floats), hostile strings (path
escapes, 300-character names, non-ASCII, NUL), settings with wrong types, bundles nested deep and
wide, truncated and bit-flipped packets, and plain garbage. `page_requests(seed, n)` does the same for the
page: JSON of every wrong shape and depth, broken uploads, paths that are not there.

`run_fuzz` starts a daemon on a free port of 127.0.0.1 (or takes one), sends the datagrams in batches from
a few sockets, and after each batch checks that it still answers a ping and completes a continuation; it
counts datagrams sent, error replies, replies per datagram (at most one error each: no loop), the receive
loop's and workers' threads alive, tracebacks logged, RSS before and after. `page_fuzz` sends the page
requests to a daemon's page and counts the answers by status.
"""
from __future__ import annotations

import json
import logging
import random
import socket
import struct
import tempfile
import threading
import time
from pathlib import Path

from .osc import bundle, message

ADDRESSES = ["generate", "continue", "note", "continue_file", "render", "set", "cancel", "models", "load",
             "status", "ping"]
REPLIES = ["error", "pong", "ok", "status", "models", "loaded", "started", "notes", "file", "midi", "done"]
KEYS = ["model", "beats", "length_beats", "temperature", "top_k", "top_p", "strategy", "n", "seed", "variations",
        "qpm", "scale", "pitch_range", "range", "reply_host", "reply_port", "midi", "write_file", "render",
        "picture", "max_hold", "wobble"]
NASTY_STRINGS = ["", "../../../etc/passwd", "/etc/passwd", "x" * 300, "ü" * 70, "a\u0000b", "piano/../../x",
                 "..", ".", "C major", "H major", "36-96", "96-36", "top_p", "beam", "nan", "inf", "1e999",
                 "chorale", "piano", "/", "\\\\server\\share", "%s%s%n", "😀" * 10, "0" * 50]
NASTY_NUMBERS = [0, -1, 1, 2**31 - 1, -2**31, 127, 128, 1e9, -1e9, 1e308, float("nan"), float("inf"),
                 float("-inf"), 0.5, 1024.0, 1025.0, 1e-30]


def _value(rng: random.Random):
    r = rng.random()
    if r < 0.4:
        return rng.choice(NASTY_NUMBERS)
    if r < 0.7:
        return rng.choice(NASTY_STRINGS)
    if r < 0.8:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
    return rng.randrange(-200, 200)


def _request(rng: random.Random) -> bytes:
    kind = rng.random()
    address = "/cadenza/" + (rng.choice(ADDRESSES) if kind < 0.85 else rng.choice(REPLIES) if kind < 0.95
                             else rng.choice(NASTY_STRINGS))
    args: list = [rng.choice([rng.randrange(0, 1000), rng.choice(NASTY_NUMBERS), rng.choice(NASTY_STRINGS)])]
    if address.endswith(("/continue", "/generate")) and rng.random() < 0.6:
        for _ in range(rng.randrange(0, 6)):  # prime notes, some bad
            args += [rng.choice([60, 64, 67, -1, 200, 60.5, "sixty"]), rng.choice([0, 1.0, -1, 1e9]),
                     rng.choice([1, 0.5, 0, 2000]), rng.choice([90, 0, 128])]
    elif address.endswith(("/continue_file", "/render", "/load")):
        args.append(rng.choice(NASTY_STRINGS))
    elif address.endswith("/note"):
        args += [rng.choice([60, 128, -1, 61.5]), rng.choice([0, 90, 200])]
    for _ in range(rng.randrange(0, 4)):  # key value pairs, some bad
        args += [rng.choice(KEYS), _value(rng)]
    if address.endswith(("/continue", "/generate")):  # keep real work small: fuzzing is not a load test
        args += ["beats", 1.0, "variations", 1, "write_file", 0]
    tags = None
    if rng.random() < 0.3:
        tags = "".join(rng.choice("ifsbhdTFNIcmrtS[]") for _ in range(len(args) + rng.randrange(-2, 3)))
    return message(address, args, tags)


def datagrams(seed: int, n: int):
    """n hostile datagrams, the same for the same seed."""
    rng = random.Random(seed)
    for _ in range(n):
        r = rng.random()
        if r < 0.55:
            d = _request(rng)
        elif r < 0.7:  # bundles: wide, deep, and nested past the limit
            d = bundle([_request(rng) for _ in range(rng.randrange(1, 8))],
                       depth=rng.choice([1, 2, 3, 5, 40, 450]))
        elif r < 0.82:  # truncated or bit-flipped
            d = bytearray(_request(rng))
            if rng.random() < 0.5:
                d = d[:rng.randrange(len(d) + 1)]
            else:
                for _ in range(rng.randrange(1, 6)):
                    if d:
                        d[rng.randrange(len(d))] ^= 1 << rng.randrange(8)
            d = bytes(d)
        elif r < 0.9:  # a bundle header lying about its element sizes
            d = b"#bundle\0" + struct.pack(">Qi", 1, rng.choice([-4, 0, 3, 2**31 - 1, 12])) + b"/cadenza/ping\0\0\0"
        else:  # garbage
            d = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600)))
        yield d[:60000]


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class Tracebacks(logging.Handler):
    """Counts the log records that carry a traceback (and keeps the first): added to the root logger while
    hostile input is sent, it says whether anything escaped a door's handling."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.count = 0
        self.first = ""

    def emit(self, record):
        if record.exc_info:
            self.count += 1
            self.first = self.first or self.format(record)


def check_alive(port: int, timeout: float = 60.0) -> dict:
    """A ping and a short continuation through a fresh socket: {'pong': bool, 'done': bool}."""
    from pythonosc.osc_packet import OscPacket

    from ..host.osc import build_message

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.settimeout(0.2)
    got = {"pong": False, "done": False}
    try:
        s.sendto(build_message("/cadenza/ping", [7]), ("127.0.0.1", port))
        s.sendto(build_message("/cadenza/continue", [8, 60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, "beats", 2.0,
                                                     "write_file", 0]), ("127.0.0.1", port))
        deadline = time.time() + timeout
        while time.time() < deadline and not all(got.values()):
            try:
                data, _ = s.recvfrom(65536)
            except socket.timeout:
                continue
            for m in OscPacket(data).messages:
                if m.message.address == "/cadenza/pong":
                    got["pong"] = True
                elif m.message.address in ("/cadenza/done", "/cadenza/error") and m.message.params[:1] == [8]:
                    got["done"] = m.message.address == "/cadenza/done"
                    if not got["done"]:
                        return got
    finally:
        s.close()
    return got


def jam_notes(seed: int, n: int):
    """n hostile /cadenza/note datagrams for a jamming daemon, the same for the same seed: notes left held (stuck),
    note-offs of notes never played, floods of note-ons, values of every wrong kind and size, and bundles of
    them; from several players (ids)."""
    rng = random.Random(seed)
    for _ in range(n):
        r = rng.random()
        player = rng.choice([1, 2, 3, 2**31 - 1, -1])
        if r < 0.3:  # a note-on never ended
            yield message("/cadenza/note", [player, rng.randrange(0, 128), rng.randrange(1, 128)])
        elif r < 0.5:  # a note-off of a note never played
            yield message("/cadenza/note", [player, rng.randrange(0, 128), 0])
        elif r < 0.7:  # wrong values and types
            args = [rng.choice([player, rng.choice(NASTY_NUMBERS), rng.choice(NASTY_STRINGS)])]
            args += [rng.choice(NASTY_NUMBERS + NASTY_STRINGS) for _ in range(rng.randrange(0, 5))]
            yield message("/cadenza/note", args, tags="".join(rng.choice("ifsdhTN") for _ in args)
                          if rng.random() < 0.3 else None)
        elif r < 0.85:  # a flood: a chord of every pitch, held
            yield bundle([message("/cadenza/note", [player, p, 100]) for p in rng.sample(range(128), 40)])
        else:  # played properly, in bundles
            p = rng.randrange(0, 128)
            yield bundle([message("/cadenza/note", [player, p, 90]), message("/cadenza/note", [player, p, 0])])


def jam_fuzz(daemon, n: int = 500, seed: int = 0, timeout: float = 30.0) -> dict:
    """Send n hostile notes (`jam_notes`) to a daemon in jam mode, then have a well-behaved player play a short
    phrase and wait for its answer: the jam must survive stuck notes, floods and nonsense, and still answer."""
    from ..host.live import MAX_HELD

    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    port = daemon.server.address[1]
    socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(3)]
    t0 = time.perf_counter()
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
        for i, d in enumerate(jam_notes(seed, n)):
            socks[i % len(socks)].sendto(d, ("127.0.0.1", port))
            if i % 50 == 49:
                time.sleep(0.01)
        time.sleep(0.3)
        held_after_fuzz = len(daemon.live.held)
        answered, answer_s = _jam_answers(port, timeout)
    finally:
        for s in socks:
            s.close()
        logging.getLogger().removeHandler(tracebacks)
    return {"notes": n, "seconds": round(time.perf_counter() - t0, 2), "held_after_fuzz": held_after_fuzz,
            "held_limit": MAX_HELD, "held_at_end": len(daemon.live.held), "answered_after": answered,
            "answer_seconds": round(answer_s, 2), "live_threads_alive": all(t.is_alive() for t in daemon.live.threads),
            "tracebacks_logged": tracebacks.count, "first_traceback": tracebacks.first[:2000]}


def _jam_answers(port: int, timeout: float) -> tuple[bool, float]:
    """A player plays four notes and waits for the jam's answer (/cadenza/jam/done): (answered, seconds)."""
    from .osc import Client

    c = Client(port)
    t = time.perf_counter()
    try:
        for pitch in (60, 64, 67, 72):
            c.send("/cadenza/note", 77, pitch, 96)
            time.sleep(0.1)
            c.send("/cadenza/note", 77, pitch, 0)
        try:
            c.receive(until=("/cadenza/jam/done",), timeout=timeout)
        except AssertionError:  # not within the time
            return False, time.perf_counter() - t
        return True, time.perf_counter() - t
    finally:
        c.close()


def run_fuzz(n: int = 5000, seed: int = 0, model: str = "chorale", batch: int = 500, daemon=None,
             page: int = 0, jam: int = 0) -> dict:
    """Send n datagrams to a daemon (a new one on a free port unless given), then `page` hostile requests to its
    page (when it serves one) and `jam` hostile notes to its jam (when it jams); the figures as a dict."""
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon

    own = daemon is None
    tmp = Path(tempfile.mkdtemp(prefix="cadenza-fuzz-"))
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    if own:
        from .net import free_tcp_port

        daemon = Daemon(ServeConfig(http_port=free_tcp_port() if page else 0, port=0, model=model, inbox=tmp / "in",
                                    outbox=tmp / "out", watch=False, queue=8, max_tokens=2000, max_seconds=5.0,
                                    jam=bool(jam), jam_wait=1.0, jam_bars=1, qpm=240.0))
        daemon.start()
    daemon.wait_ready(300)  # the model loaded: what the datagrams add is what RSS after minus before shows
    check_alive(daemon.server.address[1])  # and its first request served (compiled code loaded)
    port = daemon.server.address[1]
    socks = []
    for _ in range(4):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.0.0.1", 0))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        s.setblocking(False)
        socks.append(s)
    replies: dict[str, int] = {}

    def drain():
        for s in socks:
            while True:
                try:
                    data, _ = s.recvfrom(65536)
                except (BlockingIOError, OSError):
                    break
                key = data.split(b"\0", 1)[0].decode("latin-1", "replace")
                replies[key] = replies.get(key, 0) + 1

    rss0 = rss_mb()
    sent0, received0 = daemon.server.sent, daemon.server.received
    threads0 = threading.active_count()
    checks = []
    t0 = time.perf_counter()
    sent = 0
    try:
        for i, d in enumerate(datagrams(seed, n)):
            socks[i % len(socks)].sendto(d, ("127.0.0.1", port))
            sent += 1
            if i % 50 == 49:
                time.sleep(0.01)  # let the receive loop keep up: the socket buffer is not what is tested
                drain()
            if (i + 1) % batch == 0 or i + 1 == n:
                time.sleep(0.2)
                drain()
                daemon.jobs.cancel_all()
                checks.append(check_alive(port))
        time.sleep(0.5)
        drain()
    finally:
        for s in socks:
            s.close()
        logging.getLogger().removeHandler(tracebacks)
    seconds = time.perf_counter() - t0
    errors = replies.get("/cadenza/error", 0)
    r = {
        "datagrams": sent, "seconds": round(seconds, 2), "received_by_daemon": daemon.server.received - received0,
        "malformed": daemon.server.malformed, "error_replies": errors,
        "replies": sum(replies.values()), "replies_by_address": dict(sorted(replies.items())),
        "error_replies_per_datagram": round(errors / max(1, sent), 3),
        "replies_per_datagram": round(sum(replies.values()) / max(1, sent), 3),
        "daemon_sends": daemon.server.sent - sent0, "dropped_replies": daemon.server.dropped,
        "osc_thread_alive": daemon.server.alive, "workers_alive": daemon.jobs.alive,
        "thread_deaths": int(not daemon.server.alive) + (len(daemon.jobs._threads) - daemon.jobs.alive),
        "threads_before": threads0, "threads_after": threading.active_count(),
        "tracebacks_logged": tracebacks.count, "first_traceback": tracebacks.first[:2000],
        "checks": len(checks), "checks_passed": sum(1 for c in checks if c["pong"] and c["done"]),
        "clients_kept": len(daemon.osc.clients),
        "rss_mb_before": round(rss0, 1), "rss_mb_after": round(rss_mb(), 1),
    }
    if page and daemon.web is not None:
        logging.getLogger().addHandler(tracebacks)
        try:
            r["page"] = page_fuzz(daemon, page, seed)
        finally:
            logging.getLogger().removeHandler(tracebacks)
        r["page"]["tracebacks_logged"] = tracebacks.count - r["tracebacks_logged"]
    if jam and daemon.live is not None:
        r["jam"] = jam_fuzz(daemon, jam, seed)
    if own:
        daemon.stop()
    return r


def _json_value(rng: random.Random, depth: int = 0):
    kind = rng.random()
    if depth > 3 or kind < 0.35:
        return rng.choice(NASTY_NUMBERS + NASTY_STRINGS + [None, True, False, "upload", "notes", "piece", "none"])
    if kind < 0.6:
        return [_json_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))]
    keys = ["kind", "id", "notes", "beats", "settings", "prime", "model", "temperature"] + KEYS
    return {rng.choice(keys): _json_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))}


def page_requests(seed: int, n: int):
    """n hostile page requests (method, path, headers, body), seeded: JSON of every wrong shape, nesting,
    bodies and uploads of every wrong kind, paths that are not there."""
    rng = random.Random(seed)
    for _ in range(n):
        kind = rng.random()
        if kind < 0.45:  # a request whose JSON is wrong in shape, type or depth
            body = {"settings": _json_value(rng), "prime": _json_value(rng)} if rng.random() < 0.7 else _json_value(rng)
            data = json.dumps(body, allow_nan=True).encode()
            if rng.random() < 0.1:
                data = b"[" * rng.choice([40, 5000, 100_000]) + b"]" * 10
            elif rng.random() < 0.1:
                data = data[:rng.randrange(1, max(2, len(data)))]
            yield "POST", "/api/jobs", {"Content-Type": "application/json"}, data
        elif kind < 0.7:  # an upload: garbage, a truncated MIDI, a notation bomb in small, a wrong field
            payload = rng.choice([b"", b"MThd\x00\x00", b"MThd" + bytes(rng.randrange(256) for _ in range(64)),
                                  b"**kern\n" + b"4c\n" * rng.randrange(1, 2000), b"<score-partwise>" * 50,
                                  b"PK\x03\x04" + bytes(32), bytes(rng.randrange(256) for _ in range(300))])
            field = rng.choice(["file", "file", "other"])
            name = rng.choice(["a.mid", "../../x.mid", "x" * 300 + ".krn", "b.mxl", "", "c.wav"])
            boundary = "fuzz"
            body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n\r\n"
                    ).encode() + payload + f"\r\n--{boundary}--\r\n".encode()
            if rng.random() < 0.1:
                body = body[:rng.randrange(1, len(body))]
            yield "POST", "/api/upload", {"Content-Type": f"multipart/form-data; boundary={boundary}"}, body
        else:  # reads of things that are not there, or not for this client
            path = rng.choice(["/api/files/" + rng.choice(["x", "../../etc/passwd", "%00", "a" * 500]),
                               "/api/files/x?as=" + rng.choice(["wav", "exe", ""]), "/api/jobs/none/events",
                               "/api/pieces?model=" + rng.choice(["../x", "piano", "nope", ""]), "/api/status",
                               "/nothing", "/api/jobs/x/cancel"])
            yield ("POST" if path.endswith("cancel") else "GET"), path, {}, None


def page_fuzz(daemon, n: int = 500, seed: int = 0) -> dict:
    """Hostile page requests against a daemon's page: statuses counted; any 5xx is a failure; afterwards
    the page still answers and its threads live."""
    import http.client

    host, port = daemon.web.address
    base = {"Host": f"{host}:{port}", "Origin": f"http://{host}:{port}", "X-Cadenza-Token": daemon.web.token}
    statuses: dict[int, int] = {}
    t0 = time.perf_counter()
    for method, path, headers, body in page_requests(seed, n):
        c = http.client.HTTPConnection(host, port, timeout=30)
        try:
            c.request(method, path, body=body, headers={**base, **headers})
            r = c.getresponse()
            r.read()
            statuses[r.status] = statuses.get(r.status, 0) + 1
        except (OSError, http.client.HTTPException):
            statuses[0] = statuses.get(0, 0) + 1  # the server closed it: counted, not a failure by itself
        finally:
            c.close()
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("GET", "/api/status", headers=base)
    alive = c.getresponse().status == 200
    c.close()
    return {"requests": n, "seconds": round(time.perf_counter() - t0, 2), "statuses": dict(sorted(statuses.items())),
            "server_errors": sum(v for k, v in statuses.items() if k >= 500), "page_answers_after": alive,
            "web_thread_alive": daemon.web.thread.is_alive()}
