"""char-rnn style LSTM stack: the workhorse of every article."""
from __future__ import annotations

DEFAULTS = {
    "layers": 2,  # 1-4 LSTM layers
    "units": 256,  # hidden units per layer
    "embed": 64,  # embedding width
    "dropout": 0.1,  # between layers and before the output (training only)
}


def build(vocab_size: int, layers: int, units: int, embed: int, dropout: float):
    import keras

    if not 1 <= layers <= 4:
        raise ValueError(f"lstm takes 1-4 layers, not {layers}")
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embed, name="embed")(ids)
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name="lstm")
