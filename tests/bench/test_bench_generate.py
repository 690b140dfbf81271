"""`cadenza bench generate` measures the compiled loop and the model.predict loop on one shipped model,
for every architecture that has a compiled loop (the attention-LSTM's messages included)."""
from __future__ import annotations

import json
import math

import pytest


@pytest.mark.parametrize("model, arch", [("messages", "attention_lstm"), ("chorale", "lstm")])
def test_bench_generate_prints_every_figure(model, arch):
    from tests.conftest import cadenza

    r = cadenza("bench", "generate", "--model", model, "--tokens", "64", "--predict-tokens", "2", "--repeats", "1",
                "--json")  # in this process: the same output, without importing TensorFlow again
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert out["model"] == model and out["arch"].startswith(arch) and out["tokens"] == 64
    for key in ("compiled_b1_tokens_per_s", "compiled_b8_tokens_per_s", "predict_tokens_per_s", "b8_cost_vs_b1",
                "compiled_vs_predict", "compiled_b1_ms_per_beat"):
        assert out[key] > 0 and math.isfinite(out[key]), key
    assert out["prime_tokens"] > 0  # primed from the model's generation set
    from bridge.generation.runner import cores  # the eight variations in parts, one a core (two halves on two)

    assert out["cores"] == cores() and out["variations_parts"] == min(8, cores())
    # the 2x256 reference exists for the lstm family only
    assert (out["reference_2x256_b1_tokens_per_s"] is None) == (arch == "attention_lstm")
    assert (out["numpy_b1_tokens_per_s"] is None) == (arch == "attention_lstm")  # the plain numpy loop too
    from bridge.bench.generate import table

    text = table(out)
    assert "compiled, 8 variations" in text and "model.predict per token" in text
    assert f"8 variations in {out['variations_parts']} parts on {out['cores']} cores" in text
    assert ("reference 2x256" in text) == (arch == "lstm")
    assert ("plain numpy, batch 1" in text) == (arch == "lstm")


def test_the_numpy_reference_is_the_same_network():
    """The plain numpy loop the compiled loop is measured against computes the same logits as the compiled
    generator after the same tokens (so the comparison is of speed, not of work)."""
    import numpy as np

    from bridge import store
    from bridge.bench.generate import NumpyLSTM
    from bridge.generation import generator_for

    gen = generator_for(store.load("chorale"))
    ids = np.array([3, 40, 41, 100, 7, 7, 64, 12], np.int32) % gen.vocab
    net = NumpyLSTM(gen)
    for t in ids.tolist():
        plain = net.step(t)
    compiled, _ = gen.prime(ids)
    # (the compiled products are 16-bit integers', bridge/generation/int16.py: within 1e-2 of the floats' logits)
    assert np.allclose(plain, compiled[0], atol=1e-2), np.abs(plain - compiled[0]).max()
