"""**kern and MusicXML read through music21 into the same Score."""
from __future__ import annotations

import pytest

from bridge.errors import MusicFileError
from bridge.music import load_score, read_midi, write_midi
from tests.conftest import corpus_files


def test_kern_chorale():
    path = corpus_files("kern/bach-370-chorales", "chor001.krn", 1)[0]
    s = load_score(path)
    assert len(s.tracks) == 4 and s.note_count > 200
    assert s.time_signatures[0][1:] == (3, 4)
    assert s.qpm == pytest.approx(100)
    soprano = max(s.tracks, key=lambda t: t.array[:, 0].mean())
    assert soprano.notes[0].pitch == 67  # the chorale opens on g' in the soprano


def test_musicxml_from_music21_corpus_and_back_to_midi(tmp_path):
    import music21

    path = music21.corpus.getWork("bach/bwv66.6")
    s = load_score(path)
    expected = sum(len(p.flatten().stripTies().notes) for p in music21.corpus.parse("bach/bwv66.6").parts)
    assert s.note_count == expected
    back = read_midi(write_midi(s, tmp_path / "bwv66.mid"))
    assert back.note_count == s.note_count


def test_bwv277_whose_music21_midi_export_fails_reads_from_kern_and_musicxml(tmp_path):
    import music21

    for path in music21.corpus.getWork("bach/bwv277"):  # a .krn and a .mxl edition
        s = load_score(path)
        expected = sum(len(p.flatten().stripTies().notes) for p in music21.converter.parse(path).parts)
        assert s.note_count == expected > 100
        assert read_midi(write_midi(s, tmp_path / "bwv277.mid")).note_count == s.note_count


@pytest.mark.parametrize("suffix, content, problem", [
    (".krn", "", "empty file"),
    (".xml", "<not><closed>", "cannot parse notation"),
    (".musicxml", "plain words", "cannot parse notation"),
    (".txt", "x", "unsupported file type"),
])
def test_bad_notation_files_name_the_problem(tmp_path, suffix, content, problem):
    p = tmp_path / f"bad{suffix}"
    p.write_text(content)
    with pytest.raises(MusicFileError, match=problem):
        load_score(p)
