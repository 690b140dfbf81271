"""Score: the one in-memory form of music that every format reads into and every codec encodes.

Times are integer ticks at the score's resolution `tpq` (ticks per quarter note), as in a MIDI file:
beats are `ticks / tpq`, and the tempo map turns ticks into seconds. Integer ticks keep MIDI
round trips exact and make every quantisation an explicit, stated step.

Values are immutable: transforms return new scores.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, NamedTuple, Sequence

import numpy as np

TPQ = 960  # ticks per quarter Cadenza writes: divisible by 2**6, 3 and 5 (sixty-fourths, triplets, quintuplets)
DEFAULT_TEMPO = 500_000  # microseconds per quarter note: 120 qpm, the MIDI default
PIANO_LOW, PIANO_HIGH = 21, 108  # A0 and C8


class Note(NamedTuple):
    pitch: int
    velocity: int
    start: int  # ticks
    end: int  # ticks, >= start


class Control(NamedTuple):
    tick: int
    number: int
    value: int


class Tempo(NamedTuple):
    tick: int
    usec_per_quarter: int

    @property
    def qpm(self) -> float:
        return 6e7 / self.usec_per_quarter


class Marker(NamedTuple):
    """A named point in time (a MIDI marker meta event), e.g. where a continuation begins."""
    tick: int
    text: str


CONTINUATION = "continuation"  # the marker Cadenza puts where the prime ends and new music begins
INFILL_START, INFILL_END = "infill", "infill end"  # the markers around a region Cadenza wrote anew


class TimeSignature(NamedTuple):
    tick: int
    numerator: int
    denominator: int


class KeySignature(NamedTuple):
    """A key signature: `sharps` -7 (7 flats) to 7 (7 sharps), `minor` or major, from `tick` on."""
    tick: int
    sharps: int
    minor: bool

    @property
    def name(self) -> str:
        major = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
        minor = ["ab", "eb", "bb", "f", "c", "g", "d", "a", "e", "b", "f#", "c#", "g#", "d#", "a#"]
        i = max(-7, min(7, self.sharps)) + 7
        return f"{minor[i]} minor" if self.minor else f"{major[i]} major"


def in_order(arr: np.ndarray) -> np.ndarray:
    """(N, 4) notes in a Track's order (start, pitch, end): the array itself when it is in order already."""
    if len(arr) > 1:
        order = np.lexsort((arr[:, 3], arr[:, 0], arr[:, 2]))
        if not (order[1:] > order[:-1]).all():
            return arr[order]
    return arr


class Track:
    """One instrument's notes, with its program, drum flag, name, channel and control changes.

    Notes are held as a read-only (N, 4) int64 array of pitch, velocity, start, end (ticks),
    ordered by start, pitch, end; `track.notes` gives them as Note values. Treat a Track as
    immutable: `track.replace(...)` makes a changed copy.
    """

    __slots__ = ("array", "_notes", "program", "is_drum", "name", "channel", "controls")

    def __init__(self, notes=(), program: int = 0, is_drum: bool = False, name: str = "", channel: int = 0,
                 controls: tuple[Control, ...] = ()):
        if isinstance(notes, np.ndarray):
            arr = np.asarray(notes, dtype=np.int64).reshape(-1, 4)
            notes_t = None
        else:
            notes_t = tuple(n if isinstance(n, Note) else Note(*n) for n in notes)
            arr = np.array(notes_t, dtype=np.int64).reshape(-1, 4)
        ordered = in_order(arr)
        if ordered is not arr:
            arr, notes_t = ordered, None
        arr.setflags(write=False)
        self.array = arr
        self._notes = notes_t
        self.program = int(program)
        self.is_drum = bool(is_drum)
        self.name = str(name)
        self.channel = int(channel)
        ctrl = np.asarray(controls if isinstance(controls, np.ndarray) else [tuple(c) for c in controls],
                          dtype=np.int64).reshape(-1, 3)
        ctrl.setflags(write=False)
        self.controls = ctrl  # (N, 3): tick, controller number, value

    @property
    def notes(self) -> tuple[Note, ...]:
        if self._notes is None:
            self._notes = tuple(map(Note._make, self.array.tolist()))
        return self._notes

    def __len__(self) -> int:
        return len(self.array)

    def replace(self, **changes) -> "Track":
        args = {"notes": self.array, "program": self.program, "is_drum": self.is_drum, "name": self.name,
                "channel": self.channel, "controls": self.controls}
        args.update(changes)
        return Track(**args)

    def __eq__(self, other) -> bool:
        if not isinstance(other, Track):
            return NotImplemented
        return (np.array_equal(self.array, other.array) and self.program == other.program
                and self.is_drum == other.is_drum and self.name == other.name
                and self.channel == other.channel and np.array_equal(self.controls, other.controls))

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (f"Track({len(self.array)} notes, program={self.program}, is_drum={self.is_drum}, "
                f"name={self.name!r}, channel={self.channel}, {len(self.controls)} controls)")


