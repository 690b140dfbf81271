"""Standard MIDI Files: a tolerant reader and an exact, atomic writer.

The reader copes with what files in the wild contain: formats 0, 1 and 2; running status (also
across meta events, which some writers rely on); tempo changes in any track; any ticks per beat;
SMPTE time division (read as real time: one beat is one second at 60 qpm); sysex and unknown
chunks (skipped); RIFF `.rmi` wrappers (unwrapped); zero-length notes; overlapping notes of one
pitch; note-on with velocity 0 as note-off; data bytes over 127 (clipped, as mido's `clip=True`);
a missing end-of-track; notes never released (closed at the end of their track).

Pairing follows pretty_midi, the de-facto standard that note-seq builds on: a note-off closes
every open note of its channel and pitch that started on an earlier tick; a note-on/note-off pair
on one tick is dropped; notes go to one track per (program, channel, source track).

What cannot be read raises `MusicFileError` naming the problem: an empty file, a file that is not
MIDI, a truncated header or track, a file with no tracks.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

from ..errors import MusicFileError
from .atomic import atomic_write_bytes
import numpy as np

from .score import KeySignature, Marker, Score, Tempo, TimeSignature, Track

MAX_TICK = 1 << 28  # ~ pretty_midi's limit: beyond this a file is corrupt, not long


def read_midi(source: str | os.PathLike | bytes, name: str | None = None) -> Score:
    """Read a Standard MIDI File from a path or from bytes."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<bytes>"
    else:
        label = name or str(source)
        try:
            data = Path(source).read_bytes()
        except OSError as e:
            raise MusicFileError(f"{label}: cannot read file: {e.strerror or e}") from None
    return parse_midi(data, label)


def parse_midi(data: bytes, label: str = "<bytes>") -> Score:
    if not data:
        raise MusicFileError(f"{label}: empty file")
    if data[:4] == b"RIFF":
        data = _unwrap_rmi(data, label)
    if data[:4] != b"MThd":
        raise MusicFileError(f"{label}: not a MIDI file (no 'MThd' header; starts with {data[:8]!r})")
    if len(data) < 14:
        raise MusicFileError(f"{label}: truncated MIDI header ({len(data)} bytes)")
    hlen = struct.unpack(">I", data[4:8])[0]
    if hlen < 6 or 8 + hlen > len(data):
        raise MusicFileError(f"{label}: malformed MIDI header (length {hlen})")
    fmt, ntracks, division = struct.unpack(">HHH", data[8:14])
    if fmt > 2:
        raise MusicFileError(f"{label}: unknown MIDI format {fmt}")
    smpte = bool(division & 0x8000)
    if smpte:
        fps = 256 - (division >> 8)
        tpf = division & 0xFF
        if fps not in (24, 25, 29, 30) or tpf == 0:
            raise MusicFileError(f"{label}: invalid SMPTE time division ({fps} fps, {tpf} ticks/frame)")
        tpq = (30 if fps == 29 else fps) * tpf  # ticks per second, read as one beat per second
    else:
        tpq = division
        if tpq == 0:
            raise MusicFileError(f"{label}: ticks per beat is 0")

    pos = 8 + hlen
    chunks: list[tuple[int, int]] = []
    while pos + 8 <= len(data):
        ctype = data[pos:pos + 4]
        clen = struct.unpack(">I", data[pos + 4:pos + 8])[0]
        body = pos + 8
        if ctype == b"MTrk":
            if body + clen > len(data):
                raise MusicFileError(
                    f"{label}: truncated: track {len(chunks) + 1} declares {clen} bytes "
                    f"but the file ends after {len(data) - body}")
            chunks.append((body, body + clen))
        elif not ctype.isalnum():
            break  # trailing garbage after the last chunk: ignore it, like every player does
        pos = body + clen
    if not chunks:
        raise MusicFileError(f"{label}: no track data (the header promises {ntracks} tracks)")

    from ._fast import scan_track

    buf = np.frombuffer(data, dtype=np.uint8)
    instruments: dict[tuple[int, int, int], list[np.ndarray]] = {}
    controls: dict[tuple[int, int], np.ndarray] = {}
    names: dict[int, str] = {}
    tempos: list[tuple[int, int, int]] = []
    sigs: dict[int, TimeSignature] = {}
    markers: list[Marker] = []
    key_sigs: dict[int, KeySignature] = {}
    max_tick = 0
    for index, (start, end) in enumerate(chunks):
        notes, ctrl, metas, last = scan_track(buf, start, end)
        max_tick = max(max_tick, last)
        if len(notes):
            # one track per (program, channel, source track), in the order they first close a note
            keys = notes[:, 5] * 16 + notes[:, 4]
            _, first = np.unique(keys, return_index=True)
            for f in sorted(first):
                k = keys[f]
                instruments[(int(notes[f, 5]), int(notes[f, 4]), index)] = notes[keys == k, :4]
        for ch in np.unique(ctrl[:, 1]) if len(ctrl) else ():
            controls[(int(ch), index)] = ctrl[ctrl[:, 1] == ch]
        for tick, mtype, a, b in metas.tolist():
            if mtype == 0x51:
                tempos.append((tick, len(tempos), a))
            elif mtype == 0x58:
                sigs[tick] = TimeSignature(tick, a, 1 << min(b, 6))
            elif mtype == 0x59:
                sharps = a - 256 if a > 127 else a
                if -7 <= sharps <= 7:
                    key_sigs[tick] = KeySignature(tick, sharps, bool(b))
            elif mtype == 0x03 and index not in names:
                names[index] = data[a:a + b].decode("latin-1").strip()
            elif mtype == 0x06:
                markers.append(Marker(tick, data[a:a + b].decode("latin-1").strip()))
    if max_tick > MAX_TICK:
        raise MusicFileError(f"{label}: largest tick {max_tick} is absurd; the file is corrupt")

    tracks = []
    claimed: set[tuple[int, int]] = set()
    for (program, channel, index), notes in instruments.items():
        key = (channel, index)
        ctrl = controls[key][:, [0, 2, 3]] if key in controls and key not in claimed else ()
        claimed.add(key)
        tracks.append(Track(notes=notes, program=program, is_drum=channel == 9, name=names.get(index, ""),
                            channel=channel, controls=ctrl))
    if smpte:
        tempo_t = (Tempo(0, 1_000_000),)
    else:
        by_tick: dict[int, int] = {}
        for tick, _, usec in sorted(tempos):
            by_tick[tick] = usec  # the last of several tempos on one tick wins
        tempo_t = tuple(Tempo(t, u) for t, u in sorted(by_tick.items())) or (Tempo(0, 500_000),)
    return Score(tpq=tpq, tracks=tuple(tracks), tempos=tempo_t, time_signatures=tuple(sigs[t] for t in sorted(sigs)),
                 markers=tuple(sorted(markers)), key_signatures=tuple(key_sigs[t] for t in sorted(key_sigs)))


