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
each message came at most when it was read, and exactly its delta after the one before, so
`min(read at, previous + delta)` is the arrival within the read loop's half a millisecond however late the
reading was.

    port = MidiInput("jack", "Keystep", on_message=lambda t, msg: ...)   # a named port (or a part of its name)
    port = MidiInput("jack", virtual="Cadenza in", on_message=...)       # a port of our own
    port.close()
"""
from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("cadenza.midi")
QUEUE = 4096  # messages rtmidi keeps until they are read; a flood beyond it is dropped there (rtmidi says so)
POLL = 0.0005  # seconds the reader sleeps when the queue is empty
RTMIDI_API = {"alsa": "LINUX_ALSA", "jack": "UNIX_JACK", "coremidi": "MACOSX_CORE", "windows": "WINDOWS_MM"}


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
        self.rt.ignore_types(sysex=False, timing=False, active_sense=True)  # clock and sysex in, as mido does
        self.on_message = on_message
        self.last: float | None = None  # the arrival time of the last message read
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._read, name=thread_name, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        import mido

        while not self._stop.is_set():
            got = self.rt.get_message()
            if got is None:
                time.sleep(POLL)
                continue
            data, delta = got
            now = time.monotonic()
            t = now if self.last is None else min(now, self.last + delta)
            self.last = t
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
