"""`cadenza bench clock`: how well Cadenza plays in time.

- MIDI out timing: `--notes` notes (4-note chords on sixteenths at 120 qpm) through the scheduler to a
  JACK port, while another thread generates music non-stop with the default model; p50/p99 error of each
  message against its beat, as the scheduler sent it and as a JACK client received it (the receiver's
  figure includes JACK's period: `jackd -p 64` at 48 kHz is 1.3 ms).
- Clock follow: a MIDI clock with 1 ms of jitter steps from 120 to 90 qpm; beats until the tempo estimate
  stays within 0.5%.
- Link: two peers in a network namespace (unshare -n): beat difference p99, and how long a start from
  one reaches the other.
- Jam: a phrase played into "Cadenza in" under MIDI clock; the error of the answer's first note-on
  against the downbeat it was meant for, over `--jams` phrases.
- Bad input: a flood of 2,000 notes a second, the clock stopping mid-phrase, the player's port going
  away: whether the daemon answers a ping after each.
"""
from __future__ import annotations

import random
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from ..harness.link import link_figures
from .osc import pct


def _ms(values: list[float], q: float) -> float:
    return round(pct([v * 1000 for v in values], q), 3)


def clock_follow(jitter: float = 0.001, seed: int = 0) -> dict:
    """A simulated MIDI clock: 120 qpm for 8 beats, then 90; beats until within 0.5% of 90."""
    import mido

    from ..host.timing import PPQN, MidiClock

    rng = random.Random(seed)
    c = MidiClock(120.0)
    t = 100.0
    c.feed(mido.Message("start"), t)
    for _ in range(8 * PPQN):
        t += 60 / 120 / PPQN
        c.feed(mido.Message("clock"), t + rng.uniform(-jitter, jitter))
    before = c.qpm
    settled = None
    for k in range(16 * PPQN):
        t += 60 / 90 / PPQN
        c.feed(mido.Message("clock"), t + rng.uniform(-jitter, jitter))
        ok = abs(c.qpm - 90) / 90 <= 0.005
        if ok and settled is None:
            settled = k
        elif not ok:
            settled = None
    return {"jitter_ms": jitter * 1000, "estimate_at_120": round(before, 3), "estimate_after": round(c.qpm, 3),
            "beats_to_settle_within_0.5%": round(settled / PPQN, 3) if settled is not None else None}


