"""char-rnn style LSTM stack: the workhorse of every article.

With `note_state`, the first LSTM also reads, at every position, which pitches are sounding (a
128-wide 0/1 vector computed from the ids by the `NoteState` layer, starting from the `held` counts
of notes sounding before the first id). A performance-event LSTM otherwise has to remember every
open note to know what it may release: teacher-forced on piano-midi, the plain 2 x 256 model put a
third of its release probability on pitches that were not sounding, and sampled freely it left a
note open every 25 events or so. The codec's note tokens are part of the layer's configuration.
"""
from __future__ import annotations

import keras
from keras import ops

DEFAULTS = {
    "layers": 2,  # 1-4 LSTM layers
    "units": 256,  # hidden units per layer
    "embed": 64,  # embedding width
    "dropout": 0.1,  # between layers and before the output (training only)
    "note_state": False,  # also read the set of sounding pitches (codecs with note-on/off tokens)
}
PITCHES = 128


@keras.saving.register_keras_serializable(package="cadenza")
class NoteState(keras.layers.Layer):
    """(ids (B, T), held (B, 128) counts before the first id) -> (B, T, 128): 1.0 where a pitch sounds
    after each id. A start adds one to its pitch, a release takes one away (notes of one pitch end first
    in, first out, as the codecs decode them)."""

    def __init__(self, on, off, **kw):
        super().__init__(**kw)
        self.on, self.off = [int(x) for x in on], [int(x) for x in off]

    def call(self, ids, held):
        on = ops.take(ops.convert_to_tensor(self.on, "int32"), ids)
        off = ops.take(ops.convert_to_tensor(self.off, "int32"), ids)
        delta = ops.one_hot(ops.maximum(on, 0), PITCHES) * ops.expand_dims(ops.cast(on >= 0, "float32"), -1) - \
            ops.one_hot(ops.maximum(off, 0), PITCHES) * ops.expand_dims(ops.cast(off >= 0, "float32"), -1)
        counts = ops.expand_dims(held, 1) + ops.cumsum(delta, axis=1)
        return ops.cast(counts > 0.5, "float32")

    def compute_output_shape(self, ids_shape, held_shape=None):
        return (*ids_shape, PITCHES)

    def get_config(self):
        return {**super().get_config(), "on": self.on, "off": self.off}


def build(vocab_size: int, layers: int, units: int, embed: int, dropout: float, note_state: bool = False,
          codec=None):
    if not 1 <= layers <= 4:
        raise ValueError(f"lstm takes 1-4 layers, not {layers}")
    ids = keras.Input((None,), dtype="int32", name="ids")
    inputs = ids
    x = keras.layers.Embedding(vocab_size, embed, name="embed")(ids)
    if note_state:
        if codec is None or not codec.pitch_tokens():
            raise ValueError("note_state needs a codec with note-on and note-off tokens (performance, notewise)")
        held = keras.Input((PITCHES,), dtype="float32", name="held")
        inputs = [ids, held]
        x = keras.layers.Concatenate(name="with_notes")([x, NoteState(*codec.note_tables(), name="note_state")(ids, held)])
    for i in range(layers):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i}")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(vocab_size, name="logits")(x)
    return keras.Model(inputs, logits, name="lstm")
