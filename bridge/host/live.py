"""MIDI ports, the clock the daemon plays on, and jam mode: Cadenza playing with the band.

    cadenza serve --virtual-ports --jam            # "Cadenza in" / "Cadenza out"; answer each phrase
    cadenza serve --midi-in "Keystep" --midi-out "Synth" --jam --jam-wait 2 --jam-bars 2
    cadenza serve --link --virtual-ports --jam     # on an Ableton Link session's beat

Ports are opened with python-rtmidi (ALSA or JACK on Linux, CoreMIDI on macOS, Windows MIDI with loopMIDI
for virtual ports): output through mido, input read from rtmidi's queue by a thread of ours (midiin.py).
The clock is, in this order: an Ableton Link session (`--link`), else MIDI clock arriving on the input
(24 ticks a beat, Start/Stop/Continue, Song Position), else a steady `qpm`; its tempo drives every
request's `qpm`.

Jam mode listens to MIDI in (and `/cadenza/note`): when the player has been silent for `--jam-wait`
beats, the phrase goes to the model as a prime (the same request path as every door, its settings from
`[jam]` in the config) and the answer is played on MIDI out from the next downbeat, note by note on the
clock, for `--jam-bars` bars. With `--jam-mode accompany` it answers at every bar line instead.
Notes of the answer that are still due when the player starts again are dropped: the player leads.

With `--jam-mode along` a harmony model plays the parts under the player's melody *while* they play, beat by
beat (bridge.generation.along): ALONG_MARGIN before each beat (more on a loaded machine: `along_margin`), the
parts starting in that beat are decided from every note played so far and scheduled on the clock; a note
counts from the next beat when it arrives before that moment. When the player has been silent for `--jam-wait` beats the parts stop.
"""
from __future__ import annotations

import dataclasses
import logging
import math
import threading
import time
from collections import deque
from dataclasses import dataclass

from ..errors import CadenzaError
from .service import Player
from .timing import InternalClock, MidiClock, Scheduler

log = logging.getLogger("cadenza.live")
MAX_PHRASE = 1024  # notes of a phrase kept (the oldest go first)
MAX_HELD = 512  # notes held at once, over every player and channel
HOLD_BARS = 4  # a note held longer than this many bars is let go: its note-off was lost
ALL_SOUND_OFF, ALL_NOTES_OFF = 120, 123  # MIDI channel mode messages that end every held note
ALONG_MARGIN = 0.03  # seconds before a beat at which its parts are decided (jam mode along), at the least:
# twice the longest of the last 8 decisions when that is more (a loaded machine decides earlier), at most half a beat


def midi_api(api: str = "auto") -> str:
    """The MIDI API to use: alsa, jack, coremidi or windows (auto: the system's)."""
    import os
    import sys

    from .midiin import RTMIDI_API

    if api == "auto":
        if sys.platform == "darwin":
            api = "coremidi"
        elif sys.platform.startswith("win"):
            api = "windows"
        else:
            api = "alsa" if os.path.exists("/dev/snd/seq") else "jack"
    if api not in RTMIDI_API:
        raise CadenzaError(f"MIDI API {api!r}: choose alsa, jack, coremidi, windows or auto")
    return api


def backend(api: str = "auto"):
    """The mido backend for a MIDI API: alsa, jack, coremidi, windows, or auto."""
    import mido

    from .midiin import RTMIDI_API

    api = midi_api(api)
    try:
        return mido.Backend(f"mido.backends.rtmidi/{RTMIDI_API[api]}", load=True)
    except Exception as e:  # noqa: BLE001 - python-rtmidi missing, or built without that API
        raise CadenzaError(f"MIDI through {api} is not available here ({e}); install python-rtmidi "
                           "(pip install 'cadenza[midi]')") from None


