"""`cadenza render`: a MIDI file (or Score) to audio, or to a piano-roll picture.

Synthesis: FluidSynth (the `fluidsynth` program) with a General MIDI SoundFont when both are present,
else the built-in synthesiser. The SoundFont is the first of: `--soundfont`, $CADENZA_SOUNDFONT,
Debian's fluid-soundfont-gm (/usr/share/sounds/sf2/FluidR3_GM.sf2), /usr/share/soundfonts/default.sf2,
and the TimGM6mb SoundFont that pretty_midi (installed with note-seq) ships.

Length: the audio lasts the MIDI file's length (to its last note-off) plus a release tail (`tail`,
1 s by default) whose last 50 ms fade out, whichever synthesiser renders it.

Encoding (by the output's suffix): .wav (16-bit PCM, by Python's `wave`: bridge.audio.wav), .flac (16-bit),
.ogg (Vorbis) and .mp3 (with tensorflow-io); the file is written atomically.
"""
from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from ..errors import CadenzaError
from ..audio import AUDIO_SUFFIXES, tfio

SAMPLE_RATE = 44100
FADE = 0.05  # seconds faded out at the very end
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/soundfonts/FluidR3_GM.sf2",
              "/usr/share/sounds/sf2/default-GM.sf2", "/usr/share/soundfonts/default.sf2")
SYNTHS = ("auto", "fluidsynth", "builtin")
RENDER_MINUTES = 10.0  # the longest music rendered unless asked (a minute took ~0.15-0.3 GB and 1-3 s here)
RATES = (8000, 192000)  # output sample rates (Hz)
_STACK_LOCK = threading.Lock()
_RENDERING = threading.Lock()  # one render's samples in memory at a time (render_file)


def find_soundfont(explicit: str | os.PathLike | None = None) -> Path | None:
    if explicit:
        path = Path(explicit)
        if not path.is_file():
            raise CadenzaError(f"{path}: no such SoundFont")
        return path
    candidates = [os.environ.get("CADENZA_SOUNDFONT", ""), *SOUNDFONTS]
    spec = importlib.util.find_spec("pretty_midi")  # found, not imported: its import is slow
    if spec and spec.origin:
        candidates.append(str(Path(spec.origin).parent / "TimGM6mb.sf2"))
    for c in candidates:
        if c and Path(c).is_file():
            return Path(c)
    return None


def _fluidsynth(score, soundfont: Path, sr: int) -> np.ndarray:
    from . import midi_bytes

    with tempfile.TemporaryDirectory(prefix="cadenza-render-") as tmp:
        mid, wav = Path(tmp) / "in.mid", Path(tmp) / "out.wav"
        mid.write_bytes(midi_bytes(score))
        cmd = ["fluidsynth", "-ni", "-q", "-g", "0.5", "-r", str(sr), "-T", "wav", "-O", "s16", "-F", str(wav),
               str(soundfont), str(mid)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=600)
        except subprocess.TimeoutExpired:
            raise CadenzaError("fluidsynth took more than 10 minutes; stopped") from None
        if proc.returncode != 0 or not wav.is_file():
            raise CadenzaError(f"fluidsynth failed ({proc.returncode}): "
                               f"{proc.stderr.decode(errors='replace').strip()[-300:]}")
        from ..audio import wav as wavfile

        got = wavfile.read(wav.read_bytes())  # 16-bit PCM, as asked
        if got is None:
            raise CadenzaError(f"fluidsynth wrote a WAV file Cadenza cannot read ({wav.stat().st_size} bytes)")
        return got[0]


def synthesize(score, sr: int = SAMPLE_RATE, synth: str = "auto", soundfont=None, tail: float = 1.0,
               timbre: str | None = None, max_minutes: float = RENDER_MINUTES) -> tuple[np.ndarray, dict]:
    """(samples (n, 2) float32, {"synth", "soundfont", "seconds"}) for a score at most `max_minutes` long (a
    tiny MIDI file can hold a note of hours: its samples would take the machine's memory)."""
    if synth not in SYNTHS:
        raise CadenzaError(f"unknown synth {synth!r}; choose one of {', '.join(SYNTHS)}")
    if not score.note_count:
        raise CadenzaError("no notes to render")
    if not RATES[0] <= sr <= RATES[1]:
        raise CadenzaError(f"a sample rate of {sr} Hz: Cadenza renders at {RATES[0]}-{RATES[1]} Hz")
    if score.duration_seconds > max_minutes * 60:
        raise CadenzaError(f"the music lasts {score.duration_seconds / 60:.1f} minutes; Cadenza renders up to "
                           f"{max_minutes:g} minutes of audio (`cadenza render --max-minutes` for more: a minute "
                           f"takes ~0.3 GB while it renders)")
    font = find_soundfont(soundfont) if synth != "builtin" and timbre is None else None
    has_fluidsynth = shutil.which("fluidsynth") is not None
    if synth == "fluidsynth" and (font is None or not has_fluidsynth):
        raise CadenzaError("FluidSynth rendering needs the `fluidsynth` program (apt-get install fluidsynth) "
                           "and a General MIDI SoundFont (--soundfont, $CADENZA_SOUNDFONT or "
                           "fluid-soundfont-gm); `--synth builtin` needs neither")
    if font is not None and has_fluidsynth:
        audio, info = _fluidsynth(score, font, sr), {"synth": "fluidsynth", "soundfont": str(font)}
    else:
        from ..audio.synth import synthesize as builtin

        audio, info = builtin(score, sr=sr, tail=tail, timbre=timbre), {"synth": "builtin", "soundfont": None,
                                                                       "timbre": timbre or "by program"}
    audio = fit_length(audio, score.duration_seconds, sr, tail)
    info["seconds"] = round(len(audio) / sr, 3)
    info["midi_seconds"] = round(score.duration_seconds, 3)
    return audio, info


