"""The raw bytes of a MIDI track (article 000): char-rnn over a file's bytes.

`encode` writes the score as one Standard MIDI track at `ticks_per_quarter` and returns the track's
bytes (after the 'MTrk' chunk header), one token per byte, 0-255. `decode` restores what the
article prepended by hand: the file header ('MThd', format 0, one track, the codec's resolution)
and the chunk header with the right length, adds a missing end-of-track, and reads the result
with Cadenza's tolerant reader, so a model's imperfect bytes still play.

Round trip: exact at `ticks_per_quarter` (times are rounded to it), with all tracks merged into one.
"""
from __future__ import annotations

import struct

import numpy as np

from ..music import Score, midi_bytes, parse_midi
from .base import Codec


class MidiBytesCodec(Codec):
    name = "midibytes"

    @classmethod
    def defaults(cls):
        return {"ticks_per_quarter": 96}

    def _build_vocab(self):
        return [f"0x{i:02x}" for i in range(256)]

    def header(self, track_length: int) -> bytes:
        return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, self.params["ticks_per_quarter"])
                + b"MTrk" + struct.pack(">I", track_length))

    def encode(self, score: Score) -> np.ndarray:
        data = midi_bytes(score.resample(self.params["ticks_per_quarter"]), single_track=True)
        return np.frombuffer(data[22:], dtype=np.uint8).astype(np.int32)

    def decode(self, ids) -> Score:
        arr = self._check_ids(ids)
        if self.eos in arr:
            arr = arr[:int(np.argmax(arr == self.eos))]
        body = arr.astype(np.uint8).tobytes()
        if not body.endswith(b"\xff\x2f\x00"):
            body += b"\x00\xff\x2f\x00"
        return parse_midi(self.header(len(body)) + body, label="<midibytes>")


CODEC = MidiBytesCodec
