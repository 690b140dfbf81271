"""WAV files read and written without TensorFlow: integer PCM through Python's own `wave` module.

A .wav prime dropped into the watch folder, `cadenza render --out x.wav`, the page's "play" of a file and
FluidSynth's output are all plain PCM, and reading or writing them this way costs no import of TensorFlow
(~4 s and ~600 MB the first time in a process: a daemon serving a cached model has never imported it).
What `wave` does not read (32-bit float samples, WAVE_FORMAT_EXTENSIBLE on Python < 3.12, a broken
header) `read` leaves to tensorflow-io's decoder, which names the problem if it cannot read it either.
Samples are integers over 2^(bits - 1) (8-bit ones centred on 128): for 16 and 24 bits the numbers tensorflow-io
gives; 8- and 32-bit files it misread (8-bit as 0..255, 32-bit as floats past +-1), and they are now read right.
"""
from __future__ import annotations

import io
import struct
import wave
from typing import Callable

import numpy as np

RATES = (1000, 384000)  # sample rates (Hz) a recording may have: outside them it is not audio, or a bomb


def read(data: bytes, check: Callable[[int, int, int], None] | None = None) -> tuple[np.ndarray, int] | None:
    """(samples (frames, channels) float32 in [-1, 1), sample rate) of integer PCM WAV bytes; None where `wave`
    cannot read them (they may be WAV all the same: tensorflow-io's decoder is tried next). `check(frames, rate,
    channels)` is called with what the header says before any sample is read (it raises to refuse)."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate = w.getnchannels(), w.getsampwidth(), w.getframerate()
            frames = min(w.getnframes(), len(data) // max(1, channels * width))  # (a header may claim more)
            if check is not None:
                check(frames, rate, channels)
            raw = w.readframes(frames)
    except (wave.Error, EOFError, struct.error, ValueError):
        return None
    if channels < 1 or width not in (1, 2, 3, 4):
        return None
    raw = raw[:len(raw) - len(raw) % (channels * width)]  # a last frame cut short is dropped
    if width == 1:  # 8-bit WAV is unsigned
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 3:  # 24-bit: three bytes, little-endian, sign-extended from the top one
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3).astype(np.int32)
        x = ((b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8).astype(np.float32) / np.float32(2 ** 23)
    else:
        x = np.frombuffer(raw, "<i2" if width == 2 else "<i4").astype(np.float32) / np.float32(2 ** (8 * width - 1))
    return x.reshape(-1, channels), rate


def write(audio: np.ndarray, rate: int) -> bytes:
    """16-bit PCM WAV bytes of float samples (frames, channels) or (frames,), clipped to [-1, 1]."""
    a = np.asarray(audio, np.float32)
    a = a[:, None] if a.ndim == 1 else a
    pcm = np.round(np.clip(a, -1.0, 1.0) * 32767).astype("<i2")
    out = io.BytesIO()
    with wave.open(out, "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(pcm.tobytes())
    return out.getvalue()