def _unwrap_rmi(data: bytes, label: str) -> bytes:
    """RIFF MIDI (.rmi): a RIFF 'RMID' form whose 'data' chunk is a Standard MIDI File."""
    if len(data) < 12 or data[8:12] != b"RMID":
        raise MusicFileError(f"{label}: a RIFF file but not RIFF MIDI (form {data[8:12]!r})")
    pos = 12
    while pos + 8 <= len(data):
        cid = data[pos:pos + 4]
        clen = struct.unpack("<I", data[pos + 4:pos + 8])[0]
        if cid == b"data":
            return data[pos + 8:pos + 8 + clen]
        pos += 8 + clen + (clen & 1)
    raise MusicFileError(f"{label}: RIFF MIDI file without a 'data' chunk")


# ---------------------------------------------------------------------------------------------
# writing

def _vlq_bytes(value: int) -> bytes:
    value = max(0, int(value))
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    return bytes(reversed(out))


def _starts(lengths: np.ndarray) -> np.ndarray:
    """Where each of consecutive runs of these lengths starts (an exclusive running sum)."""
    return np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)


class _Events:
    """A track's events before they are written: each a tick, an order that breaks ties on a tick (note-offs
    before note-ons) and its message bytes, kept in the order they were added (which breaks the ties left);
    notes are added in bulk, as arrays (a file of 20,000 notes: 79 ms a note at a time in Python, 6 in numpy,
    the interpreter that much freer for the other players meanwhile)."""

    def __init__(self):
        self.blocks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # ticks, orders, bytes, lengths

    def add(self, tick: int, order: int, msg: bytes) -> None:
        self.blocks.append((np.array([max(0, int(tick))], np.int64), np.array([order], np.int64),
                            np.frombuffer(msg, np.uint8), np.array([len(msg)], np.int64)))

    def add_messages(self, ticks: np.ndarray, order: int, msgs: np.ndarray) -> None:
        """Messages of one order and one length: (N,) ticks, (N, L) bytes."""
        if len(ticks):
            self.blocks.append((np.maximum(np.asarray(ticks, np.int64), 0), np.full(len(ticks), order, np.int64),
                                np.ascontiguousarray(msgs, np.uint8).ravel(), np.full(len(ticks), msgs.shape[1], np.int64)))

    def __add__(self, other: "_Events") -> "_Events":
        out = _Events()
        out.blocks = self.blocks + other.blocks
        return out

    def chunk(self) -> bytes:
        """The MTrk chunk: the events sorted by (tick, order), stably; each after its delta time."""
        if self.blocks:
            ticks, orders, payload, lens = (np.concatenate(x) for x in zip(*self.blocks))
        else:
            ticks = orders = lens = np.zeros(0, np.int64)
            payload = np.zeros(0, np.uint8)
        at = _starts(lens)  # each message's first byte in payload
        perm = np.lexsort((np.arange(len(ticks)), orders, ticks))
        ticks, at, lens = ticks[perm], at[perm], lens[perm]
        delta = np.diff(ticks, prepend=0)
        nb = np.ones(len(delta), np.int64)  # bytes of each delta time
        for k in range(1, 10):
            nb += delta >= (1 << (7 * k))
        size = nb + lens
        offs = _starts(size)
        total = int(size.sum())
        body = np.empty(total + 4, np.uint8)
        for j in range(int(nb.max()) if len(nb) else 0):  # the delta times' bytes, most significant first
            m = nb > j
            shift = 7 * (nb[m] - 1 - j)
            body[offs[m] + j] = ((delta[m] >> shift) & 0x7F) | np.where(j < nb[m] - 1, 0x80, 0)
        n = int(lens.sum())
        if n:  # the messages' bytes after them
            step = np.arange(n) - np.repeat(_starts(lens), lens)
            body[np.repeat(offs + nb, lens) + step] = payload[np.repeat(at, lens) + step]
        body[total:] = (0, 0xFF, 0x2F, 0x00)  # end of track
        return b"MTrk" + struct.pack(">I", len(body)) + body.tobytes()


