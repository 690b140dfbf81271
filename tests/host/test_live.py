"""Playing in time, with real ports: a JACK dummy server (started here) gives the daemon its virtual ports
"Cadenza in" and "Cadenza out"; a test peer sends MIDI clock and a phrase into one and records the other.
Timed OSC over UDP; Ableton Link between two peers inside a network namespace made for the test."""
from __future__ import annotations

import shutil
import subprocess
import threading
import time

import pytest

from tests.conftest import ROOT
from bridge.harness.osc import Client
from bridge.host.midiin import MidiInput, Shift
from tests.host.conftest import MODEL

pytestmark = pytest.mark.timing  # `python -m tests` runs these alone, after the rest (tests/__main__.py)


@pytest.fixture(scope="module")
def jack():
    if not shutil.which("jackd"):
        pytest.skip("jackd (Debian jackd2) is not installed")
    pytest.importorskip("rtmidi")
    proc = None
    if subprocess.run(["jack_lsp"], capture_output=True).returncode != 0 if shutil.which("jack_lsp") else True:
        proc = subprocess.Popen(["jackd", "-d", "dummy", "-r", "48000", "-p", "64"], stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        time.sleep(1.5)
        if proc.poll() is not None:
            pytest.skip("jackd did not start here")
    yield
    if proc is not None:
        proc.terminate()
        proc.wait(10)


@pytest.fixture(scope="module")
def band(jack, tmp_path_factory):
    """A daemon with virtual ports and jam mode, and a test peer wired to it."""
    import mido

    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("band")
    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=root / "in", outbox=root / "out", watch=False,
                           virtual_ports=True, midi_api="jack", jam=True, jam_wait=1.0, jam_bars=1))
    d.start()
    d.wait_ready(120)
    be = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    heard = []
    to_cadenza = be.open_output([n for n in be.get_output_names() if "Cadenza in" in n][0])
    # read as the daemon reads (a mido callback loses messages while this busy process holds the interpreter)
    from_cadenza = MidiInput("jack", [n for n in be.get_input_names() if "Cadenza out" in n][0],
                             on_message=lambda t, m: heard.append((t, m)))
    yield d, to_cadenza, heard
    to_cadenza.close()
    from_cadenza.close()
    d.stop()


class ClockSender:
    """MIDI clock at a tempo, from a thread (Start first)."""

    def __init__(self, port, qpm):
        self.port, self.qpm, self.running = port, qpm, True
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        import mido

        self.port.send(mido.Message("start"))
        t = time.monotonic()
        while self.running:
            self.port.send(mido.Message("clock"))
            t += 60.0 / self.qpm / 24
            while time.monotonic() < t:
                time.sleep(0.0002)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        import mido

        self.running = False
        self.thread.join(2)
        self.port.send(mido.Message("stop"))