def fit_length(audio: np.ndarray, seconds: float, sr: int, tail: float) -> np.ndarray:
    """Exactly `seconds + tail` long: cut (with a short fade) or padded with silence."""
    n = int(round((seconds + tail) * sr))
    if len(audio) >= n:
        audio = audio[:n].copy()
    else:
        audio = np.concatenate([audio, np.zeros((n - len(audio), audio.shape[1]), audio.dtype)])
    fade = min(n, int(FADE * sr))
    if fade:
        audio[n - fade:] *= np.linspace(1.0, 0.0, fade, dtype=audio.dtype)[:, None]
    return audio


def encode(audio: np.ndarray, sr: int, suffix: str) -> bytes:
    """Audio bytes in the format the suffix names: WAV by Python's `wave`, the others by tensorflow-io."""
    suffix = suffix.lower()
    if suffix not in AUDIO_SUFFIXES:
        raise CadenzaError(f"cannot write audio as {suffix!r}; use one of {', '.join(AUDIO_SUFFIXES)} (or .png "
                           f"for a piano roll)")
    if suffix == ".wav":
        from ..audio import wav

        return wav.write(audio, sr)
    io = tfio()
    import tensorflow as tf

    audio = np.clip(np.asarray(audio, np.float32), -1.0, 1.0)

    def work():
        pcm = tf.constant(np.round(audio * 32767).astype(np.int16))
        if suffix == ".flac":
            return io.audio.encode_flac(pcm, rate=sr)
        if suffix == ".ogg":
            return io.audio.encode_vorbis(tf.constant(audio), rate=sr)
        return io.audio.encode_mp3(tf.constant(audio), rate=sr)

    # tensorflow-io's encoders hold a whole channel on the stack (measured: Vorbis crashes the process past
    # ~2 M samples, 47 s, on an 8 MB stack), so they run on a thread whose stack fits the audio
    return bytes(_on_big_stack(work, 16 * len(audio) + (32 << 20)).numpy())


def _on_big_stack(fn, stack_bytes: int):
    box: dict = {}

    def run():
        try:
            box["value"] = fn()
        except BaseException as e:  # noqa: BLE001 - handed back to the caller's thread
            box["error"] = e

    size = -(-stack_bytes // 65536) * 65536
    with _STACK_LOCK:
        old = threading.stack_size(size)
        try:
            t = threading.Thread(target=run, name="cadenza-encode")
            t.start()
        finally:
            threading.stack_size(old)
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]


def render_file(src, out, synth: str = "auto", soundfont=None, tail: float = 1.0, timbre: str | None = None,
                sr: int = SAMPLE_RATE, prime_beats: float | None = None, max_minutes: float = RENDER_MINUTES) -> dict:
    """Render `src` (any file Cadenza reads) to `out`: audio by suffix, or a piano roll for .png."""
    from . import atomic_write_bytes, load_score

    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in AUDIO_SUFFIXES + (".png",):
        raise CadenzaError(f"{out}: cannot tell what to write from {suffix or 'no suffix'!r}; use "
                           f"{', '.join(AUDIO_SUFFIXES)} for audio or .png for a piano roll")
    score = load_score(src)
    if suffix == ".png":
        from .picture import piano_roll_png

        atomic_write_bytes(out, piano_roll_png(score, prime_beats=prime_beats))
        return {"out": str(out), "kind": "piano roll", "notes": score.note_count}
    if suffix != ".wav":
        tfio()  # encoded with tensorflow-io: where it is missing, say so before rendering, not after
    with _RENDERING:  # the daemon's doors render at once (sixteen OSC workers, the page's threads, the watch
        # folder): each up to 10 minutes, ~1-2 GB while it renders; in turn, a process holds one render's at most
        audio, info = synthesize(score, sr=sr, synth=synth, soundfont=soundfont, tail=tail, timbre=timbre,
                                 max_minutes=max_minutes)
        atomic_write_bytes(out, encode(audio, sr, suffix))
    return {"out": str(out), "kind": suffix[1:], "sample_rate": sr, **info}


def extras(midi_path: Path, render: str = "", picture: int = 0) -> list[tuple[str, Path]]:
    """Audio (`render`: wav, flac, ogg or mp3) and a piano-roll picture beside a written MIDI file:
    [(kind, path)]. A failure raises CadenzaError; the MIDI file stands."""
    made = []
    if render:
        out = Path(midi_path).with_suffix(f".{render}")
        render_file(midi_path, out)
        made.append(("audio", out))
    if picture:
        out = Path(midi_path).with_suffix(".png")
        render_file(midi_path, out)
        made.append(("picture", out))
    return made
