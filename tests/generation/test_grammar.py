"""The note grammar on one row of logits, as the compiled loop applies it before every draw
(performance codec: ids 0-127 start a pitch, 128-255 release it, 256-355 wait 10-1000 ms)."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.codecs import get_codec
from bridge.generation import kernels
from tests.conftest import ROOT

CODEC = get_codec("performance")
BEATS = CODEC.token_beats().astype(np.float32)  # at 120 qpm: a 10 ms step is 0.02 beats
ON, OFF = (np.asarray(t) for t in CODEC.note_tables())
TABLES = kernels.tables(ON, OFF, BEATS)
SHORTEST = float(BEATS[BEATS > 0].min())


def softmax(x):
    e = np.exp(x - x.max())
    return e / e.sum()


def apply(logits, sounding, held=None, max_hold=1e9, tables=TABLES):
    row = logits.astype(np.float32).copy()
    snd = np.zeros(128, bool)
    snd[list(sounding)] = True
    hb = np.zeros(128, np.float32)
    for p, beats in (held or {}).items():
        hb[p] = beats
    kernels.grammar(row, snd, hb, tables, max_hold < 1e9, np.float32(max_hold), np.float32(SHORTEST))
    return row


@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(0, 2, CODEC.vocab_size).astype(np.float32)


def test_releases_only_sounding_pitches_and_keeps_the_release_mass(logits):
    row = apply(logits, {60, 64, 67})
    p, before = softmax(row), softmax(logits)
    allowed_off = {128 + 60, 128 + 64, 128 + 67}
    assert all(p[128 + q] < 1e-12 for q in range(128) if 128 + q not in allowed_off)  # silent: no release
    assert all(p[q] < 1e-12 for q in (60, 64, 67))  # sounding: no second start
    # the model's whole release probability goes to the three that may be released, in its proportions
    # (the whole row renormalised only for the starts taken away)
    assert p[128:256].sum() == pytest.approx(before[128:256].sum() / (1 - before[[60, 64, 67]].sum()), rel=1e-4)
    got = p[sorted(allowed_off)]
    want = before[sorted(allowed_off)]
    np.testing.assert_allclose(got / got.sum(), want / want.sum(), rtol=1e-4)
    # and the other tokens keep their odds against each other
    keep = [t for t in range(256, CODEC.vocab_size)] + [q for q in range(128) if q not in (60, 64, 67)]
    np.testing.assert_allclose(p[keep] / p[keep].sum(), before[keep] / before[keep].sum(), rtol=1e-4)


def test_with_nothing_sounding_nothing_is_released(logits):
    p = softmax(apply(logits, set()))
    assert p[128:256].max() < 1e-12 and p[:128].sum() > 0


def test_a_wait_that_would_hold_a_note_too_long_is_not_taken(logits):
    row = apply(logits, {60}, {60: 0.9}, max_hold=1.0)  # 0.1 beats left: waits up to 50 ms at 120 qpm
    p = softmax(row)
    waits = np.arange(256, 356)
    assert p[waits[BEATS[waits] > 0.1 + 1e-4]].max() < 1e-12
    assert p[waits[BEATS[waits] <= 0.1]].sum() > 0 and p[128 + 60] > 0


def test_a_note_that_cannot_wait_is_released_next(logits):
    row = apply(logits, {60, 64}, {60: 1.0 - SHORTEST / 2, 64: 0.2}, max_hold=1.0)
    p = softmax(row)
    assert p[128 + 60] == pytest.approx(1.0)  # not 64, which may still wait; nothing else


def test_a_codec_whose_tokens_are_not_in_pitch_order_gets_the_same_grammar(logits):
    """The grammar reads the shipped codecs' start and release tokens as runs in pitch order; a codec laid out
    otherwise (here the releases in reverse, the starts shuffled) is read token by token, to the same effect."""
    rng = np.random.default_rng(1)
    starts, releases = rng.permutation(128), np.arange(127, -1, -1)
    on, off = ON.copy(), OFF.copy()
    on[:128], off[128:256] = starts, releases
    tables = kernels.tables(on, off, BEATS)
    assert tables[6][2] == tables[6][5] == kernels.SCATTERED and TABLES[6][2] != kernels.SCATTERED
    order = np.arange(CODEC.vocab_size)  # each token here -> the ordered codec's token for the same note
    order[:128], order[128:256] = starts, 128 + releases
    for sounding, held in (({60, 64, 67}, None), (set(), None), ({60, 64}, {60: 1.0 - SHORTEST / 2, 64: 0.2})):
        want = apply(logits, sounding, held, max_hold=1.0 if held else 1e9)
        got = apply(logits[order], sounding, held, max_hold=1.0 if held else 1e9, tables=tables)
        np.testing.assert_allclose(got, want[order], rtol=1e-6)


@pytest.mark.skipif(not (ROOT / "models" / "chorale" / "cadenza.json").is_file(), reason="no shipped chorale model")
def test_a_long_chorale_continuation_holds_no_note_past_the_notewise_default():
    """Left alone the chorale model held a note for 493 beats of this 900-beat continuation; by default a
    notewise model releases a note after 12 beats (longer than any note of its corpora), and `max_hold 0`
    still means never."""
    from bridge import store
    from bridge.codecs.notewise import MAX_HOLD_BEATS
    from bridge.generation import Request, continue_ids, decode_continuation
    from bridge.music import Score

    loaded = store.load("chorale")
    prime = loaded.codec.encode(Score.from_beats([(60, 0, 1, 90), (64, 1, 1, 80), (67, 2, 2, 70)]))

    def longest(max_hold):
        r = continue_ids(loaded, prime, Request(beats=900, seed=1, qpm=120.0, max_hold=max_hold))
        score = decode_continuation(loaded.codec, prime, r.new[0], include_prime=False)
        a = score.tracks[0].array
        return (a[:, 3] - a[:, 2]).max() / score.tpq

    assert longest(None) <= MAX_HOLD_BEATS
    assert longest(0) > MAX_HOLD_BEATS
