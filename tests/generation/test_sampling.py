"""Sampling strategies are pure, seeded functions on logits; masks forbid what they should.

The strategies run inside the compiled loops of every architecture (bridge.generation.kernels)."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.codecs import get_codec
from bridge.errors import CadenzaError
from bridge.generation import STRATEGIES, Sampling, parse_range, parse_scale
from bridge.generation.constraints import mask

PROBS = np.array([[0.5, 0.3, 0.15, 0.05], [0.1, 0.2, 0.3, 0.4]], np.float32)


def draw(s, seed, i, probs=PROBS, notes=None):
    from bridge.generation import kernels

    rows = np.log(probs).astype(np.float32)
    notes = kernels.NO_NOTES if notes is None else notes
    return [kernels.sample_row(rows[r].copy(), STRATEGIES.index(s.strategy), s.temperature, s.top_k or 40, s.top_p,
                               s.n, seed, r, i, notes) for r in range(len(rows))]


@pytest.fixture
def frequencies():
    def f(strategy, draws=3000, **kw):
        s = Sampling(strategy=strategy, **kw)
        out = np.array([draw(s, 7, i) for i in range(draws)])
        return np.stack([np.bincount(out[:, r], minlength=4) / draws for r in range(2)])
    return f


def test_the_nucleus_is_the_fewest_best_tokens_that_reach_p():
    """The compiled draw's test of whether a token is in the nucleus (one pass, no sort) against sorting every
    token: the tokens at or above the line of the fewest best whose probability reaches p, for vocabularies of real
    size, flat and peaked, with masked tokens and ties, at most 64 tokens kept; every token of each row asked. Rows
    where a cumulative probability lies within 1e-5 of p are left out (rounding decides)."""
    from bridge.generation import kernels

    rng = np.random.default_rng(0)
    checked = 0
    for trial in range(600):
        row = (rng.standard_normal(388) * rng.choice([0.5, 1, 2, 4, 8])).astype(np.float32)
        if trial % 2:
            row[rng.random(388) < rng.random()] = np.float32(-1e9)
        if trial % 5 == 0:
            row = np.round(row).astype(np.float32)
        e = np.exp(row - row.max()).astype(np.float32)
        order = np.sort(row)[::-1]
        prob = np.exp(order.astype(np.float64) - order[0])
        prob /= prob.sum()
        before = np.concatenate([[0.0], np.cumsum(prob)[:-1]])
        for p in (0.5, 0.9, 0.95, 0.98, 0.999):
            if np.abs(before[:64] - (p - 1e-6)).min() < 1e-5:
                continue
            line = order[max(1, int((before[:64] < p - 1e-6).sum())) - 1]
            got = [kernels._in_nucleus(row, e, 0, len(row), kernels.NO_NOTES, x, p, 64) for x in range(len(row))]
            assert got == (row >= line).tolist(), (trial, p)
            checked += 1
    assert checked > 2000


def test_greedy_takes_the_best(frequencies):
    assert frequencies("greedy", draws=5).tolist() == [[1, 0, 0, 0], [0, 0, 0, 1]]


def test_temperature_follows_the_distribution_and_sharpens(frequencies):
    assert np.abs(frequencies("temperature") - PROBS).max() < 0.04
    cold = frequencies("temperature", temperature=0.3)
    assert cold[0, 0] > 0.8 and cold[1, 3] > 0.6


def test_top_k_and_truncated_keep_only_the_best_k(frequencies):
    for f in (frequencies("top_k", top_k=2), frequencies("truncated", n=2)):
        assert f[0, 2:].sum() == 0 and f[1, :2].sum() == 0
        assert f[0, 0] == pytest.approx(0.5 / 0.8, abs=0.04)


def test_top_p_keeps_the_nucleus(frequencies):
    f = frequencies("top_p", top_p=0.7)
    assert f[0, 2:].sum() == 0 and f[1, :2].sum() == 0  # {0.5, 0.3} and {0.4, 0.3} reach 0.7


def test_top_p_notes_cuts_the_tail_of_the_pitches_and_leaves_time_as_the_model_gives_it():
    """The default strategy: the nucleus among the notes that could start; a rarer, longer wait (a note held
    through the beat) is drawn as often as the model says, where top_p would cut it with the rare pitches."""
    probs = np.array([[0.4, 0.3, 0.05, 0.2, 0.05]], np.float32)  # three note starts, then two waits
    notes = np.array([True, True, True, False, False])

    def freq(strategy, notes=notes):
        s = Sampling(strategy=strategy, top_p=0.9)
        out = np.array([draw(s, 5, i, probs, notes)[0] for i in range(4000)])
        return np.bincount(out, minlength=5) / len(out)

    f = freq("top_p_notes")  # the notes' nucleus: 0.4 and 0.3 of their 0.75 reach 0.9
    assert f[2] == 0 and f[4] == pytest.approx(0.05 / 0.95, abs=0.015) and f[3] == pytest.approx(0.2 / 0.95, abs=0.03)
    plain = freq("top_p")  # 0.4, 0.3 and 0.2 reach 0.9: the long wait goes with the rare pitch
    assert plain[2] == 0 and plain[4] == 0
    from bridge.generation import kernels

    assert (freq("top_p_notes", kernels.NO_NOTES) == plain).all()  # where no token starts a note, it is top_p


def test_top_n_95_is_the_best_guess_95_percent_of_the_time(frequencies):
    f = frequencies("top_n_95", n=2)
    assert f[0, 0] == pytest.approx(0.975, abs=0.015) and f[0, 2:].sum() == 0


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_same_seed_same_tokens(strategy):
    s = Sampling(strategy=strategy)
    a = [draw(s, 3, i) for i in range(20)]
    assert a == [draw(s, 3, i) for i in range(20)]
    if strategy not in ("greedy", "top_n_95"):  # (those take the best token almost always)
        assert a != [draw(s, 4, i) for i in range(20)]


def test_kernel_random_numbers_are_uniform_and_independent_per_counter():
    from bridge.generation import kernels

    u = np.array([kernels.uniform(5, v, t, d) for v in range(4) for t in range(500) for d in range(3)])
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    assert np.histogram(u, 10, (0, 1))[0].min() > 500  # 6000 draws: ~600 a tenth
    assert len(set(u.tolist())) == len(u)
    assert kernels.uniform(5, 0, 0, 0) != kernels.uniform(6, 0, 0, 0)


def test_bad_settings_are_named():
    """Sampling values are checked once, by the specification every door uses (bridge.settings)."""
    from bridge.settings import Settings, apply, request_of

    with pytest.raises(CadenzaError, match="unknown strategy"):
        apply(Settings(), "strategy", "beam")
    with pytest.raises(CadenzaError, match="temperature"):
        apply(Settings(), "temperature", 0)
    assert request_of(apply(Settings(), "strategy", "top_k")).sampling.strategy == "top_k"


def test_scales_and_ranges():
    assert parse_scale("C major") == {0, 2, 4, 5, 7, 9, 11}
    assert parse_scale("f# minor") == {6, 8, 9, 11, 1, 2, 4}
    assert parse_scale("Bb dorian") == {10, 0, 1, 3, 5, 7, 8}
    assert parse_scale("0, 4, 7") == {0, 4, 7}
    assert parse_range("36-96") == (36, 96)
    with pytest.raises(CadenzaError, match="unknown scale"):
        parse_scale("H major")
    with pytest.raises(CadenzaError, match="pitch range"):
        parse_range("96-36")


def test_mask_forbids_note_starts_outside_only():
    codec = get_codec("performance")
    m = mask(codec.onset_pitches(), parse_scale("C major"), (48, 72), forbid=(codec.eos,))
    allowed = m == 0
    assert allowed[60] and not allowed[61] and not allowed[74] and not allowed[47]
    assert allowed[128 + 61] and allowed[300] and allowed[370]  # note-offs, time shifts, velocities
    assert not allowed[codec.eos]
    with pytest.raises(CadenzaError, match="no note"):
        mask(codec.onset_pitches(), parse_scale("0"), (61, 62))


def test_kernel_exp_is_exp_and_masked_tokens_get_nothing():
    from bridge.generation import kernels

    row = np.concatenate([np.linspace(-80, 0, 2001), [-1e9, -200.0]]).astype(np.float32)
    out = np.empty_like(row)
    kernels.exp_shifted(row, np.float32(0), np.float32(1), out)
    np.testing.assert_allclose(out[:-2], np.exp(row[:-2].astype(np.float64)), rtol=1e-5)
    assert out[-2] == 0 and out[-1] == 0
    kernels.exp_shifted(row, np.float32(-1), np.float32(0.5), out)  # shifted and scaled (temperature 2)
    np.testing.assert_allclose(out[:-2], np.exp((row[:-2].astype(np.float64) + 1) * 0.5), rtol=1e-5)


def test_the_key_prior_lowers_notes_outside_the_key_given_and_only_them():
    from bridge.generation.constraints import KEY_NOTES, key_prior

    codec = get_codec("performance")
    onp = codec.onset_pitches()
    c_major = [60, 62, 64, 65, 67, 69, 71, 72, 60, 67, 64, 60]  # a tune in C major
    prior = key_prior(onp, c_major, 2.0)
    assert prior[60] == 0 and prior[62] == 0 and prior[71] == 0  # C, D, B: in the key
    assert prior[61] == -2.0 and prior[66] == -2.0 and prior[70] == -2.0  # C#, F#, Bb: outside, less likely
    assert (prior[128:] == 0).all()  # note-offs, time shifts, velocities: never touched
    a_minor = [69, 71, 72, 74, 76, 77, 79, 81, 69, 76, 72, 69, 68, 69]  # A minor with its leading tone
    prior = key_prior(onp, a_minor, 2.0)
    assert prior[68] == 0 and prior[67] == 0 and prior[70] == -2.0  # both sevenths kept, Bb not
    assert not key_prior(onp, c_major[:KEY_NOTES - 1], 2.0).any()  # too few notes to tell a key
    assert not key_prior(onp, c_major, 0.0).any()  # 0: off


def test_the_register_prior_lowers_notes_beyond_the_register_given_by_their_distance_and_only_them():
    from bridge.generation.constraints import KEY_NOTES, REGISTER_MARGIN, register_prior

    codec = get_codec("performance")
    onp = codec.onset_pitches()
    tune = [60, 62, 64, 65, 67, 69, 71, 72, 60, 67, 64, 60]  # C4-C5
    prior = register_prior(onp, tune, 1.2)
    lo, hi = 60 - REGISTER_MARGIN, 72 + REGISTER_MARGIN
    assert (prior[lo:hi + 1] == 0).all()  # the range given and a fifth either side: free
    assert prior[hi + 12] == np.float32(-1.2) and prior[lo - 6] == np.float32(-0.6)  # an octave, half an octave out
    assert prior[hi + 24] < prior[hi + 12] < prior[hi + 1] < 0  # the further out, the less likely
    assert (prior[128:] == 0).all()  # note-offs, time shifts, velocities: never touched
    assert not register_prior(onp, tune[:KEY_NOTES - 1], 1.2).any()  # too little given to tell a register
    assert not register_prior(onp, tune, 0.0).any()  # 0: off


def test_the_time_prior_leans_time_steps_longer_by_their_length_and_touches_nothing_else():
    from bridge.generation.constraints import time_prior

    codec = get_codec("notewise")  # 12 steps a quarter: wait{n} is n/12 of a beat
    beats = codec.token_beats()
    prior = time_prior(beats, 0.4)
    wait = {int(round(b * 12)): prior[v] for v, b in enumerate(beats) if b > 0}
    assert wait[6] == 0 and wait[12] == np.float32(0.4) and wait[24] == np.float32(0.8)  # an eighth free, then up
    assert wait[3] == np.float32(-0.4) and wait[1] < wait[3] < 0  # shorter: less likely, never forbidden
    assert (prior[beats == 0] == 0).all()  # note starts and ends: never touched
    assert not time_prior(beats, 0.0).any() and not time_prior(None, 0.4).any()  # 0: off; no time steps: none


def test_a_time_prior_makes_a_busy_model_play_fewer_notes_and_the_chorale_model_has_its_own():
    """The shipped chorale model continuing an opening: leaning its time steps longer, fewer onsets a beat
    than without; -1 (the setting's default) is the model's own, from its card (0.25), and 0 turns it off."""
    from bridge import store
    from bridge.generation import Request, generator_for
    from bridge.generation.runner import time_prior_of
    from bridge.music import Score

    loaded = store.load("chorale")
    assert time_prior_of(loaded) == 0.25 and time_prior_of(loaded, 0.0) == 0.0
    from bridge.settings import BY_NAME

    assert "0.25 for chorale" in BY_NAME["time_prior"].help  # the help (and docs/osc.md) says the card's value
    assert time_prior_of(store.load("piano")) == 0.0  # a model whose card says none
    prime = loaded.codec.encode(Score.from_beats([(p, i, 1, 80) for i, p in enumerate([60, 62, 64, 65, 67, 65, 64, 62])]
                                                 + [(p - 12, i, 2, 80) for i, p in zip(range(0, 8, 2), [48, 55, 53, 55])]))
    gen = generator_for(loaded)
    onp = loaded.codec.onset_pitches()

    def onsets(strength):  # 64 variations: the card's 0.25 takes ~10% of the onsets, which 16 did not always show
        r = gen.run(prime, Request(beats=32, seed=3, variations=64, time_prior=strength))
        return sum(int((onp[n] >= 0).sum()) for n in r.new)

    free, own, leaning = onsets(0.0), onsets(-1.0), onsets(1.0)
    assert leaning < own < free, (free, own, leaning)


def test_the_chorale_model_keeps_bachs_four_voices_unless_a_request_says_more():
    """Its card's polyphony_max (4) holds for every request that asks none: no moment of its continuations
    sounds five notes (an unbounded draw does, now and then: the test runs many); a request's own
    polyphony_max, or a polyphony_min above four, lets it go."""
    from bridge import store
    from bridge.evaluate import notes_in_beats
    from bridge.generation import Request, decode_continuation, generator_for
    from bridge.generation import kernels as K
    from bridge.generation.controls import Controls
    from bridge.generation.runner import polyphony_of

    loaded = store.load("chorale")
    assert polyphony_of(loaded) == 4 and polyphony_of(store.load("piano")) == 0 and polyphony_of(store.load("melody")) == 1
    assert polyphony_of(store.load("chorale-infill")) == 4  # the infill model trained from its weights: the same
    gen = generator_for(loaded)
    assert gen.control_array(Request())[K.C_PMAX] == 4
    assert gen.control_array(Request(controls=Controls(polyphony_max=6)))[K.C_PMAX] == 6
    assert gen.control_array(Request(controls=Controls(polyphony_min=5)))[K.C_PMAX] == 0

    def most_sounding(req):
        r = gen.run(loaded.codec.empty(), req)
        most = 0
        for new in r.new:
            notes = notes_in_beats(decode_continuation(loaded.codec, loaded.codec.empty(), new, include_prime=False))
            a = np.round(notes[:, 1] * 12).astype(int)
            b = np.maximum(np.round(notes[:, 2] * 12).astype(int), a + 1)
            d = np.zeros(b.max() + 2, int)
            np.add.at(d, a, 1)
            np.add.at(d, b, -1)
            most = max(most, int(np.cumsum(d).max()))
        return most

    assert most_sounding(Request(beats=32, seed=1, variations=32)) == 4
    assert most_sounding(Request(beats=32, seed=1, variations=32, controls=Controls(polyphony_max=16))) > 4


def _piano_after(pitches):
    """The shipped piano model and a prime of eighth notes: (prime ids, onset pitches of its tokens, generator)."""
    from bridge import store
    from bridge.generation import generator_for
    from bridge.music import Score

    loaded = store.load("piano")
    prime = loaded.codec.encode(Score.from_beats([(p, i * 0.5, 0.5, 80) for i, p in enumerate(pitches)], qpm=120))
    return prime, loaded.codec.onset_pitches(), generator_for(loaded)


def test_music_keeps_to_its_primes_key_as_much_as_asked():
    """The shipped piano model continuing a C major scale: with key_prior its new notes are in C major more
    often than without, and the prime's own notes are untouched."""
    from bridge.generation import Request

    prime, onp, gen = _piano_after([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 67])

    def in_key(strength):
        r = gen.run(prime, Request(beats=16, seed=5, variations=4, key_prior=strength))
        starts = np.concatenate([onp[n] for n in r.new])
        starts = starts[starts >= 0]
        return np.isin(starts % 12, [0, 2, 4, 5, 7, 9, 11]).mean(), len(starts)

    free, n_free = in_key(0.0)
    kept, n_kept = in_key(3.0)
    assert n_free > 20 and n_kept > 20
    assert kept > free and kept >= 0.97, (free, kept)


def test_music_keeps_near_its_primes_register_as_much_as_asked():
    """The shipped piano model continuing a tune in one octave (C4-C5): with register_prior fewer of its new
    notes start more than a fifth outside that octave than without, and none are forbidden."""
    from bridge.generation import Request
    from bridge.generation.constraints import REGISTER_MARGIN

    prime, onp, gen = _piano_after([60, 64, 67, 72, 67, 64, 60, 62, 65, 69, 72, 69, 65, 62, 60, 67])

    def beyond(strength):
        r = gen.run(prime, Request(beats=32, seed=7, variations=8, key_prior=0.0, register_prior=strength))
        starts = np.concatenate([onp[n] for n in r.new])
        starts = starts[starts >= 0]
        return ((starts < 60 - REGISTER_MARGIN) | (starts > 72 + REGISTER_MARGIN)).mean(), len(starts)

    free, n_free = beyond(0.0)
    kept, n_kept = beyond(4.0)
    assert n_free > 40 and n_kept > 40
    assert kept < free, (free, kept)


def test_the_piano_model_draws_with_its_own_nucleus_and_priors_and_every_generator_resolves_them():
    """The settings' default (-1) for top_p, key_prior and register_prior is the model's own: the piano card's
    0.98, 0.5 and 1.5, the chorale card's 0.97 and 0.4 (fitted so their continuations keep to the key both at
    their defaults and from their whole distribution: docs/controls.md), 0.95, 0.3 and 1 where a card says none. Every generator starts
    from the resolved request: the same seed gives the same notes as those values asked outright."""
    from dataclasses import replace

    from bridge import store
    from bridge.generation import Request, Sampling, generator_for
    from bridge.generation.runner import as_drawn, key_prior_of, register_prior_of, top_p_of
    from bridge.settings import BY_NAME, Settings, request_of

    piano, chorale, melody = store.load("piano"), store.load("chorale"), store.load("melody")
    assert (top_p_of(piano), key_prior_of(piano), register_prior_of(piano)) == (0.98, 0.5, 1.5)
    assert (top_p_of(chorale), key_prior_of(chorale), register_prior_of(chorale)) == (0.97, 0.4, 1.0)
    assert (top_p_of(melody), key_prior_of(melody), register_prior_of(melody)) == (0.95, 0.3, 1.0)
    assert (top_p_of(piano, 0.9), key_prior_of(piano, 0.0), register_prior_of(piano, 2.0)) == (0.9, 0.0, 2.0)
    for name, words in (("top_p", "0.98 for piano, 0.97 for chorale"),
                        ("key_prior", "0.5 for piano, 0.4 for chorale and messages"),
                        ("register_prior", "1.5 for piano")):
        assert words in BY_NAME[name].help  # the help (and docs/osc.md) says the card's value
    req = request_of(Settings(seed=4, beats=8, variations=2))
    drawn = as_drawn(piano, req)
    assert (drawn.sampling.top_p, drawn.key_prior, drawn.register_prior) == (0.98, 0.5, 1.5)
    prime, _, gen = _piano_after([60, 62, 64, 65, 67, 69, 71, 72, 71, 69, 67, 65, 64, 62, 60, 67])
    own = gen.run(prime, req)
    asked = gen.run(prime, Request(beats=8, seed=4, variations=2, sampling=Sampling(top_p=0.98), key_prior=0.5,
                                   register_prior=1.5))
    shared = gen.run(prime, Request(beats=8, seed=4, variations=2, sampling=Sampling(top_p=0.95), key_prior=0.3,
                                    register_prior=1.0))
    assert all((a == b).all() for a, b in zip(own.new, asked.new))
    assert any(len(a) != len(b) or (a != b).any() for a, b in zip(own.new, shared.new))
    gen = generator_for(melody)  # a model whose card says none: the shared defaults
    prime = melody.codec.encode(_scale_score())
    own = gen.run(prime, replace(req, beats=4.0))
    shared = gen.run(prime, Request(beats=4, seed=4, variations=2, key_prior=0.3, register_prior=1.0))
    assert all((a == b).all() for a, b in zip(own.new, shared.new))


def _scale_score():
    from bridge.music import Score

    return Score.from_beats([(p, i * 0.5, 0.5, 80) for i, p in enumerate([60, 62, 64, 65, 67, 69, 71, 72] * 2)])
