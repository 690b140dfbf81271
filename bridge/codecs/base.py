"""The contract every codec keeps.

A codec turns a Score into a sequence of integer token ids and back. Its `name` and `params` are
stored with every model trained on it, so `get_codec(name, **params)` rebuilds exactly the codec a
model was trained with. Its vocabulary is fixed by its parameters alone (never by a corpus), so
shards encoded on different cores or machines agree.

    codec.vocab          token names, index = id
    codec.specials       {"<eos>": id, ...}: ids that are not music (end of piece, unknown, ...)
    codec.encode(score)  -> np.ndarray of ids (messages: shape (N, 3))
    codec.decode(ids)    -> Score
    codec.encode_file(path) -> ids  (a codec may read its own format directly, e.g. **kern text)

Each codec states its round-trip tolerance in its docstring; the tests hold it to that.
"""
from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np

from ..errors import CodecError
from ..music import MIDI_SUFFIXES, NOTATION_SUFFIXES, Score, load_score


class Codec:
    name: ClassVar[str] = ""
    #: whether the codec carries drum tracks (no codec does yet: their drums are kept from the prime as read)
    drums: ClassVar[bool] = False
    #: whether its tokens are characters of text (shown quoted)
    text_tokens: ClassVar[bool] = False
    #: whether time is counted in seconds (decoded at a tempo) rather than in beats
    time_in_seconds: ClassVar[bool] = False
    #: whether the notes of a partly generated sequence are already final (streamed while generating);
    #: False where a later token can move earlier notes (text read as a whole)
    streams: ClassVar[bool] = True
    #: file suffixes `cadenza prepare` feeds this codec
    suffixes: ClassVar[tuple[str, ...]] = MIDI_SUFFIXES + NOTATION_SUFFIXES  # the one list (bridge.music)
    #: names of the id fields, for codecs whose tokens are tuples
    fields: ClassVar[tuple[str, ...]] = ("token",)
    #: whether its models write the parts under a given melody (harmonize), rather than continue music
    harmonizes: ClassVar[bool] = False

    def __init__(self, **params: Any):
        unknown = set(params) - set(self.defaults())
        if unknown:
            raise CodecError(f"codec {self.name!r} has no parameter(s) {', '.join(sorted(unknown))}; "
                             f"it takes {', '.join(sorted(self.defaults())) or 'none'}")
        self.params: dict[str, Any] = {**self.defaults(), **params}
        self.vocab: list[str] = self._build_vocab()
        self.specials: dict[str, int] = {}
        for name in self.special_names():
            self.specials[name] = len(self.vocab)
            self.vocab.append(name)
        self._index = {tok: i for i, tok in enumerate(self.vocab)}

    # ----- to implement -----------------------------------------------------------------------
    @classmethod
    def defaults(cls) -> dict[str, Any]:
        return {}

    def _build_vocab(self) -> list[str]:
        raise NotImplementedError

    def special_names(self) -> tuple[str, ...]:
        return ("<eos>",)

    def encode(self, score: Score) -> np.ndarray:
        raise NotImplementedError

    def decode(self, ids) -> Score:
        raise NotImplementedError

    def note_arrays(self, ids, qpm: float | None = None) -> tuple[tuple[np.ndarray, ...], int]:
        """What decode(ids) gives that a stream of notes reads (generation/stream.py): each track's notes as its
        (N, 4) array (pitch, velocity, start and end ticks, in a Track's order) and the ticks a beat; `qpm` only
        for a codec whose time is in seconds. A codec may make them without building a Score (a chunk's decode,
        several times a request)."""
        score = self.decode(ids, qpm=qpm) if qpm else self.decode(ids)
        return tuple(t.array for t in score.tracks), score.tpq

    # ----- shared -------------------------------------------------------------------------------
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    @property
    def eos(self) -> int | None:
        return self.specials.get("<eos>")

    def id(self, token: str) -> int:
        return self._index[token]

    def tokens(self, ids) -> list[str]:
        return [self.vocab[int(i)] for i in np.asarray(ids).reshape(-1)]

    def encode_file(self, path: str | os.PathLike) -> np.ndarray:
        return self.encode(load_score(path))

    def span_beats(self, ids) -> float:
        """Beats the ids span, where time is not fixed per token (token_beats() None): by decoding them."""
        return self.decode(ids).duration_beats

    def tail(self, ids: np.ndarray, keep: int) -> np.ndarray:
        """The last `keep` ids or more, decodable on their own with the same timing from their start
        (new notes are placed after it without decoding a whole file)."""
        return ids[-keep:] if len(ids) > keep else ids

    def context(self, ids: np.ndarray) -> np.ndarray:
        """The ids that are the music just before what is generated next (for the note grammar): all of
        them, except where a prime holds more than one stretch of music (infill)."""
        return np.asarray(ids)

    def token_velocities(self) -> np.ndarray | None:
        """(vocab,) the velocity each token sets, -1 for the others; None: the codec has no velocities."""
        return None

    @property
    def monophonic(self) -> bool:
        """Whether the codec holds one note at a time (a melody model): generation then keeps at most one
        note sounding unless a request says otherwise."""
        return False

    def never_sampled(self) -> tuple[int, ...]:
        """Ids generation never draws."""
        return (self.eos,) if self.eos is not None else ()

    def empty(self) -> np.ndarray:
        """No ids (a prime of nothing), in this codec's shape."""
        return np.zeros((0, len(self.fields)) if len(self.fields) > 1 else 0, np.int32)

    def encode_read(self, score: Score, path: str | os.PathLike) -> np.ndarray:
        """Ids of a file already read into `score` (a codec that reads its own format better, from the
        file itself, overrides this)."""
        return self.encode(score)

    def warm(self) -> None:
        """Load what a decode may read with, before a client waits on its first (bridge.generation.warm)."""

    def describe(self) -> dict[str, Any]:
        """What a model stores about its codec: enough to rebuild it."""
        return {"name": self.name, "params": dict(self.params), "vocab_size": self.vocab_size,
                "specials": dict(self.specials), "fields": list(self.fields)}

    # ----- what training and generation need to know of the tokens -----------------------------
    def pitch_tokens(self) -> list[tuple[int, str, int]]:
        """(id, kind, pitch) for every token that names a pitch; kind "on" starts a note."""
        return []

    def transpose_table(self, max_shift: int) -> np.ndarray | None:
        """(2 * max_shift + 1, V) ids: row max_shift + s maps each id to its transposition by s
        semitones, or -1 where that leaves the codec's range. None: no token-level transposition."""
        toks = self.pitch_tokens()
        if not toks:
            return None
        by_kind_pitch = {(k, p): i for i, k, p in toks}
        table = np.tile(np.arange(self.vocab_size, dtype=np.int32), (2 * max_shift + 1, 1))
        for row, s in enumerate(range(-max_shift, max_shift + 1)):
            for i, k, p in toks:
                table[row, i] = by_kind_pitch.get((k, p + s), -1)
        return table

    def note_tables(self) -> tuple[list[int], list[int]]:
        """(on, off): the pitch each id starts / releases, -1 for none."""
        on, off = [-1] * self.vocab_size, [-1] * self.vocab_size
        for i, kind, pitch in self.pitch_tokens():
            (on if kind == "on" else off)[i] = pitch
        return on, off

    def onset_pitches(self) -> np.ndarray:
        """(V,) the pitch each token starts, -1 for tokens that start none: for scale and range masks."""
        out = np.full(self.vocab_size, -1, np.int64)
        for i, k, p in self.pitch_tokens():
            if k == "on":
                out[i] = p
        return out

    def token_beats(self, qpm: float = 120.0) -> np.ndarray | None:
        """(V,) beats each token advances time by, when that is fixed per token; else None."""
        return None

    def beat_counter(self):
        """Where time is not fixed per token (token_beats() is None) but can be followed token by token:
        a fresh counter with `advance(ids) -> (N,) beats each id completes`, so generation can stop at
        a length in beats. None: no such counter (generation then estimates from tokens per beat)."""
        return None

    def max_hold_beats(self) -> float | None:
        """Beats (as token_beats counts them) after which generation releases a held note; None: never."""
        return None

    def _check_ids(self, ids) -> np.ndarray:
        arr = np.asarray(ids, dtype=np.int64).reshape(-1)
        bad = (arr < 0) | (arr >= self.vocab_size)
        if bad.any():
            raise CodecError(f"codec {self.name!r}: id {int(arr[bad][0])} is outside its vocabulary "
                             f"(0-{self.vocab_size - 1})")
        return arr

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"

