"""**kern and MusicXML (.krn, .xml, .mxl, .musicxml) through music21, into a Score.

music21 is imported here only, when a notation file is actually read: it costs about a second. Plain
**kern (text given here, or a file given to load_score) is read by humdrum.py instead, to the same Score.
Ties are merged into single notes; grace notes (no duration) are skipped; repeats are not
expanded (music21 fails on some badly formed repeats, and a continuation wants the score as written).
"""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import MusicFileError
from .score import KeySignature, Note, Score, Tempo, TimeSignature, Track, _note_order, qpm_to_usec

from .score import TPQ as NOTATION_TPQ  # sixty-fourths, triplets and quintuplets are exact
DEFAULT_VELOCITY = 80


def read_notation(path: str | os.PathLike, text: str | None = None, fmt: str | None = None) -> Score:
    """Read a notation file (or `text` in format `fmt`, e.g. 'humdrum') into a Score."""
    label = str(path)
    if text is not None and (fmt or "humdrum") == "humdrum":
        from .humdrum import read_kern

        score = read_kern(text, label=label)  # plain **kern: no music21 needed
        if score is not None:
            return score
    try:
        import music21
    except ImportError as e:  # pragma: no cover - music21 is a declared dependency
        raise MusicFileError(f"{label}: reading notation needs music21 ({e})") from None
    try:
        if text is not None:
            parsed = music21.converter.parse(text, format=fmt or "humdrum", forceSource=True)
        else:
            if not Path(path).is_file():
                raise MusicFileError(f"{label}: no such file")
            if Path(path).stat().st_size == 0:
                raise MusicFileError(f"{label}: empty file")
            parsed = music21.converter.parse(str(path), forceSource=True)
    except MusicFileError:
        raise
    except Exception as e:  # music21 raises many unrelated types for bad input; name the cause
        raise MusicFileError(f"{label}: cannot parse notation: {type(e).__name__}: {e}".strip()) from None
    try:
        return stream_to_score(parsed)
    except Exception as e:
        raise MusicFileError(f"{label}: cannot convert notation: {type(e).__name__}: {e}") from None


def stream_to_score(stream) -> Score:
    """A music21 Score/Part/Stream to a Score at NOTATION_TPQ ticks per quarter."""
    import music21

    tpq = NOTATION_TPQ

    def tick(offset) -> int:
        return int(round(float(offset) * tpq))

    stream = stream.stripTies(inPlace=False)
    parts = list(stream.parts) if hasattr(stream, "parts") and len(stream.parts) else [stream]
    tracks = []
    for part in parts:
        flat = part.flatten()
        notes = []
        for el in flat.notes:
            dur = float(el.duration.quarterLength)
            if dur <= 0:
                continue  # grace notes
            vel = el.volume.velocity if el.volume.velocity is not None else DEFAULT_VELOCITY
            start = tick(el.offset)
            end = start + max(1, tick(dur))
            pitches = el.pitches if isinstance(el, music21.chord.Chord) else [getattr(el, "pitch", None)]
            for p in pitches:
                if p is None:
                    continue
                notes.append(Note(int(p.midi), int(vel), start, end))
        notes.sort(key=_note_order)
        name = part.partName or "" if hasattr(part, "partName") else ""
        tracks.append(Track(notes=tuple(notes), name=str(name or "")))
    flat_all = stream.flatten()
    tempos = []
    for mm in flat_all.getElementsByClass("MetronomeMark"):
        try:
            qpm = mm.getQuarterBPM()
        except Exception:
            qpm = None
        if qpm:
            tempos.append(Tempo(tick(mm.offset), qpm_to_usec(qpm)))
    by_tick = {t.tick: t for t in sorted(tempos)}
    tempos_t = tuple(by_tick.values())
    if not tempos_t or tempos_t[0].tick != 0:
        tempos_t = (Tempo(0, 500_000),) + tempos_t
    sigs = {}
    first = parts[0].flatten() if parts else flat_all
    for ts in first.getElementsByClass("TimeSignature"):
        sigs[tick(ts.offset)] = TimeSignature(tick(ts.offset), int(ts.numerator), int(ts.denominator))
    keys = {}
    for ks in first.getElementsByClass("KeySignature"):
        sharps = int(getattr(ks, "sharps", 0) or 0)
        keys[tick(ks.offset)] = KeySignature(tick(ks.offset), max(-7, min(7, sharps)),
                                             getattr(ks, "mode", "major") == "minor")
    return Score(tpq=tpq, tracks=tuple(tracks), tempos=tempos_t, time_signatures=tuple(sigs.values()),
                 key_signatures=tuple(keys[k] for k in sorted(keys)))
