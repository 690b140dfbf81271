"""Characters of **kern text (article 001, done right).

Encoding keeps the music and drops what a character model cannot learn from a few hundred files:
reference records and comments ('!' lines), layout-only interpretations (*staff, *I..., *>
expansion labels, *part, *LH/*RH), measure numbers (`=12` becomes `=`: measures stay marked),
and the closing `*-` line. The exclusive interpretation line (`**kern\t**kern\t**dynam`) stays
first, so the spine layout is known. One token per character: printable ASCII, tab and newline;
anything else is `<unk>`.

Decoding repairs what a model gets wrong so the output always plays: it restores a valid header
(reference records, the exclusive interpretations, inferred from the first line when missing),
keeps every line's spine count consistent with the spine splits and merges before it (padding or
trimming data lines, nulling broken manipulators), drops malformed note tokens, renumbers the
measures and closes the spines; then music21 reads it.

A Score from another format (e.g. a MIDI prime) is written as **kern first: each track's notes
on a 12-per-quarter grid, split into voices (spines) where they overlap, tied across barlines and
into durations **kern can write.

Round trip (a .krn file -> ids -> Score): the same notes as music21 reads from the original file.
(A Score -> ids -> Score): exact on the 12-per-quarter grid, pitches spelled with sharps.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from ..errors import MusicFileError
from ..music import Score
from .base import Codec
from .notewise import quantize_notes

CHARS = ["\t", "\n"] + [chr(c) for c in range(32, 127)]
LAYOUT = re.compile(r"^\*(staff|I|>|part|LH$|RH$|tb|xywh|ICklav|Ipiano)")
MANIPULATORS = {"*^", "*v", "*x", "*+", "*-"}
# a note or rest: optional slur/tie/phrase signs, a duration (absent for grace notes), a pitch or r
NOTE_TOKEN = re.compile(r"^[^a-zA-Z0-9\s]*(\d+(%\d+)?\.*)?[qQP]*([a-gA-G]+|r)")


# --------------------------------------------------------------------------------------------
# text <-> stripped text

def strip_kern(text: str) -> str:
    """A **kern file reduced to what the model learns: see the module docstring."""
    out = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not line or line.startswith("!"):
            continue
        if line.startswith("**"):
            if not out:
                out.append(line)
            continue
        fields = line.split("\t")
        if line.startswith("*"):
            if all(f == "*-" for f in fields):
                continue
            fields = ["*" if LAYOUT.match(f) else f for f in fields]
            if all(f == "*" for f in fields):
                continue
            out.append("\t".join(fields))
        elif line.startswith("="):
            out.append("\t".join(re.sub(r"^=+\d*[a-z]?", lambda m: "=" * m.group(0).count("="), f)
                                 if f.startswith("=") else f for f in fields))
        else:
            out.append(line)
    return "\n".join(out) + "\n"


def _valid_token(tok: str, kind: str) -> bool:
    if tok == ".":
        return True
    if kind != "**kern":
        return "\n" not in tok and tok != ""
    return all(NOTE_TOKEN.match(sub) for sub in tok.split(" ")) and tok.strip() != ""


def repair_kern(text: str, title: str = "Cadenza continuation") -> str:
    """Make text from a model (or a person) into **kern that music21 reads: see the module docstring."""
    lines = [ln for ln in text.replace("\r", "").split("\n") if ln.strip() and not ln.startswith("!")]
    if lines and lines[0].startswith("**"):
        spines = lines.pop(0).split("\t")
    else:
        first = next((ln for ln in lines if not ln.startswith("=")), "")
        spines = ["**kern"] * max(1, len(first.split("\t")))
    spines = [s if s.startswith("**") and len(s) > 2 else "**kern" for s in spines]
    out = ["!!!COM: Cadenza", f"!!!OTL: {title}", "\t".join(spines)]
    # each spine's kind and the spine of the header it came from: only spines split from one spine merge
    # back (music21 cannot read a merge of two spines the header began apart)
    spines = [(kind, k) for k, kind in enumerate(spines)]
    bar = 1
    seen_data = False
    for line in lines:
        fields = line.split("\t")
        n = len(spines)
        if line.startswith("*"):
            if len(fields) != n or not all(f.startswith("*") for f in fields):
                continue
            fields = ["*" if f.startswith("**") or f in ("*+", "*-") else f for f in fields]
            new_spines, fixed, i = [], [], 0
            while i < n:
                f = fields[i]
                if f == "*^":
                    new_spines += [spines[i], spines[i]]
                    fixed.append(f)
                    i += 1
                elif f == "*v":
                    j = i
                    while j < n and fields[j] == "*v" and spines[j] == spines[i]:
                        j += 1
                    if j - i >= 2:
                        fixed += ["*v"] * (j - i)
                        new_spines.append(spines[i])
                    else:
                        fixed.append("*")
                        new_spines.append(spines[i])
                    i = j
                elif f == "*x":
                    if i + 1 < n and fields[i + 1] == "*x":
                        fixed += ["*x", "*x"]
                        new_spines += [spines[i + 1], spines[i]]
                        i += 2
                    else:
                        fixed.append("*")
                        new_spines.append(spines[i])
                        i += 1
                else:
                    fixed.append(f)
                    new_spines.append(spines[i])
                    i += 1
            spines = new_spines
            out.append("\t".join(fixed))
        elif line.startswith("="):
            if not seen_data and bar == 1 and out[-1].startswith("="):
                continue
            style = re.sub(r"^=+\d*[a-z]?", "", fields[0])
            out.append("\t".join(f"={bar}{style}" for _ in range(n)))
            bar += 1
        else:
            fields = (fields + ["."] * n)[:n]
            fields = [f if _valid_token(f, spines[k][0]) else "." for k, f in enumerate(fields)]
            if all(f == "." for f in fields) and not seen_data:
                continue
            seen_data = True
            out.append("\t".join(fields))
    out.append("\t".join(["*-"] * len(spines)))
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------------------------
# Score -> **kern

STEPS = 12  # per quarter note
# durations **kern can write, in steps (twelfths of a quarter), longest first, with their recip
RECIPS = [(48, "1"), (36, "2."), (24, "2"), (18, "4."), (12, "4"), (9, "8."), (8, "6"), (6, "8"),
          (4, "12"), (3, "16"), (2, "24"), (1, "48")]
NAMES = ["c", "c#", "d", "d#", "e", "f", "f#", "g", "g#", "a", "a#", "b"]


def kern_pitch(p: int) -> str:
    octave = p // 12 - 1
    name = NAMES[p % 12]
    letter, acc = name[0], name[1:]
    if octave >= 4:
        return letter * (octave - 3) + acc
    return letter.upper() * (4 - octave) + acc


def _split(duration: int, start: int, bar_len: int) -> list[int]:
    """A duration in steps, cut at barlines and into writable pieces."""
    pieces = []
    pos = start
    remaining = duration
    while remaining > 0:
        to_bar = bar_len - (pos % bar_len)
        chunk = min(remaining, to_bar)
        for d, _ in RECIPS:
            while chunk >= d:
                pieces.append(d)
                chunk -= d
                pos += d
                remaining -= d
    return pieces


def score_to_kern(score: Score) -> str:
    """A Score written as **kern on a 12-per-quarter grid (see the module docstring)."""
    ts = score.time_signatures[0] if score.time_signatures else None
    num, den = (ts.numerator, ts.denominator) if ts else (4, 4)
    bar_len = max(1, round(num * 4 / den * STEPS))
    voices: list[list[tuple[int, int, tuple[int, ...]]]] = []
    tracks = [t for t in score.tracks if not t.is_drum and len(t.array)]
    tracks.sort(key=lambda t: float(t.array[:, 0].mean()))
    for track in tracks:
        q = quantize_notes(Score(tpq=score.tpq, tracks=(track,)), STEPS, 0, 127)
        chords: dict[tuple[int, int], list[int]] = {}
        for pitch, _, s, e in q.tolist():
            chords.setdefault((s, e), []).append(pitch)
        track_voices: list[list[tuple[int, int, tuple[int, ...]]]] = []
        for (s, e), pitches in sorted(chords.items()):
            for v in track_voices:
                if v[-1][1] <= s:
                    v.append((s, e, tuple(sorted(pitches))))
                    break
            else:
                track_voices.append([(s, e, tuple(sorted(pitches)))])
        voices += track_voices
    if not voices:
        voices = [[]]
    total = max([v[-1][1] for v in voices if v] + [bar_len])
    total = -(-total // bar_len) * bar_len
    # each spine: (start, token) pieces covering [0, total)
    spine_tokens: list[dict[int, str]] = []
    for v in voices:
        tokens: dict[int, str] = {}
        pos = 0
        for s, e, pitches in v + [(total, total, ())]:
            if s > pos:  # rest
                t = pos
                for d in _split(s - pos, pos, bar_len):
                    tokens[t] = RECIPS_BY_STEPS[d] + "r"
                    t += d
            if e > s:
                pieces = _split(e - s, s, bar_len)
                t = s
                for k, d in enumerate(pieces):
                    recip = RECIPS_BY_STEPS[d]
                    tie_open = "[" if len(pieces) > 1 and k == 0 else ""
                    tie_close = "]" if len(pieces) > 1 and k == len(pieces) - 1 else ""
                    tie_mid = "_" if 0 < k < len(pieces) - 1 else ""
                    tokens[t] = " ".join(f"{tie_open}{recip}{kern_pitch(p)}{tie_mid}{tie_close}" for p in pitches)
                    t += d
            pos = max(pos, e)
        spine_tokens.append(tokens)
    n = len(spine_tokens)
    lines = ["\t".join(["**kern"] * n), "\t".join([f"*M{num}/{den}"] * n),
             "\t".join([f"*MM{round(score.qpm)}"] * n)]
    times = sorted(set(t for tokens in spine_tokens for t in tokens) | set(range(0, total, bar_len)))
    bar = 1
    for t in times:
        if t % bar_len == 0:
            lines.append("\t".join([f"={bar}"] * n))
            bar += 1
        if any(t in tokens for tokens in spine_tokens):
            lines.append("\t".join(tokens.get(t, ".") for tokens in spine_tokens))
    lines.append("\t".join(["=="] * n))
    lines.append("\t".join(["*-"] * n))
    return "\n".join(lines) + "\n"


RECIPS_BY_STEPS = dict(RECIPS)


# --------------------------------------------------------------------------------------------

class KernCodec(Codec):
    name = "kern"
    streams = False  # the text is repaired and read as a whole: its notes are known at the end
    text_tokens = True

    def _build_vocab(self):
        return list(CHARS)

    def special_names(self):
        return ("<unk>", "<eos>")

    def encode_text(self, text: str) -> np.ndarray:
        stripped = strip_kern(text)
        unk = self.specials["<unk>"]
        index = self._index
        return np.array([index.get(ch, unk) for ch in stripped], np.int32)

    def decode_text(self, ids) -> str:
        ids = self._check_ids(ids)
        if self.eos in ids:
            ids = ids[:int(np.argmax(ids == self.eos))]
        return "".join(self.vocab[i] for i in ids.tolist() if i < len(CHARS))

    def encode(self, score: Score) -> np.ndarray:
        return self.encode_text(score_to_kern(score))

    def beats_of(self, ids) -> float:
        """Beats the text spans, from its barlines and meters (4/4 until a *M line says otherwise)."""
        bar, beats = 4.0, 0.0
        for line in self.decode_text(ids).split("\n"):
            if line.startswith("*M") and "/" in line:
                m = re.match(r"\*M(\d+)/(\d+)", line)
                if m and int(m.group(2)):
                    bar = int(m.group(1)) * 4 / int(m.group(2))
            elif line.startswith("="):
                beats += bar
        return beats

    def encode_read(self, score: Score, path: str | os.PathLike) -> np.ndarray:
        return self.encode_file(path) if Path(path).suffix.lower() == ".krn" else self.encode(score)

    def tail(self, ids: np.ndarray, keep: int) -> np.ndarray:
        return ids  # text read from its header on: a tail alone has no spine layout

    def beat_counter(self) -> "KernBeats":
        return KernBeats(self)

    def encode_file(self, path: str | os.PathLike) -> np.ndarray:
        if Path(path).suffix.lower() == ".krn":
            try:
                text = Path(path).read_text(encoding="utf-8", errors="replace")
            except OSError as e:
                raise MusicFileError(f"{path}: cannot read file: {e.strerror or e}") from None
            if "**kern" not in text:
                raise MusicFileError(f"{path}: not **kern (no '**kern' spine)")
            return self.encode_text(text)
        return super().encode_file(path)

    def warm(self) -> None:
        """music21 imported and run once on text outside the plain **kern Cadenza reads itself (a spine split), as
        a model's text often is: a second of a sonata model's first request otherwise."""
        from ..music.notation import read_notation

        try:  # warming is a courtesy: a music21 that reads it otherwise leaves the first request to load it
            read_notation("<warm>", text="**kern\n*M4/4\n*^\n4c\t4e\n*v\t*v\n*-\n", fmt="humdrum")
        except MusicFileError:
            pass

    def decode(self, ids) -> Score:
        """The model's text, repaired, as music21 reads it; where music21 still cannot read it, the longest
        opening it can (the music up to the line it stumbles on): a model's text never fails a request."""
        from ..music.notation import read_notation

        text = self.decode_text(ids)
        try:
            return read_notation("<kern>", text=repair_kern(text), fmt="humdrum")
        except MusicFileError as e:
            lines = text.split("\n")
            good, bad, best = 0, len(lines), None  # the longest readable opening, by halving
            while bad - good > 1:
                mid = (good + bad) // 2
                try:
                    best = read_notation("<kern>", text=repair_kern("\n".join(lines[:mid])), fmt="humdrum")
                    good = mid
                except MusicFileError:
                    bad = mid
            if best is None:
                raise e
            return best


