"""The daemon and audio: /cadenza/render, render and picture settings, and recordings as primes
(named in /cadenza/continue_file or dropped in the watched folder)."""
from __future__ import annotations

import shutil

import pytest
import soundfile

from bridge.music import read_midi
from tests.conftest import CORPUS, ROOT
from tests.host.conftest import MODEL
from tests.host.test_watch import wait_for

MIDI = CORPUS / "nottingham" / "ashover1.mid"


def recording(path, seed=5, qpm=100):
    """A melody rendered from known notes, as a FLAC file; returns its pitches."""
    from bridge.music.render import encode, synthesize
    from bridge.harness.melodies import melody

    score, truth = melody(seed, qpm, notes=10)
    audio, _ = synthesize(score, synth="builtin", timbre="piano")
    path.write_bytes(encode(audio, 44100, path.suffix))
    return [p for p, _ in truth]


def test_render_over_osc_replies_with_the_audio_path(client, daemon):
    if not MIDI.exists():
        pytest.skip("corpus not here")
    shutil.copy(MIDI, daemon.cfg.inbox / "tune.mid")
    client.send("/cadenza/render", 60, "tune.mid", "wav")
    msgs = client.receive(until=("/cadenza/rendered", "/cadenza/error"), rid=60, timeout=120)
    assert msgs[-1][0] == "/cadenza/rendered", msgs
    out = msgs[-1][1][1]
    assert out.endswith("tune.wav") and str(daemon.cfg.outbox.resolve()) in out
    music = read_midi(MIDI).duration_seconds
    assert music <= soundfile.info(out).duration <= music + 1.01
    client.send("/cadenza/render", 61, "tune.mid", "png")
    msgs = client.receive(until=("/cadenza/rendered", "/cadenza/error"), rid=61, timeout=60)
    assert msgs[-1][0] == "/cadenza/rendered" and open(msgs[-1][1][1], "rb").read(4) == b"\x89PNG"


@pytest.mark.parametrize("args,message", [
    (["../../etc/passwd"], "outside the folders"),
    (["tune.mid", "aiff"], "render format"),
    ([], "/cadenza/render id path"),
])
def test_bad_render_requests_are_answered(client, daemon, args, message):
    client.send("/cadenza/render", 62, *args)
    msgs = client.receive(until=("/cadenza/error",), rid=62, timeout=10)
    assert message in msgs[-1][1][1]


def test_continue_with_render_and_picture_settings(client, daemon):
    client.send("/cadenza/continue", 63, 60, 0.0, 1.0, 90, 64, 1.0, 1.0, 90, 67, 2.0, 1.0, 90,
                "render", "flac", "picture", 1)
    msgs = client.receive(rid=63, timeout=120)
    addresses = [m[0] for m in msgs]
    assert addresses[-1] == "/cadenza/done", msgs
    audio = [m[1][1] for m in msgs if m[0] == "/cadenza/audio"]
    picture = [m[1][1] for m in msgs if m[0] == "/cadenza/picture"]
    midi = [m[1][1] for m in msgs if m[0] == "/cadenza/file"]
    assert len(audio) == len(picture) == len(midi) == 1
    assert audio[0].endswith(".flac") and soundfile.info(audio[0]).duration > 0.5
    assert open(picture[0], "rb").read(4) == b"\x89PNG"


def test_continue_file_takes_a_recording(client, daemon):
    pitches = recording(daemon.cfg.inbox / "hummed.flac")
    client.send("/cadenza/continue_file", 64, "hummed.flac", "beats", 4.0)
    msgs = client.receive(rid=64, timeout=120)
    assert msgs[-1][0] == "/cadenza/done", msgs
    assert msgs[-1][1][1] > 0
    assert len(pitches) == 10


def test_a_recording_dropped_in_the_inbox_is_continued_and_rendered(tmp_path):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    pitches = recording(tmp_path / "hum.wav")
    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=inbox, outbox=tmp_path / "outbox", beats=4.0,
                           watch_defaults={"render": "ogg", "picture": 1}))
    d.start()
    try:
        shutil.copy(tmp_path / "hum.wav", inbox / "hum.wav")
        out = tmp_path / "outbox" / "hum.cadenza.mid"
        assert wait_for(lambda: out.with_suffix(".png").exists(), timeout=120), list((tmp_path / "outbox").iterdir())
        got = read_midi(out)
        assert [n.pitch for n in got.notes()][:10] == pitches  # the recording's melody, then new music
        assert got.markers and got.markers[0].text == "continuation"
        assert soundfile.info(str(out.with_suffix(".ogg"))).duration >= got.duration_seconds
        assert (inbox / "hum.wav").read_bytes() == (tmp_path / "hum.wav").read_bytes()  # the input is untouched
    finally:
        d.stop()