def find_port(names: list[str], wanted: str) -> str:
    """A port by its name or a part of it (port names carry client prefixes that differ by system)."""
    for n in names:
        if n == wanted:
            return n
    hits = [n for n in names if wanted.lower() in n.lower()]
    if len(hits) == 1:
        return hits[0]
    raise CadenzaError(f"no MIDI port {wanted!r}" + (f" (ports: {', '.join(names)})" if names else " (no ports)")
                       + ("; several match" if hits else ""))


def close_quietly(port) -> None:
    """Close a MIDI port (None: nothing); one that went away may fail to close, and that is no matter."""
    if port is not None:
        try:
            port.close()
        except Exception:  # noqa: BLE001 - closing a port that went away
            pass


@dataclass
class JamConfig:
    mode: str = "call"  # "call": after the player stops; "accompany": at every bar line; "along": while they play
    wait: float = 2.0  # beats of silence that end a phrase
    bars: int = 2  # bars of answer
    meter: tuple[int, int] = (4, 4)
    channel: int = 0  # MIDI channel the answer plays on (0-15)


class Live:
    """MIDI in and out, the clock, the scheduler and jam mode of one daemon. `service`: where its answers
    are asked for (host/service.py)."""

    def __init__(self, service, midi_in: str | None = None, midi_out: str | None = None, virtual: bool = False,
                 api: str = "auto", jam: JamConfig | None = None, link: bool = False, qpm: float = 120.0):
        self.service = service
        self.api = api
        self.virtual = virtual
        self.want_in, self.want_out = midi_in, midi_out
        self.inport = self.outport = None
        self.jam_cfg = jam
        self.internal = InternalClock(qpm)
        self.midi_clock = MidiClock(qpm)
        self.link = None
        if link:
            from .link import LinkClock

            self.link = LinkClock(qpm)
        self.phrase: deque = deque(maxlen=MAX_PHRASE)  # (pitch, on beat, off beat, velocity)
        self.held: dict[tuple, tuple[float, int]] = {}  # ((player, channel), pitch) -> (on beat, velocity)
        self.last_off: float | None = None  # beat of the phrase's last note-off
        self.last_off_at: float | None = None  # and when it came (monotonic): a silence measured in time, too
        self.answer_tag = 0
        self.answering = False
        self.sounding_out: set[tuple[int, int]] = set()  # (channel, pitch) the answer holds on MIDI out
        self.answer_log: list[dict] = []  # when each answer's downbeat and first note were due (monotonic)
        self.player: Player | None = None  # the OSC client whose /cadenza/note phrase is being answered
        self.session: dict | None = None  # jam mode along: the model playing along, and where it is
        self.along_lock = threading.RLock()  # the take is decided on the tick's thread, and may end on MIDI in's
        self.along_ms: deque = deque(maxlen=8)  # the last decisions of jam mode along, in milliseconds (along_margin)
        self.along_warm: set[str] = set()  # harmony models whose first decision has been made in this process
        self.along_log: list[dict] = []  # each ended take: beats played, beats decided late, ms per decision
        self.stats = {"notes_in": 0, "clock_in": 0, "answers": 0, "answer_notes": 0, "dropped_late": 0, "let_go": 0}
        self._stop = threading.Event()
        self.gone: dict[str, bool] = {}  # named ports that went away
        self.scheduler: Scheduler | None = None
        self.threads: list[threading.Thread] = []

    # ----- the clock ---------------------------------------------------------------------------------
    @property
    def clock(self):
        if self.link is not None and self.link.alive():
            return self.link
        if self.midi_clock.alive():
            return self.midi_clock
        return self.internal

    @property
    def qpm(self) -> float:
        return self.clock.qpm

    # ----- life ---------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.link is not None:
            self.link.start()
        if self.want_in or self.want_out or self.virtual:
            self._open()
        self.scheduler = Scheduler(self._send)
        t = threading.Thread(target=self._watch, name="cadenza-jam", daemon=True)
        t.start()
        self.threads.append(t)

    def _open(self) -> None:
        be = backend(self.api)
        if self.virtual:
            self.inport = self._open_input(virtual="Cadenza in")
            self.outport = be.open_output("Cadenza out", virtual=True)
        if self.want_in:
            self.inport = self._open_input(find_port(be.get_input_names(), self.want_in))
        if self.want_out:
            self.outport = be.open_output(find_port(be.get_output_names(), self.want_out))
        log.info("MIDI: in %s, out %s", getattr(self.inport, "name", None), getattr(self.outport, "name", None))

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.stop()
        self.all_notes_off()
        for port in (self.inport, self.outport):
            close_quietly(port)
        if self.link is not None:
            self.link.stop()
        for t in self.threads:
            t.join(2)

    # ----- MIDI in --------------------------------------------------------------------------------------
    def _open_input(self, port: str | None = None, virtual: str | None = None):
        """A MidiInput (bridge.host.midiin: read by a Python thread, so a busy daemon loses no message) whose
        messages go to `message`."""
        from .midiin import MidiInput

        return MidiInput(midi_api(self.api), port, virtual=virtual, on_message=lambda t, msg: self.message(msg, t))

    def message(self, msg, t: float | None = None) -> None:
        t = time.monotonic() if t is None else t
        if msg.type in ("clock", "start", "stop", "continue", "songpos"):
            self.stats["clock_in"] += 1
            self.midi_clock.feed(msg, t)
            if msg.type == "stop":
                if self.session is not None:
                    self.end_along("the clock stopped")
                self.cancel_answer()
                self.let_go(None, t, "stop")
            return
        if msg.type == "note_on" and msg.velocity > 0:
            self.note(msg.note, msg.velocity, t, channel=msg.channel)
        elif msg.type in ("note_off", "note_on"):
            self.note(msg.note, 0, t, channel=msg.channel)
        elif msg.type == "control_change" and msg.control in (ALL_SOUND_OFF, ALL_NOTES_OFF):
            self.let_go(("midi", msg.channel), t, "all notes off" if msg.control == ALL_NOTES_OFF else "all sound off")

    def note(self, pitch: int, velocity: int, t: float | None = None, player: Player | None = None,
             channel: int = 0) -> None:
        """A note of the player (from MIDI in on `channel`, or from another door's `player`: the answer then
        also goes back to it, as events and as each note at the time it sounds). Held notes are kept per
        player and channel: one player's note-off never ends another's note."""
        t = time.monotonic() if t is None else t
        beat = self.clock.beat_at(t)
        self.stats["notes_in"] += 1
        source = (player.key if player is not None else "midi", channel)
        if player is not None:
            self.player = player
        key = (source, pitch)
        if velocity > 0:
            if self.answering and self.session is None:
                self.cancel_answer()  # the player leads: what the answer has not played yet is dropped
            if key not in self.held and len(self.held) >= MAX_HELD:
                return  # a flood of note-ons: the notes already held stay, the new ones are not kept
            self.held[key] = (beat, velocity)
        elif key in self.held:
            on, vel = self.held.pop(key)
            self.phrase.append((pitch, on, max(beat, on + 1 / 64), vel))
            self.last_off = beat
            self.last_off_at = t

    def let_go(self, source, t: float | None = None, why: str = "") -> int:
        """End the held notes of one source (player key and channel; None: every source) as if their
        note-offs came now: after CC 120/123, a stop, or a note held past HOLD_BARS bars."""
        t = time.monotonic() if t is None else t
        beat = self.clock.beat_at(t)
        mine = [k for k in list(self.held) if source is None or k[0] == source]
        for key in mine:
            on, vel = self.held.pop(key, (beat, 0))
            if vel:
                self.phrase.append((key[1], on, max(beat, on + 1 / 64), vel))
        if mine:
            self.last_off = beat
            self.stats["let_go"] += len(mine)
            if why:
                log.info("jam: %d held note(s) let go (%s)", len(mine), why)
        return len(mine)

    def stuck(self, now: float) -> None:
        """A note held longer than HOLD_BARS bars is let go (a lost note-off must not silence jam mode)."""
        limit = HOLD_BARS * self.bar_beats()
        old = [k for k, (on, _) in list(self.held.items()) if now - on > limit]
        for key in old:
            on, vel = self.held.pop(key, (now, 0))
            if vel:
                self.phrase.append((key[1], on, on + limit, vel))
                self.last_off = now
        if old:
            self.stats["let_go"] += len(old)
            log.warning("jam: %d note(s) held longer than %d bars let go (a note-off was lost?)", len(old), HOLD_BARS)

    # ----- jam --------------------------------------------------------------------------------------------
    def bar_beats(self) -> float:
        num, den = self.jam_cfg.meter if self.jam_cfg else (4, 4)
        return num * 4 / den

    def next_downbeat(self, beat: float) -> float:
        bar = self.bar_beats()
        return math.ceil(beat / bar - 1e-9) * bar

    def check_ports(self) -> None:
        """A named port that went away (a device unplugged) is said once in the log and opened again when
        it comes back; the daemon plays on in the meantime (virtual ports are ours and cannot go)."""
        if not (self.want_in or self.want_out):
            return
        try:
            be = backend(self.api)
            names_in, names_out = be.get_input_names(), be.get_output_names()
        except Exception:  # noqa: BLE001 - the MIDI system itself is gone for a moment
            return
        for kind, want, names in (("input", self.want_in, names_in), ("output", self.want_out, names_out)):
            if not want:
                continue
            present = any(want.lower() in n.lower() for n in names)
            gone = self.gone.get(kind, False)
            if not present and not gone:
                self.gone[kind] = True
                log.warning("MIDI %s %r went away; Cadenza plays on and takes it back when it returns", kind, want)
            elif present and gone:
                try:
                    old = self.inport if kind == "input" else self.outport
                    if kind == "input":
                        self.inport = self._open_input(find_port(names, want))
                    else:
                        self.outport = be.open_output(find_port(names, want))
                    close_quietly(old)
                    self.gone[kind] = False
                    log.info("MIDI %s %r is back", kind, want)
                except Exception as e:  # noqa: BLE001 - not ready yet: next time
                    log.debug("MIDI %s %r not reopened yet: %s", kind, want, e)

    def _watch(self) -> None:
        last_bar = None
        last_check = time.monotonic()
        while not self._stop.wait(0.002):
            if time.monotonic() - last_check > 1.0:
                last_check = time.monotonic()
                self.check_ports()
            if self.jam_cfg is None or self.answering:
                continue
            now = self.clock.beat_at()
            if self.held:
                self.stuck(now)
            if self.jam_cfg.mode == "along":
                try:
                    self.along(now)
                except Exception:  # noqa: BLE001 - a fault ends this take, never the jam thread
                    log.exception("jam along: stopped")
                    self.end_along("a fault (the log has it)")
                continue
            if self.jam_cfg.mode == "accompany":
                bar = math.floor(now / self.bar_beats())
                if last_bar is not None and bar != last_bar and self.phrase:
                    self.answer(self.next_downbeat(now + 0.25))
                last_bar = bar
            elif self.phrase and not self.held and self.last_off is not None and now - self.last_off >= self.jam_cfg.wait:
                self.answer(self.next_downbeat(now))

    def settings(self):
        """Jam mode's settings for phrases from MIDI: a new client's, then `[jam]` in the config."""
        from .. import settings as S

        s = self.service.defaults()
        for key, value in (self.service.cfg.jam_defaults or {}).items():
            s = S.apply(s, key, value)
        return s

    def place(self, origin: float, qpm: float) -> tuple[float, float]:
        """Where beat 0 of an answer asked for at `origin` falls on this clock: its next downbeat (time, seconds
        a beat)."""
        clock = self.clock
        return clock.time_at(self.next_downbeat(clock.beat_at(origin))), 60.0 / clock.qpm

    def answer(self, start_beat: float) -> None:
        """Send the phrase to the model; play what comes back from `start_beat` on the clock."""
        from .. import settings as S
        from ..music import Score
        from ..tasks import Continue, events as E

        phrase = list(self.phrase)
        if self.jam_cfg.mode == "call":
            self.phrase.clear()
        self.last_off = None
        if not phrase:
            return
        t0 = min(on for _, on, _, _ in phrase)
        notes = [(p, on - t0, off - on, v) for p, on, off, v in phrase]
        player = self.player
        if self.jam_cfg.mode == "call":  # the phrase is answered once; accompany answers it again at every bar line,
            self.player = None  # and every answer goes back to the player who played it
        # the OSC player's own settings (model, temperature, scale, ...), else the config's [jam] table
        s = player.settings() if player is not None else self.settings()
        beats = self.jam_cfg.bars * self.bar_beats()
        s = S.apply(S.apply(S.apply(s, "beats", beats), "qpm", round(min(400, max(10, self.qpm)), 3)), "write_file", 0)
        s = S.apply(s, "midi", 0)
        prime = Score.from_beats(notes, qpm=s.qpm, time_signature=self.jam_cfg.meter)
        self.answer_tag += 1
        tag = self.answer_tag
        self.answering = True
        self.stats["answers"] += 1
        state = {"start": start_beat}
        clock = self.clock
        channel = self.jam_cfg.channel
        told = player.sink(tag, s) if player is not None else None

        def sink(event) -> None:
            if tag != self.answer_tag:
                return
            if told is not None:
                told(event)
            if isinstance(event, E.Notes) and event.variation == 1:
                now_beat = clock.beat_at()
                if now_beat > state["start"] - 0.02:  # the model was late for that downbeat: the next one
                    state["start"] = self.next_downbeat(now_beat + 0.05)
                for pitch, start, dur, vel in event.notes:
                    pitch, start, dur, vel = int(pitch), float(start), float(dur), int(vel)
                    if start >= beats:
                        continue
                    on = clock.time_at(state["start"] + start)
                    off = clock.time_at(state["start"] + min(start + dur, beats))
                    if "first_due" not in state or on < state["first_due"]:
                        state["first_due"] = on
                        state["downbeat"] = clock.time_at(state["start"])
                        self.answer_log.append({"tag": tag, "downbeat": state["downbeat"], "first_due": on,
                                                "start_beat": state["start"]})
                        del self.answer_log[:-100]
                    self.scheduler.at(on, ("note_on", pitch, vel, channel), tag)
                    self.scheduler.at(off, ("note_off", pitch, 0, channel), tag)
                    self.stats["answer_notes"] += 1
                    if player is not None:
                        player.play(tag, pitch, vel, on, off - on)
            elif isinstance(event, E.FINAL):
                if isinstance(event, E.Failed):
                    log.warning("jam: the model could not answer: %s", event.message)
                end = clock.time_at(state["start"] + beats)
                self.scheduler.at(end, ("answered", tag), tag)
                if not isinstance(event, E.Done):
                    self.answering = False

        try:
            self.service.submit(("jam", tag), "jam answer", Continue(s, prime=prime), sink)
        except CadenzaError:
            self.answering = False
            log.warning("jam: the daemon is busy; this phrase is not answered")

    # ----- jam mode along ---------------------------------------------------------------------------------
    def along(self, now: float) -> None:
        """Start a take at the player's first note, decide each beat's parts ALONG_MARGIN before it, and end the
        take when the player has been silent for --jam-wait beats."""
        with self.along_lock:  # a MIDI stop may end the take from the input's thread meanwhile
            self._along(now)

    def _along(self, now: float) -> None:
        sess = self.session
        # silent for --jam-wait beats, counted in seconds at the clock's tempo (a clock that is still settling
        # on a new tempo must not end a take while the player plays)
        quiet = self.last_off_at is None or time.monotonic() - self.last_off_at >= self.jam_cfg.wait * 60 / self.qpm
        if sess is None:
            if not self.held and quiet:
                self.phrase.clear()  # nothing played lately: old notes start no take
                return
            if not (self.phrase or self.held):
                return
            self.session = sess = self.start_along(now)
            if sess is None:
                return
        if not self.held and quiet:
            self.end_along("the player stopped")
            return
        clock = self.clock
        origin, nb = sess["origin"], sess["next"]
        if time.monotonic() < clock.time_at(origin + nb) - self.along_margin():
            return
        spq = sess["spq"]
        melody = [(p, round((on - origin) * spq), round((off - origin) * spq)) for p, on, off, _ in self.phrase
                  if on >= origin]
        melody += [(key[1], round((on - origin) * spq), None) for key, (on, _) in list(self.held.items()) if on >= origin]
        t0 = time.perf_counter()
        notes = sess["along"].beat(melody, spq * (nb + 1))
        sess["ms"].append((time.perf_counter() - t0) * 1000)
        self.along_ms.append(sess["ms"][-1])
        late = time.monotonic() > clock.time_at(origin + nb)  # decided after its beat began: its first notes late
        del sess["ms"][:-1000]
        sess["next"] = nb + 1
        sess["beats"] += 1
        if late:
            sess["late"] += 1
        tag, vel, channel, player = sess["tag"], sess["velocity"], self.jam_cfg.channel, sess["player"]
        for pitch, on, off in notes:
            sess["pitches"].add((pitch, channel))
            t_on, t_off = clock.time_at(origin + on / spq), clock.time_at(origin + off / spq)
            self.scheduler.at(t_on, ("note_on", pitch, vel, channel), tag)
            self.scheduler.at(t_off, ("note_off", pitch, 0, channel), tag)
            self.stats["answer_notes"] += 1
            self.answer_log.append({"tag": tag, "downbeat": clock.time_at(origin + nb), "first_due": t_on,
                                    "beat": nb, "pitch": pitch, "on": origin + on / spq, "off": origin + off / spq})
            del self.answer_log[:-1000]
            if player is not None:
                player.play(tag, pitch, vel, t_on, t_off - t_on)

    def along_margin(self) -> float:
        """Seconds before a beat at which its parts are decided: ALONG_MARGIN, or twice the longest of the last 8
        decisions (of this take or the last) when that is more, so that a loaded machine still decides in time;
        at most half a beat. A note played after that moment counts from the next beat."""
        recent = max(self.along_ms, default=0.0) / 1000
        return min(max(ALONG_MARGIN, 2 * recent), 0.5 * 60 / self.qpm)

    def along_model(self, s):
        """The harmony model a take plays with: the settings' model if it harmonizes, else harmonize's own
        (the daemon's model where it harmonizes, else chorale-harmony)."""
        from ..tasks import harmony_model

        loaded = self.service.models.get(s.model) if s.model else None
        if loaded is None or not loaded.codec.harmonizes:
            loaded = harmony_model(self.service.models, dataclasses.replace(s, model=""))
        return loaded

    def warm_along(self, loaded=None, s=None) -> None:
        """Load the take's harmony model and make one throwaway decision with it (reading its weights, the
        compiled loop's first call: up to a second on a new machine), so that a take's first beat is not late.
        The daemon calls it at start in jam mode along; a take's start calls it for a model not yet warm."""
        from ..generation.along import Along
        from ..generation.harmonize import transpositions_of
        from ..settings import request_of

        s = s or self.settings()
        loaded = loaded or self.along_model(s)
        if loaded.name in self.along_warm:
            return
        t0 = time.perf_counter()
        spq = loaded.codec.params["steps_per_quarter"]
        trial = Along(loaded, request_of(s), voices=3, transpositions=transpositions_of(loaded, s.transpositions))
        trial.decided = spq
        trial.beat([(60, 0, spq), (62, spq, None)], 2 * spq)
        self.along_warm.add(loaded.name)
        log.info("jam along: %s ready in %.2f s", loaded.name, time.perf_counter() - t0)

    def start_along(self, now: float) -> dict | None:
        from ..generation.along import Along
        from ..generation.harmonize import transpositions_of, voices_of
        from ..settings import request_of

        player = self.player
        s = player.settings() if player is not None else self.settings()
        try:
            loaded = self.along_model(s)
            self.warm_along(loaded, s)
            along = Along(loaded, request_of(s), voices=voices_of(loaded, s.voices),
                          transpositions=transpositions_of(loaded, s.transpositions))
        except CadenzaError as e:
            log.warning("jam along: %s", e)
            self.phrase.clear()
            return None
        now = max(now, self.clock.beat_at())  # loading may have taken beats: the first part is for a beat to come
        first = min([on for _, on, _, _ in self.phrase] + [on for on, _ in self.held.values()])
        origin = math.floor(first + 1e-9)
        vels = [v for *_, v in self.phrase] + [v for _, v in self.held.values()]
        self.answer_tag += 1
        self.answering = False
        self.stats["answers"] += 1
        log.info("jam along: %s plays along from beat %g", loaded.name, origin)
        spq = loaded.codec.params["steps_per_quarter"]
        nb = max(1, math.floor(now - origin) + 1)  # the first beat still to come
        along.decided = spq * nb
        return {"along": along, "origin": origin, "next": nb, "spq": spq, "tag": self.answer_tag, "player": player,
                "velocity": max(1, min(127, round(sorted(vels)[len(vels) // 2] * 0.85))) if vels else 70,
                "beats": 0, "late": 0, "ms": [], "model": loaded.name, "pitches": set()}

    def end_along(self, why: str) -> None:
        with self.along_lock:
            self._end_along(why)

    def _end_along(self, why: str) -> None:
        sess, self.session = self.session, None
        self.phrase.clear()
        self.last_off = self.last_off_at = None
        if sess is None:
            return
        if self.scheduler is not None:
            # the take's notes still to come are dropped, and every pitch the take turned on gets a note-off now
            # (not only the all-off's: a part that starts a pitch just as another part lets it go is ended too;
            # a note-off for a note already ended is harmless)
            now = time.monotonic()
            self.scheduler.cancel(sess["tag"])
            for pitch, channel in sorted(sess["pitches"]):
                self.scheduler.at(now, ("note_off", pitch, 0, channel))
            # through the scheduler, so a note it is sending at this very moment is ended too
            self.scheduler.at(now, ("all_off",))
        else:
            self.all_notes_off()
        self.along_log.append({k: sess[k] for k in ("beats", "late", "model", "tag", "origin")} | {"ms": list(sess["ms"])})
        del self.along_log[:-100]
        log.info("jam along: %d beats played, %d late (%s)", sess["beats"], sess["late"], why)

    def cancel_answer(self) -> None:
        dropped = len(self.scheduler.cancel(self.answer_tag)) if self.scheduler else 0
        if dropped:
            self.stats["dropped_late"] += dropped
            self.scheduler.at(time.monotonic(), ("all_off",))  # on the scheduler's thread: no note slips past it
        self.answer_tag += 1
        self.answering = False

    # ----- MIDI out ----------------------------------------------------------------------------------------
    def _send(self, item) -> None:
        import mido

        if item[0] == "answered":
            if item[1] == self.answer_tag:
                self.answering = False
            return
        if item[0] == "all_off":
            self.all_notes_off()
            return
        kind, pitch, vel, channel = item
        if kind == "note_on":
            self.sounding_out.add((channel, pitch))
        else:
            self.sounding_out.discard((channel, pitch))
        if self.outport is not None:
            self.outport.send(mido.Message(kind, note=pitch, velocity=vel, channel=channel))

    def all_notes_off(self) -> None:
        import mido

        for channel, pitch in list(self.sounding_out):
            if self.outport is not None:
                try:
                    self.outport.send(mido.Message("note_off", note=pitch, velocity=0, channel=channel))
                except Exception:  # noqa: BLE001 - the port went away
                    pass
        self.sounding_out = set()