DURATION = re.compile(r"(\d+)(%(\d+))?(\.*)")


def kern_duration(token: str) -> float | None:
    """Beats (quarter notes) of a **kern note or rest token: `4` 1, `8.` 0.75, `3%2` 2/3; None: no duration."""
    m = DURATION.search(token.split(" ")[0])
    if not m or "q" in token.lower():
        return None
    num, den = int(m.group(1)), int(m.group(3) or 1)
    if num == 0:
        base = 8.0  # a breve
    else:
        base = 4.0 * den / num
    dots = len(m.group(4))
    return base * (2 - 0.5 ** dots)


class KernBeats:
    """Beats of generated **kern text as it comes, line by line, as a reader times it: each spine keeps
    what is left of its current note; a data line starts notes in some spines and advances time by
    the shortest time left in any; spine splits, merges, additions and ends are followed. The beats
    of a line are counted at its newline."""

    def __init__(self, codec: KernCodec):
        self.newline = codec.id("\n")
        self.vocab = codec.vocab
        self.line: list[str] = []
        self.left: list[float] = []  # time left of each spine's current note

    def _line(self, text: str) -> float:
        fields = text.split("\t")
        if not text or text.startswith(("!", "=")):
            return 0.0
        left = (self.left + [0.0] * len(fields))[:len(fields)]  # a model's spine count may drift
        if text.startswith("*"):
            out: list[float] = []
            i = 0
            while i < len(fields):
                f = fields[i]
                if f == "*^":
                    out += [left[i], left[i]]
                elif f == "*v":
                    while i + 1 < len(fields) and fields[i + 1] == "*v":
                        i += 1
                    out.append(left[i])
                elif f == "*-":
                    pass
                elif f == "*+":
                    out += [left[i], 0.0]
                else:
                    out.append(left[i])
                i += 1
            self.left = out
            return 0.0
        for i, f in enumerate(fields):
            if f != ".":
                d = kern_duration(f)
                if d is not None and d > 0:
                    left[i] = d
        step = min((x for x in left if x > 0), default=0.0)
        self.left = [max(0.0, x - step) for x in left]
        return step

    def advance(self, ids) -> np.ndarray:
        out = np.zeros(len(ids))
        for k, t in enumerate(np.asarray(ids).tolist()):
            if t == self.newline:
                out[k] = self._line("".join(self.line))
                self.line = []
            elif len(self.line) < 400 and t < len(CHARS):
                self.line.append(self.vocab[t])
        return out


CODEC = KernCodec
