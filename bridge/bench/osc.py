"""`cadenza bench osc` and `cadenza bench watch`: latency of the daemon as clients see it.

osc: a daemon on a free port of 127.0.0.1 with the model, then 1 and then 8 clients, each in a process of
its own with its own UDP socket, as patches and live-coding sessions are (clients inside this process would
share the interpreter with the daemon they measure), sending /cadenza/continue requests one after another
(an 8-note prime, 8 bars of 4/4 asked for; the same prime every time, as the Live device's variations send it,
which the daemon then reads once, or with `--distinct-primes` each request's own, as an ensemble's players send).
For each request: milliseconds from sending to the first /cadenza/notes and to /cadenza/done. A reply that never comes within the timeout counts as lost. The counts
run in turn, round after round (3 by default), so a slow minute of the machine falls on each of them, not on one.
A client reads a reply's address and request id only, as a patch's C parser would at next to no cost (python-osc
reading every note cost the clients ~1.8 ms of the two cores a request at eight clients, ~12% of the daemon's).

watch: a daemon watching a fresh inbox; files are copied in one at a time and the time from the copy
to the finished output is measured (this includes the inbox's settle time of 0.5 s, which waits out
files still being written).
"""
from __future__ import annotations

import shutil
import socket
import struct
import tempfile
import time
from pathlib import Path

PRIME = [60, 0.0, 0.5, 90, 64, 0.5, 0.5, 85, 67, 1.0, 0.5, 88, 72, 1.5, 1.5, 96,
         65, 3.0, 0.5, 80, 69, 3.5, 0.5, 84, 72, 4.0, 0.5, 90, 77, 4.5, 1.5, 92]


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, int(round(q / 100 * (len(v) - 1))))]


def piece(bars: int = 32) -> list:
    """A piece of `bars` bars of 4/4 as OSC notes (pitch start dur vel ...): the prime's line, a bar at a time,
    moving through the keys of a circle of fifths."""
    notes = []
    for b in range(bars):
        shift = (b * 7) % 12 - 5
        for i in range(0, len(PRIME), 4):
            p, s, d, v = PRIME[i:i + 4]
            if s < 4.0:
                notes += [p + shift, b * 4.0 + s, min(d, 4.0 - s), v]
    return notes


