"""`cadenza bench serve`: how soon a started daemon answers, what a model's first request costs, memory.

Each figure is measured on a real `cadenza serve` process on a free port of 127.0.0.1:
- launch -> first /cadenza/pong (pings sent every 10 ms from the moment the process is started);
- launch -> first /cadenza/notes of a continuation with the default model (asked at once, answered
  when the model is ready);
- for each shipped model, in a daemon started afresh: its first request, then the median of the next
  four (warm); the ratio says what a restart costs (model load from the array cache, compiled code
  from numba's disk cache);
- RSS of the daemon, idle after its first request with the default model, and where it goes (the
  process's largest mapped libraries and the model arrays);
- threads after 20 reloads of a model whose files changed (in this process).
"""
from __future__ import annotations

import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..harness.measure import reload_threads
from ..harness.net import free_udp_port

PRIME = [60, 0.0, 0.5, 90, 64, 0.5, 0.5, 85, 67, 1.0, 0.5, 88, 72, 1.5, 1.5, 96]
DRUM_PRIME = [36, 0.0, 0.25, 100, 42, 0.0, 0.25, 80, 42, 0.5, 0.25, 70, 38, 1.0, 0.25, 100, 42, 1.0, 0.25, 80,
              42, 1.5, 0.25, 70, 36, 2.0, 0.25, 100, 42, 2.0, 0.25, 80, 38, 3.0, 0.25, 100, 42, 3.5, 0.25, 70]  # a bar of rock


class _Daemon:
    def __init__(self, model: str, tmp: Path, env: dict | None = None):
        self.port = free_udp_port()
        self.log = tmp / f"serve-{self.port}.log"  # what the daemon said, for the message when it does not answer
        self.t0 = time.perf_counter()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "bridge", "serve", "--port", str(self.port), "--model",
                                          model, "--http-port", "0", "--inbox", str(tmp / "in"), "--outbox",
                                          str(tmp / "out"), "--no-watch", "--log-level", "WARNING"],
                                         stdout=log, stderr=subprocess.STDOUT, env=env)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.01)

    def send(self, address: str, args: list) -> None:
        from ..host.osc import build_message

        self.sock.sendto(build_message(address, args), ("127.0.0.1", self.port))

    def wait(self, addresses: tuple, rid: int, timeout: float = 120.0, resend=None) -> tuple[str, float]:
        """(address, seconds since launch) of the first reply in `addresses` for `rid`."""
        from pythonosc.osc_packet import OscPacket

        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if resend:
                resend()
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            now = time.perf_counter()
            for m in OscPacket(data).messages:
                if m.message.address in addresses and m.message.params[:1] == [rid]:
                    return m.message.address, now - self.t0
        said = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
        raise TimeoutError(f"no {addresses} for {rid} within {timeout} s; the daemon said:\n{said}")

    def request(self, rid: int, model: str = "", kind: str = "continue") -> tuple[float, float]:
        """(first notes, done) in seconds from sending a request of the kind the model answers: a continuation,
        a drum beat continued (`drums`), a beat played with feel (`groove`: the groove model), or parts under
        a melody (`harmonize`: a harmony model)."""
        prime = DRUM_PRIME if kind in ("drums", "groove") else PRIME
        address = {"groove": "/cadenza/groove", "harmonize": "/cadenza/harmonize"}.get(kind, "/cadenza/continue")
        t = time.perf_counter()
        self.send(address, [rid] + prime + ["beats", 16.0, "seed", 1, "write_file", 0, "midi", 0]
                  + (["model", model] if model else []))
        which, first = self.wait(("/cadenza/notes", "/cadenza/done", "/cadenza/error"), rid)
        if which == "/cadenza/error":
            raise RuntimeError(f"{model or 'its model'}: its {kind} request was refused")
        done = first if which == "/cadenza/done" else self.wait(("/cadenza/done", "/cadenza/error"), rid)[1]
        return first + self.t0 - t, done + self.t0 - t

    def wait_ready(self, timeout: float = 120.0) -> None:
        """Until /cadenza/status says "ok" (the default model is loaded)."""
        from pythonosc.osc_packet import OscPacket

        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            self.send("/cadenza/status", [3])
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            for m in OscPacket(data).messages:
                if m.message.params[:2] == [3, "ok"]:
                    return
            time.sleep(0.05)
        raise TimeoutError("the daemon did not get ready")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def largest_maps(self, n: int = 6) -> list[tuple[str, float]]:
        """The mapped files with the most resident memory (from /proc/PID/smaps)."""
        sizes: dict[str, float] = {}
        current = None
        try:
            for line in Path(f"/proc/{self.proc.pid}/smaps").read_text().splitlines():
                parts = line.split()
                if parts and "-" in parts[0] and len(parts) >= 5:
                    current = parts[5] if len(parts) > 5 else "[anonymous]"
                elif parts and parts[0] == "Rss:" and current is not None:
                    sizes[Path(current).name if current.startswith("/") else current] = \
                        sizes.get(Path(current).name if current.startswith("/") else current, 0) + int(parts[1]) / 1024
        except OSError:
            return []
        return sorted(((k, round(v, 1)) for k, v in sizes.items()), key=lambda kv: -kv[1])[:n]

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.sock.close()


