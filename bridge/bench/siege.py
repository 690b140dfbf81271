"""`cadenza bench siege`: the page's door under siege, and what it costs everyone else, in one run.

A daemon serves OSC and the page on free ports of 127.0.0.1. First, quiet: an OSC ping's round trip (p50 and
p99 of PINGS, from a client in a process of its own), the first notes of a continuation (p50 of 9), `GET /` and
two `--beats`-long continuations over OSC at once (done, the slower of the two). Then the same while
- `--idle` TCP connections to the page send nothing, from another address (127.0.0.2; as many as this
  process may open: its file limit is raised to the hard limit); the daemon keeps at most 512 (64 from one
  address), closes the rest at once and closes the idle ones after 10 s;
- a long job runs, followed by nobody (what the job itself costs the others: two cores shared; LONG_JOB, long
  enough to outlast the row, and the row says if it did not);
- `--streams` event streams follow the same long job, all from one address (16 are admitted, the rest refused
  by name, and an admitted stream sleeps until its job has news).
Each figure is reported with its ratio to the quiet one measured in the same run (these machines are noisy).
"""
from __future__ import annotations

import gc
import http.client
import json
import logging
import os
import resource
import shutil
import socket
import statistics
import tempfile
import time
from pathlib import Path

from ..harness.fuzz import Tracebacks
from ..harness.net import free_tcp_port
from ..harness.osc import Client
from .osc import PRIME


PINGS = 2000  # a p99 of 200 (until session 33) was the second slowest ping: whether one of the job's chunk
# boundaries fell among them decided it (the same code gave 0.14 and 0.81 ms); of 2,000, the twentieth


def _ping_ms(c: Client, n: int = PINGS) -> tuple[float, float]:
    """An OSC ping's round trip: (p50, p99) ms over n."""
    times = []
    for i in range(n):
        t = time.perf_counter()
        c.send("/cadenza/ping", 900 + i)
        c.receive(until=("/cadenza/pong",), timeout=30)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return round(statistics.median(times), 2), round(times[min(len(times) - 1, int(len(times) * 0.99))], 2)


def _first_notes_ms(port: int, rid: int, n: int = 9) -> float:
    """16-beat continuations over OSC, one after another: ms from asking to its first notes, p50 of n (one
    request alone is a sample of the machine's noise)."""
    c = Client(port)
    times = []
    try:
        for i in range(n):
            t = time.perf_counter()
            c.send("/cadenza/continue", rid + i, *PRIME, "beats", 16.0, "seed", 1, "write_file", 0, "midi", 0)
            c.receive(until=("/cadenza/notes", "/cadenza/error"), timeout=60, rid=rid + i)
            times.append((time.perf_counter() - t) * 1000)
            c.receive(rid=rid + i, timeout=60)
        return round(statistics.median(times), 2)
    finally:
        c.close()


def _fds() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def _get_ms(addr) -> float | None:
    t = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(*addr, timeout=30)
        conn.request("GET", "/")
        ok = conn.getresponse().status == 200
        conn.close()
    except OSError:
        return None
    return round((time.perf_counter() - t) * 1000, 1) if ok else None


def _two_generations_s(port: int, beats: float, rid: int) -> float:
    """Two continuations of `beats` beats asked at once over OSC: seconds until the slower is done."""
    clients = [Client(port), Client(port)]
    try:
        t = time.perf_counter()
        for k, c in enumerate(clients):
            c.send("/cadenza/continue", rid + k, *PRIME, "beats", float(beats), "seed", k, "write_file", 0, "midi", 0)
        for k, c in enumerate(clients):
            got = c.receive(rid=rid + k, timeout=300)
            if got[-1][0] != "/cadenza/done":
                raise RuntimeError(f"a continuation failed: {got[-1]}")
        return round(time.perf_counter() - t, 2)
    finally:
        for c in clients:
            c.close()


