"""`cadenza train --init` from a model of another codec: each token's weights come from the token of the
base model that means the same (a harmony model starting from the chorale model's weights)."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import ROOT

CHORALE = ROOT / "models" / "chorale" / "cadenza.json"


def test_tokens_are_matched_by_what_they_mean():
    from bridge.codecs import get_codec
    from bridge.errors import CadenzaError
    from bridge.training.train import token_map

    harmony = get_codec("harmony")
    notewise = get_codec("notewise", low=21, high=108)
    rows = token_map(harmony, notewise)
    assert (rows >= 0).all()  # every harmony token has a meaning the notewise codec shares
    theirs = {i: (kind, pitch) for i, kind, pitch in notewise.pitch_tokens()}
    for i, kind, pitch in harmony.pitch_tokens():  # parts' and melody's notes alike: a note of that pitch
        assert theirs[rows[i]] == (kind.replace("melody ", ""), pitch)
    mine, base = harmony.token_beats(), notewise.token_beats()
    waits = np.flatnonzero(mine > 0)
    assert np.allclose(base[rows[waits]], mine[waits])  # a wait of the same length
    assert rows[harmony.eos] == notewise.eos
    with pytest.raises(CadenzaError, match="cannot start"):
        token_map(get_codec("drums"), notewise)


@pytest.mark.skipif(not CHORALE.is_file(), reason="no shipped chorale model")
def test_a_harmony_model_starts_from_the_chorale_models_weights():
    from bridge import nets, store
    from bridge.codecs import get_codec
    from bridge.training.config import TrainConfig
    from bridge.training.train import _start_from, token_map

    base = store.load("chorale")
    codec = get_codec("harmony")
    cfg = TrainConfig(data=ROOT, name="h", codec="harmony", init="chorale", arch_args={"layers": 2, "units": 256, "dropout": 0.3})
    model = nets.build("lstm", codec.vocab_size, codec=codec, **cfg.arch_args)
    _start_from(model, cfg, codec)
    rows = token_map(codec, base.codec)
    theirs = {layer.name: layer.get_weights() for layer in base.model.layers}
    np.testing.assert_array_equal(model.get_layer("embed").get_weights()[0], theirs["embed"][0][rows])
    kernel, bias = model.get_layer("logits").get_weights()
    np.testing.assert_array_equal(kernel, theirs["logits"][0][:, rows])
    np.testing.assert_array_equal(bias, theirs["logits"][1][rows])
    for name in ("lstm_0", "lstm_1"):
        for a, b in zip(model.get_layer(name).get_weights(), theirs[name]):
            np.testing.assert_array_equal(a, b)
