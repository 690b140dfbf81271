"""The performance codec gives note-seq's ids on real files, and round-trips on its 10 ms grid."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from bridge.harness.reference import note_seq_ids
from bridge.codecs import get_codec
from bridge.music import Note, Score, Track, read_midi
from tests.conftest import corpus_files


@pytest.mark.parametrize("sustain", [True, False])
def test_ids_equal_note_seq_on_real_files(sustain):
    codec = get_codec("performance", sustain=sustain)
    files = corpus_files("piano-midi", "*.mid", 12, step=28) + corpus_files("nottingham", "*.mid", 4, step=250)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            assert codec.encode(read_midi(path)).tolist() == note_seq_ids(str(path), sustain=sustain), path


def test_vocabulary_layout_is_note_seqs():
    c = get_codec("performance")
    assert c.vocab_size == 389 and c.eos == 388
    assert (c.vocab[0], c.vocab[128], c.vocab[256], c.vocab[355], c.vocab[356], c.vocab[387]) == (
        "NOTE_ON_0", "NOTE_OFF_0", "TIME_SHIFT_1", "TIME_SHIFT_100", "VELOCITY_1", "VELOCITY_32")


def grid_notes(score, exclude_overlaps=True):
    """(pitch, velocity bin edge, start step, end step), leaving out pitches whose notes overlap."""
    a = score.note_array()
    steps = np.floor(score.seconds(a[:, 2:4]) * 100 + 0.5).astype(int)
    steps[:, 1] = np.maximum(steps[:, 1], steps[:, 0] + 1)
    rows = sorted(zip(a[:, 0].tolist(), ((a[:, 1] - 1) // 4 * 4 + 1).tolist(), *steps.T.tolist()))
    overlapping = {p for (p, _, s, e), (p2, _, s2, _) in zip(rows, rows[1:]) if p == p2 and s2 < e}
    return [r for r in rows if r[0] not in overlapping]


def test_round_trip_is_exact_on_the_grid():
    """Tolerance: onsets and releases on 10 ms steps, velocity at its bin's lower edge; notes of one
    pitch that overlap pair first in, first out (as note-seq decodes)."""
    codec = get_codec("performance", sustain=False)
    for path in corpus_files("piano-midi", "*.mid", 3, step=100):
        score = read_midi(path)
        back = codec.decode(codec.encode(score))
        want = grid_notes(score)
        got = [r for r in grid_notes(back, exclude_overlaps=False) if r[0] in {w[0] for w in want}]
        assert got == want
        assert back.note_count >= score.note_count - 2  # a same-pitch pair may collapse onto one step


def test_long_silence_repeats_the_longest_shift():
    codec = get_codec("performance", sustain=False)
    s = Score(tpq=480, tracks=(Track((Note(60, 64, 0, 480), Note(62, 64, 480 * 6, 480 * 7))),))  # 2.5 s gap
    toks = codec.tokens(codec.encode(s))
    assert toks[:6] == ["VELOCITY_16", "NOTE_ON_60", "TIME_SHIFT_50", "NOTE_OFF_60", "TIME_SHIFT_100", "TIME_SHIFT_100"]
    assert codec.seconds_of(codec.encode(s)) == pytest.approx(3.5)
