"""The attention-LSTM's compiled loop keeps the note grammar and max_hold, on the shipped `messages` model."""
from __future__ import annotations

import numpy as np
import pytest

from bridge import store
from bridge.generation import Request, Sampling, decode_continuation, parse_scale
from tests.conftest import ROOT

pytestmark = pytest.mark.skipif(not (ROOT / "models" / "messages" / "cadenza.json").is_file(),
                                reason="the messages model is not shipped")


@pytest.fixture(scope="module")
def gen():
    from bridge.generation.messages_runner import MessagesGenerator

    return MessagesGenerator(store.load("messages"))


def prime(codec):
    """A C major chord struck and held, a melody over it: three notes sound when generation starts."""
    from bridge.music import Score, Track

    notes = [(48, 80, 0, 3840), (52, 80, 0, 3840), (55, 80, 0, 3840)]
    notes += [(72 + p, 80, 480 * i, 480 * i + 400) for i, p in enumerate([0, 2, 4, 5, 7, 5, 4, 2])]
    score = Score(tpq=480, tracks=(Track(np.array(notes, np.int64)),))
    return codec.encode(score)[:-3]  # the chord's three note-offs left out: it still sounds


def test_notes_end_only_while_sounding_and_start_only_while_silent(gen):
    ids = prime(gen.codec)
    on, _ = gen.sounding_after(ids)
    assert sorted(np.flatnonzero(on) + gen.codec.params["low"]) == [48, 52, 55]
    result = gen.run(ids, Request(tokens=600, variations=4, seed=5, sampling=Sampling("temperature", 1.2),
                                  scale=parse_scale("C major")))
    for new in result.new:
        sounding = on.copy()
        offs = 0
        for p, is_on, _ in new.tolist():
            assert sounding[p] != is_on  # an off of a sounding pitch or an on of a silent one, never else
            sounding[p] = bool(is_on)
            offs += not is_on
        assert offs > 100
        starts = new[new[:, 1] == 1, 0] + gen.codec.params["low"]
        assert set((starts % 12).tolist()) <= parse_scale("C major")
    # the chord from the prime is released by the model, not left to the end of the stream
    assert all(set(np.flatnonzero(on)) <= set(new[new[:, 1] == 0, 0].tolist()) for new in result.new)


def durations(codec, ids, new):
    score = decode_continuation(codec, ids, new, include_prime=False)
    arr = score.note_array()
    return (arr[:, 3] - arr[:, 2]) / score.tpq


def test_max_hold_releases_long_notes(gen):
    ids = prime(gen.codec)
    req = dict(tokens=400, variations=4, seed=3, sampling=Sampling("temperature", 1.3))
    free = gen.run(ids, Request(**req))
    assert max(durations(gen.codec, ids, n).max() for n in free.new) > 0.5  # the test can fail
    held = gen.run(ids, Request(**req, max_hold=0.5))
    for new in held.new:
        assert durations(gen.codec, ids, new).max() <= 0.5 + 1e-6
    # the chord held since the prime's start (8 beats) is over the limit: released at once, with no delta
    assert all((new[:3, 1] == 0).all() and (new[:3, 2] == 0).all() for new in held.new)


def test_a_split_batch_is_the_same_music(gen):
    from bridge.generation.messages_runner import MessagesGenerator

    ids = prime(gen.codec)
    req = Request(tokens=100, variations=6, seed=11, sampling=Sampling("top_k", top_k=8), max_hold=2)
    whole = MessagesGenerator(gen.loaded, split=False).run(ids, req)
    split = gen.run(ids, req)
    assert all(np.array_equal(a, b) for a, b in zip(whole.new, split.new))
    assert len({x.tobytes() for x in split.new}) == 6


def test_the_messages_model_draws_with_its_own_nucleus_and_priors_when_left_to_it(gen):
    """top_p, key_prior and register_prior left to the model (-1, the settings' default): the messages model
    draws with 0.95 and 1 (its card says none) and its card's key prior, 0.4: the same music as those values
    asked."""
    from bridge.settings import Settings, request_of

    ids = prime(gen.codec)
    left = gen.run(ids, request_of(Settings(seed=8, beats=4, variations=2)))
    asked = gen.run(ids, Request(beats=4, seed=8, variations=2, sampling=Sampling(top_p=0.95), key_prior=0.4,
                                 register_prior=1.0))
    assert all((a == b).all() for a, b in zip(left.new, asked.new))


def test_the_messages_model_draws_time_from_its_own_nucleus_and_lets_notes_go_after_8_beats(gen):
    """Its card's time nucleus (0.85) with the default strategy, top_p's own mass with the others; and no note
    held past 8 beats unless asked (the codec's max_hold: left alone it sounded too many notes at once), none
    released early when asked never (max_hold 0)."""
    from bridge.codecs.messages import MAX_HOLD_BEATS
    from bridge.generation.runner import time_top_p_of

    assert MAX_HOLD_BEATS == 8.0 and gen.codec.max_hold_beats() == 8.0
    assert time_top_p_of(gen.loaded, Sampling()) == 0.85  # top_p_notes: the notes' nucleus, time its own
    assert time_top_p_of(gen.loaded, Sampling("top_p", top_p=0.9)) == 0.9
    assert time_top_p_of(store.load("piano"), Sampling(top_p=0.9)) == 0.9  # a card that says none
    ids = prime(gen.codec)[:-8]  # the chord sounding, the melody's last note too
    req = dict(tokens=900, variations=4, seed=2, sampling=Sampling("temperature", 0.6))
    own = gen.run(ids, Request(**req))
    longest = max(durations(gen.codec, ids, n).max() for n in own.new)
    assert longest <= MAX_HOLD_BEATS + 1e-6
    never = gen.run(ids, Request(**req, max_hold=0))
    assert max(durations(gen.codec, ids, n).max() for n in never.new) > longest  # the test can fail
