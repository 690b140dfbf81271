"""Score values, the tempo map, and the augmentation transforms every codec uses."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.errors import CadenzaError
from bridge.music import Note, Score, Tempo, Track, read_midi
from bridge.music.transforms import apply_sustain, pitch_range, stretch_tempo, transpose, transpositions
from tests.conftest import corpus_files


def test_from_beats_is_the_osc_layout():
    s = Score.from_beats([(60, 0, 1, 100), (64, 0.5, 0.25, 90), (67, 1 / 3, 1 / 3, 80)], tpq=960)
    assert [tuple(n) for n in s.notes()] == [(60, 100, 0, 960), (67, 80, 320, 640), (64, 90, 480, 720)]
    assert s.duration_beats == 1.0


def test_tempo_map_seconds_and_inverse():
    s = Score(tpq=100, tracks=(Track((Note(60, 90, 0, 400),)),),
              tempos=(Tempo(0, 500_000), Tempo(200, 1_000_000)))
    assert s.seconds([0, 100, 200, 300, 400]).tolist() == pytest.approx([0, 0.5, 1.0, 2.0, 3.0])
    assert s.tempo_map.ticks_at([0.5, 2.0]).tolist() == pytest.approx([100, 300])


def test_track_is_immutable_and_ordered():
    t = Track([Note(64, 1, 10, 20), Note(60, 1, 0, 5)])
    assert [n.pitch for n in t.notes] == [60, 64]
    with pytest.raises(ValueError):
        t.array[0, 0] = 1
    assert t.replace(program=3).program == 3 and t.program == 0


def test_transpose_keeps_drums_and_refuses_leaving_the_piano():
    s = Score(tracks=(Track((Note(100, 90, 0, 10),)), Track((Note(36, 90, 0, 10),), is_drum=True)))
    up = transpose(s, 5)
    assert pitch_range(up) == (105, 105)
    assert up.tracks[1].notes[0].pitch == 36
    with pytest.raises(CadenzaError, match="outside 21-108"):
        transpose(s, 9)
    assert transpositions(s, 6) == list(range(-6, 7))
    assert max(transpositions(s, 12)) == 8 and min(transpositions(s, 12)) == -12


def test_stretch_tempo_keeps_beats_and_scales_seconds():
    s = read_midi(corpus_files("piano-midi", "*.mid", 1)[0])
    fast = stretch_tempo(s, 1.25)
    assert fast.end_tick == s.end_tick
    assert fast.duration_seconds == pytest.approx(s.duration_seconds / 1.25, rel=1e-4)


def test_sustain_extends_notes_to_pedal_release_or_restrike():
    t = Track((Note(60, 90, 0, 100), Note(64, 90, 0, 100), Note(60, 90, 300, 350)),
              controls=((50, 64, 127), (500, 64, 0)))
    held = apply_sustain(Score(tpq=100, tracks=(t,)))
    assert sorted(tuple(n) for n in held.notes()) == [(60, 90, 0, 300), (60, 90, 300, 500), (64, 90, 0, 500)]
    assert np.array_equal(held.tracks[0].controls, t.controls)
