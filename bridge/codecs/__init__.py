"""Codecs: Score <-> token ids, one module per representation, one contract (see base.py).

    codec = get_codec("performance", num_velocity_bins=32)
    ids = codec.encode(score); score = codec.decode(ids)

| name        | what a token is                                                       | source |
|-------------|-----------------------------------------------------------------------|--------|
| performance | NOTE_ON / NOTE_OFF / TIME_SHIFT (10 ms) / VELOCITY, as note-seq      | Magenta |
| notewise    | note on / note off / wait, 12 steps per quarter note                  | article 003 |
| messages    | (pitch, on/off, delta) triples for a three-headed model               | article 002 |
| kern        | characters of **kern text, metadata stripped, measures marked         | article 001 |
| midibytes   | bytes of a MIDI track, header restored on decode                      | article 000 |
| pianoroll   | chord-wise frames: the pitches of a time slice, then end-of-frame     | article 003 |
| drums       | a 16th-note step: the set of 9 drum classes struck on it              | DrumsRNN, GrooVAE |
| harmony     | a melody read ahead of the parts under it, note-wise                  | anticipation |
"""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import CodecError
from .base import Codec

_MODULES = {
    "performance": "performance",
    "notewise": "notewise",
    "messages": "messages",
    "kern": "kern",
    "midibytes": "midibytes",
    "pianoroll": "pianoroll",
    "drums": "drums",
    "harmony": "harmony",
}
NAMES = tuple(_MODULES)
DEFAULT = "performance"


def codec_class(name: str) -> type[Codec]:
    if name not in _MODULES:
        raise CodecError(f"unknown codec {name!r}; choose one of {', '.join(NAMES)}")
    module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    return module.CODEC


def get_codec(name: str = DEFAULT, **params: Any) -> Codec:
    return codec_class(name)(**params)


def from_description(desc: dict) -> Codec:
    """Rebuild the codec a model was trained with from its stored description."""
    from .fim import wrap

    return wrap(get_codec(desc["name"], **desc.get("params", {})), desc)


__all__ = ["Codec", "get_codec", "codec_class", "from_description", "NAMES", "DEFAULT"]
