"""Keras 3 architectures for token sequences.

    model = build("lstm", vocab_size=389, layers=2, units=256)

| arch           | what                                                              | source |
|----------------|-------------------------------------------------------------------|--------|
| lstm           | embedding, 1-4 LSTM layers, dropout, softmax over the vocabulary  | char-rnn, every article |
| rnn            | embedding, plain tanh RNN layers: the baseline                    | article 004 |
| attention_lstm | self-attention, LSTM, additive attention, three chained heads     | article 002 |
| groovae        | 2-bar drum VAE: bidirectional-LSTM encoder and decoder; ensembles | GrooVAE (Magenta) |

Every model takes int32 ids of shape (batch, time) (attention_lstm: (batch, time, 3)) and returns
logits for the next token at every position. Layers are stock Keras or registered under the
`cadenza` package, so `.keras` files load in safe mode: no code from the file ever runs.
"""
from __future__ import annotations

from typing import Any

from ..errors import CadenzaError

ARCHS = ("lstm", "rnn", "attention_lstm", "groovae")


def defaults(arch: str) -> dict[str, Any]:
    return _module(arch).DEFAULTS.copy()


def build(arch: str, vocab_size: int | tuple[int, ...], codec=None, **args: Any):
    """`codec`: the model's codec, for architectures whose layers need its tokens (lstm with note_state)."""
    mod = _module(arch)
    unknown = set(args) - set(mod.DEFAULTS)
    if unknown:
        raise CadenzaError(f"architecture {arch!r} has no argument(s) {', '.join(sorted(unknown))}; "
                           f"it takes {', '.join(sorted(mod.DEFAULTS))}")
    args = {**mod.DEFAULTS, **args}
    if args.get("note_state"):
        try:
            return mod.build(vocab_size, codec=codec, **args)
        except ValueError as e:
            raise CadenzaError(str(e)) from None
    return mod.build(vocab_size, **args)


def flat_weights(model) -> dict:
    """{"<layer>/<i>": array}: every layer's weights by its name, in Keras' order and layout: a run trained
    elsewhere is one .npz of these (models/lstm_gpu.py writes it, `cadenza train --weights` reads it)."""
    return {f"{layer.name}/{i}": w for layer in model.layers for i, w in enumerate(layer.get_weights())}


def set_flat_weights(model, arrays, source: str) -> None:
    """The inverse of flat_weights: `arrays` (any mapping of "<layer>/<i>" names, an open .npz too) into the
    model; a layer missing there or of another shape is refused by name."""
    import numpy as np

    for layer in model.layers:
        mine = layer.get_weights()
        if not mine:
            continue
        theirs = []
        for i, w in enumerate(mine):
            key = f"{layer.name}/{i}"
            if key not in arrays:
                raise CadenzaError(f"{source}: no weights {key} (this model's layers: "
                                   f"{', '.join(l.name for l in model.layers if l.get_weights())})")
            got = np.asarray(arrays[key])
            if got.shape != w.shape:
                raise CadenzaError(f"{source}: {key} is {got.shape}, this model's is {w.shape}")
            theirs.append(got.astype(w.dtype))
        layer.set_weights(theirs)


def model_inputs(model, ids):
    """What `model` takes for the ids (batch, time): with the ids, no notes held before them where the
    model also reads the sounding pitches."""
    import numpy as np

    if len(model.inputs) == 2 and model.inputs[1].shape[-1] == 128:
        return [ids, np.zeros((np.shape(ids)[0], 128), np.float32)]
    return ids


def _module(arch: str):
    import importlib

    if arch not in ARCHS:
        raise CadenzaError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return importlib.import_module(f"{__name__}.{arch}")
