"""What a model family's data preparation hands to training's shared fit-and-export (and evaluation)."""
from __future__ import annotations

import math
from dataclasses import dataclass

LN2 = math.log(2.0)


@dataclass
class Data:
    """What a model family's data preparation hands to the shared fit-and-export."""
    train: object  # tf.data of (inputs, targets), endless
    quick_val: object  # a few validation windows, checked each epoch
    full_val: object  # every validation window, for the reported figure
    val_tokens: int
    build_args: object  # first argument of nets.build: vocabulary size or field sizes
    losses: object
    baselines: dict
    train_tokens: int
    tokens_per_beat: float | None
