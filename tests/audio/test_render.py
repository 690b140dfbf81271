"""`cadenza render`: audio as long as the music plus its release tail, in every format, by either synth;
and the piano roll of a continuation, its prime and new music in two colours."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile

from bridge.music import CONTINUATION, Marker, Note, Score, read_midi, write_midi
from tests.conftest import CORPUS, ROOT, cadenza

FLUIDSYNTH = shutil.which("fluidsynth") is not None




@pytest.fixture(scope="module")
def continuation(tmp_path_factory):
    """A shipped model's continuation of a real piece, written by `cadenza continue`."""
    src = CORPUS / "nottingham" / "xmas7.mid"  # a short tune (12 s): every format of it is quick to write
    if not src.exists() or not (ROOT / "models" / "chorale" / "cadenza.json").exists():
        pytest.skip("corpus or shipped model missing")
    out = tmp_path_factory.mktemp("render") / "continued.mid"
    r = cadenza("continue", str(src), "--model", "chorale", "--beats", "8", "--seed", "3", "--out", str(out))
    assert r.returncode == 0, r.stderr
    return out


@pytest.mark.parametrize("synth", ["builtin", pytest.param("fluidsynth", marks=pytest.mark.skipif(
    not FLUIDSYNTH, reason="fluidsynth is not installed (CI installs it)"))])
@pytest.mark.parametrize("suffix", [".flac", ".wav", ".ogg", ".mp3"])
def test_audio_lasts_the_music_plus_the_release_tail(continuation, tmp_path, synth, suffix):
    out = tmp_path / f"c{suffix}"
    r = cadenza("render", str(continuation), "--out", str(out), "--synth", synth)
    assert r.returncode == 0, r.stderr
    assert ("FluidSynth" in r.stdout) == (synth == "fluidsynth")
    music = read_midi(continuation).duration_seconds
    if suffix == ".mp3":  # libsndfile reads MP3 only from 1.1; decode it the way Cadenza does
        from bridge.audio.transcribe import load_audio

        seconds = len(load_audio(out)) / 16000
        slack = 0.08  # the MP3 encoder's padding
    else:
        info = soundfile.info(str(out))
        seconds = info.duration
        slack = 0.01
        assert info.samplerate == 44100 and info.channels == 2
    assert music <= seconds <= music + 1.0 + slack, (seconds, music)
    audio, sr = soundfile.read(str(out)) if suffix != ".mp3" else (None, None)
    if audio is not None:  # it is sound, and the sound stops at the end of the tail
        assert np.abs(audio).max() > 0.05
        assert np.abs(audio[-int(0.005 * sr):]).max() < 0.02


def test_hours_of_music_or_an_absurd_sample_rate_are_refused_by_name(tmp_path):
    """A note of two hours (2 KB of MIDI) would be ~10 GB of samples: `cadenza render` refuses past 10 minutes
    (--max-minutes raises it), and sample rates outside 8-192 kHz, before it synthesises anything."""
    score = Score.from_beats([(60, 0.0, 7200.0, 90)], qpm=60)
    write_midi(score, tmp_path / "drone.mid")
    r = cadenza("render", tmp_path / "drone.mid", "--out", tmp_path / "drone.wav", "--synth", "builtin")
    assert r.returncode == 1 and "lasts 120.0 minutes; Cadenza renders up to 10 minutes" in r.stderr, r.stderr
    assert "--max-minutes" in r.stderr and "Traceback" not in r.stderr and not (tmp_path / "drone.wav").exists()
    write_midi(Score.from_beats([(60, 0.0, 1.0, 90)], qpm=60), tmp_path / "one.mid")
    r = cadenza("render", tmp_path / "one.mid", "--out", tmp_path / "one.wav", "--sample-rate", "1000000000")
    assert r.returncode == 1 and "1000000000 Hz: Cadenza renders at 8000-192000 Hz" in r.stderr, r.stderr
    r = cadenza("render", tmp_path / "one.mid", "--out", tmp_path / "one.wav", "--synth", "builtin",
                "--max-minutes", "0.01")  # (0.6 s: the 1 s note is longer)
    assert r.returncode == 1 and "renders up to 0.01 minutes" in r.stderr, r.stderr
    r = cadenza("render", tmp_path / "one.mid", "--out", tmp_path / "one.wav", "--max-minutes", "-5")
    assert r.returncode == 2 and "--max-minutes is minutes of music" in r.stderr, r.stderr


