"""Sampling strategies: pure functions from logits (batch, vocab) to token ids (batch,).

Each is seeded statelessly (`seed`: an int32 pair), so the same seed gives the same tokens, and
runs inside a compiled graph.

| strategy    | what                                                                          |
|-------------|-------------------------------------------------------------------------------|
| greedy      | the most likely token (article 003, option 1)                                |
| temperature | weighted by softmax(logits / temperature) (option 3)                          |
| top_k       | weighted, among the k most likely (k up to 64)                                 |
| top_p       | weighted, among the fewest tokens whose probability reaches p (nucleus; at most the 64 best) |
| top_n_95    | the best guess 95% of the time, else uniformly one of the top n (option 2)     |
| truncated   | weighted by the probabilities, truncated to the top n (option 4)               |

Temperature applies to every weighted strategy.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import CadenzaError

STRATEGIES = ("greedy", "temperature", "top_k", "top_p", "top_n_95", "truncated")
NEG = -1e9


@dataclass(frozen=True)
class Sampling:
    strategy: str = "top_p"
    temperature: float = 1.0
    top_k: int = 0  # top_k: how many to keep (0: 40)
    top_p: float = 0.95  # top_p: the probability mass to keep
    n: int = 4  # top_n_95 and truncated: the n of "top n" (article 003 used 2-5)

    def __post_init__(self):
        if self.strategy not in STRATEGIES:
            raise CadenzaError(f"unknown strategy {self.strategy!r}; choose one of {', '.join(STRATEGIES)}")
        if not 0.01 <= self.temperature <= 10:
            raise CadenzaError(f"temperature must be between 0.01 and 10, not {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise CadenzaError(f"top_p must be in (0, 1], not {self.top_p}")
        if self.top_k < 0 or self.n < 1:
            raise CadenzaError("top_k must be >= 0 and n >= 1")

    def as_dict(self) -> dict:
        return asdict(self)


def _tf():
    import tensorflow as tf

    return tf


def greedy(logits, seed=None):
    tf = _tf()
    return tf.argmax(logits, axis=-1, output_type=tf.int32)


def temperature(logits, seed, t=1.0):
    tf = _tf()
    return tf.random.stateless_categorical(logits / t, 1, seed=seed, dtype=tf.int32)[:, 0]


CANDIDATES = 64  # top_k and top_p choose among at most this many of the best tokens (one fast partial sort)


def _best(logits):
    """The CANDIDATES largest logits of each row, in descending order."""
    tf = _tf()
    k = min(CANDIDATES, int(logits.shape[-1]))
    return tf.math.top_k(logits, k=k, sorted=True).values


def _threshold(sorted_desc, count):
    """The logit of rank `count` (1-based) in each row: keep logits at or above it."""
    tf = _tf()
    idx = tf.clip_by_value(tf.cast(count, tf.int32) - 1, 0, tf.shape(sorted_desc)[-1] - 1)
    idx = tf.broadcast_to(tf.reshape(idx, [-1]), [tf.shape(sorted_desc)[0]])
    return tf.gather(sorted_desc, idx[:, None], batch_dims=1)


def keep_top_k(logits, k):
    tf = _tf()
    thr = _threshold(_best(logits), k)
    return tf.where(logits >= thr, logits, tf.cast(NEG, logits.dtype))


def keep_top_p(logits, p):
    tf = _tf()
    best = _best(logits)
    probs = tf.exp(best - tf.reduce_logsumexp(logits, axis=-1, keepdims=True))  # normalised over every token
    before = tf.cumsum(probs, axis=-1, exclusive=True)
    count = tf.reduce_sum(tf.cast(before < p, tf.int32), axis=-1)  # the best token always counts
    thr = _threshold(best, count)
    return tf.where(logits >= thr, logits, tf.cast(NEG, logits.dtype))


def top_k(logits, seed, k=40, t=1.0):
    return temperature(keep_top_k(logits, k), seed, t)


def top_p(logits, seed, p=0.95, t=1.0):
    return temperature(keep_top_p(logits, p), seed, t)


def truncated(logits, seed, n=4, t=1.0):
    return top_k(logits, seed, n, t)


def top_n_95(logits, seed, n=3, best=0.95):
    tf = _tf()
    s1 = tf.random.experimental.stateless_fold_in(seed, 1)
    s2 = tf.random.experimental.stateless_fold_in(seed, 2)
    b = tf.shape(logits)[0]
    n = tf.minimum(tf.cast(n, tf.int32), tf.shape(logits)[-1])
    order = tf.math.top_k(logits, k=min(CANDIDATES, int(logits.shape[-1])), sorted=True).indices
    pick = tf.random.stateless_uniform([b], s1, minval=0, maxval=tf.minimum(n, tf.shape(order)[-1]), dtype=tf.int32)
    other = tf.gather(order, pick[:, None], batch_dims=1)[:, 0]
    use_best = tf.random.stateless_uniform([b], s2) < best
    return tf.cast(tf.where(use_best, order[:, 0], other), tf.int32)


def sample(logits, seed, s: Sampling, temperature_t=None, k_t=None, p_t=None, n_t=None):
    """Dispatch on the (static) strategy; numeric settings may be tensors, so one trace serves all values."""
    t = s.temperature if temperature_t is None else temperature_t
    if s.strategy == "greedy":
        return greedy(logits)
    if s.strategy == "temperature":
        return temperature(logits, seed, t)
    if s.strategy == "top_k":
        return top_k(logits, seed, (s.top_k or 40) if k_t is None else k_t, t)
    if s.strategy == "top_p":
        return top_p(logits, seed, s.top_p if p_t is None else p_t, t)
    if s.strategy == "truncated":
        return truncated(logits, seed, s.n if n_t is None else n_t, t)
    return top_n_95(logits, seed, s.n if n_t is None else n_t)
