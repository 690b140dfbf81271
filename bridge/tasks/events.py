"""What a running task tells its door, in the door's terms: frozen events, in this order.

    Started(model)                      once, when the model is loaded and the request checked
    Notes(variation, notes)             as the music is generated: (pitch, start beat, duration, velocity)
    Info(text)                          something the musician should know (a prime's drums kept as they were);
                                        before Started when the request waits while Cadenza is compiled for
                                        this machine (its first run there, without `cadenza warm`)
    File(kind, path, variation)         a file written: "midi", "audio" or "picture"
    Midi(data)                          the first variation as MIDI bytes, when the settings ask for them
    Warning(text)                       something went wrong, but the task goes on (a file written, its audio not)
    Done(notes) | Cancelled() | Failed(message)     exactly one, last

A door turns each into its own output (OSC messages, server-sent events, files, scheduled MIDI); no event
knows how it is sent.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Started:
    model: str
    doing: str = ""  # what, in words: "continuing with piano for 16 beats"


@dataclass(frozen=True)
class Notes:
    variation: int  # 1, 2, ...
    notes: tuple  # ((pitch, start beat, duration beats, velocity), ...) in the prime's beats


@dataclass(frozen=True)
class Info:
    text: str


@dataclass(frozen=True)
class File:
    kind: str  # "midi", "audio" or "picture"
    path: Path
    variation: int | None = None  # None: the request asked for one
    detail: str = ""  # what is in it, in a line (the CLI prints it)


@dataclass(frozen=True)
class Midi:
    data: bytes


@dataclass(frozen=True)
class Warning:  # noqa: A001 - the task's word for it; never the builtin's
    text: str


@dataclass(frozen=True)
class Done:
    notes: int  # notes of the first variation
    tokens: int = 0
    seconds: float = 0.0
    model: str = ""
    seed: int = 0


@dataclass(frozen=True)
class Cancelled:
    pass


@dataclass(frozen=True)
class Failed:
    message: str


FINAL = (Done, Cancelled, Failed)