def stream_chunks(model: str, beats: float = 1024.0, runs: int = 5) -> dict:
    """Milliseconds a chunk's notes cost to stream (decode and pick) at the start and at the end of a
    `beats`-long continuation: flat when no chunk decodes the whole continuation again. The continuation is
    made once, then its chunks are fed to a new stream `runs` times, each chunk's time the median of its runs.
    (Timed as they came, while the loop made the next chunk, they also held whatever the interpreter gave the loop
    meanwhile: last/first 1.1-1.9x between runs of the same code.)"""
    import numpy as np

    from .. import store
    from ..generation import Request, continue_ids
    from ..generation.stream import NoteStream
    from ..music import Score

    loaded = store.load(model)
    prime = loaded.codec.encode(Score.from_beats([(60, 0, 1, 90), (64, 1, 1, 80), (67, 2, 2, 70)]))
    chunks: list = []
    result = continue_ids(loaded, prime, Request(beats=beats, seed=1, qpm=120.0),
                          on_chunk=lambda chunk: chunks.append(np.array(chunk[0])))
    each: list[list[float]] = [[] for _ in chunks]
    for _ in range(runs):
        ns = NoteStream(loaded.codec, prime, qpm=120.0, beats=beats)
        for i, ids in enumerate(chunks):
            t = time.perf_counter()
            ns.feed(ids)
            each[i].append((time.perf_counter() - t) * 1000)
    times = [statistics.median(x) for x in each]
    k = max(1, min(20, len(times) // 4))
    first, last = statistics.median(times[:k]), statistics.median(times[-k:])
    from ..generation import decode_continuation

    t = time.perf_counter()  # the baseline: what decoding the whole continuation again costs at the last chunk
    for _ in range(3):
        decode_continuation(loaded.codec, prime, result.new[0], include_prime=False, qpm=120.0)
    whole = (time.perf_counter() - t) / 3 * 1000
    return {"beats": beats, "chunks": len(times), "first_chunks_ms": round(first, 3), "last_chunks_ms": round(last, 3),
            "last_vs_first": round(last / first, 2) if first else None,
            "whole_decode_at_last_chunk_ms": round(whole, 3)}


def _first_notes(model: str, tmp: Path, env: dict) -> float:
    """Seconds from launching `cadenza serve` to the first notes of a continuation asked at once."""
    d = _Daemon(model, tmp, env)
    try:
        d.wait(("/cadenza/pong",), 1, resend=lambda: d.send("/cadenza/ping", [1]))  # the door is open
        d.send("/cadenza/continue", [2] + PRIME + ["beats", 16.0, "seed", 1, "write_file", 0, "midi", 0])
        which, t = d.wait(("/cadenza/notes", "/cadenza/error"), 2, timeout=300)
        if which == "/cadenza/error":
            raise RuntimeError(f"{model}: the first request was refused")
        return t
    finally:
        d.stop()


def fresh_launches(model: str, runs: int) -> dict:
    """A new machine and path, `runs` times: numba's cache and the array cache each a new empty folder. Launch ->
    first notes with nothing compiled (the first `cadenza serve` without the install step), and after `cadenza
    warm` (the README's install command runs it): how long the warm step takes, then launch -> first notes."""
    cold, warmed, warm_s = [], [], []
    for i in range(runs):
        for after_warm in (False, True):
            tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-fresh-"))
            env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp / "numba"), "CADENZA_CACHE": str(tmp / "cache")}
            try:
                if after_warm:
                    t = time.perf_counter()
                    subprocess.run([sys.executable, "-m", "bridge", "warm"], env=env, check=True,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
                    warm_s.append(time.perf_counter() - t)
                (warmed if after_warm else cold).append(_first_notes(model, tmp, env))
            finally:
                shutil.rmtree(tmp, ignore_errors=True)

    def p50(xs):
        return round(statistics.median(xs), 3)

    return {"runs": runs, "cold_launch_to_first_notes_s": [round(x, 3) for x in cold], "cold_p50_s": p50(cold),
            "warm_step_s": [round(x, 1) for x in warm_s], "warm_step_p50_s": p50(warm_s),
            "after_warm_launch_to_first_notes_s": [round(x, 3) for x in warmed], "after_warm_p50_s": p50(warmed)}


def run_serve(model: str = "piano", models: list[str] | None = None, warm_requests: int = 4, fresh: int = 0) -> dict:
    from .. import store

    listed = {m["name"]: m for m in store.list_models()}
    models = models if models is not None else list(listed)

    def kind(name: str) -> str:
        m = listed.get(name, {})
        if m.get("arch") == "groovae":
            return "groove"
        return {"drums": "drums", "harmony": "harmonize"}.get(m.get("codec"), "continue")

    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-serve-"))
    r: dict = {"default_model": model}
    d = _Daemon(model, tmp)
    try:
        _, r["launch_to_first_pong_s"] = d.wait(("/cadenza/pong",), 1, resend=lambda: d.send("/cadenza/ping", [1]))
        d.send("/cadenza/continue", [2] + PRIME + ["beats", 16.0, "seed", 1, "write_file", 0, "midi", 0])
        _, r["launch_to_first_notes_s"] = d.wait(("/cadenza/notes", "/cadenza/error"), 2)
        d.wait(("/cadenza/done", "/cadenza/error"), 2)
        time.sleep(1.0)
        r["idle_rss_mb"] = round(d.rss_mb(), 1)
        r["rss_largest_maps_mb"] = d.largest_maps()
    finally:
        d.stop()
    r["first_vs_warm"] = {}
    for name in models:
        d = _Daemon(name, tmp)
        try:
            d.wait_ready()  # the model loads in the background; its first request comes after
            try:
                first = d.request(10, kind=kind(name))[1]
                warm = [d.request(11 + i, kind=kind(name))[1] for i in range(warm_requests)]
            except RuntimeError as e:  # a model that answers no request of these kinds: said, not fatal
                r["first_vs_warm"][name] = {"error": str(e)}
                continue
            med = statistics.median(warm)
            r["first_vs_warm"][name] = {"first_s": round(first, 3), "warm_median_s": round(med, 3),
                                        "ratio": round(first / med, 2)}
        finally:
            d.stop()
    r["reload"] = reload_threads(model)
    r["stream"] = stream_chunks(model)
    if fresh:
        r["fresh"] = fresh_launches(model, fresh)
    shutil.rmtree(tmp, ignore_errors=True)
    return r


def table_serve(r: dict) -> str:
    lines = [f"launch -> first pong {r['launch_to_first_pong_s'] * 1000:.0f} ms (goal <= 1000)",
             f"launch -> first notes with {r['default_model']} {r['launch_to_first_notes_s']:.2f} s (goal <= 8)",
             f"idle RSS {r['idle_rss_mb']} MB (goal <= 700); largest: "
             + ", ".join(f"{k} {v}" for k, v in r["rss_largest_maps_mb"])]
    for name, f in r["first_vs_warm"].items():
        if "error" in f:
            lines.append(f"{name}: {f['error']}")
            continue
        lines.append(f"{name}: first request after a restart {f['first_s'] * 1000:.0f} ms, warm {f['warm_median_s'] * 1000:.0f}"
                     f" ms: {f['ratio']}x (goal <= 1.5)")
    rl = r["reload"]
    lines.append(f"threads after {rl['reloads']} reloads: {rl['threads_before']} -> {rl['threads_after']}")
    st = r["stream"]
    lines.append(f"streaming a {st['beats']:g}-beat continuation ({st['chunks']} chunks): {st['first_chunks_ms']} ms a "
                 f"chunk at the start, {st['last_chunks_ms']} ms at the end: {st['last_vs_first']}x (goal <= 1.5); decoding the "
                 f"whole continuation again would cost {st['whole_decode_at_last_chunk_ms']} ms there")
    if "fresh" in r:
        f = r["fresh"]
        lines.append(f"a new machine and path ({f['runs']} runs, p50): launch -> first notes {f['cold_p50_s']:.2f} s with "
                     f"nothing compiled; after `cadenza warm` ({f['warm_step_p50_s']:.0f} s, the install step) "
                     f"{f['after_warm_p50_s']:.2f} s (goal <= 2)")
    return "\n".join(lines)