def midi_out_timing(notes: int, model: str, jack: bool) -> dict:
    """The scheduler's error over `notes` notes, under a concurrent generation."""
    from .. import store
    from ..generation import Request, continue_ids
    from ..host.midiin import MidiInput
    from ..host.timing import Scheduler

    received: list = []
    sent_at: dict = {}
    port = rx = None
    if jack:
        import mido

        be = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
        port = be.open_output("bench out", virtual=True)
        rx = MidiInput("jack", [n for n in be.get_input_names() if "bench out" in n][0],
                       on_message=lambda t, m: received.append((t, m)))

    def send(item):
        i, msg = item
        sent_at[i] = time.monotonic()
        if port is not None:
            port.send(msg)

    sched = Scheduler(send, name="bench-clock")
    loaded = store.load(model)
    stop = threading.Event()

    def load():  # another request generating all the time
        while not stop.is_set():
            continue_ids(loaded, loaded.codec.empty(), Request(beats=64, seed=1))

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    import mido

    start = time.monotonic() + 0.5
    due = {}
    for i in range(notes):
        t = start + (i // 4) * 0.125  # sixteenths at 120 qpm, four notes each
        due[i] = t
        sched.at(t, (i, mido.Message("note_on", note=48 + i % 4 * 4, velocity=64 + i % 64)))
    while sched.pending() and time.monotonic() < start + notes * 0.04 + 5:
        time.sleep(0.05)
    time.sleep(0.1)
    stop.set()
    loader.join(30)
    sched.stop()
    errors = [sent_at[i] - due[i] for i in sent_at]
    r = {"notes": notes, "sent": len(sent_at), "sent_error_ms": {"p50": _ms(errors, 50), "p99": _ms(errors, 99),
                                                                 "max": round(max(errors) * 1000, 3)}}
    if jack:
        by_velocity = {}
        for t, m in received:
            by_velocity.setdefault((m.note, m.velocity), []).append(t)
        rerr = []
        for i in range(notes):
            key = (48 + i % 4 * 4, 64 + i % 64)
            if by_velocity.get(key):
                rerr.append(by_velocity[key].pop(0) - due[i])
        r["received"] = len(rerr)
        r["received_error_ms"] = {"p50": _ms(rerr, 50), "p99": _ms(rerr, 99)} if rerr else None
        port.close()
        rx.close()
    return r


def jam_figures(model: str, jams: int) -> dict:
    """Phrases into a jamming daemon under MIDI clock; the answer's first note-on against its downbeat."""
    import mido

    from ..host.config import ServeConfig
    from ..host.daemon import Daemon
    from ..host.midiin import MidiInput

    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-clock-"))
    d = Daemon(ServeConfig(http_port=0, port=0, model=model, inbox=tmp / "in", outbox=tmp / "out", watch=False,
                           virtual_ports=True, midi_api="jack", jam=True, jam_wait=1.0, jam_bars=1))
    d.start()
    d.wait_ready(120)
    be = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    heard: list = []
    out = be.open_output([n for n in be.get_output_names() if "Cadenza in" in n][0])
    rx = MidiInput("jack", [n for n in be.get_input_names() if "Cadenza out" in n][0],
                   on_message=lambda t, m: heard.append((t, m)))
    running = threading.Event()
    running.set()

    def clock():
        out.send(mido.Message("start"))
        t = time.monotonic()
        while running.is_set():
            out.send(mido.Message("clock"))
            t += 60 / 120 / 24
            while time.monotonic() < t:
                time.sleep(0.0002)

    th = threading.Thread(target=clock, daemon=True)
    th.start()
    time.sleep(1.0)
    errors, downbeats, rests = [], [], []
    try:
        for k in range(jams):
            heard.clear()
            for p in (60 + k % 5, 64, 67):
                out.send(mido.Message("note_on", note=p, velocity=90))
                time.sleep(0.15)
                out.send(mido.Message("note_off", note=p, velocity=0))
                time.sleep(0.05)
            off_beat = d.live.clock.beat_at()  # where the phrase ended, on the clock the daemon follows
            deadline = time.time() + 8
            while time.time() < deadline and not any(m.type == "note_on" and m.velocity for _, m in heard):
                time.sleep(0.002)
            ons = [t for t, m in heard if m.type == "note_on" and m.velocity]
            if ons and d.live.answer_log:
                clock_now = d.live.clock
                want = clock_now.time_at(d.live.next_downbeat(off_beat + 1.0))  # + jam_wait, then the bar line
                log = d.live.answer_log[-1]
                downbeats.append(log["downbeat"] - want)  # 0: the answer began on the bar line it was meant for
                errors.append(ons[0] - log["first_due"])  # the first note against when it was due
                rests.append((log["first_due"] - log["downbeat"]) * clock_now.qpm / 60)
            time.sleep(2.2)  # the bar of answer plays out
            d.live.cancel_answer()
        flood = 0
        t = time.monotonic()
        while time.monotonic() - t < 1.0:
            out.send(mido.Message("note_on", note=30 + flood % 50, velocity=70))
            out.send(mido.Message("note_off", note=30 + flood % 50, velocity=0))
            flood += 1
            time.sleep(0.0005)
        alive_after_flood = _ping(d)
        running.clear()
        th.join(2)  # the clock stops mid-phrase
        out.send(mido.Message("note_on", note=60, velocity=80))
        time.sleep(0.6)
        alive_after_clock_stop = _ping(d) and d.live.clock.source == "internal"
        out.close()  # the player's port goes away
        time.sleep(0.3)
        alive_after_unplug = _ping(d)
    finally:
        running.clear()
        rx.close()
        d.stop()
    return {"jams": jams, "answered": len(errors),
            "first_note_error_ms": {"p50": _ms(errors, 50), "p99": _ms(errors, 99)} if errors else None,
            "answers_on_the_intended_downbeat": sum(abs(x) < 0.001 for x in downbeats),
            "first_note_beats_after_downbeat": [round(x, 3) for x in rests],
            "flood_notes_per_s": flood, "serves_after_flood": alive_after_flood,
            "serves_after_clock_stop": alive_after_clock_stop, "serves_after_port_gone": alive_after_unplug}


def _ping(d) -> bool:
    from ..harness.fuzz import check_alive

    return check_alive(d.server.address[1], timeout=20)["pong"]


def jack_running() -> bool:
    try:
        import mido

        mido.Backend("mido.backends.rtmidi/UNIX_JACK").get_output_names()
        return bool(shutil.which("jack_lsp")) and subprocess.run(["jack_lsp"], capture_output=True).returncode == 0
    except Exception:  # noqa: BLE001 - no rtmidi or no JACK
        return False


def run_clock(model: str = "piano", notes: int = 1000, jams: int = 8) -> dict:
    started = None
    if not jack_running() and shutil.which("jackd"):
        started = subprocess.Popen(["jackd", "-d", "dummy", "-r", "48000", "-p", "64"], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(1.5)
    jack = jack_running()
    try:
        r = {"model": model, "jack": jack, "midi_out": midi_out_timing(notes, model, jack),
             "clock_follow": clock_follow(), "link": link_figures()}
        r["jam"] = jam_figures(model, jams) if jack else {"skipped": "no JACK server (Debian jackd2)"}
    finally:
        if started is not None:
            started.terminate()
            started.wait(10)
    return r


def table_clock(r: dict) -> str:
    mo = r["midi_out"]
    lines = [f"MIDI out, {mo['notes']} notes at 120 qpm under a concurrent generation: sent p50 "
             f"{mo['sent_error_ms']['p50']} ms, p99 {mo['sent_error_ms']['p99']} ms (goal p99 <= 2)"]
    if mo.get("received_error_ms"):
        lines.append(f"  received through JACK: p50 {mo['received_error_ms']['p50']} ms, p99 "
                     f"{mo['received_error_ms']['p99']} ms ({mo['received']} of {mo['notes']})")
    cf = r["clock_follow"]
    lines.append(f"clock follow 120 -> 90 qpm (jitter {cf['jitter_ms']} ms): within 0.5% after "
                 f"{cf['beats_to_settle_within_0.5%']} beats (estimate {cf['estimate_after']})")
    lk = r["link"]
    lines.append("Link: " + (lk["skipped"] if "skipped" in lk else
                             f"phase difference p99 {lk['phase_difference_ms']['p99']} ms (goal <= 1), start/stop "
                             f"delay p50 {lk['start_stop_delay_ms']['p50']} ms"))
    jm = r["jam"]
    lines.append("jam: " + (jm["skipped"] if "skipped" in jm else
                            f"{jm['answered']}/{jm['jams']} answered, {jm['answers_on_the_intended_downbeat']} on the "
                            f"downbeat after the phrase + wait (the others on the next: the model was not ready in "
                            f"time); first note against its due time p50 {jm['first_note_error_ms']['p50']} ms, p99 "
                            f"{jm['first_note_error_ms']['p99']} ms; "
                            f"serves on after a flood ({jm['flood_notes_per_s']} notes/s) "
                            f"{jm['serves_after_flood']}, a clock stop {jm['serves_after_clock_stop']}, "
                            f"an unplugged port {jm['serves_after_port_gone']}"))
    return "\n".join(lines)
