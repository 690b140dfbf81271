"""A recording to prime notes: decode (WAV by Python's `wave`, the rest with tensorflow-io), resample, then
track the pitch.

Method (monophonic; in a chord it follows the most periodic voice, so chords come out as one line):
  1. decode any of .wav .flac .ogg .mp3 (integer PCM WAV by `wave`, bridge.audio.wav; anything else by
     tensorflow-io's AudioIOTensor), mix to mono, resample to
     16 kHz (scipy's polyphase filter: 25x faster than tfio.audio.resample, measured);
  2. YIN pitch (de Cheveigne and Kawahara 2002) every 5 ms over 64 ms windows: the cumulative mean
     normalised difference, its first dip under 0.15, parabolic refinement; a frame is voiced when
     that dip is under 0.3 and the frame is within 40 dB of the loudest;
  3. onsets from log-spectral flux peaks (32 ms windows, 5 ms hop);
  4. notes: runs of voiced frames on one semitone (median-smoothed over 25 ms), split where an onset
     peak re-strikes the same pitch, at least 40 ms long; each note starts at the onset peak
     nearest before its run (within 60 ms), and its velocity follows its loudness.
The result is a Score at 120 qpm (two beats a second), one track.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ..errors import MusicFileError
from . import tfio

SR = 16000
HOP = 80  # 5 ms
WINDOW = 1024  # 64 ms: room for two periods of 50 Hz within the integration window
FMIN, FMAX = 50.0, 2000.0
THRESHOLD = 0.15
VOICED = 0.3
MIN_NOTE = 0.06  # seconds
JUNK = 0.15  # seconds: below this a segment far under its neighbours is overlap, not a note
SNAP = 0.12  # an onset peak at most this long before a note's first voiced frame is its start
MAX_SECONDS = 600.0  # the longest recording read (ReadLimits.audio_seconds): 64 MB of Vorbis holds hours of it
MAX_SAMPLES = 600 * 96000 * 2  # samples decoded at most (ten minutes of 96 kHz stereo; each channel's counted)


def load_audio(path: str | Path, sr: int = SR, max_seconds: float = MAX_SECONDS) -> np.ndarray:
    """Mono float32 samples at `sr`: integer PCM WAV by Python's `wave` (bridge.audio.wav: no TensorFlow),
    everything else decoded by tensorflow-io. A recording longer than `max_seconds`, or at a sample rate no
    recording has, is refused from its header, before its samples are decoded."""
    from . import wav

    path = Path(path)
    if not path.is_file():
        raise MusicFileError(f"{path}: no such file")

    def check(frames: int, rate: int, channels: int) -> None:
        if not wav.RATES[0] <= rate <= wav.RATES[1]:
            raise MusicFileError(f"{path.name}: a sample rate of {rate} Hz is not audio Cadenza reads "
                                 f"({wav.RATES[0]}-{wav.RATES[1]} Hz)")
        if frames > max_seconds * rate:
            raise MusicFileError(f"{path.name}: {frames / rate / 60:.1f} minutes of audio, more than the "
                                 f"{max_seconds / 60:g} minutes Cadenza reads (a prime is a phrase: cut the "
                                 f"recording)")
        if frames * channels > MAX_SAMPLES:
            raise MusicFileError(f"{path.name}: {channels} channels of {frames / rate / 60:.1f} minutes at {rate} Hz, "
                                 f"more samples than Cadenza decodes ({MAX_SAMPLES // 10**6} million: ten minutes of "
                                 f"96 kHz stereo)")

    got = wav.read(path.read_bytes(), check) if path.suffix.lower() == ".wav" else None
    audio, rate = got if got is not None else _decode(path, check)
    if not len(audio):
        raise MusicFileError(f"{path.name}: the audio is empty")
    mono = audio.mean(axis=1, dtype=np.float32).astype(np.float64)
    if rate != sr:
        # a polyphase filter (scipy): tensorflow-io's resample takes 0.2-0.5 s for 10 s of audio, this 8 ms
        from scipy.signal import resample_poly

        g = math.gcd(rate, sr)
        mono = resample_poly(mono, sr // g, rate // g)
    return mono.astype(np.float32)


def _decode(path: Path, check) -> tuple[np.ndarray, int]:
    """(samples (frames, channels) float32, rate) by tensorflow-io's decoders (any of AUDIO_SUFFIXES);
    `check(frames, rate, channels)` before decoding (its header's, read in milliseconds)."""
    io = tfio()
    import tensorflow as tf

    try:
        tensor = io.audio.AudioIOTensor(str(path))
        rate = int(tensor.rate.numpy())
        frames, channels = int(tensor.shape[0]), int(tensor.shape[1])
    except Exception as e:  # noqa: BLE001 - the decoders raise many kinds
        raise _undecodable(path, e) from None
    check(frames, rate, channels)
    try:
        audio = tensor.to_tensor()
    except Exception as e:  # noqa: BLE001 - the decoders raise many kinds
        raise _undecodable(path, e) from None
    if audio.dtype == tf.int16:
        audio = tf.cast(audio, tf.float32) / 32768.0
    elif audio.dtype == tf.int32:
        audio = tf.cast(audio, tf.float32) / 2147483648.0
    else:
        audio = tf.cast(audio, tf.float32)
    return audio.numpy(), rate


def _undecodable(path: Path, e: Exception) -> MusicFileError:
    last = str(e).strip().splitlines()[-1][:200] if str(e).strip() else "no detail"
    return MusicFileError(f"{path.name}: cannot decode audio ({type(e).__name__}: {last})")


def _frames(y: np.ndarray, length: int, hop: int) -> np.ndarray:
    pad = np.pad(y, (length // 2, length // 2 + hop))
    n = 1 + (len(pad) - length) // hop
    return np.lib.stride_tricks.sliding_window_view(pad, length)[::hop][:n]


BLOCK = 512  # frames at a time (2.6 s of audio): each frame's sums are its own, and a block's arrays stay ~30 MB


def yin(y: np.ndarray, sr: int = SR, hop: int = HOP, window: int = WINDOW, fmin: float = FMIN,
        fmax: float = FMAX) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(f0 Hz, aperiodicity, rms) per frame; frame i is centred at i * hop samples. BLOCK frames at a time:
    all at once, 35 s of audio took ~500 MB (ten minutes would take 9 GB), and faulting that memory in cost as
    much as the sums."""
    frames = _frames(y.astype(np.float64), window, hop)
    parts = [_yin(frames[i:i + BLOCK], sr, window, fmin, fmax) for i in range(0, len(frames), BLOCK)]
    return tuple(np.concatenate(x) for x in zip(*parts)) if parts else (np.zeros(0),) * 3


def _yin(frames: np.ndarray, sr: int, window: int, fmin: float, fmax: float):
    import scipy.fft  # 5x numpy's FFT here, on a length that needs no padding to a power of two; the same sums

    tau_max = min(int(sr / fmin), window // 2)
    tau_min = max(2, int(sr / fmax))
    w = window - tau_max
    n_fft = scipy.fft.next_fast_len(window + w, real=True)  # no lag up to tau_max wraps round
    spec = scipy.fft.rfft(frames, n_fft)
    head = scipy.fft.rfft(frames[:, :w], n_fft)
    corr = scipy.fft.irfft(spec * np.conj(head), n_fft)[:, :tau_max + 1]  # sum_j x[j] x[j + tau], j < w
    sq = np.concatenate([np.zeros((len(frames), 1)), np.cumsum(frames ** 2, axis=1)], axis=1)
    energy_tau = sq[:, w:w + tau_max + 1] - sq[:, :tau_max + 1]  # sum x[tau .. tau + w)^2
    diff = np.maximum(energy_tau[:, :1] + energy_tau - 2 * corr, 0.0)
    cum = np.cumsum(diff[:, 1:], axis=1)
    cmnd = np.ones_like(diff)
    cmnd[:, 1:] = diff[:, 1:] * np.arange(1, tau_max + 1) / np.maximum(cum, 1e-12)
    search = cmnd[:, tau_min:tau_max]
    below = search < THRESHOLD
    first = np.where(below.any(axis=1), below.argmax(axis=1), search.argmin(axis=1))
    idx = first.copy()
    rows = np.arange(len(search))
    for _ in range(tau_max):  # walk down to the bottom of the dip
        nxt = np.minimum(idx + 1, search.shape[1] - 1)
        step = search[rows, nxt] < search[rows, idx]
        if not step.any():
            break
        idx = np.where(step, nxt, idx)
    tau = idx + tau_min
    a = cmnd[rows, np.clip(tau - 1, 1, tau_max)]
    b = cmnd[rows, tau]
    c = cmnd[rows, np.clip(tau + 1, 1, tau_max)]
    denom = a - 2 * b + c
    shift = np.where(np.abs(denom) > 1e-12, 0.5 * (a - c) / np.where(denom == 0, 1, denom), 0.0)
    f0 = sr / (tau + np.clip(shift, -1, 1))
    rms = np.sqrt((frames[:, window // 4: 3 * window // 4] ** 2).mean(axis=1))
    return f0, b, rms


def onset_strength(y: np.ndarray, hop: int = HOP, n_fft: int = 512) -> np.ndarray:
    """Spectral flux per frame (BLOCK frames at a time, each block's first against the last block's last)."""
    import scipy.fft

    frames = _frames(y.astype(np.float64), n_fft, hop)
    window = np.hanning(n_fft)
    flux = np.zeros(len(frames))
    before = None
    for i in range(0, len(frames), BLOCK):
        mag = np.log1p(100.0 * np.abs(scipy.fft.rfft(frames[i:i + BLOCK] * window, axis=1)))
        if before is not None:
            flux[i] = np.maximum(mag[0] - before, 0).sum()
        flux[i + 1:i + len(mag)] = np.maximum(mag[1:] - mag[:-1], 0).sum(axis=1)
        before = mag[-1]
    return flux


def _peaks(flux: np.ndarray, radius: int = 4) -> np.ndarray:
    """Onset frames: local maxima standing clear of the local median."""
    if not len(flux):
        return np.zeros(0, int)
    padded = np.pad(flux, radius, mode="edge")
    win = np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1)
    is_max = flux >= win.max(axis=1)
    pad_m = np.pad(flux, 50, mode="edge")
    med = np.median(np.lib.stride_tricks.sliding_window_view(pad_m, 101), axis=1)
    scale = np.percentile(flux, 99) + 1e-9
    return np.flatnonzero(is_max & (flux > med + 0.08 * scale))


def _median5(p: np.ndarray) -> np.ndarray:
    padded = np.pad(p, 2, mode="edge")
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, 5), axis=1)


def track_notes(y: np.ndarray, sr: int = SR) -> list[tuple[int, float, float, int]]:
    """(pitch, start s, end s, velocity) of the melody in mono samples `y` at `sr`."""
    if sr != SR:
        raise ValueError(f"track_notes expects {SR} Hz samples")
    if not len(y) or float(np.abs(y).max()) < 1e-5:
        return []
    f0, aperiodic, rms = yin(y)
    loud = rms > max(float(rms.max()) * 10 ** (-40 / 20), 1e-4)
    voiced = loud & (aperiodic < VOICED) & (f0 >= FMIN) & (f0 <= FMAX)
    midi = np.where(voiced, np.round(69 + 12 * np.log2(np.maximum(f0, 1e-6) / 440.0)), -1)
    midi = np.where(voiced, _median5(midi), -1).astype(int)
    onsets = _peaks(onset_strength(y))
    # a re-strike of the same pitch: an onset peak where the loudness also rises again (by 3.5 dB
    # within 30 ms of its lowest point in the 20 ms before), not just a change of colour or a release
    n = len(midi)
    struck = np.zeros(n + 1, bool)
    for k in onsets.tolist():
        if k >= n:
            continue
        before = float(rms[max(0, k - 6):k + 1].min())
        after = float(rms[k:min(n, k + 13)].max())
        struck[k] = after > 1.5 * before + 1e-6
    onset_set = struck
    hop_s = HOP / SR
    min_frames = int(round(MIN_NOTE / hop_s))
    segments = []  # (pitch, first frame, end frame, new pitch?)
    i = 0
    while i < n:
        if midi[i] < 0:
            i += 1
            continue
        j = i + 1
        while j < n and midi[j] == midi[i]:
            j += 1
        # split a run where the same pitch is struck again
        cuts = [i] + [k for k in range(i + 2 * min_frames, j - min_frames) if onset_set[k]] + [j]
        for a, b in zip(cuts[:-1], cuts[1:]):
            if b - a >= min_frames:
                segments.append((int(midi[i]), a, b, a == i))
        i = j
    # where two notes overlap (one releasing, the next sounding) the period common to both can win
    # for a moment: a short segment far below both neighbours is that, not a note
    short = int(round(JUNK / hop_s))
    kept = []
    for k, seg in enumerate(segments):
        if seg[2] - seg[1] < short and 0 < k < len(segments) - 1:
            if seg[0] <= min(segments[k - 1][0], segments[k + 1][0]) - 10:
                continue
        kept.append(seg)
    notes: list[tuple[int, float, float, int]] = []
    loudest = float(rms.max())
    for pitch, a, b, new_pitch in kept:
        start = a
        if new_pitch:  # it began at the onset peak just before its first voiced frame (voicing lags)
            lo = a - int(SNAP / hop_s)
            if notes:
                lo = max(lo, int(round(notes[-1][1] / hop_s)) + min_frames)
            lo = max(lo, 0)
            window = rms[lo:a + 1]
            # the last frame at the bottom of the valley (in silence, the frame just before the rise)
            dip = lo + int(np.flatnonzero(window <= window.min() * 1.25 + 1e-5)[-1]) if a > lo else a
            near = onsets[(onsets <= a + 2) & (onsets >= lo)]
            if dip < a and rms[a:b].max() > 1.2 * rms[dip]:
                start = dip  # where the loudness turned to rise: the attack began there
            elif len(near):
                start = int(near[-1])
        db = 20 * np.log10(float(rms[a:b].max()) / loudest + 1e-9)
        vel = int(np.clip(100 + db * 1.5, 20, 127))
        if notes and notes[-1][0] == pitch and start * hop_s - notes[-1][2] < 0.03 \
                and not onset_set[max(0, start - 3):start + 4].any():
            p, s0, _, v = notes[-1]  # the same note, its pitch wobbled for a moment: join
            notes[-1] = (p, s0, b * hop_s, max(v, vel))
            continue
        notes.append((pitch, start * hop_s, b * hop_s, vel))
    return notes


def transcribe(path: str | Path, qpm: float = 120.0,
               max_seconds: float = MAX_SECONDS) -> list[tuple[int, float, float, int]]:
    """The melody of a recording (at most `max_seconds` long) as notes (pitch, start beat, duration in beats,
    velocity) at `qpm`; bridge.music.load_score makes them a Score (this module imports nothing of bridge.music)."""
    notes = track_notes(load_audio(path, max_seconds=max_seconds))
    if not notes:
        raise MusicFileError(f"{Path(path).name}: no pitched notes found in the audio")
    beats = qpm / 60.0
    return [(p, s * beats, (e - s) * beats, v) for p, s, e, v in notes]
