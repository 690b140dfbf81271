"""Keras 3 architectures for token sequences.

    model = build("lstm", vocab_size=389, layers=2, units=256)

| arch           | what                                                              | source |
|----------------|-------------------------------------------------------------------|--------|
| lstm           | embedding, 1-4 LSTM layers, dropout, softmax over the vocabulary  | char-rnn, every article |
| rnn            | embedding, plain tanh RNN layers: the baseline                    | article 004 |
| attention_lstm | self-attention, LSTM, additive attention, three chained heads     | article 002 |

Every model takes int32 ids of shape (batch, time) (attention_lstm: (batch, time, 3)) and returns
logits for the next token at every position. Layers are stock Keras or registered under the
`cadenza` package, so `.keras` files load in safe mode: no code from the file ever runs.
"""
from __future__ import annotations

from typing import Any

from ..errors import CadenzaError

ARCHS = ("lstm", "rnn", "attention_lstm")


def defaults(arch: str) -> dict[str, Any]:
    return _module(arch).DEFAULTS.copy()


def build(arch: str, vocab_size: int | tuple[int, ...], **args: Any):
    mod = _module(arch)
    unknown = set(args) - set(mod.DEFAULTS)
    if unknown:
        raise CadenzaError(f"architecture {arch!r} has no argument(s) {', '.join(sorted(unknown))}; "
                           f"it takes {', '.join(sorted(mod.DEFAULTS))}")
    return mod.build(vocab_size, **{**mod.DEFAULTS, **args})


def _module(arch: str):
    import importlib

    if arch not in ARCHS:
        raise CadenzaError(f"unknown architecture {arch!r}; choose one of {', '.join(ARCHS)}")
    return importlib.import_module(f"{__name__}.{arch}")