def settles(condition, seconds: float = 10.0) -> bool:
    """Whether `condition()` becomes true within `seconds` (checked every 50 ms)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_midi_in_loses_nothing_while_python_is_busy(jack):
    """MIDI in is read from rtmidi's own queue, not by a Python callback on JACK's thread: with two threads
    keeping the interpreter busy (a daemon generating), all of 1,000 notes arrive, in order, each stamped with
    when it arrived (JACK skips a client that is late, and a mido callback here lost some of them)."""
    import mido

    be = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    keys = be.open_output("Busy keyboard", virtual=True)
    got: list = []
    port = MidiInput("jack", [n for n in be.get_input_names() if "Busy keyboard" in n][0],
                     on_message=lambda t, m: got.append((t, m)))
    stop = threading.Event()

    def busy():  # pure Python: holds the interpreter's lock 5 ms at a time
        x = 0
        while not stop.is_set():
            for i in range(20000):
                x += i

    hogs = [threading.Thread(target=busy, daemon=True) for _ in range(2)]
    for h in hogs:
        h.start()
    sent = []
    try:
        for k in range(100):
            for p in range(10):  # chords of ten: a burst in one JACK period
                sent.append(time.monotonic())
                keys.send(mido.Message("note_on", note=40 + p, velocity=1 + k))
            time.sleep(0.01)
        assert settles(lambda: len(got) >= 1000, 10), len(got)
    finally:
        stop.set()
        for h in hogs:
            h.join()
        port.close()
        keys.close()
    assert [(m.note, m.velocity) for _, m in got] == [(40 + p, 1 + k) for k in range(100) for p in range(10)]
    late = sorted(t - s for (t, _), s in zip(got, sent))
    print("arrival stamped after sending, ms: min", round(late[0] * 1000, 2), "median", round(late[500] * 1000, 2),
          "p90", round(late[900] * 1000, 2))
    assert all(b >= a for (a, _), (b, _) in zip(got, got[1:]))
    # stamped when it arrived, not when the busy reader came round to it (~5 ms after, while it is this busy)
    assert late[500] < 0.004


def test_arrivals_are_stamped_within_what_the_reads_allow_and_a_broken_chain_starts_again():
    """rtmidi's delta times, the reads' times and when the queue was last seen empty: each stamp lies between
    the bounds its reads give (never after the message was read), in order; a message whose delta would put it
    after its own read (rtmidi counted from a message it dropped) starts a new chain at its read."""
    s = Shift()
    # notes that came at 10.000, 10.100 and 10.102 s, read 5 ms late, the queue seen empty 1 ms before each
    t1 = s.arrival(0.0, 10.005, 9.999)
    t2 = s.arrival(0.100, 10.105, 10.099)
    t3 = s.arrival(0.002, 10.107, None)
    assert 9.999 <= t1 <= 10.005 and t2 - t1 == pytest.approx(0.100) and t3 - t2 == pytest.approx(0.002)
    assert abs(t3 - 10.102) < 0.003  # within half of what the reads left open
    # a delta of 2 s where the read came 1 s later: dropped messages between; the read bounds it
    t4 = s.arrival(2.0, 11.2, 11.19)
    assert t3 < t4 <= 11.2 and 11.19 <= t4
    t5 = s.arrival(0.5, 11.7, None)
    assert t5 == pytest.approx(t4 + 0.5) and t5 <= 11.7


def test_the_daemon_follows_midi_clock_and_its_tempo_drives_qpm(band):
    d, to_cadenza, _ = band
    with ClockSender(to_cadenza, 120.0) as clock:
        # the estimate settles on the tempo (a loaded machine's sender is late now and then: it may take longer)
        assert settles(lambda: d.live.clock.source == "midi clock" and abs(d.live.qpm - 120.0) < 1.2), d.live.qpm
        clock.qpm = 90.0
        assert settles(lambda: abs(d.live.qpm - 90.0) < 0.9), d.live.qpm
        assert d.defaults().qpm == pytest.approx(d.live.qpm, abs=0.01)  # a new request's qpm is the clock's
        t1 = time.monotonic()
        b1 = d.live.clock.beat_at(t1)
        time.sleep(0.5)
        t2 = time.monotonic()
        assert d.live.clock.beat_at(t2) - b1 == pytest.approx((t2 - t1) * 1.5, abs=0.1)  # 90 qpm: 1.5 beats a second
    assert settles(lambda: d.live.clock.source == "internal")  # the clock stopped: back to the steady tempo


def test_jam_answers_a_phrase_on_the_next_downbeat_in_time(band):
    import mido

    d, to_cadenza, heard = band
    heard.clear()
    with ClockSender(to_cadenza, 120.0):
        time.sleep(1.0)
        for _ in range(3):  # a chorale model may answer with a bar of rest (about 1 in 60): the phrase again
            answers, notes = d.live.stats["answers"], d.live.stats["answer_notes"]
            for pitch in (60, 64, 67, 72):
                to_cadenza.send(mido.Message("note_on", note=pitch, velocity=90))
                time.sleep(0.2)
                to_cadenza.send(mido.Message("note_off", note=pitch, velocity=0))
                time.sleep(0.05)
            deadline = time.time() + 10
            while time.time() < deadline and not any(m.type == "note_on" for _, m in heard):
                if d.live.stats["answers"] > answers and not d.live.answering and d.live.stats["answer_notes"] == notes:
                    break  # answered, and over, with no notes
                time.sleep(0.01)
            if any(m.type == "note_on" for _, m in heard):
                break
            time.sleep(1.5)
        ons = [(t, m) for t, m in heard if m.type == "note_on" and m.velocity > 0]
        assert ons, "no answer on Cadenza out"
        log = d.live.answer_log[-1]
        time.sleep(2.5)  # the answer plays out: one bar
    assert d.live.stats["answers"] >= 1 and d.live.stats["answer_notes"] > 0
    # the answer starts on a bar line of the clock it follows (the beat it was scheduled from: the clock
    # follower may refine that beat's time afterwards by a few ms), and its first note sounds when it is due
    # (the model may begin with a rest: the note is due that much after the bar line)
    bar = d.live.bar_beats()
    start = log["start_beat"]
    assert start > 0 and abs(start / bar - round(start / bar)) * bar < 1e-6
    assert abs(ons[0][0] - log["first_due"]) < 0.02
    offs = [m for _, m in heard if m.type == "note_off" or (m.type == "note_on" and m.velocity == 0)]
    assert len(offs) >= len(ons)  # every note it starts, it ends


def test_bad_input_never_stops_it(band):
    import mido

    d, to_cadenza, _ = band
    with ClockSender(to_cadenza, 120.0):
        time.sleep(0.5)
        t = time.monotonic()
        n = 0
        while time.monotonic() - t < 1.0:  # 2,000 notes a second
            to_cadenza.send(mido.Message("note_on", note=40 + n % 40, velocity=80))
            to_cadenza.send(mido.Message("note_off", note=40 + n % 40, velocity=0))
            n += 1
            time.sleep(0.0005)
        # the clock stops in the middle of a phrase
    to_cadenza.send(mido.Message("note_on", note=60, velocity=80))
    time.sleep(0.3)
    to_cadenza.send(mido.Message("note_off", note=60, velocity=0))
    c = Client(d.server.address[1])
    try:
        c.send("/cadenza/ping", 5)
        assert c.receive(until=("/cadenza/pong",), timeout=10)[-1] == ("/cadenza/pong", [5])
    finally:
        c.close()
    assert all(t.is_alive() for t in d.live.threads)
    assert d.live.stats["notes_in"] > 1000


def test_timed_osc_bundles_carry_when_each_note_sounds(tmp_path):
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False))
    d.start()
    d.wait_ready(120)
    c = Client(d.server.address[1])
    try:
        sent = time.time()
        # seeded: a chorale model may rest through 4 beats (about 1 draw in 60); seed 2 plays 12 notes, every time
        c.send("/cadenza/continue", 3, 60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, "beats", 4.0, "timed", 1, "latency", 0.5,
               "qpm", 120.0, "write_file", 0, "seed", 2)
        bundles, notes, _ = c.timed()
    finally:
        c.close()
        d.stop()
    assert bundles and len(bundles) == len(notes)
    assert all(rid == 3 and k == 1 for _, (rid, _, _, _, k) in bundles)
    # every note has its bundle, time-tagged when it sounds: the latency + its beat at 120 qpm (notes that start
    # together may come in two chunks, so they are matched by pitch and time, not by their order)
    left = list(bundles)
    for p, start, dur, v in notes:
        match = [b for b in left if b[1][1] == p and b[1][2] == v and abs(b[0] - sent - (0.5 + start * 0.5)) < 0.1
                 and b[1][3] == pytest.approx(dur * 0.5, rel=1e-3)]
        assert match, (p, start, dur, v)
        left.remove(match[0])


def test_link_two_peers_in_a_network_namespace():
    """Cadenza's Link clock and a second aalink peer, both inside a namespace made for the test (nothing on
    the host's network): they find each other, a tempo change reaches Cadenza, they agree on the beat."""
    pytest.importorskip("aalink")
    from bridge.harness.link import link_figures

    r = link_figures()
    if "skipped" in r:
        pytest.skip(r["skipped"])
    assert r["peers"] == [1, 1]
    assert r["tempo_after_change"][1] == pytest.approx(93.0, abs=0.01)
    assert r["phase_difference_ms"]["p99"] < 1.0
    assert r["start_stop_delay_ms"]["max"] < 1000  # start and stop reach it


