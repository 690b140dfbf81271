"""Audio primes: melodies rendered from known notes (several timbres, 60-160 qpm) come back as those notes."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest

from bridge.music import load_score, write_midi
from tests.conftest import ROOT, cadenza


def test_pitch_tracking_recovers_nine_notes_in_ten():
    """Built-in timbres (struck, steady, bowed, sine) and, with FluidSynth, General MIDI piano, flute, violin
    and trumpet, at 60, 100 and 160 qpm: >= 90% of notes with the right pitch and an onset within 50 ms
    (`cadenza bench transcribe`, what it prints)."""
    ran = cadenza("bench", "transcribe", "--seeds", "1", "--json")
    assert ran.returncode == 0, ran.stderr
    r = json.loads(ran.stdout)
    voices = {row["voice"] for row in r["rows"]}
    assert {"piano", "organ", "strings", "sine"} <= voices
    if shutil.which("fluidsynth"):
        assert {"gm-flute", "gm-violin"} <= voices
    assert {row["qpm"] for row in r["rows"]} == {60, 100, 160}
    assert r["recall"] >= 0.90, r
    assert r["precision"] >= 0.75, r  # and it does not invent many notes either


def test_every_audio_format_decodes_to_the_same_melody(tmp_path):
    from bridge.music.render import encode, synthesize
    from bridge.harness.melodies import match, melody

    score, truth = melody(7, 100, notes=12)
    audio, _ = synthesize(score, synth="builtin", timbre="piano")
    for suffix in (".wav", ".flac", ".ogg", ".mp3"):
        path = tmp_path / f"m{suffix}"
        path.write_bytes(encode(audio, 44100, suffix))
        got = load_score(path)  # what `continue`, the watch folder and continue_file read
        found = [(n.pitch, got.seconds([n.start])[0]) for n in got.notes()]
        slack = 0.06 if suffix == ".mp3" else 0.05  # MP3 shifts everything by its encoder delay
        assert match(truth, [(p, s) for p, s in found], tolerance=slack) >= 11, (suffix, found)


def test_cadenza_continue_takes_a_recording(tmp_path):
    if not (ROOT / "models" / "chorale" / "cadenza.json").exists():
        pytest.skip("no shipped model")
    from bridge.music.render import encode, synthesize
    from bridge.harness.melodies import melody

    score, truth = melody(3, 90, notes=10)
    audio, _ = synthesize(score, synth="builtin", timbre="organ")
    (tmp_path / "hum.flac").write_bytes(encode(audio, 44100, ".flac"))
    out = tmp_path / "hum.cadenza.mid"
    r = cadenza("continue", tmp_path / "hum.flac", "--model", "chorale", "--beats", "8", "--seed", "0", "--out", out)
    assert r.returncode == 0, r.stderr
    got = load_score(out)
    prime_pitches = [n.pitch for n in got.notes()][:10]
    assert prime_pitches == [p for p, _ in truth]  # the prime is the recording's melody
    assert got.duration_beats > score.duration_beats + 4


@pytest.mark.parametrize("content,message", [(b"", "cannot decode audio"), (b"RIFF\x00\x00junk", "cannot decode")])
def test_an_undecodable_recording_is_named(tmp_path, content, message):
    from bridge.errors import CadenzaError

    (tmp_path / "bad.wav").write_bytes(content)
    with pytest.raises(CadenzaError, match=message):
        load_score(tmp_path / "bad.wav")


def test_a_wav_recording_is_read_and_written_without_tensorflow(tmp_path):
    """A WAV prime (the watch folder's, `continue_file`'s) and a WAV render cost no import of TensorFlow: a daemon
    serving a cached model never imports it (tests/host/test_startup.py), and one hummed WAV made it (~4 s)."""
    code = ("import sys\n"
            "from bridge.music import load_score, write_midi\n"
            "from bridge.music.render import encode, render_file, synthesize\n"
            "from bridge.harness.melodies import melody\n"
            "score, truth = melody(5, 100, notes=10)\n"
            "audio, _ = synthesize(score, synth='builtin', timbre='organ')\n"
            f"open({str(tmp_path / 'hum.wav')!r}, 'wb').write(encode(audio, 44100, '.wav'))\n"
            f"got = load_score({str(tmp_path / 'hum.wav')!r})\n"
            f"write_midi(got, {str(tmp_path / 'hum.mid')!r})\n"
            f"render_file({str(tmp_path / 'hum.mid')!r}, {str(tmp_path / 'again.wav')!r})\n"
            "print([n.pitch for n in got.notes()] == [p for p, _ in truth], 'tensorflow' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.stdout.split() == ["True", "False"], out.stderr[-2000:]
    assert (tmp_path / "again.wav").stat().st_size > 44100


@pytest.mark.parametrize("subtype", ["PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT"])
def test_every_kind_of_wav_reads_as_libsndfile_reads_it(tmp_path, subtype):
    """8-, 16-, 24- and 32-bit integer WAV by Python's `wave` (tensorflow-io read 8-bit as 0..255 and 32-bit as
    floats past +-1), 32-bit float WAV by tensorflow-io: the samples libsndfile reads, mixed to mono."""
    import numpy as np
    import soundfile

    from bridge.audio.transcribe import load_audio

    x = 0.8 * np.sin(np.arange(16000)[:, None] * np.array([0.05, 0.031]))
    soundfile.write(str(tmp_path / "x.wav"), x, 16000, subtype=subtype)
    want = soundfile.read(str(tmp_path / "x.wav"), dtype="float64")[0].mean(axis=1)
    got = load_audio(tmp_path / "x.wav")
    assert got.shape == want.shape and np.abs(got - want).max() < 1e-6, np.abs(got - want).max()


def test_a_wav_at_a_rate_no_recording_has_is_refused_by_name(tmp_path):
    """A header saying 1 Hz would make a few kilobytes sixteen thousand times as many samples: refused."""
    import wave

    from bridge.errors import CadenzaError

    with wave.open(str(tmp_path / "slow.wav"), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(1), w.writeframes(bytes(20000))
    with pytest.raises(CadenzaError, match="sample rate of 1 Hz"):
        load_score(tmp_path / "slow.wav")


@pytest.mark.parametrize("suffix", [".flac", ".wav"])
def test_a_recording_longer_than_ten_minutes_is_refused_from_its_header(tmp_path, suffix):
    """Eleven minutes of quiet FLAC are 15 KB: 64 MB of such a file (or of Vorbis) would decode to hours of samples
    and their pitch tracking to hundreds of GB. Refused by its length, read from the header before a sample is
    decoded; the WAV header's count of frames too (bounded by the file's bytes: a header may claim more)."""
    import wave

    import numpy as np
    import soundfile

    from bridge.errors import CadenzaError

    path = tmp_path / f"long{suffix}"
    if suffix == ".flac":
        soundfile.write(str(path), np.zeros(8000 * 660, np.float32), 8000, format="FLAC", subtype="PCM_16")
        assert path.stat().st_size < 1 << 20
    else:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(1), w.setsampwidth(1), w.setframerate(1000), w.writeframes(bytes(1000 * 661))
    with pytest.raises(CadenzaError, match=r"11\.0 minutes of audio, more than the 10 minutes Cadenza reads"):
        load_score(path)


def test_a_quiet_recording_of_many_channels_at_a_high_rate_is_refused_by_its_samples(tmp_path):
    """Eight channels of five minutes at 384 kHz, silent: 9 KB of FLAC, 3.7 GB of samples decoded. Refused from the
    header by the samples it holds (ten minutes of 96 kHz stereo at most), before any is decoded."""
    import numpy as np
    import soundfile

    from bridge.errors import CadenzaError

    with soundfile.SoundFile(str(tmp_path / "wide.flac"), "w", 384000, 8, format="FLAC", subtype="PCM_16") as f:
        block = np.zeros((384000 * 10, 8), np.int16)
        for _ in range(30):
            f.write(block)
    assert (tmp_path / "wide.flac").stat().st_size < 1 << 20
    with pytest.raises(CadenzaError, match="8 channels of 5.0 minutes at 384000 Hz, more samples than Cadenza decodes"):
        load_score(tmp_path / "wide.flac")


def test_pitch_tracking_takes_memory_that_does_not_grow_with_the_recording(monkeypatch):
    """Five minutes of a melody are tracked a few seconds at a time: the process grows by tens of MB, where all
    frames at once took ~500 MB for 35 s (9 GB for ten minutes). The notes are those of all the frames at once."""
    import resource

    import numpy as np

    from bridge.audio import transcribe
    from bridge.audio.transcribe import BLOCK, SR, onset_strength, track_notes, yin
    from bridge.harness.melodies import melody
    from bridge.music.render import synthesize

    score, _ = melody(11, 120, notes=40)
    one, _ = synthesize(score, sr=SR, synth="builtin", timbre="organ")
    y = np.tile(one.mean(axis=1), int(300 * SR / len(one)) + 1)[:300 * SR].astype(np.float32)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    notes = track_notes(y)
    grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert len(notes) > 300 and grew < 150, (len(notes), grew)
    short = y[:3 * BLOCK * 80 + 123]  # three blocks and a part: the blocks' edges give what one pass gives
    blocked = yin(short), onset_strength(short), track_notes(short)
    monkeypatch.setattr(transcribe, "BLOCK", 1 << 30)  # (the FFT's last bits depend on a row's place in a batch)
    assert all(np.allclose(a, b, rtol=0, atol=1e-9) for a, b in zip(yin(short), blocked[0]))
    assert np.allclose(onset_strength(short), blocked[1], rtol=0, atol=1e-9)
    assert track_notes(short) == blocked[2]


def test_silence_has_no_notes(tmp_path):
    import numpy as np

    from bridge.music.render import encode
    from bridge.errors import CadenzaError

    (tmp_path / "quiet.wav").write_bytes(encode(np.zeros((44100, 2), np.float32), 44100, ".wav"))
    with pytest.raises(CadenzaError, match="no pitched notes"):
        load_score(tmp_path / "quiet.wav")


def test_without_tensorflow_io_audio_says_so_and_midi_still_works(tmp_path):
    """tensorflow-io made unimportable: render to FLAC fails with a message naming it; WAV, MIDI and pictures work."""
    from bridge.music import Note, Score

    write_midi(Score.from_notes([Note(60, 90, 0, 480), Note(64, 90, 480, 960)]), tmp_path / "a.mid")
    (tmp_path / "sitecustomize.py").write_text("import sys\nsys.modules['tensorflow_io'] = None\n")
    env = {**__import__("os").environ, "PYTHONPATH": f"{tmp_path}:{ROOT}"}

    def run(*args):
        return subprocess.run([sys.executable, "-m", "bridge", *args], capture_output=True, text=True, env=env,
                              timeout=300, cwd=tmp_path)

    r = run("render", "a.mid", "--out", "a.flac")
    assert r.returncode == 1 and "tensorflow-io" in r.stderr and "pip install" in r.stderr, r.stderr
    assert not (tmp_path / "a.flac").exists()
    r = run("render", "a.mid", "--out", "a.wav", "--synth", "builtin")  # WAV needs no tensorflow-io
    assert r.returncode == 0 and (tmp_path / "a.wav").stat().st_size > 0, r.stderr
    r = run("render", "a.mid", "--out", "a.png")
    assert r.returncode == 0, r.stderr
    r = run("inspect", "a.mid")
    assert r.returncode == 0, r.stderr
