"""Music in and out: one Score for every format.

    from bridge.music import load_score, write_midi
    score = load_score("piece.krn")        # .mid .midi .rmi .kar .krn .xml .mxl .musicxml
    score = load_score("hummed.wav")       # .wav .flac .ogg .mp3: the melody, by pitch tracking
    write_midi(score, "piece.mid")         # atomic

TensorFlow-free for MIDI; music21 is imported only when a notation file is read, tensorflow-io only
when a recording is.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..audio import AUDIO_SUFFIXES  # read by pitch tracking (bridge.audio.transcribe, which imports no music)
from ..errors import MusicFileError
from .atomic import atomic_write_bytes, atomic_write_text
from .midi import midi_bytes, parse_midi, read_midi, write_midi
from .score import (CONTINUATION, PIANO_HIGH, PIANO_LOW, Control, KeySignature, Marker, Note, Score, Tempo,
                    TimeSignature, Track)

MIDI_SUFFIXES = (".mid", ".midi", ".rmi", ".kar", ".smf")
NOTATION_SUFFIXES = (".krn", ".xml", ".mxl", ".musicxml")
SUFFIXES = MIDI_SUFFIXES + NOTATION_SUFFIXES + AUDIO_SUFFIXES

__all__ = ["Score", "Track", "Note", "Tempo", "TimeSignature", "KeySignature", "Control", "Marker", "CONTINUATION",
           "PIANO_LOW",
           "PIANO_HIGH",
           "load_score", "read_midi", "parse_midi", "write_midi", "midi_bytes",
           "atomic_write_bytes", "atomic_write_text", "SUFFIXES", "MIDI_SUFFIXES", "NOTATION_SUFFIXES",
           "AUDIO_SUFFIXES"]


def load_score(path: str | os.PathLike, limits=None, cancel=None) -> Score:
    """Read any supported file by its suffix, within `limits` (bounded.ReadLimits: bytes, bytes unpacked,
    events, seconds; the defaults unless given). Raises MusicFileError naming the problem. `cancel`: a
    threading.Event that stops a notation file's reading."""
    from .bounded import LIMITS, check_notation, check_notes, check_size, read_notation_bounded

    limits = limits or LIMITS
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in SUFFIXES:
        check_size(path, limits)
    if suffix in MIDI_SUFFIXES:
        return check_notes(read_midi(path), path, limits)
    if suffix in NOTATION_SUFFIXES:
        if not path.is_file():
            raise MusicFileError(f"{path}: no such file")
        if path.stat().st_size == 0:
            raise MusicFileError(f"{path}: empty file")
        check_notation(path, limits)
        if suffix == ".krn":  # plain **kern: read here, in milliseconds; anything else by music21
            from .humdrum import read_kern_file

            score = read_kern_file(path, limits.seconds, cancel)
            if score is not None:
                return score
        from . import readcache

        if not readcache.enabled():
            return read_notation_bounded(path, limits, cancel)
        key = readcache.key_of(path)
        score = readcache.get(key)  # read before, on this machine: the same bytes give the same Score
        if score is None:
            score = read_notation_bounded(path, limits, cancel)
            readcache.put(key, score)
        return score
    if suffix in AUDIO_SUFFIXES:  # a recording: its melody, by pitch tracking
        from ..audio.transcribe import transcribe
        return Score.from_beats(transcribe(path, max_seconds=limits.audio_seconds), qpm=120.0)
    raise MusicFileError(f"{path}: unsupported file type {suffix or '(no suffix)'!r}; "
                         f"Cadenza reads {', '.join(SUFFIXES)}")

