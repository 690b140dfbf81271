"""MIDI in that loses nothing while Python is busy.

mido's rtmidi ports hand every message to a Python callback on the MIDI system's own thread (JACK's process
thread, ALSA's input thread), and that callback must first take the interpreter's lock. While the daemon is
generating, the lock is busy for milliseconds at a time; JACK does not wait for a client that is late (its
period is a millisecond or two), and the messages of the periods it skipped are gone: measured on a JACK
dummy server with two busy Python threads in the reading process, 7% of 2,000 notes never arrived through a
mido callback, and none were lost read this way. A lost note-off is a stuck note; a lost clock tick a wrong
beat.

So `MidiInput` opens the port with python-rtmidi directly, sets no callback (rtmidi then keeps what arrives
in its own bounded queue, on its thread, without Python) and reads that queue from a Python thread. A
message's arrival time is rebuilt from rtmidi's delta times, which the MIDI system measured as it arrived:
each message came exactly its delta after the one before, so the arrivals are one chain of times shifted
by one unknown. Each read bounds that shift: a message came at most when it was read, and after the last
moment its queue was seen empty; each is stamped in the middle of what all the reads so far allow (`Shift`).
With two busy Python threads, 1,000 notes were stamped a median 0.2-2.5 ms after they were sent in eight
runs (a JACK dummy server's period: 1.3 ms), where the reads came ~5 ms after and the upper bound alone (the
earliest read) stamped them 1.1-5.1 ms after.

    port = MidiInput("jack", "Keystep", on_message=lambda t, msg: ...)   # a named port (or a part of its name)
    port = MidiInput("jack", virtual="Cadenza in", on_message=...)       # a port of our own
    port.close()
"""
from __future__ import annotations

import logging
import math
import threading
import time

log = logging.getLogger("cadenza.midi")
QUEUE = 4096  # messages rtmidi keeps until they are read; a flood beyond it is dropped there (rtmidi says so)
POLL = 0.0005  # seconds the reader sleeps when the queue is empty
RTMIDI_API = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "windows": "WINDOWS_MM"}


ACTIVE_SENSING = 0xFE
SLACK = 0.001  # seconds the bounds may cross before the chain counts as broken (rtmidi stamps, then queues)


class Shift:
    """The arrival times of a chain of messages whose spacing is known exactly (rtmidi's delta times) but
    whose start is not: each is read at most when it was read (`read`) and came after `empty` (when its
    queue was last seen empty before it, or None); the chain's start lies between the latest of `empty - at`
    and the earliest of `read - at`, `at` the time since the chain's first message. Each arrival is stamped
    at the middle of the two (before any lower bound, at the upper): never further from the truth than half
    what the reads so far leave open. (The lower bound alone nears the truth as messages go by, but the first
    messages after a long wait for the interpreter are stamped up to that wait too early.) Bounds crossed by
    more than SLACK (a message dropped by a full queue) start a new chain."""

    def __init__(self) -> None:
        self.at = 0.0  # seconds from the chain's first message to the last one read
        self.low, self.high = -math.inf, math.inf  # bounds on the chain's first message's arrival

    def arrival(self, delta: float, read: float, empty: float | None) -> float:
        self.at += delta
        high = min(self.high, read - self.at)
        low = self.low if empty is None else max(self.low, empty - self.at)
        if low > high + SLACK:  # the chain is broken (a dropped message): this one starts a new one
            self.at, high = 0.0, read
            low = -math.inf if empty is None else empty
        self.low, self.high = min(low, high), high
        return (high if low == -math.inf else (self.low + high) / 2) + self.at


class MidiInput:
    """An rtmidi input port read by a Python thread: `on_message(arrival monotonic seconds, mido.Message)` is
    called on that thread for each message, in order; an exception it raises is logged and reading goes on."""

    def __init__(self, api: str, port: str | None = None, *, virtual: str | None = None, on_message,
                 queue: int = QUEUE, thread_name: str = "cadenza-midi-in"):
        import rtmidi

        from ..errors import CadenzaError

        self.rt = rtmidi.MidiIn(rtapi=getattr(rtmidi, "API_" + RTMIDI_API[api]), queue_size_limit=queue)
        try:
            if virtual is not None:
                self.rt.open_virtual_port(virtual)
                self.name = virtual
            else:
                names = self.rt.get_ports()
                if port not in names:
                    raise CadenzaError(f"no MIDI input {port!r}")
                self.rt.open_port(names.index(port))
                self.name = port
        except Exception:
            self.rt.delete()
            raise
        # clock and sysex in, as mido does; active sensing is dropped here, not by rtmidi, whose delta times
        # count from a message it ignored, which would break the chain of arrivals
        self.rt.ignore_types(sysex=False, timing=False, active_sense=False)
        self.on_message = on_message
        self.shift = Shift()  # the arrivals' times, from rtmidi's delta times and when each was read
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name=thread_name, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        import mido

        empty = None  # when the queue was last seen empty, before the message being read came
        while not self._stop.is_set():
            checked = time.monotonic()
            got = self.rt.get_message()
            if got is None:
                empty = checked
                time.sleep(POLL)
                continue
            data, delta = got
            t = self.shift.arrival(delta, time.monotonic(), empty)
            empty = None
            if data == [ACTIVE_SENSING]:
                continue
            try:
                msg = mido.Message.from_bytes(data)
            except ValueError:  # not a MIDI message mido knows: skipped, as mido's own ports do
                continue
            try:
                self.on_message(t, msg)
            except Exception:  # noqa: BLE001 - one odd message never stops the input
                log.exception("MIDI in: %s not handled", msg)

    def close(self) -> None:
        self._stop.set()
        if self.thread is not threading.current_thread():
            self.thread.join(2)
        try:
            self.rt.close_port()
        finally:
            self.rt.delete()
