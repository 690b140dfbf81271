"""Cadenza's own **kern reader: the same Score as music21 on real files (chorales from across the 370, and
hand-written cases of every sign it reads), None for what it leaves to music21 (and music21 then reads it
through load_score), bounded like the reader it stands in for, and no music21 in a process that reads a
chorale."""
from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from tests.conftest import CHORALES, ROOT



def music21_reads(text: str):
    """music21's Score, with Cadenza's reader kept out of the way."""
    import music21

    from bridge.music.notation import stream_to_score

    return stream_to_score(music21.converter.parse(text, format="humdrum", forceSource=True))


@pytest.mark.skipif(not CHORALES.is_dir(), reason="corpus not here")
def test_chorales_from_across_the_set_read_as_music21_reads_them():
    from bridge.music.humdrum import read_kern_file, same_score

    files = sorted(CHORALES.glob("*.krn"))[::37]  # ten, from first to last
    assert len(files) >= 10
    for path in files:
        fast = read_kern_file(path)
        assert fast is not None, path.name  # plain **kern, every one of the 370
        assert same_score(fast, music21_reads(path.read_text())), path.name
        assert len(fast.tracks) == 4 and fast.tracks[0].name == "Voice"


# every sign the reader reads, in one small piece: ties over a barline and through a chord, dots, triplets, a
# breve, rests, a chord, accidentals (double, natural), octaves up and down, a meter and key change and a tempo
# change mid-piece, a mode key (`*d:dor`, text to music21), beams, stems, fermatas, slurs, editorial marks
SIGNS = """!!!COM: test
**kern\t**kern
*ICvox\t*Ibass
*I"Lower\t*I"Upper
*>[A,A]\t*>[A,A]
*>A\t*>A
*clefF4\t*clefG2
*k[b-]\t*k[b-]
*d:\t*d:
*M4/4\t*M4/4
*MM72\t*MM72
=1-\t=1-
4D\t[4dd
8.E-L\t4dd_
16F#J\t.
4r\t4dd]
2GG 2D 2B-\t(4.cc#X
.\t8b-);
=2\t=2
12A\t[2a
12An\t.
12A\t.
4BB-/\t.
2r\t2a]
=3\t=3
*M3/4\t*M3/4
*k[]\t*k[]
*C:\t*C:
*MM96\t*MM96
0CC\t0ccc
=4\t=4
*d:dor\t*d:dor
2.C\t4c\\\\
.\t4yd
.\t4e;
==\t==
*-\t*-
"""


def test_every_sign_it_reads_gives_what_music21_gives():
    from bridge.music.humdrum import read_kern, same_score

    fast = read_kern(SIGNS)
    assert fast is not None
    slow = music21_reads(SIGNS)
    assert same_score(fast, slow), (fast.tracks[0].notes, slow.tracks[0].notes)
    top = fast.tracks[0]
    assert top.name == "Bass"  # the right-hand spine is the first part, named by its instrument
    assert (74, 0, 3 * 960) == (top.notes[0].pitch, top.notes[0].start, top.notes[0].end)  # tied, 3 beats
    assert [round(t.qpm) for t in fast.tempos] == [72, 96]
    assert [(k.sharps, k.minor) for k in fast.key_signatures] == [(-1, True), (0, False)]


@pytest.mark.parametrize("text", [
    "**kern\t**dynam\n4c\tp\n*-\t*-\n",  # a spine that is not **kern
    "**kern\n*^\n4c\t4e\n*v\t*v\n*-\n",  # a spine split
    "**kern\n8qc\n4d\n*-\n",  # a grace note
    "**kern\n3%2c\n*-\n",  # a rational rhythm
    "**kern\n7c\n*-\n",  # a duration 960 ticks per quarter do not hold
    "**kern\n*Ifoo\n4c\n*-\n",  # an instrument code it does not know
    "**kern\n*MM[Allegro]\n4c\n*-\n",  # a tempo in words
    "**kern\n*tremolo\n4c\n*-\n",  # an interpretation it does not know
    "**kern\n*clefX\n4c\n*-\n",  # percussion
    "**kern\n4c]\n*-\n",  # a tie that starts nowhere
    "**kern\n[4c\n*-\n",  # a tie left hanging
    "**kern\n4c 8e\n*-\n",  # a chord of unequal notes
    "**kern\t**kern\n4c\n*-\t*-\n",  # a line with a field missing
    "no header\n4c\n",
])
def test_what_it_does_not_read_is_left_to_music21(text):
    from bridge.music.humdrum import read_kern

    assert read_kern(text) is None


def test_a_file_it_leaves_is_read_by_music21_through_load_score(tmp_path):
    from bridge.music import load_score

    p = tmp_path / "dyn.krn"
    p.write_text("**kern\t**dynam\n*M4/4\t*\n4c\tp\n4e\t.\n=1\t=1\n*-\t*-\n")
    score = load_score(p)
    assert [n.pitch for n in score.notes()] == [60, 64]


def test_it_stops_when_cancelled_or_out_of_time(tmp_path):
    from bridge.errors import MusicFileError
    from bridge.music import load_score
    from bridge.music.bounded import ReadLimits
    from bridge.music.humdrum import read_kern

    long = "**kern\n" + "4c\n" * 5000 + "*-\n"
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(MusicFileError, match="cancelled"):
        read_kern(long, cancel=cancel)
    with pytest.raises(MusicFileError, match="took more than 0 s"):
        read_kern(long, seconds=0.0)
    p = tmp_path / "long.krn"
    p.write_text(long)
    with pytest.raises(MusicFileError, match="more than 100 notes"):  # the line count is checked first
        load_score(p, ReadLimits(max_events=100))


@pytest.mark.skipif(not CHORALES.is_dir(), reason="corpus not here")
def test_reading_a_chorale_needs_no_music21_and_no_helper_process():
    code = ("import sys, threading; from bridge.music import load_score, bounded; "
            f"s = load_score({str(CHORALES / 'chor001.krn')!r}); "
            "assert len(s.tracks) == 4 and s.note_count > 200, s; "
            "assert 'music21' not in sys.modules and not bounded._IDLE, 'music21 was used'")
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
