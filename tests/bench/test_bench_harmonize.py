"""`cadenza bench harmonize` scores each model by what its sampler can draw: nothing a real piece holds is ruled out."""
import numpy as np

from bridge import store
from bridge.bench.harmonize import never_drawn, token_bits
from bridge.bench.infill import _pieces
from bridge.generation import generator_for


def test_what_harmonize_cannot_draw_never_rules_out_a_real_chorale():
    loaded = store.load("chorale-harmony")
    codec = loaded.codec
    gen = generator_for(loaded)
    m0, n, w0, mw = codec.melody0, codec.n_pitches, codec.wait0, codec.params["max_wait"]
    for score in _pieces(loaded, 3):  # held-out chorales
        ids = codec.encode(score)
        drop = never_drawn(codec, ids)
        drawn = ids < m0  # the parts and the waits (the melody and the end are given, never drawn)
        assert not drop[np.arange(len(ids)), ids][drawn].any()  # every real one can come where it does
        parts = ids < 2 * n
        assert drop[parts][:, m0:m0 + 2 * n].all()  # where a part's note comes, the melody is not drawn
        # a wait never passes the melody's next note: somewhere a long wait is ruled out, never a real one
        assert drop[:, w0 + mw - 1].any() and not drop[:, w0].all()
        given, every = token_bits(gen, ids, drop), token_bits(gen, ids)
        # what cannot come gives its share to the rest: each real part token is likelier, none less likely
        assert (given[parts] <= every[parts] + 1e-9).all() and given[parts].sum() < every[parts].sum()
        withheld = ids[ids < m0]
        assert not never_drawn(codec, withheld)[:, w0:w0 + mw].any()  # no melody: no wait ruled out


def test_three_readings_predict_bachs_parts_better_than_one():
    """The `transpositions` setting's promise (docs/harmonize.md): the mean of the music read at three
    transpositions gives the real parts of held-out chorales more probability than the music read as given."""
    from bridge.generation.harmonize import readings, transpositions_of

    loaded = store.load("chorale-harmony")
    assert transpositions_of(loaded) == 3 and transpositions_of(store.load("folk-chords")) == 1  # their defaults
    assert transpositions_of(loaded, 1) == 1  # the setting, when given, wins
    codec = loaded.codec
    gen = generator_for(loaded)
    one = three = 0.0
    for score in _pieces(loaded, 3):
        ids = codec.encode(score)
        drop, parts = never_drawn(codec, ids), ids < 2 * codec.n_pitches
        one += token_bits(gen, ids, drop)[parts].sum()
        three += token_bits(gen, ids, drop, readings(codec, 3))[parts].sum()
    assert three < 0.97 * one


def test_at_the_defaults_a_melody_of_about_870_beats_meets_the_daemons_cost_limit():
    """docs/harmonize.md: every candidate and every reading counts against --max-tokens; with chorale-harmony's
    defaults (4 candidates, 3 readings) about 870 beats of melody reach the default limit, refused by name."""
    import pytest

    from bridge.errors import CadenzaError
    from bridge.generation import Request
    from bridge.generation.harmonize import transpositions_of
    from bridge.host.config import ServeConfig
    from bridge.settings import BY_NAME
    from bridge.tasks.run import Limits, check_cost

    loaded = store.load("chorale-harmony")
    limits = Limits(max_tokens=ServeConfig().max_tokens)
    candidates, readings = BY_NAME["candidates"].default, transpositions_of(loaded)
    check_cost(loaded, Request(beats=850), limits, candidates, readings)
    with pytest.raises(CadenzaError, match="x 4 candidates x 3 transpositions .* or transpositions"):
        check_cost(loaded, Request(beats=890), limits, candidates, readings)
