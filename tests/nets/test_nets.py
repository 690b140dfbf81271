"""Architectures build, predict next-token logits, and load in Keras safe mode."""
from __future__ import annotations

import numpy as np
import pytest

from bridge import nets
from bridge.errors import CadenzaError


@pytest.mark.parametrize("arch", ["lstm", "rnn"])
def test_shapes_and_safe_mode_round_trip(arch, tmp_path):
    model = nets.build(arch, 50, layers=2, units=32, embed=8)
    x = np.random.default_rng(0).integers(0, 50, (3, 17))
    y = model.predict(x, verbose=0)
    assert y.shape == (3, 17, 50)
    model.save(tmp_path / "m.keras")
    import keras

    again = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True, compile=False)
    np.testing.assert_allclose(again.predict(x, verbose=0), y, rtol=1e-5, atol=1e-5)


def test_unknown_arch_and_argument_are_named():
    with pytest.raises(CadenzaError, match="unknown architecture"):
        nets.build("transformer", 10)
    with pytest.raises(CadenzaError, match="no argument"):
        nets.build("lstm", 10, heads=4)