def midi_bytes(score: Score, single_track: bool = False) -> bytes:
    """The score as a Standard MIDI File: format 1 with a tempo track, or format 0 if single_track."""
    if not 1 <= score.tpq <= 0x7FFF:
        raise MusicFileError(f"cannot write {score.tpq} ticks per beat (1-32767 are possible)")
    meta = _Events()
    for t in score.tempos:
        u = max(1, min(0xFFFFFF, int(t.usec_per_quarter)))
        meta.add(t.tick, 0, b"\xff\x51\x03" + u.to_bytes(3, "big"))
    for s in score.time_signatures:
        den_pow = max(0, min(6, s.denominator.bit_length() - 1))
        meta.add(s.tick, 1, bytes([0xFF, 0x58, 0x04, max(1, min(255, s.numerator)), den_pow, 24, 8]))
    for k in score.key_signatures:
        meta.add(k.tick, 1, bytes([0xFF, 0x59, 0x02, k.sharps & 0xFF, int(bool(k.minor))]))
    for m in score.markers:
        text = m.text.encode("latin-1", "replace")[:127]
        meta.add(m.tick, 1, b"\xff\x06" + _vlq_bytes(len(text)) + text)
    tracks_events = []
    channels = _assign_channels(score.tracks)
    for track, ch in zip(score.tracks, channels):
        ev = _Events()
        if track.name:
            name = track.name.encode("latin-1", "replace")[:127]
            ev.add(0, 0, b"\xff\x03" + _vlq_bytes(len(name)) + name)
        ev.add(0, 2, bytes([0xC0 | ch, track.program & 0x7F]))
        c = np.asarray(track.controls, np.int64).reshape(-1, 3)
        ev.add_messages(c[:, 0], 3, np.column_stack([np.full(len(c), 0xB0 | ch), c[:, 1] & 0x7F, c[:, 2] & 0x7F]))
        a = np.asarray(track.array, np.int64).reshape(-1, 4)
        start = np.maximum(a[:, 2], 0)
        end = np.maximum(start + 1, a[:, 3])  # a zero-length note would vanish in every reader
        p = np.clip(a[:, 0], 0, 127)
        ev.add_messages(start, 5, np.column_stack([np.full(len(a), 0x90 | ch), p, np.clip(a[:, 1], 1, 127)]))
        ev.add_messages(end, 4, np.column_stack([np.full(len(a), 0x80 | ch), p, np.zeros(len(a), np.int64)]))
        tracks_events.append(ev)
    if single_track:
        merged = meta
        for ev in tracks_events:
            merged = merged + ev
        chunks = [merged.chunk()]
        fmt = 0
    else:
        chunks = [meta.chunk()] + [ev.chunk() for ev in tracks_events]
        fmt = 1
    header = b"MThd" + struct.pack(">IHHH", 6, fmt, len(chunks), score.tpq)
    return header + b"".join(chunks)


def _assign_channels(tracks) -> list[int]:
    """Drums on channel 9; other tracks keep their channel unless an earlier track holds it, then take
    a free one, so that notes of two tracks never meet on one channel (where a player would merge
    their same-pitch notes). Past 15 pitched tracks channels are shared."""
    used: set[int] = set()
    out = []
    free = [c for c in range(16) if c != 9]
    for t in tracks:
        if t.is_drum:
            out.append(9)
            continue
        ch = t.channel if t.channel != 9 else 0
        if ch in used:
            ch = next((c for c in free if c not in used), ch)
        used.add(ch)
        out.append(ch)
    return out


def write_midi(score: Score, path: str | os.PathLike, single_track: bool = False) -> Path:
    """Write atomically: readers see the old file or the whole new one, never a partial file."""
    return atomic_write_bytes(path, midi_bytes(score, single_track=single_track))