def qpm_to_usec(qpm: float) -> int:
    return max(1, min(0xFFFFFF, round(6e7 / qpm)))


@dataclass(frozen=True)
class Score:
    tpq: int = 480
    tracks: tuple[Track, ...] = ()
    tempos: tuple[Tempo, ...] = (Tempo(0, DEFAULT_TEMPO),)
    time_signatures: tuple[TimeSignature, ...] = ()
    markers: tuple[Marker, ...] = ()
    key_signatures: tuple[KeySignature, ...] = ()
    _tempo_map: "TempoMap | None" = field(default=None, compare=False, repr=False)

    # ----- construction -------------------------------------------------------------------------
    @classmethod
    def from_notes(cls, notes: Iterable[Note], tpq: int = 480, qpm: float = 120.0,
                   program: int = 0, time_signature: tuple[int, int] | None = (4, 4)) -> "Score":
        ts = (TimeSignature(0, *time_signature),) if time_signature else ()
        return cls(tpq=tpq, tracks=(Track(tuple(sorted(notes, key=_note_order)), program=program),),
                   tempos=(Tempo(0, qpm_to_usec(qpm)),), time_signatures=ts)

    @classmethod
    def from_beats(cls, notes: Iterable[tuple[int, float, float, int]], tpq: int = TPQ,
                   qpm: float = 120.0, time_signature: tuple[int, int] | None = (4, 4)) -> "Score":
        """Notes as (pitch, start_beats, duration_beats, velocity): the layout OSC clients send."""
        made = []
        for pitch, start, dur, vel in notes:
            s = round(start * tpq)
            made.append(Note(int(pitch), int(vel), s, max(s, s + round(dur * tpq))))
        return cls.from_notes(made, tpq=tpq, qpm=qpm, time_signature=time_signature)

    def replace(self, **changes) -> "Score":
        return replace(self, _tempo_map=None, **changes)

    # ----- views ----------------------------------------------------------------------------------
    def notes(self, include_drums: bool = True) -> list[Note]:
        """All notes of all tracks, ordered by start, then pitch."""
        out = [n for t in self.tracks if include_drums or not t.is_drum for n in t.notes]
        out.sort(key=_note_order)
        return out

    @property
    def note_count(self) -> int:
        return sum(len(t.array) for t in self.tracks)

    @property
    def end_tick(self) -> int:
        return max((int(t.array[:, 3].max()) for t in self.tracks if len(t.array)), default=0)

    @property
    def duration_beats(self) -> float:
        return self.end_tick / self.tpq

    @property
    def duration_seconds(self) -> float:
        return float(self.tempo_map.seconds(np.array([self.end_tick]))[0])

    @property
    def qpm(self) -> float:
        """The tempo at the start, in quarter notes per minute."""
        return self.tempos[0].qpm if self.tempos else 120.0

    @property
    def tempo_map(self) -> "TempoMap":
        if self._tempo_map is None:
            object.__setattr__(self, "_tempo_map", TempoMap(self.tpq, self.tempos))
        return self._tempo_map

    def seconds(self, ticks) -> np.ndarray:
        return self.tempo_map.seconds(np.asarray(ticks))

    def note_array(self, include_drums: bool = False) -> np.ndarray:
        """Notes as an (N, 4) int64 array of pitch, velocity, start, end, in track order."""
        arrays = [t.array for t in self.tracks if include_drums or not t.is_drum]
        return np.concatenate(arrays) if arrays else np.zeros((0, 4), np.int64)

    def resample(self, tpq: int) -> "Score":
        """The same music at another resolution; times are rounded to the new tick grid."""
        if tpq == self.tpq:
            return self
        f = tpq / self.tpq

        def q(t: int) -> int:
            return int(round(t * f))

        tracks = []
        for t in self.tracks:
            arr = t.array.copy()
            positive = arr[:, 3] > arr[:, 2]
            arr[:, 2:] = np.round(arr[:, 2:] * f)
            arr[:, 3] = np.where(positive, np.maximum(arr[:, 3], arr[:, 2] + 1), arr[:, 3])  # no note vanishes
            ctrl = t.controls.copy()
            ctrl[:, 0] = np.round(ctrl[:, 0] * f)
            tracks.append(t.replace(notes=arr, controls=ctrl))
        tracks = tuple(tracks)
        # events that land on one tick: the last wins, as when reading a file
        tempos = {q(t.tick): Tempo(q(t.tick), t.usec_per_quarter) for t in self.tempos}
        sigs = {q(s.tick): TimeSignature(q(s.tick), s.numerator, s.denominator) for s in self.time_signatures}
        keys = {q(k.tick): k._replace(tick=q(k.tick)) for k in self.key_signatures}
        return Score(tpq=tpq, tracks=tracks, tempos=tuple(tempos[k] for k in sorted(tempos)),
                     time_signatures=tuple(sigs[k] for k in sorted(sigs)),
                     markers=tuple(Marker(q(m.tick), m.text) for m in self.markers),
                     key_signatures=tuple(keys[k] for k in sorted(keys)))


