"""`cadenza bench controls` reports how often bars meet a control and what it costs, and what the key prior
(on by default) and the register prior (on by default) cost the held-out music in bits."""
from __future__ import annotations

import math

import pytest

from tests.conftest import ROOT


@pytest.mark.skipif(not (ROOT / "models" / "chorale" / "cadenza.json").is_file(), reason="no shipped chorale model")
def test_bench_controls_prints_the_controls_and_the_key_priors_cost():
    from bridge.bench.controls import run_controls, table_controls

    r = run_controls(model="chorale", generations=10, bars=2, pieces=3, tokens=256, only=("density",))
    assert [c["control"] for c in r["controls"]] == ["density"] * 3
    assert 0 <= r["controls"][0]["bars_meeting"] <= 1
    free = r["bits_per_token_free"]
    costs = {k["strength"]: k["bits_per_token_with_it"] for k in r["key_prior"]}
    from bridge.settings import KEY_PRIOR

    # the shared default, the model's own (chorale's card: 0.4), 1 and 2
    assert set(costs) == {KEY_PRIOR, 0.4, 1.0, 2.0} and all(math.isfinite(b) for b in costs.values())
    # a soft prior: the real chorales' notes stay possible, so their bits move by little (never forbidden)
    assert abs(costs[KEY_PRIOR] - free) < 0.1 * free and abs(costs[0.4] - free) < 0.1 * free, (free, costs)
    assert abs(costs[1.0] - free) < 0.25 * free, (free, costs)
    register = {k["strength"]: k["bits_per_token_with_it"] for k in r["register_prior"]}
    assert set(register) == {0.5, 1.0, 2.0} and abs(register[0.5] - free) < 0.1 * free, (free, register)
    variety = {k["strength"]: k["bits_per_token_with_it"] for k in r["rhythm_variety"]}
    assert set(variety) == {0.25, 0.5, 1.0} and abs(variety[0.25] - free) < 0.05 * free, (free, variety)
    own = r["own_controls"]  # the chorale model's own four voices and rhythm variety: they forbid Bach nothing
    assert own["polyphony_max"] == 4 and own["rhythm_variety"] == 0.25 and own["real_tokens_forbidden"] == 0
    text = table_controls(r)
    assert f"key_prior {KEY_PRIOR:g}:" in text and "key_prior 0.4:" in text and "register_prior 1:" in text and "against none" in text
    assert "rhythm_variety 0.25:" in text and "its own controls (polyphony_max 4, rhythm_variety 0.25" in text
