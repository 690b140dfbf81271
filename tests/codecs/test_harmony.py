"""The harmony codec: the melody and the parts round-trip exactly on the grid, and the melody is read
`lead` steps before the parts that sound with it."""
from __future__ import annotations

import numpy as np

from tests.conftest import corpus_files


def test_melody_and_parts_round_trip_and_the_melody_is_read_ahead():
    from bridge.codecs import get_codec
    from bridge.codecs.harmony import split_melody
    from bridge.music import load_score

    codec = get_codec("harmony")
    for path in corpus_files("kern/bach-370-chorales", "*.krn", 6, step=40):
        score = load_score(path)
        ids = codec.encode(score)
        back = codec.decode(ids)
        melody, parts = split_melody(score)
        assert [t.name for t in back.tracks] == ["melody", "parts"]
        for got, want in zip(back.tracks, (melody, parts)):
            q = codec.quantize(want) * [1, 0, 80, 80]
            assert np.array_equal(got.array[:, [0, 2, 3]], q[:, [0, 2, 3]]), path.name
        assert np.array_equal(codec.encode(back), ids)
        # the first chord: the soprano's token, then `lead` steps of waits, then the parts under it
        toks = codec.tokens(ids)
        first_part = next(i for i, t in enumerate(toks) if t.startswith("p"))
        assert toks[0].startswith("m") and codec.steps_of(ids[:first_part]) == codec.params["lead"]


def test_melody_tokens_are_never_drawn_nor_counted_as_parts_notes():
    from bridge.codecs import get_codec

    codec = get_codec("harmony")
    on, off = codec.note_tables()
    melody = range(codec.melody0, codec.melody0 + 2 * codec.n_pitches)
    assert all(on[i] == -1 and off[i] == -1 for i in melody)
    assert set(melody) <= set(codec.never_sampled())
    table = codec.transpose_table(2)  # transposing moves the melody's tokens with the parts'
    assert codec.vocab[table[3, codec.id("m60")]] == "m61" and codec.vocab[table[3, codec.id("p60")]] == "p61"
