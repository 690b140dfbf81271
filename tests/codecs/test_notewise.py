"""Note-wise tokens at 12 steps per quarter: triplets and sixteenths both exact."""
from __future__ import annotations

import pytest

from bridge.codecs import get_codec
from bridge.codecs.notewise import quantize_notes
from bridge.music import Score, load_score, read_midi
from tests.conftest import corpus_files


def on_grid(score, spq=12):
    return quantize_notes(score, spq, 21, 108)[:, [0, 2, 3]].tolist()


def test_triplets_and_sixteenths_are_exact():
    c = get_codec("notewise")
    s = Score.from_beats([(60, i / 3, 1 / 3, 90) for i in range(3)] + [(72, i / 4, 1 / 4, 90) for i in range(4)])
    back = c.decode(c.encode(s))

    def in_twelfths(score):
        return sorted((n.pitch, n.start * 12 / score.tpq, n.end * 12 / score.tpq) for n in score.notes())

    assert in_twelfths(back) == in_twelfths(s)  # exact: every time is a whole number of twelfths
    assert c.beats_of(c.encode(s)) == pytest.approx(1.0)


def test_tokens_read_like_the_article():
    c = get_codec("notewise")
    s = Score.from_beats([(60, 0, 1, 90), (64, 0, 0.5, 90)])
    assert c.tokens(c.encode(s)) == ["p60", "p64", "wait6", "endp64", "wait6", "endp60"]


def test_round_trip_of_real_files_is_exact_on_the_grid():
    c = get_codec("notewise")
    files = corpus_files("kern/bach-370-chorales", "*.krn", 3, step=100)
    for score in [load_score(p) for p in files] + [read_midi(p) for p in corpus_files("nottingham", "*.mid", 3, step=300)]:
        assert on_grid(c.decode(c.encode(score))) == on_grid(score)


def test_out_of_range_pitches_fold_by_octaves():
    c = get_codec("notewise")
    back = c.decode(c.encode(Score.from_beats([(10, 0, 1, 90), (120, 0, 1, 90)])))
    assert sorted(n.pitch for n in back.notes()) == [22, 108]
