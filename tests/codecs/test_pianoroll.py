"""Chord-wise frames, serialised pitch by pitch with an end-of-frame token."""
from __future__ import annotations

import numpy as np

from bridge.codecs import get_codec
from bridge.music import Score, load_score
from tests.conftest import corpus_files


def test_frame_serialisation():
    c = get_codec("pianoroll")
    roll = np.zeros((3, 88), bool)
    roll[0, [39, 43]] = True  # C4 E4
    roll[2, 46] = True
    ids = c.encode_roll(roll)
    assert c.tokens(ids) == ["p60", "p64", "<frame>", "<frame>", "p67", "<frame>"]
    assert np.array_equal(c.decode_roll(ids), roll)


def test_round_trip_of_chorales_is_exact_for_the_roll():
    c = get_codec("pianoroll")
    for path in corpus_files("kern/bach-370-chorales", "*.krn", 3, step=90):
        s = load_score(path)
        assert np.array_equal(c.roll(c.decode(c.encode(s))), c.roll(s))


def test_restrike_in_the_next_frame_merges():
    c = get_codec("pianoroll")
    s = Score.from_beats([(60, 0, 0.25, 90), (60, 0.25, 0.25, 90)])
    assert [(n.start, n.end) for n in c.decode(c.encode(s)).notes()] == [(0, 480)]