def distinct(cid: int, i: int) -> list:
    """Request i of client cid's prime when each is its own: PRIME transposed by i mod 12 semitones (-5..+6), and a
    low note of its own under its last beat (the client's pitch, a velocity counting its requests by twelves), so
    that no two requests of 48 clients' first 1,500 are alike."""
    out = list(PRIME)
    for k in range(0, len(out), 4):
        out[k] += i % 12 - 5
    return out + [24 + cid % 48, 4.5, 0.5, 1 + (i // 12) % 127]


def _client(port: int, requests: int, beats: float, timeout: float, out: list, lost: list, cid: int,
            infill: tuple | None = None, own: bool = False):
    from pythonosc.osc_packet import OscPacket

    from ..host.osc import build_message

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    for i in range(requests):
        rid = cid * 100_000 + i
        t0 = time.perf_counter()
        if infill and infill[0].startswith("/cadenza/"):  # (address, notes[, settings])
            extra = list(infill[2]) if len(infill) > 2 else []
            msg = build_message(infill[0], [rid] + infill[1] + ["midi", 0, "write_file", 0] + extra)
        elif infill:  # (model, start, end, notes)
            model, a, b, notes = infill
            msg = build_message("/cadenza/infill", [rid, a, b] + notes + ["model", model, "midi", 0, "write_file", 0])
        else:
            notes = distinct(cid, i) if own else PRIME
            msg = build_message("/cadenza/continue",
                                [rid] + notes + ["beats", float(beats), "midi", 0, "write_file", 0])
        sock.sendto(msg, ("127.0.0.1", port))
        first = done = None
        deadline = t0 + timeout
        while done is None and time.perf_counter() < deadline:
            try:
                data, _ = sock.recvfrom(65536)
            except socket.timeout:
                continue
            now = time.perf_counter()
            address, to = _head(data)
            if address is None:  # a bundle, or a message it cannot read: python-osc reads it all
                replies = [(m.message.address, m.message.params) for m in OscPacket(data).messages]
            elif to != rid:
                continue
            elif address == "/cadenza/error":  # (its text too: what the bench tells)
                replies = [(address, OscPacket(data).messages[0].message.params)]
            else:
                replies = [(address, [to])]
            for address, params in replies:
                if not params or params[0] != rid:
                    continue
                if address == "/cadenza/notes" and first is None:
                    first = now
                elif address in ("/cadenza/done", "/cadenza/error"):
                    done = now
                    if address == "/cadenza/error":
                        lost.append((rid, params[1]))
        if done is None:
            lost.append((rid, "no reply"))
        else:
            out.append(((first or done) - t0, done - t0))
    sock.close()


def _head(data: bytes) -> tuple[str | None, int | None]:
    """A message's address and its first argument where that is an int (a reply's request id), its notes unread
    (None, None: not a message this reads)."""
    if data[:1] != b"/":
        return None, None
    try:
        end = data.index(b"\0")
        tags = (end + 4) & ~3
        if data[tags:tags + 2] != b",i":
            return data[:end].decode(), None
        return data[:end].decode(), struct.unpack_from(">i", data, (data.index(b"\0", tags) + 4) & ~3)[0]
    except (ValueError, struct.error):
        return None, None


def _players(port: int, n: int, requests: int, beats: float, timeout: float,
             own: bool = False) -> tuple[list, list, float]:
    """n clients, each in a process of its own, started together once all are ready: (each request's (first
    notes, done) seconds, the lost, the seconds from the start until the last client finished)."""
    import json
    import subprocess
    import sys

    procs = [subprocess.Popen([sys.executable, "-c", "from bridge.bench.osc import _player; _player()", str(port),
                               str(requests), str(beats), str(timeout), str(c), "own" if own else "same"],
                              stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=str(Path(__file__).resolve().parents[2]))
             for c in range(n)]
    try:
        for p in procs:
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("a bench client did not start")
        t = time.perf_counter()
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        results = [json.loads(p.stdout.readline()) for p in procs]
        wall = time.perf_counter() - t
        for p in procs:
            p.wait(10)
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdin.close()
            p.stdout.close()
    return [tuple(x) for r in results for x in r["out"]], [tuple(x) for r in results for x in r["lost"]], wall


def _player() -> None:
    """One bench client's process: `port requests beats timeout id` as arguments; says "ready", waits for a line
    on stdin, sends its requests one after another and prints what it measured as JSON."""
    import json
    import sys

    port, requests, beats, timeout, cid, primes = sys.argv[1:7]
    out: list = []
    lost: list = []
    # what a request reads and writes with, imported and run before anything is timed (the daemon's OSC module
    # pulled in most of the package on a client's first request: ~0.3 s of a core each, eight clients at once)
    from pythonosc.osc_packet import OscPacket

    from ..host.osc import build_message

    OscPacket(build_message("/cadenza/notes", [1, 60, 0.0, 1.0, 90]))

    print("ready", flush=True)
    sys.stdin.readline()
    _client(int(port), int(requests), float(beats), float(timeout), out, lost, int(cid), own=primes == "own")
    print(json.dumps({"out": out, "lost": lost}), flush=True)


BEAT = [p for i in range(8) for p in ((36, i * 1.0, 0.25, 110) if i % 2 == 0 else (38, i * 1.0, 0.25, 100))] + \
    [p for i in range(16) for p in (42, i * 0.5, 0.25, 80)]  # 2 bars: kick, snare, hi-hats


def run_osc(model: str = "piano", requests: int = 20, clients=(1, 8), beats: float = 32.0,
            timeout: float = 30.0, infill: str = "", drums: bool = False, harmonize: str = "", rounds: int = 3,
            distinct_primes: bool = False) -> dict:
    """`rounds`: each client count runs `requests` a client that many times, the counts in turn; its figures are
    of all its rounds together. `infill`: also an infill model, whose requests fill 2 bars (beats 64-72) of a
    32-bar piece, one client, after the continue runs of the same daemon."""
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon

    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-"))
    d = Daemon(ServeConfig(http_port=0, port=0, model=model, inbox=tmp / "in", outbox=tmp / "out", watch=False, queue=64))
    d.start()
    port = d.server.address[1]
    from ..generation.runner import cores

    result = {"model": model, "beats": beats, "requests_per_client": requests, "rounds": rounds, "cores": cores(),
              "distinct_primes": distinct_primes, "runs": []}
    try:
        _client(port, 3, beats, timeout, [], [], 99)  # warm: the first request of a process pays one-off costs
        seen = [([], [], 0.0) for _ in clients]
        for _ in range(rounds):  # each count in turn, round after round: a slow minute of the machine falls on all
            for i, n in enumerate(clients):
                out, lost, wall = _players(port, n, requests, beats, timeout, distinct_primes)
                seen[i] = (seen[i][0] + out, seen[i][1] + lost, seen[i][2] + wall)
        for n, (out, lost, wall) in zip(clients, seen):
            first = [a * 1000 for a, _ in out]
            done = [b * 1000 for _, b in out]
            result["runs"].append({"clients": n, "requests": n * requests * rounds, "answered": len(out),
                                   "lost": len(lost),
                                   "first_notes_ms_p50": pct(first, 50), "first_notes_ms_p99": pct(first, 99),
                                   "done_ms_p50": pct(done, 50), "done_ms_p99": pct(done, 99),
                                   "requests_per_s": len(out) / wall, "lost_examples": lost[:3]})
        if infill:
            notes = piece(32)
            _client(port, 3, beats, timeout, [], [], 98, (infill, 64.0, 72.0, notes))
            out, lost = [], []
            _client(port, requests, beats, timeout, out, lost, 97, (infill, 64.0, 72.0, notes))
            first = [a * 1000 for a, _ in out]
            done = [b * 1000 for _, b in out]
            result["infill"] = {"model": infill, "piece_notes": len(notes) // 4, "region_beats": [64.0, 72.0],
                                "requests": requests, "answered": len(out), "lost": len(lost),
                                "first_notes_ms_p50": pct(first, 50), "first_notes_ms_p99": pct(first, 99),
                                "done_ms_p50": pct(done, 50), "done_ms_p99": pct(done, 99), "lost_examples": lost[:3]}
        if drums:  # 2-bar groove and drumify requests to the groove model, one client
            result["drums"] = {}
            for address, notes in (("/cadenza/groove", BEAT), ("/cadenza/drumify", PRIME)):
                _client(port, 3, beats, timeout, [], [], 96, (address, notes))
                out, lost = [], []
                _client(port, requests, beats, timeout, out, lost, 95, (address, notes))
                first = [a * 1000 for a, _ in out]
                done = [b * 1000 for _, b in out]
                result["drums"][address.rsplit("/", 1)[1]] = {
                    "requests": requests, "lost": len(lost), "first_notes_ms_p50": pct(first, 50),
                    "first_notes_ms_p99": pct(first, 99), "done_ms_p50": pct(done, 50), "done_ms_p99": pct(done, 99)}
        if harmonize:  # an 8-bar melody harmonized, one client: parts streamed (1 candidate) or chosen (4)
            from ..harness.melodies import melody

            score, _ = melody(5, 120.0, notes=24)
            tune = [x for n in score.notes() for x in (n.pitch, n.start / score.tpq, (n.end - n.start) / score.tpq,
                                                          n.velocity)]
            result["harmonize"] = {"model": harmonize, "melody_beats": round(score.end_tick / score.tpq, 2)}
            for k in (1, 4):
                ask = ("/cadenza/harmonize", tune, ["model", harmonize, "candidates", k])
                _client(port, 3, beats, timeout, [], [], 94, ask)
                out, lost = [], []
                _client(port, requests, beats, timeout, out, lost, 93, ask)
                first = [a * 1000 for a, _ in out]
                done = [b * 1000 for _, b in out]
                result["harmonize"][f"candidates_{k}"] = {
                    "requests": requests, "lost": len(lost), "first_parts_ms_p50": pct(first, 50),
                    "first_parts_ms_p99": pct(first, 99), "done_ms_p50": pct(done, 50), "done_ms_p99": pct(done, 99)}
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return result


def run_watch(files: list[Path], model: str = "piano", beats: float = 16.0, timeout: float = 120.0) -> dict:
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon

    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-"))
    d = Daemon(ServeConfig(http_port=0, port=0, model=model, inbox=tmp / "in", outbox=tmp / "out", beats=beats, queue=64))
    d.start()
    times = []
    try:
        for f in files:
            out = tmp / "out" / f"{f.stem}.cadenza.mid"
            t = time.perf_counter()
            shutil.copy(f, tmp / "in" / f.name)
            while not out.exists() and time.perf_counter() - t < timeout:
                time.sleep(0.005)
            if out.exists():
                times.append((time.perf_counter() - t) * 1000)
    finally:
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return {"model": model, "beats": beats, "files": len(files), "written": len(times),
            "drop_to_output_ms_p50": pct(times, 50), "drop_to_output_ms_p99": pct(times, 99),
            "settle_ms": 500}


def table_osc(r: dict) -> str:
    lines = [f"bench osc: model {r['model']}, {r['beats']:g} beats (8 bars of 4/4) per request, "
             f"{r['requests_per_client']} requests per client in each of {r.get('rounds', 1)} rounds "
             f"(the counts in turn), 127.0.0.1, the batches on up to {r['cores']} cores, "
             + ("each request a prime of its own" if r.get("distinct_primes") else "every request the same prime"),
             "  clients  requests  lost  first notes p50/p99 ms  done p50/p99 ms  requests/s",
             "  " + "-" * 76]
    for x in r["runs"]:
        lines.append(f"  {x['clients']:>7}  {x['requests']:>8}  {x['lost']:>4}  "
                     f"{_f(x['first_notes_ms_p50']):>10} / {_f(x['first_notes_ms_p99']):<9}  "
                     f"{_f(x['done_ms_p50']):>7} / {_f(x['done_ms_p99']):<7}  {x['requests_per_s']:>10.1f}")
    for name, x in r.get("drums", {}).items():
        lines.append(f"  {name} (2 bars, groove model), 1 client, {x['requests']} requests, {x['lost']} lost: first notes "
                     f"p50/p99 {_f(x['first_notes_ms_p50'])} / {_f(x['first_notes_ms_p99'])} ms, done "
                     f"{_f(x['done_ms_p50'])} / {_f(x['done_ms_p99'])} ms")
    if "harmonize" in r:
        h = r["harmonize"]
        for k in (1, 4):
            x = h.get(f"candidates_{k}")
            if x:
                lines.append(f"  harmonize with {h['model']}, a {h['melody_beats']:g}-beat melody, {k} candidate(s): first "
                             f"parts p50 {x['first_parts_ms_p50']:.1f} ms, p99 {x['first_parts_ms_p99']:.1f} ms; done "
                             f"p50 {x['done_ms_p50']:.1f} ms ({x['lost']} lost)")
    if "infill" in r:
        x = r["infill"]
        lines.append(f"  infill with {x['model']}: beats 64-72 of a {x['piece_notes']}-note 32-bar piece, 1 client, "
                     f"{x['requests']} requests, {x['lost']} lost: first notes p50/p99 {_f(x['first_notes_ms_p50'])} / "
                     f"{_f(x['first_notes_ms_p99'])} ms, done {_f(x['done_ms_p50'])} / {_f(x['done_ms_p99'])} ms")
    return "\n".join(lines)


def table_watch(r: dict) -> str:
    return (f"bench watch: model {r['model']}, {r['beats']:g} beats per file, {r['written']} of {r['files']} files\n"
            f"  drop to output: p50 {_f(r['drop_to_output_ms_p50'])} ms, p99 {_f(r['drop_to_output_ms_p99'])} ms "
            f"(includes the {r['settle_ms']} ms the inbox waits for a file to stop changing)")


def _f(x):
    return "-" if x is None else f"{x:.1f}"


def run_watch_folder(corpus: str, model: str = "piano", files: int = 10, beats: float = 16.0) -> dict:
    """`cadenza bench watch`: the first `files` music files of a folder dropped one by one."""
    from ..music import SUFFIXES
    from ..training.prepare import find_files

    return run_watch(find_files(Path(corpus), SUFFIXES)[:files], model, beats=beats)
