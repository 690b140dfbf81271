"""A plain tanh RNN (article 004's min-char-rnn, in Keras): the baseline the LSTMs must beat."""
from __future__ import annotations

DEFAULTS = {"layers": 1, "units": 256, "embed": 64, "dropout": 0.0}


def build(vocab_size: int, layers: int, units: int, embed: int, dropout: float):
    import keras

    ids = keras.Input((None,), dtype="int32", name="ids")
    x = keras.layers.Embedding(vocab_size, embed, name="embed")(ids)
    for i in range(layers):
        x = keras.layers.SimpleRNN(units, activation="tanh", return_sequences=True, name=f"rnn_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(ids, logits, name="rnn")
