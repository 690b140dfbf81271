"""Plain **kern read by Cadenza itself, in time linear in the file: the same Score as music21 reads, without it.

music21 takes about 90 ms of a core for a four-part chorale (and a second to import, in a helper process);
this reader takes a few milliseconds. It reads the subset the chorales and most hand-made **kern files are
written in: only **kern spines, no spine splits or merges, durations Cadenza's 960 ticks per quarter hold
exactly, instrument codes it knows. A file outside the subset is not guessed at: `read_kern` returns None and
music21 reads it, as before. tests/music/test_humdrum.py holds the two readers equal on real files, and
`python -m bridge.music.humdrum FILE...` checks any others.

What music21 does, and this reader does the same: parts are the spines right to left (the top voice first);
a part's name is its first instrument (`*ICvox` "Voice", `*Ibass` "Bass"...); ties are merged into one
note; rests, grace notes and the signs that change no sound (beams, stems, slurs, fermatas, editorial marks)
are dropped; repeats are not expanded; tempo (`*MM`) is read from every spine, meter and key from the top
one, and a key (`*G:`, `*a:`) after a key signature (`*k[f#]`) at the same point gives the mode.
"""
from __future__ import annotations

import os
import re
import threading
import time
from fractions import Fraction

from ..errors import MusicFileError
from .notation import DEFAULT_VELOCITY  # music21's notes carry no velocity: the one notation.py gives them
from .score import DEFAULT_TEMPO, TPQ, KeySignature, Note, Score, Tempo, TimeSignature, Track, _note_order, qpm_to_usec

# music21's name for a part with each instrument code (music21/humdrum/instruments.py), read from music21 10
INSTRUMENTS = {
    "*ICvox": "Voice", "*ICstr": "StringInstrument", "*ICww": "Woodwind", "*ICbras": "Brass",
    "*ICklav": "Keyboard", "*ICperc": "Percussion", "*Isoprn": "Soprano", "*Icant": "Soprano",
    "*Imezzo": "Mezzo-Soprano", "*Icalto": "Alto", "*Itenor": "Tenor", "*Ibarit": "Baritone", "*Ibass": "Bass",
    "*Ivox": "Voice", "*Ialto": "Alto", "*Iarpa": "Harp", "*Ibanjo": "Banjo", "*Ibguit": "Electric Bass",
    "*Icbass": "Contrabass", "*Icello": "Violoncello", "*Icemba": "Harpsichord", "*Iclavi": "Clavichord",
    "*Idulc": "Dulcimer", "*Ieguit": "Electric Guitar", "*Iguitr": "Guitar", "*Iliuto": "Lute", "*Ikoto": "Koto",
    "*Imando": "Mandolin", "*Ipiano": "Piano", "*Ishami": "Shamisen", "*Isitar": "Sitar", "*Iukule": "Ukulele",
    "*Iviola": "Viola", "*Ivioln": "Violin", "*Iaccor": "Accordion", "*Iarmon": "Harmonica",
    "*IbagpS": "Bagpipes", "*IbagpI": "Bagpipes", "*Icangl": "English Horn", "*Iclarb": "Bass clarinet",
    "*Icor": "Horn", "*Ifagot": "Bassoon", "*Iflt": "Flute", "*Ioboe": "Oboe", "*Iorgan": "Pipe Organ",
    "*Ipanpi": "Pan Flute", "*Ipicco": "Piccolo", "*Ireedo": "Reed Organ", "*IsaxS": "Soprano Saxophone",
    "*IsaxA": "Alto Saxophone", "*IsaxT": "Tenor Saxophone", "*IsaxR": "Baritone Saxophone",
    "*Ishaku": "Shakuhachi", "*Itromt": "Trombone", "*Itromb": "Bass Trombone", "*Itromp": "Trumpet",
    "*Ituba": "Tuba", "*Iclest": "Celesta", "*Ihammd": "Electric Organ",
    "*Ivibra": "Vibraphone", "*Ixylo": "Xylophone", "*Imarim": "Marimba", "*Iglock": "Glockenspiel",
    "*Itimpa": "Timpani",
}  # unpitched percussion codes are left to music21
SPINE_PATHS = {"*^", "*v", "*x", "*+"}  # splits and merges: left to music21
NOTE = re.compile(r"([^\da-gA-Gr]*)(\d+)(\.*)([^\da-gA-Gr#n.-]*)([a-gA-G]+|r+)([#n-]*)([^\da-gA-Gr#n-]*)")
METER = re.compile(r"\*M(\d+)/(\d+)$")
TEMPO = re.compile(r"\*MM(\d+(?:\.\d*)?)$")
KEY_SIG = re.compile(r"\*k\[((?:[a-g][#-]+)*)\]$")
KEY = re.compile(r"\*([a-gA-G])([#-]*):$")
MODE = re.compile(r"\*[a-gA-G][#-]*:[a-z]+$")
SILENT = set("LJKk/\\;()[]{}_'\"~^`,:yxXNSTtWwMmR$OoHhIiUuvZ|<>?@&")  # signs that change no sound
CHECK_EVERY = 2000  # lines between looks at the clock and at `cancel`
FIFTHS = {"f": -1, "c": 0, "g": 1, "d": 2, "a": 3, "e": 4, "b": 5}
STEPS = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}