def _note_order(n: Note):
    return (n.start, n.pitch, n.end)


class TempoMap:
    """Ticks to seconds under a piecewise-constant tempo.

    The arithmetic mirrors pretty_midi (a segment's start time accumulated as
    `t0 + tick_scale * (tick - segment_tick)`, repeated tempos skipped), so that times, and the
    10 ms quantisation of the performance codec built on them, agree with note-seq to the bit.
    """

    def __init__(self, tpq: int, tempos: Sequence[Tempo]):
        scales: list[tuple[int, float]] = [(0, 60.0 / (120.0 * tpq))]
        for t in sorted(tempos, key=lambda t: t.tick):
            scale = 60.0 / ((6e7 / t.usec_per_quarter) * tpq)
            if t.tick == 0:
                scales = [(0, scale)]
            elif scale != scales[-1][1]:
                scales.append((t.tick, scale))
        self.ticks = np.array([s[0] for s in scales], dtype=np.int64)
        self.scales = np.array([s[1] for s in scales], dtype=np.float64)
        # cumsum adds in sequence, exactly as pretty_midi accumulates its segment start times
        steps = self.scales[:-1] * np.diff(self.ticks)
        self.starts = np.cumsum(np.concatenate([[0.0], steps]))

    def seconds(self, ticks: np.ndarray) -> np.ndarray:
        ticks = np.asarray(ticks)
        seg = np.searchsorted(self.ticks, ticks, side="right") - 1
        seg = np.clip(seg, 0, len(self.ticks) - 1)
        return self.starts[seg] + self.scales[seg] * (ticks - self.ticks[seg])

    def ticks_at(self, seconds: np.ndarray) -> np.ndarray:
        """The inverse: fractional ticks at the given times."""
        seconds = np.asarray(seconds, dtype=np.float64)
        seg = np.clip(np.searchsorted(self.starts, seconds, side="right") - 1, 0, len(self.starts) - 1)
        return self.ticks[seg] + (seconds - self.starts[seg]) / self.scales[seg]
