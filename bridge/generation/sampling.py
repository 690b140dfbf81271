"""Sampling strategies: pure functions from logits (batch, vocab) to token ids (batch,).

The strategies run inside the compiled sampling loops (`kernels.sample_row`): each draw is seeded by
(seed, variation, token), so the same seed gives the same music.

| strategy    | what                                                                          |
|-------------|-------------------------------------------------------------------------------|
| greedy      | the most likely token (article 003, option 1)                                |
| temperature | weighted by softmax(logits / temperature) (option 3)                          |
| top_k       | weighted, among the k most likely (k up to 64)                                 |
| top_p       | weighted, among the fewest tokens whose probability reaches p (nucleus; at most the 64 best) |
| top_n_95    | the best guess 95% of the time, else uniformly one of the top n (option 2)     |
| truncated   | weighted by the probabilities, truncated to the top n (option 4)               |
| top_p_notes | the default: top_p among the notes that could start, every other token (time, a release, a velocity) as the model gives it; where no note may start, top_p |

Temperature applies to every weighted strategy.

Why top_p_notes: a nucleus over every token also cuts the rarer, longer waits (a note held through the beat), so
music sampled with top_p is busier and more even than the model's own: the `chorale` model's onsets per beat
+0.55 real standard deviations, its empty beats -0.57, its groove +0.70 (`cadenza eval --model chorale
--pieces 32 --strategy top_p`); with top_p_notes +0.33, -0.35 and +0.25, the pitches as in key as with top_p
(docs/controls.md, "How each token is drawn").
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

# The strategies, in the order the compiled kernels number them. Their values are checked where every
# setting is, in bridge.settings (the one specification); a Sampling made by code is taken as given.
STRATEGIES = ("greedy", "temperature", "top_k", "top_p", "top_n_95", "truncated", "top_p_notes")
TOP_P = 0.95  # the probability mass top_p and top_p_notes keep where a model's card says none (the piano's: 0.98)


@dataclass(frozen=True)
class Sampling:
    strategy: str = "top_p_notes"
    temperature: float = 1.0
    top_k: int = 0  # top_k: how many to keep (0: 40)
    top_p: float = TOP_P  # top_p: the probability mass to keep (below 0: the model's own, runner.top_p_of)
    n: int = 4  # top_n_95 and truncated: the n of "top n" (article 003 used 2-5)

    def as_dict(self) -> dict:
        return asdict(self)

