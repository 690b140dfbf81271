"""A recurrent VAE of 2-bar drum performances, after Magenta's GrooVAE (Gillick et al., ICML 2019).

Every step (a 16th note) of a 2-bar window is 31 numbers: the nine drum classes' hits (0/1),
velocities (0-1) and timing offsets (-1 to 1: twice the fraction of a step a hit is early or late),
a tapped rhythm (one voice), and the task (groove, drumify, or the beat itself); a model built with
`styles` also reads the style (the Groove MIDI Dataset's 18, or none said) and the tempo at every step. A bidirectional LSTM
encoder reads the source to a latent z (mean and log-variance); an LSTM decoder reads z and the
condition at every step and writes the nine hits' logits, velocities and offsets (with `dec_bidi`, two:
one reads the steps forward, one backward, so every step's output hears the whole pattern, what comes after
it too; the decoder never reads its own outputs, so reading ahead costs nothing when it plays):

    groove     source = condition = the beat's hits, quantised, no velocities  -> the performance
    drumify    source = condition = the tapped rhythm                           -> a kit that plays it
    beat       source = the performance, condition = the task alone             -> the same (a VAE:
               Interpolate decodes between two beats' z, Generate from z ~ N(0, 1))

The saved model is one functional graph with three inputs (source, condition, z) and three outputs
(mean, log-variance, decoded steps; an ensemble, `members`, three for each member), all stock Keras
layers: it loads in safe mode, and generation reads only its weights (bridge/generation/groove.py runs it in numpy).
"""
from __future__ import annotations

DEFAULTS = {
    "steps": 32,  # 2 bars of 4/4 in 16th notes
    "latent": 32,
    "enc_units": 128,  # per direction
    "dec_units": 256,
    "styles": 0,  # the styles it hears (with the tempo) at every step; 0: neither (the first shipped models)
    "dec_bidi": False,  # the decoder reads the steps both ways (dec_units each way); False: forward only
    "members": 1,  # an ensemble of this many (`cadenza train-groove --join`): groove and drumify average them
}
CLASSES = 9
FEATURES = 3 * CLASSES + 1 + 3  # hits, velocities, offsets; the tap; the task
OUT = 3 * CLASSES
LAYERS = ("encoder", "mu", "logvar", "decoder", "out")  # a member's layers with weights


def layer_name(kind: str, member: int = 0) -> str:
    """A member's layer in an ensemble: the first's under its own name, the k-th's with "_k" after it."""
    return kind if member == 0 else f"{kind}_{member}"


def flat(layers: dict) -> dict:
    """{"encoder": [w0, w1, ...], ...} -> {"encoder/0": w0, ...}: a run's weights as one .npz holds them
    (models/groove_gpu.py writes it, `cadenza train-groove --weights` reads it), in Keras' order and layout."""
    return {f"{kind}/{i}": w for kind, ws in layers.items() for i, w in enumerate(ws)}


def by_layer(arrays) -> dict:
    """The inverse of `flat` for a member's layers (LAYERS): {"encoder": [w0, w1, ...], ...}; `arrays` is any
    mapping of "<layer>/<i>" names (an open .npz too). A layer with no weights there gives an empty list."""
    names = list(arrays)
    return {kind: [arrays[f"{kind}/{i}"] for i in range(sum(n.startswith(kind + "/") for n in names))]
            for kind in LAYERS}


def build(vocab_size=None, steps: int = 32, latent: int = 32, enc_units: int = 128, dec_units: int = 256, codec=None,
          styles: int = 0, dec_bidi=False, members: int = 1):
    """`styles`: with the Groove MIDI Dataset's 18, every step also carries the style one-hot and the tempo
    (bridge.codecs.drums.groove_features): the model hears what it plays. `members` > 1: an ensemble of that
    many such VAEs on the same inputs (`cadenza train-groove --join`), the k-th's layers named with "_k" after
    them and its three outputs after the first's; `dec_bidi` then says for each member (a list) or for all."""
    import keras  # here, not at the top: generation reads `layer_name` without Keras

    width = FEATURES + (styles + 1 if styles else 0)
    source = keras.Input((steps, width), name="source")
    cond = keras.Input((steps, width), name="condition")
    z = keras.Input((latent,), name="z")
    bidi = list(dec_bidi) if isinstance(dec_bidi, (list, tuple)) else [bool(dec_bidi)] * members
    if len(bidi) != members:
        raise ValueError(f"dec_bidi names {len(bidi)} members of {members}")
    outputs = []
    for k in range(members):
        def name(kind):
            return layer_name(kind, k)
        h = keras.layers.Bidirectional(keras.layers.LSTM(enc_units), name=name("encoder"))(source)
        mu = keras.layers.Dense(latent, name=name("mu"))(h)
        logvar = keras.layers.Dense(latent, name=name("logvar"))(h)
        zs = keras.layers.RepeatVector(steps, name=name("z_steps"))(z)
        x = keras.layers.Concatenate(name=name("decoder_in"))([zs, cond])
        if bidi[k]:
            y = keras.layers.Bidirectional(keras.layers.LSTM(dec_units, return_sequences=True), name=name("decoder"))(x)
        else:
            y = keras.layers.LSTM(dec_units, return_sequences=True, name=name("decoder"))(x)
        outputs += [mu, logvar, keras.layers.Dense(OUT, name=name("out"))(y)]
    return keras.Model([source, cond, z], outputs, name="groovae")