class Outside(Exception):
    """The file uses something this reader leaves to music21."""


def read_kern(text: str, seconds: float | None = None, cancel: threading.Event | None = None,
              label: str = "<kern>") -> Score | None:
    """The Score music21 would read from **kern `text`, or None when the text is outside the plain subset.
    Raises MusicFileError past `seconds` or when `cancel` is set, as the bounded reader does."""
    try:
        return _read(text, seconds, cancel, label)
    except Outside:
        return None


def read_kern_file(path: str | os.PathLike, seconds: float | None = None,
                   cancel: threading.Event | None = None) -> Score | None:
    try:
        with open(path, "rb") as f:
            text = f.read().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # music21 says why, or reads other encodings
    return read_kern(text, seconds, cancel, label=os.path.basename(path))


def _duration(recip: str, dots: str) -> Fraction:
    if recip.strip("0") == "":
        base = Fraction(8 * 2 ** (len(recip) - 1))  # 0 a breve, 00 a long
    else:
        n = int(recip)
        if n == 0:
            raise Outside
        base = Fraction(4, n)
    dur, add = base, base
    for _ in dots:
        add /= 2
        dur += add
    if (dur * TPQ).denominator != 1:
        raise Outside  # a duration 960 ticks per quarter cannot hold: music21 rounds floats, not guessed here
    return dur


def _pitch(letters: str, accidentals: str) -> int:
    if len(set(letters)) != 1:
        raise Outside
    step = STEPS[letters[0].lower()]
    octave = 4 + (len(letters) - 1) if letters[0].islower() else 3 - (len(letters) - 1)
    if "n" in accidentals and len(accidentals) > 1:
        raise Outside
    return 12 * (octave + 1) + step + accidentals.count("#") - accidentals.count("-")


def _key_sharps(letter: str, accidentals: str) -> tuple[int, bool]:
    minor = letter.islower()
    sharps = FIFTHS[letter.lower()] + 7 * (accidentals.count("#") - accidentals.count("-")) - (3 if minor else 0)
    return sharps, minor


class _Spine:
    def __init__(self):
        self.at = Fraction(0)
        self.notes: list[list] = []  # [pitch, start, duration]
        self.open: dict[int, int] = {}  # pitch -> index of the note a tie is carrying on
        self.name: str | None = None
        self.meters: dict[int, TimeSignature] = {}
        self.keys: dict[int, KeySignature] = {}
        self.tempos: list[tuple[Fraction, float]] = []

    def interpretation(self, tok: str) -> None:
        tick = _tick(self.at)
        if tok in SPINE_PATHS or tok.startswith("**"):
            raise Outside
        if tok.startswith("*MM"):
            m = TEMPO.match(tok)
            if not m:
                raise Outside  # a tempo in words
            self.tempos.append((self.at, float(m.group(1))))
        elif tok.startswith("*M"):
            m = METER.match(tok)
            if not m or m.group(2) in ("0", "00", "000") or int(m.group(1)) == 0:
                raise Outside
            num, den = int(m.group(1)), int(m.group(2))
            if den & (den - 1):
                raise Outside
            self.meters[tick] = TimeSignature(tick, num, den)
        elif tok.startswith("*k"):
            m = KEY_SIG.match(tok)
            if not m:
                raise Outside
            sharps = m.group(1).count("#") or -m.group(1).count("-")
            self.keys[tick] = KeySignature(tick, max(-7, min(7, sharps)), False)
        elif tok.endswith(":"):
            m = KEY.match(tok)
            if not m:
                raise Outside
            sharps, minor = _key_sharps(m.group(1), m.group(2))
            self.keys[tick] = KeySignature(tick, max(-7, min(7, sharps)), minor)
        elif tok.startswith(('*I"', "*IG", "*ITr", "*I'")):
            pass  # a name, group or transposition: music21 keeps these as text
        elif MODE.match(tok):
            pass  # `*g:dor`: music21 keeps a mode as text
        elif tok.startswith("*I"):
            if tok not in INSTRUMENTS:
                raise Outside  # music21 names a part from a table of its own
            if self.name is None:
                self.name = INSTRUMENTS[tok]
        elif tok.startswith("*clefX"):
            raise Outside  # percussion: music21 reads unpitched notes
        elif tok.startswith("*clef") or tok.startswith("*>") or tok.startswith("*met") or tok == "*" or \
                tok.startswith(("*staff", "*part", "*tb", "*xywh")) or tok in ("*LH", "*RH", "*-"):
            pass
        else:
            raise Outside

    def data(self, tok: str) -> None:
        if tok == ".":
            return
        durations = set()
        for sub in tok.split(" "):
            m = NOTE.fullmatch(sub) if sub else None
            if m is None:
                raise Outside  # grace notes, rational rhythms, anything unusual
            before, recip, dots, between, letters, accidentals, after = m.groups()
            signs = before + between + after
            if any(c not in SILENT for c in signs):
                raise Outside
            dur = _duration(recip, dots)
            durations.add(dur)
            if letters[0] == "r":
                continue
            self._note(_pitch(letters, accidentals), dur, signs)
        if len(durations) != 1:
            raise Outside  # a chord of unequal notes: music21 keeps the first duration
        self.at += durations.pop()

    def _note(self, pitch: int, dur: Fraction, signs: str) -> None:
        carried = self.open.get(pitch)
        if ("_" in signs or "]" in signs) and carried is not None:
            note = self.notes[carried]
            if note[1] + note[2] != self.at:
                raise Outside
            note[2] += dur
            if "]" in signs:
                del self.open[pitch]
            return
        if "_" in signs or "]" in signs:
            raise Outside  # a tie that starts nowhere
        if pitch in self.open:
            raise Outside  # a tie left hanging
        self.notes.append([pitch, self.at, dur])
        if "[" in signs:
            self.open[pitch] = len(self.notes) - 1


