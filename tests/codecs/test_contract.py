"""Every codec keeps the one contract: stored parameters rebuild it, ids stay in its vocabulary."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.codecs import NAMES, from_description, get_codec
from bridge.errors import CodecError
from bridge.music import Score

SCORE = Score.from_beats([(60, 0, 1, 100), (64, 0, 1, 90), (67, 1, 0.5, 80), (72, 1.5, 2, 70)], tpq=960)
_KIT = Score.from_beats([(36, 0, 0.25, 100), (42, 0, 0.25, 90), (38, 1, 0.25, 80), (46, 1.5, 0.25, 70)], tpq=960)
KIT = _KIT.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in _KIT.tracks))  # what the drums codec reads


def score_for(name):
    return KIT if name == "drums" else SCORE


@pytest.mark.parametrize("name", NAMES)
def test_description_rebuilds_the_same_codec(name):
    codec = get_codec(name)
    again = from_description(codec.describe())
    assert again.params == codec.params and again.vocab == codec.vocab
    ids = codec.encode(score_for(name))
    assert np.array_equal(again.encode(score_for(name)), ids)
    assert len(ids) > 0


@pytest.mark.parametrize("name", NAMES)
def test_ids_are_inside_the_vocabulary_and_decode(name):
    codec = get_codec(name)
    ids = codec.encode(score_for(name))
    if ids.ndim == 1:
        assert ids.min() >= 0 and ids.max() < codec.vocab_size
    decoded = codec.decode(ids)
    assert sorted(n.pitch for n in decoded.notes()) == sorted(n.pitch for n in score_for(name).notes())


@pytest.mark.parametrize("name", [n for n in NAMES if n != "messages"])
def test_out_of_vocabulary_ids_are_refused_by_name(name):
    codec = get_codec(name)
    with pytest.raises(CodecError, match="outside its vocabulary"):
        codec.decode([codec.vocab_size + 5])


def test_unknown_codec_and_parameter_are_named():
    with pytest.raises(CodecError, match="unknown codec 'wavenet'"):
        get_codec("wavenet")
    with pytest.raises(CodecError, match="no parameter"):
        get_codec("notewise", steps=7)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "drums"])  # drums do not transpose
def test_every_codec_uses_transposition_augmentation(name):
    from bridge.music.transforms import transpose

    codec = get_codec(name)
    up = codec.decode(codec.encode(transpose(SCORE, 3)))
    assert sorted(n.pitch for n in up.notes()) == [63, 67, 70, 75]