def test_renders_asked_at_once_run_one_at_a_time(tmp_path, monkeypatch):
    """The daemon's doors may ask for renders at once (sixteen OSC workers, the page, the watch folder), each up to
    ten minutes of music and ~1-2 GB while it renders: they run in turn, so a process holds one render's samples."""
    import threading
    import time

    from bridge.music import render

    write_midi(Score.from_beats([(60, 0.0, 1.0, 90), (64, 1.0, 1.0, 90)], qpm=120), tmp_path / "two.mid")
    inside, most, real = [0], [0], render.synthesize

    def counted(*args, **kw):
        inside[0] += 1
        most[0] = max(most[0], inside[0])
        time.sleep(0.2)
        try:
            return real(*args, **kw)
        finally:
            inside[0] -= 1

    monkeypatch.setattr(render, "synthesize", counted)
    threads = [threading.Thread(target=render.render_file, args=(tmp_path / "two.mid", tmp_path / f"{k}.wav"),
                                kwargs={"synth": "builtin"}) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and all((tmp_path / f"{k}.wav").stat().st_size > 44100 for k in range(4))


def test_builtin_audio_has_each_note_at_its_pitch(tmp_path):
    """The built-in synthesiser plays what the file says: a sine A4 then E5 give 440 Hz then 659 Hz."""
    score = Score.from_beats([(69, 0, 1, 100), (76, 1, 1, 100)], qpm=60)
    write_midi(score, tmp_path / "two.mid")
    r = cadenza("render", str(tmp_path / "two.mid"), "--out", str(tmp_path / "two.wav"), "--synth", "builtin",
                "--timbre", "sine", "--tail", "0.5")
    assert r.returncode == 0, r.stderr
    audio, sr = soundfile.read(str(tmp_path / "two.wav"))
    assert abs(len(audio) / sr - 2.5) < 0.01
    for second, hz in ((0, 440.0), (1, 659.26)):
        part = audio[int((second + 0.2) * sr):int((second + 0.8) * sr), 0]
        spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part))))
        assert abs(np.argmax(spectrum) * sr / len(part) - hz) < 3


def _columns_of(img, colour):
    """The picture's columns crossed by note boxes of that hue at any shade (notes are shaded by velocity)."""
    rgb = np.array([int(colour[i:i + 2], 16) for i in (1, 3, 5)])
    pix = img - img.mean(axis=2, keepdims=True)
    ref = rgb - rgb.mean()
    chroma = np.linalg.norm(pix, axis=2)
    cos = (pix @ ref) / (chroma * np.linalg.norm(ref) + 1e-9)
    near = (cos > 0.97) & (chroma > 25)
    return np.flatnonzero(near.sum(axis=0) >= 3)


def _picture_of(score, folder, keep: float = 0.9):
    """`cadenza render` of the score's MIDI file to a PNG, as an (H, W, 3) array, the right side (the legend's
    swatches) left out."""
    from PIL import Image

    write_midi(score, folder / "s.mid")
    r = cadenza("render", str(folder / "s.mid"), "--out", str(folder / "s.png"))
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(folder / "s.png").convert("RGB")).astype(int)
    return img[:, :int(img.shape[1] * keep)]


def test_the_piano_roll_shows_prime_and_continuation_apart(continuation, tmp_path):
    from PIL import Image

    from bridge.music.picture import NEW_COLOUR, PRIME_COLOUR

    score = read_midi(continuation)
    marks = [m for m in score.markers if m.text == CONTINUATION]
    assert len(marks) == 1 and 0 < marks[0].tick < score.end_tick  # `continue` marks where new music begins
    out = tmp_path / "roll.png"
    r = cadenza("render", str(continuation), "--out", str(out))
    assert r.returncode == 0, r.stderr
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    prime_x, new_x = _columns_of(img, PRIME_COLOUR), _columns_of(img, NEW_COLOUR)
    assert len(prime_x) > 20 and len(new_x) > 20
    # prime notes lie left of the continuation marker line, new notes right of it (the line itself is orange)
    assert np.median(prime_x) < np.median(new_x)
    assert prime_x.min() < new_x.min()