class Pinger:
    """An OSC client in a process of its own, as a patch or a live-coding session is: it pings the daemon when
    told and says p50 and p99. (A client inside this process would share the interpreter with the daemon it
    measures, and time its own waits for it.)"""

    def __init__(self, port: int):
        import subprocess
        import sys

        self.proc = subprocess.Popen([sys.executable, "-c", "from bridge.bench.siege import _pinger; _pinger()",
                                      str(port)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     cwd=str(Path(__file__).resolve().parents[2]))
        self.ping()  # started and connected before anything is timed

    def ping(self, n: int = PINGS) -> tuple[float, float]:
        self.proc.stdin.write(f"{n}\n")
        self.proc.stdin.flush()
        p50, p99 = self.proc.stdout.readline().split()
        return float(p50), float(p99)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(10)
        self.proc.stdout.close()


def _pinger() -> None:
    """The pinger's own loop: a count on stdin, `p50 p99` of that many pings on stdout."""
    import sys

    c = Client(int(sys.argv[1]))
    for line in sys.stdin:
        print(*_ping_ms(c, int(line)), flush=True)
    c.close()


def _measure(d, pinger: Pinger, beats: float, rid: int) -> dict:
    p50, p99 = pinger.ping()
    return {"ping_ms": p50, "ping_p99_ms": p99, "get_ms": _get_ms(d.web.address),
            "first_notes_ms": _first_notes_ms(d.server.address[1], rid + 50),
            "two_generations_s": _two_generations_s(d.server.address[1], beats, rid)}


def _open_idle(addr, n: int) -> list[socket.socket]:
    """n connections that send nothing, from 127.0.0.2 (another address than the one measuring, as an
    attacker's would be; where that address cannot be bound, from the same one)."""
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.settimeout(2)
        try:
            try:
                s.bind(("127.0.0.2", 0))
            except OSError:
                pass
            s.connect(addr)
        except OSError:
            s.close()
            break
        socks.append(s)
    return socks


# The job the streams follow, long enough to outlast a row's measures (~2 s with the streams opened): the piano
# model's 1,024 beats at 30 quarter notes a minute (its events count seconds: ~5 s on two cores). Until session 32
# it was 900 beats of the chorale model: 0.6 s, often over before the row's pings (then they timed a quiet daemon).
LONG_JOB = {"model": "piano", "beats": 1024.0, "qpm": 30.0}


def _open_streams(d, n: int, settings: dict | None = None) -> tuple[list, dict]:
    """A job (LONG_JOB unless `settings` say), then n event streams on it from this address: (the open
    connections, status counts)."""
    host, port = d.web.address
    body = json.dumps({"settings": {**(settings or LONG_JOB), "seed": 1}, "prime": {"kind": "notes", "notes":
                       [PRIME[j:j + 4] for j in range(0, len(PRIME), 4)]}})
    c = http.client.HTTPConnection(host, port, timeout=30)
    c.request("POST", "/api/jobs?stream=0", body=body, headers={"Content-Type": "application/json",
                                                                "X-Cadenza-Token": d.web.token,
                                                                "Origin": f"http://{host}:{port}"})
    jid = json.loads(c.getresponse().read())["id"]
    c.close()
    conns, statuses = [], {}
    for _ in range(n):
        s = http.client.HTTPConnection(host, port, timeout=30)
        try:
            s.request("GET", f"/api/jobs/{jid}/events")
            r = s.getresponse()
        except OSError:
            statuses["failed"] = statuses.get("failed", 0) + 1
            continue
        statuses[r.status] = statuses.get(r.status, 0) + 1
        if r.status == 200:
            conns.append((s, r))  # left open, unread: a follower that never leaves
        else:
            r.read()
            s.close()
    return conns, statuses


def _wait_idle(d, timeout: float = 300.0) -> None:
    """Until the daemon runs no job (the long job of the row before has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (d.jobs.active or d.jobs.waiting):
        time.sleep(0.05)


def run_siege(model: str = "chorale", idle: int = 20000, streams: int = 200, beats: float = 450.0) -> dict:
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, idle + 1024) if hard != resource.RLIM_INFINITY else idle + 1024
    if want > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-siege-"))
    d = Daemon(ServeConfig(port=0, http_port=free_tcp_port(), model=model, inbox=tmp / "in", outbox=tmp / "out",
                           watch=False, max_tokens=1_000_000, max_seconds=300.0))
    d.start()
    d.wait_ready(300)
    r: dict = {"model": model, "beats": beats, "file_limit": want}
    tracebacks = Tracebacks()
    logging.getLogger().addHandler(tracebacks)
    pinger = Pinger(d.server.address[1])
    try:
        _two_generations_s(d.server.address[1], 8.0, 100)  # compiled code loaded before anything is timed
        _open_streams(d, 0, {**LONG_JOB, "beats": 8.0})  # and a page job's code and model: the first one
        _wait_idle(d)  # imports what it uses (~3 ms)
        r["quiet"] = _measure(d, pinger, beats, 200)
        fds_quiet = _fds()  # the daemon runs in this process: its sockets are this process's files
        socks = _open_idle(d.web.address, min(idle, want - 512))
        try:
            time.sleep(1.0)
            r["idle_connections"] = {"opened": len(socks), **_measure(d, pinger, beats, 300)}
        finally:
            for s in socks:
                s.close()
            del socks
        time.sleep(1.0)
        gc.collect()  # this process's own 19,488 client sockets, gone: not what the next row measures
        _open_streams(d, 0)  # the long job the streams will follow, alone: what the job itself costs,
        time.sleep(0.25)  # measured once it is under way, as the streams' row is (after 200 stream requests)
        r["busy"] = {**_measure(d, pinger, beats, 350), "job_ran_throughout": d.jobs.active > 0}
        d.jobs.cancel_all()
        _wait_idle(d)
        conns, statuses = _open_streams(d, streams)
        try:
            r["streams"] = {"asked": streams, "statuses": {str(k): v for k, v in statuses.items()},
                            "open": len(conns), **_measure(d, pinger, beats, 400),
                            "job_ran_throughout": d.jobs.active > 0}
        finally:
            for s, _ in conns:
                s.close()
            d.jobs.cancel_all()
            _wait_idle(d)
        time.sleep(1.0)
        r["fds"] = {"quiet": fds_quiet, "after": _fds()}
        r["tracebacks_logged"] = tracebacks.count
        for key in ("idle_connections", "busy", "streams"):
            q, s = r["quiet"], r[key]
            s["vs_quiet"] = {"ping": round(s["ping_ms"] / q["ping_ms"], 2),
                             "ping_p99": round(s["ping_p99_ms"] / q["ping_p99_ms"], 2),
                             "first_notes": round(s["first_notes_ms"] / q["first_notes_ms"], 2),
                             "get": round(s["get_ms"] / q["get_ms"], 2) if s["get_ms"] and q["get_ms"] else None,
                             "two_generations": round(s["two_generations_s"] / q["two_generations_s"], 2)}
        b = r["busy"]
        r["streams"]["vs_busy"] = {"first_notes": round(r["streams"]["first_notes_ms"] / b["first_notes_ms"], 2),
                                   "ping_p99": round(r["streams"]["ping_p99_ms"] / b["ping_p99_ms"], 2)}
    finally:
        pinger.close()
        logging.getLogger().removeHandler(tracebacks)
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def table_siege(r: dict) -> str:
    q = r["quiet"]
    lines = [f"quiet: OSC ping p50 {q['ping_ms']} / p99 {q['ping_p99_ms']} ms, first notes {q['first_notes_ms']} ms, "
             f"GET / {q['get_ms']} ms, two {r['beats']:g}-beat continuations {q['two_generations_s']} s"]
    for key, what in (("idle_connections", "{opened} idle connections open"),
                      ("busy", "a long job running, followed by no stream"),
                      ("streams", "the same job, {asked} event streams asked ({open} admitted; statuses {statuses})")):
        s = r[key]
        v = s["vs_quiet"]
        lines.append(f"{what.format(**s)}: ping p50 {s['ping_ms']} ms ({v['ping']}x), p99 {s['ping_p99_ms']} ms "
                     f"({v['ping_p99']}x), first notes {s['first_notes_ms']} ms ({v['first_notes']}x), GET / "
                     f"{s['get_ms'] if s['get_ms'] is not None else 'failed'} ms ({v['get']}x), two continuations "
                     f"{s['two_generations_s']} s ({v['two_generations']}x)"
                     + ("" if s.get("job_ran_throughout", True) else "; the job ended before these were measured"))
    v = r["streams"]["vs_busy"]
    lines.append(f"what the streams themselves cost (against the job alone): first notes {v['first_notes']}x, "
                 f"ping p99 {v['ping_p99']}x")
    lines.append(f"files open: {r['fds']['quiet']} quiet, {r['fds']['after']} after; tracebacks logged "
                 f"{r['tracebacks_logged']}")
    return "\n".join(lines)