def test_a_named_port_that_goes_away_is_taken_back_when_it_returns(jack, tmp_path):
    import mido

    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    be = mido.Backend("mido.backends.rtmidi/UNIX_JACK")
    keyboard = be.open_output("Test keyboard", virtual=True)
    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False,
                           midi_in="Test keyboard", midi_api="jack"))
    d.start()
    try:
        keyboard.send(mido.Message("note_on", note=60, velocity=90))
        deadline = time.time() + 5
        while d.live.stats["notes_in"] < 1 and time.time() < deadline:
            time.sleep(0.05)
        assert d.live.stats["notes_in"] == 1
        keyboard.close()  # unplugged
        deadline = time.time() + 5
        while not d.live.gone.get("input") and time.time() < deadline:
            time.sleep(0.05)
        assert d.live.gone.get("input")
        keyboard = be.open_output("Test keyboard", virtual=True)  # plugged in again
        deadline = time.time() + 5
        while d.live.gone.get("input") and time.time() < deadline:
            time.sleep(0.05)
        assert not d.live.gone.get("input")
        time.sleep(0.3)
        keyboard.send(mido.Message("note_on", note=62, velocity=90))
        deadline = time.time() + 5
        while d.live.stats["notes_in"] < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert d.live.stats["notes_in"] == 2  # heard again
    finally:
        keyboard.close()
        d.stop()


