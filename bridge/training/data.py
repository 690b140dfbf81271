"""What a model family's data preparation hands to training's shared fit-and-export (and evaluation)."""
from __future__ import annotations

import math
import time
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


class EarlyStop:
    """The best validation weights of a custom training loop, and when to stop: `patience` epochs without
    a better loss, or `max_minutes` (0: no limit) since it was made."""

    def __init__(self, model, patience: int, max_minutes: float = 0.0):
        self.model, self.patience, self.max_minutes = model, patience, max_minutes
        self.best, self.weights, self.waited, self.start = math.inf, model.get_weights(), 0, time.time()

    def stop(self, val_loss: float) -> bool:
        """Record an epoch's validation loss; True when training should stop."""
        if val_loss < self.best - 1e-4:
            self.best, self.weights, self.waited = val_loss, self.model.get_weights(), 0
        else:
            self.waited += 1
        late = self.max_minutes and time.time() - self.start > self.max_minutes * 60
        return self.waited >= self.patience or bool(late)

    def restore(self) -> None:
        """The model with the best weights seen."""
        self.model.set_weights(self.weights)