def test_the_piano_roll_shows_an_infills_region_and_its_new_notes(tmp_path):
    """An infill's output (its region between the `infill` markers, as `cadenza infill` writes it): the notes
    that start inside the region in the continuation's colour, the music around it in the prime's."""
    from bridge.music.picture import NEW_COLOUR, PRIME_COLOUR
    from bridge.music.score import INFILL_END, INFILL_START

    notes = [Note(60 + (i % 7), 90, i * 240, i * 240 + 200) for i in range(48)]  # 24 beats of eighths
    score = Score.from_notes(notes).replace(markers=(Marker(8 * 480, INFILL_START), Marker(16 * 480, INFILL_END)))
    img = _picture_of(score, tmp_path)
    given, new = _columns_of(img, PRIME_COLOUR), _columns_of(img, NEW_COLOUR)
    assert len(given) > 20 and len(new) > 20
    # the new notes fill the middle third of the beats; the given ones lie on both sides of it
    assert given.min() < new.min() and new.max() < given.max()
    assert not ((given > new.min() + 5) & (given < new.max() - 5)).any()


def test_the_piano_roll_shows_a_drum_continuation_in_rows_of_its_own(tmp_path):
    """A drum track (a drums continuation, a groove, drumify's kit) is drawn below the pitched notes, a row for
    each drum struck: the prime's hits left of the continuation's, each row's hits at their own height."""
    from bridge.music import Track
    from bridge.music.picture import NEW_COLOUR, PRIME_COLOUR

    hits = [Note(36 if i % 4 == 0 else 38 if i % 4 == 2 else 42, 100, i * 240, i * 240 + 30) for i in range(64)]
    score = Score.from_notes([]).replace(tracks=(Track(tuple(hits), is_drum=True, channel=9),),
                                         markers=(Marker(16 * 480, CONTINUATION),))
    img = _picture_of(score, tmp_path, keep=0.85)
    prime_x, new_x = _columns_of(img, PRIME_COLOUR), _columns_of(img, NEW_COLOUR)
    assert len(prime_x) > 20 and len(new_x) > 20 and prime_x.max() < np.median(new_x)
    rows = _columns_of(img.transpose(1, 0, 2), PRIME_COLOUR)  # the picture's rows crossed by the prime's hits
    bands = np.split(rows, np.flatnonzero(np.diff(rows) > 3) + 1)
    assert len(bands) == 3  # kick, snare and closed hi-hat, each a row of its own


def test_roll_without_a_marker_takes_prime_beats(tmp_path):
    score = Score.from_notes([Note(60 + i, 90, i * 480, i * 480 + 400) for i in range(8)])
    write_midi(score, tmp_path / "plain.mid")
    assert read_midi(tmp_path / "plain.mid").markers == ()
    r = cadenza("render", str(tmp_path / "plain.mid"), "--out", str(tmp_path / "a.png"), "--prime-beats", "4")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_markers_round_trip_through_midi(tmp_path):
    score = Score.from_notes([Note(60, 90, 0, 480)]).replace(markers=(Marker(240, CONTINUATION),))
    write_midi(score, tmp_path / "m.mid")
    assert read_midi(tmp_path / "m.mid").markers == (Marker(240, CONTINUATION),)


@pytest.mark.parametrize("args,message", [
    (["--out", "x.aiff"], "cannot tell what to write"),
    (["--out", "x.wav", "--soundfont", "/nonexistent.sf2", "--synth", "fluidsynth"], "no such SoundFont"),
    (["--out", "x.wav", "--synth", "fluidsynth", "--timbre", "organ"], "cannot go with"),
])
def test_bad_render_requests_are_named(tmp_path, args, message):
    write_midi(Score.from_notes([Note(60, 90, 0, 480)]), tmp_path / "one.mid")
    r = cadenza("render", str(tmp_path / "one.mid"), *args, cwd=tmp_path)
    assert r.returncode != 0 and message in r.stderr, r.stderr
    assert not list(tmp_path.glob("x.*"))


def test_an_empty_file_is_refused_by_name(tmp_path):
    write_midi(Score(), tmp_path / "empty.mid")
    r = cadenza("render", str(tmp_path / "empty.mid"), "--out", str(tmp_path / "e.wav"))
    assert r.returncode == 1 and "no notes to render" in r.stderr