def wait_for_answer(d, answers_before, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline and d.live.stats["answers"] <= answers_before:
        time.sleep(0.02)
    return d.live.stats["answers"] > answers_before


def phrase(to_cadenza, pitches=(60, 64, 67), channel=0):
    import mido

    for pitch in pitches:
        to_cadenza.send(mido.Message("note_on", note=pitch, velocity=90, channel=channel))
        time.sleep(0.15)
        to_cadenza.send(mido.Message("note_off", note=pitch, velocity=0, channel=channel))
        time.sleep(0.05)


def test_a_stuck_note_is_let_go_and_cc_123_clears_held_notes(band):
    """One note-on whose note-off never comes (MIDI 9F 64 01) must not silence jam mode for good."""
    import mido

    from bridge.host import live

    d, to_cadenza, heard = band
    with ClockSender(to_cadenza, 240.0):  # 4 bars of 4/4 in 4 s
        time.sleep(0.5)
        to_cadenza.send(mido.Message.from_bytes([0x9F, 0x64, 0x01]))  # channel 16, never released
        before = d.live.stats["answers"]
        phrase(to_cadenza)
        # the stuck note holds the phrase open until it is let go after HOLD_BARS bars; then the phrase is answered
        assert wait_for_answer(d, before, live.HOLD_BARS * 4 * 60 / 240 + 10)
        assert d.live.stats["let_go"] >= 1 and not d.live.held
        time.sleep(1.5)
        # all notes off (CC 123) ends held notes at once: the next phrase is answered without waiting
        before = d.live.stats["answers"]
        to_cadenza.send(mido.Message("note_on", note=70, velocity=80, channel=3))
        phrase(to_cadenza, (62, 65))
        to_cadenza.send(mido.Message("control_change", control=123, value=0, channel=3))
        assert wait_for_answer(d, before, 10)


def test_one_players_note_off_never_ends_anothers_note(band):
    d, to_cadenza, _ = band
    d.live.held.clear()
    d.live.note(60, 90, player=None, channel=0)
    d.live.note(60, 90, player=None, channel=5)
    d.live.note(60, 0, player=None, channel=5)
    assert list(d.live.held) == [(("midi", 0), 60)]
    d.live.let_go(None)
    assert not d.live.held


HARMONY_SHIPPED = (ROOT / "models" / "chorale-harmony" / "cadenza.json").is_file()
ALONG_TUNE = (67, 67, 69, 71, 71, 69, 67, 66, 64, 64, 66, 67)  # a soprano line, one note a beat


def play_on_the_beats(d, send, qpm: float, pitches=ALONG_TUNE):
    """The player: each note on its beat at `qpm` (as a player hears the band: by the clock's sender, in
    seconds), held for 0.8 of the beat; returns when the first note was played."""
    spb = 60.0 / qpm
    first = time.monotonic() + spb
    for k, pitch in enumerate(pitches):
        on, off = first + k * spb, first + (k + 0.8) * spb
        while time.monotonic() < on:
            time.sleep(0.0005)
        send(pitch, 90)
        while time.monotonic() < off:
            time.sleep(0.0005)
        send(pitch, 0)
    return first


@pytest.mark.skipif(not HARMONY_SHIPPED, reason="no shipped harmony model")
def test_jam_along_plays_parts_under_the_melody_beat_by_beat_while_it_is_played(band):
    """--jam-mode along: MIDI in, MIDI out on a JACK dummy server. While the tune is played the parts come beat by
    beat, each decided before its beat and sent on time; when the player stops, the parts stop and every note
    they started is ended."""
    import mido

    d, to_cadenza, heard = band
    d.live.cancel_answer()  # an answer to an earlier test's phrase, still being decided on a loaded machine,
    time.sleep(0.1)  # would otherwise be played into this take at the next downbeat of this test's clock
    heard.clear()
    d.live.phrase.clear()  # what earlier tests played is not this take's
    d.live.held.clear()
    d.live.last_off = d.live.last_off_at = None
    d.live.jam_cfg.mode, wait = "along", d.live.jam_cfg.wait
    d.live.warm_along()  # as a daemon started with --jam-mode along does before it says it is ready
    d.live.jam_cfg.wait = 2.0  # a take ends after two beats of silence (a loaded machine delays MIDI in)
    takes = len(d.live.along_log)
    try:
        with ClockSender(to_cadenza, 100.0):
            assert settles(lambda: d.live.clock.source == "midi clock")
            play_on_the_beats(d, lambda p, v: to_cadenza.send(mido.Message("note_on", note=p, velocity=v)), 100.0)
            last_off = time.monotonic()

            def the_take():  # the take that played along with the tune
                return [t for t in d.live.along_log[takes:] if t["beats"] >= len(ALONG_TUNE) - 2]

            assert settles(lambda: the_take(), 10), d.live.along_log[takes:]
    finally:
        d.live.jam_cfg.mode, d.live.jam_cfg.wait = "call", wait
    take = the_take()[-1]
    print("jam along take:", {k: take[k] for k in ("beats", "late")}, "decisions ms:", [round(x, 1) for x in take["ms"]])
    assert take["model"] == "chorale-harmony" and take["beats"] >= len(ALONG_TUNE) - 2, d.live.along_log[takes:]
    ons = [(t, m) for t, m in heard if m.type == "note_on" and m.velocity > 0]
    assert len(ons) >= 4  # the parts played along
    entries = [e for e in d.live.answer_log if e.get("tag") == take["tag"]]
    assert all(e["beat"] >= 1 for e in entries)
    # each part's note-on arrived when it was due (the scheduler's time, through JACK; bench along measures it)
    due = sorted(e["first_due"] for e in entries)
    for t, m in ons:
        assert min(abs(t - x) for x in due) < 0.1, (m, round(t - last_off, 3), take, take["ms"], [
            (round(e["first_due"] - last_off, 3), e["pitch"]) for e in entries])
    # nothing starts after the player stopped and the wait is over, and nothing is left sounding
    beat = 60 / 100
    assert all(t < last_off + 3 * beat + 0.3 for t, _ in ons)
    def left_sounding():
        sounding = set()
        for _, m in list(heard):
            if m.type == "note_on" and m.velocity > 0:
                sounding.add(m.note)
            elif m.type in ("note_on", "note_off"):
                sounding.discard(m.note)
        return sounding

    assert settles(lambda: not left_sounding(), 6), (
        d.live.sounding_out, d.live.along_log[takes:],  # what Cadenza thinks it holds; the takes
        [(round(t - last_off, 3), m.type, m.note, m.velocity) for t, m in heard if m.note in left_sounding()][-8:])
    assert not d.live.sounding_out


@pytest.mark.skipif(not HARMONY_SHIPPED, reason="no shipped harmony model")
def test_jam_along_answers_an_osc_player_with_timed_bundles(tmp_path):
    """An OSC player (/cadenza/note) gets each part as a /cadenza/play bundle time-tagged before it sounds."""
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out",
                           watch=False, jam=True, jam_mode="along", jam_wait=1.0, qpm=120.0))
    d.start()
    c = Client(d.server.address[1])
    try:
        d.wait_ready(120)
        assert d.live.along_warm == {"chorale-harmony"}  # ready means the harmony model has decided once already
        c.send("/cadenza/set", "seed", 3, "temperature", 0.8)
        play_on_the_beats(d, lambda p, v: c.send("/cadenza/note", 1, p, v), 120.0, ALONG_TUNE[:8])
        plays, _, _ = c.timed(timeout=4.0)
    finally:
        c.close()
        d.stop()
    assert len(plays) >= 3
    from bridge.generation.along import HOLD

    for when, (rid, pitch, vel, seconds, variation) in plays:
        # a part lasts at most to HOLD beats after its own beat (0.5 s a beat)
        assert 0 < seconds <= (HOLD + 1) * 0.5 + 1e-6 and 0 <= pitch < 128 and 1 <= vel <= 127
