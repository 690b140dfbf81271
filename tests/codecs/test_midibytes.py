"""Raw MIDI track bytes with the header restored on decode (article 000)."""
from __future__ import annotations

import numpy as np

from bridge.codecs import get_codec
from bridge.music import read_midi
from tests.conftest import corpus_files


def sorted_notes(score):
    a = score.note_array(include_drums=True)
    return a[np.lexsort(a.T[::-1])]


def test_round_trip_is_exact_at_the_codec_resolution():
    c = get_codec("midibytes")
    for path in corpus_files("piano-midi", "*.mid", 4, step=80) + corpus_files("nottingham", "*.mid", 2, step=400):
        s = read_midi(path).resample(96)
        back = c.decode(c.encode(s))
        assert np.array_equal(sorted_notes(back), sorted_notes(s)), path
        assert back.tempos == s.tempos


def test_tokens_are_bytes_and_garbage_still_decodes():
    c = get_codec("midibytes")
    ids = c.encode(read_midi(corpus_files("nottingham", "*.mid", 1)[0]))
    assert ids.max() < 256
    rng = np.random.default_rng(3)
    damaged = ids.copy()
    damaged[rng.integers(0, len(ids), 40)] = rng.integers(0, 256, 40)
    score = c.decode(np.concatenate([damaged[: len(ids) // 2], [c.eos], damaged[len(ids) // 2:]]))
    assert score.note_count > 0
