"""The three-headed attention-LSTM of article 002, over (pitch, on/off, delta) messages.

    messages -> embeddings -> self-attention over the window -> LSTM -> additive attention with
    the current hidden state as query over the window's hidden states -> [hidden, context]
    -> on/off head -> delta (duration) head, fed the on/off -> pitch head, fed both

Two changes from the article, each to make it trainable and fast to sample:
- every position predicts its next message (the article predicted only after the last of 150), so
  both attentions are causal over a sliding `window` of messages, and the LSTM between them can be
  stepped with carried state at generation time;
- the heads are chained on the *values* of the earlier fields (the true ones in training, the
  sampled ones in generation), so the model gives an exact likelihood
  p(on) p(delta | on) p(pitch | on, delta), and the delta head is a classifier over the codec's
  721 steps instead of a regression.

Inputs: `ids` (batch, time, 3) int32 (pitch index, on/off, delta), and `cond` (batch, time, 2): the
on/off and delta of the message to predict. Outputs: on/off (2), delta (721), pitch (88) logits.
"""
from __future__ import annotations

import keras
from keras import ops

DEFAULTS = {
    "units": 256,  # LSTM units
    "embed": 32,  # per-field embedding width
    "model_dim": 128,  # width of the self-attention
    "heads": 4,
    "attention_units": 32,  # additive attention's hidden width
    "window": 32,  # messages each attention looks back over
    "dropout": 0.1,
}


def band_mask(t, window):
    """(t, t) bool: position i sees positions i - window + 1 .. i."""
    i = ops.arange(t)[:, None]
    j = ops.arange(t)[None, :]
    return ops.logical_and(j <= i, j > i - window)


@keras.saving.register_keras_serializable(package="cadenza")
class WindowSelfAttention(keras.layers.Layer):
    """Causal multi-head self-attention over the last `window` positions, with a residual."""

    def __init__(self, heads, key_dim, window, **kw):
        super().__init__(**kw)
        self.heads, self.key_dim, self.window = heads, key_dim, window
        self.mha = keras.layers.MultiHeadAttention(heads, key_dim, name="mha")
        self.norm = keras.layers.LayerNormalization(name="norm")

    def build(self, input_shape):
        self.mha.build(input_shape, input_shape)
        self.norm.build(input_shape)
        super().build(input_shape)

    def call(self, x):
        t = ops.shape(x)[1]
        mask = band_mask(t, self.window)[None]
        return self.norm(x + self.mha(x, x, attention_mask=mask))

    def step(self, x_t, past, valid):
        """One position: x_t (B, D), past (B, W, D) ending with x_t, valid (B, W) bool."""
        out = self.mha(x_t[:, None], past, attention_mask=valid[:, None, :])
        return self.norm(x_t + out[:, 0])

    def get_config(self):
        return {**super().get_config(), "heads": self.heads, "key_dim": self.key_dim, "window": self.window}

    def export_attrs(self) -> dict:
        """What the compiled generator needs besides the weights (bridge.arrays)."""
        return {"heads": self.mha._num_heads, "key_dim": self.mha._key_dim, "value_dim": self.mha._value_dim,
                "window": self.window, "epsilon": float(self.norm.epsilon)}


@keras.saving.register_keras_serializable(package="cadenza")
class WindowAdditiveAttention(keras.layers.Layer):
    """Bahdanau attention: the hidden state at each position queries the last `window` states."""

    def __init__(self, units, window, **kw):
        super().__init__(**kw)
        self.units, self.window = units, window

    def build(self, input_shape):
        d = input_shape[-1]
        self.wq = self.add_weight(shape=(d, self.units), name="wq")
        self.wk = self.add_weight(shape=(d, self.units), name="wk")
        self.v = self.add_weight(shape=(self.units,), name="v")
        super().build(input_shape)

    def call(self, h):
        q = ops.matmul(h, self.wq)  # (B, T, A)
        k = ops.matmul(h, self.wk)
        t = ops.shape(h)[1]
        keys, values, valid = [], [], []
        for w in range(self.window):  # the w-th step back, for every position at once
            pad = ops.zeros_like(k[:, :1]) if w else None
            keys.append(k if w == 0 else ops.concatenate([ops.repeat(pad, w, axis=1), k[:, :-w]], axis=1)[:, :t])
            hv = h if w == 0 else ops.concatenate([ops.repeat(ops.zeros_like(h[:, :1]), w, axis=1), h[:, :-w]], 1)[:, :t]
            values.append(hv)
            valid.append(ops.arange(t) >= w)
        keys = ops.stack(keys, axis=2)  # (B, T, W, A)
        values = ops.stack(values, axis=2)  # (B, T, W, D)
        valid = ops.stack(valid, axis=1)[None]  # (1, T, W)
        scores = ops.sum(ops.tanh(q[:, :, None, :] + keys) * self.v, axis=-1)
        scores = ops.where(valid, scores, -1e9)
        weights = ops.softmax(scores, axis=-1)
        return ops.sum(weights[..., None] * values, axis=2)

    def step(self, h_t, past, valid):
        """h_t (B, D) queries past (B, W, D) (ending with h_t), valid (B, W)."""
        q = ops.matmul(h_t, self.wq)[:, None]
        k = ops.matmul(past, self.wk)
        scores = ops.sum(ops.tanh(q + k) * self.v, axis=-1)
        scores = ops.where(valid, scores, -1e9)
        return ops.sum(ops.softmax(scores, axis=-1)[..., None] * past, axis=1)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "window": self.window}


def build(field_sizes, units, embed, model_dim, heads, attention_units, window, dropout):
    n_pitch, n_on, n_delta = field_sizes
    ids = keras.Input((None, 3), dtype="int32", name="ids")
    cond = keras.Input((None, 2), dtype="int32", name="cond")
    e = keras.layers.Concatenate(name="fields")([
        keras.layers.Embedding(n_pitch, embed, name="embed_pitch")(ids[..., 0]),
        keras.layers.Embedding(n_on, embed, name="embed_on")(ids[..., 1]),
        keras.layers.Embedding(n_delta, embed, name="embed_delta")(ids[..., 2])])
    x = keras.layers.Dense(model_dim, name="project")(e)
    x = WindowSelfAttention(heads, model_dim // heads, window, name="self_attention")(x)
    h = keras.layers.LSTM(units, return_sequences=True, name="lstm")(x)
    ctx = WindowAdditiveAttention(attention_units, window, name="additive_attention")(h)
    pre = keras.layers.Concatenate(name="preliminary")([h, ctx])
    if dropout:
        pre = keras.layers.Dropout(dropout, name="dropout")(pre)
    on_logits = keras.layers.Dense(n_on, name="on")(pre)
    on_in = keras.layers.Embedding(n_on, embed, name="cond_on")(cond[..., 0])
    delta_logits = keras.layers.Dense(n_delta, name="delta")(keras.layers.Concatenate()([pre, on_in]))
    delta_in = keras.layers.Embedding(n_delta, embed, name="cond_delta")(cond[..., 1])
    pitch_logits = keras.layers.Dense(n_pitch, name="pitch")(keras.layers.Concatenate()([pre, on_in, delta_in]))
    return keras.Model([ids, cond], [on_logits, delta_logits, pitch_logits], name="attention_lstm")