def _tick(beats: Fraction) -> int:
    return int(beats * TPQ)


def _read(text: str, seconds: float | None, cancel: threading.Event | None, label: str) -> Score:
    deadline = None if seconds is None else time.monotonic() + seconds
    spines: list[_Spine] | None = None
    ended = False
    for n, raw in enumerate(text.splitlines()):
        if n % CHECK_EVERY == 0:
            if cancel is not None and cancel.is_set():
                raise MusicFileError(f"{label}: reading stopped (the request was cancelled)")
            if deadline is not None and time.monotonic() > deadline:
                raise MusicFileError(f"{label}: reading it took more than {seconds:g} s; stopped")
        line = raw.rstrip("\r")
        if not line or line.startswith("!"):
            continue
        fields = line.split("\t")
        if spines is None:
            if any(f != "**kern" for f in fields):
                raise Outside  # **dynam, **text, **harm... or no header
            spines = [_Spine() for _ in fields]
            continue
        if ended or len(fields) != len(spines):
            raise Outside
        if line.startswith("*"):
            for spine, tok in zip(spines, fields):
                spine.interpretation(tok)
            ended = all(f == "*-" for f in fields)
            if any(f == "*-" for f in fields) and not ended:
                raise Outside
        elif line.startswith("="):
            if any(not f.startswith("=") for f in fields):
                raise Outside
        else:
            for spine, tok in zip(spines, fields):
                spine.data(tok)
    if not spines:
        raise Outside
    if any(s.open for s in spines):
        raise Outside
    parts = spines[::-1]  # music21: the last spine (the top voice) is the first part
    tracks = []
    for s in parts:
        notes = sorted((Note(p, DEFAULT_VELOCITY, _tick(start), _tick(start) + max(1, _tick(dur)))
                        for p, start, dur in s.notes), key=_note_order)
        tracks.append(Track(notes=tuple(notes), name=s.name or ""))
    by_tick = {}
    for s in spines:
        for at, qpm in s.tempos:
            by_tick.setdefault(_tick(at), []).append(qpm)
    tempos = []
    for tick in sorted(by_tick):
        tempos.append(Tempo(tick, qpm_to_usec(by_tick[tick][-1])))
    if not tempos or tempos[0].tick != 0:
        tempos.insert(0, Tempo(0, DEFAULT_TEMPO))
    top = parts[0]
    return Score(tpq=TPQ, tracks=tuple(tracks), tempos=tuple(tempos),
                 time_signatures=tuple(top.meters[k] for k in sorted(top.meters)),
                 key_signatures=tuple(top.keys[k] for k in sorted(top.keys)))


def _main(paths: list[str]) -> int:
    """Compare this reader with music21's on each file: `python -m bridge.music.humdrum FILE...`."""
    from .notation import read_notation

    same = outside = differ = 0
    for p in paths:
        fast = read_kern_file(p)
        if fast is None:
            outside += 1
            continue
        slow = read_notation(p)
        if same_score(fast, slow):
            same += 1
        else:
            differ += 1
            print(f"differs: {p}")
    print(f"{same} the same, {differ} different, {outside} left to music21")
    return 1 if differ else 0


def same_score(a: Score, b: Score) -> bool:
    return (a.tpq == b.tpq and a.tempos == b.tempos and a.time_signatures == b.time_signatures
            and a.key_signatures == b.key_signatures and len(a.tracks) == len(b.tracks)
            and all(x.name == y.name and x.notes == y.notes for x, y in zip(a.tracks, b.tracks)))


if __name__ == "__main__":
    import sys

    sys.exit(_main(sys.argv[1:]))
