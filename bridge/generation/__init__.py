"""Generation: sampling strategies, masks, the compiled loop, and continuing a Score.

    from bridge import store
    from bridge.generation import Request, Sampling, continue_score
    loaded = store.load("piano")
    scores, result = continue_score(loaded, prime_score, Request(beats=16, variations=4))
"""
from __future__ import annotations

from importlib import import_module

# name -> the module that holds it: importing bridge.generation costs nothing until a name is used
_HOMES = {
    **dict.fromkeys(("Generator", "Request", "Result", "expected_tokens", "Stopper", "drive"), "runner"),
    **dict.fromkeys(("Sampling", "STRATEGIES"), "sampling"),
    **dict.fromkeys(("parse_scale", "parse_range"), "constraints"),
    **dict.fromkeys(('generator_for', 'continue_ids', 'prime_beats', 'decode_continuation', 'with_meter', 'clip_velocities', 'tempo_at', 'continuation_of', 'drum_note', 'drums_model_here', 'continue_drums', 'add_track', 'cut_at', 'continue_score', 'asked_beats', 'opening', 'prime_from_generation_set', 'DRUMS_MODEL'), "decode"),
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'bridge.generation' has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
