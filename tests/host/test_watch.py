"""The watch folder with a running daemon: drop, wait out, continue, fail cleanly, never redo or lose."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from bridge.music import read_midi
from tests.conftest import CORPUS, ROOT
from tests.host.conftest import MODEL

CHORALE = CORPUS / "kern" / "bach-370-chorales" / "chor012.krn"
MIDI = CORPUS / "nottingham" / "ashover1.mid"


def wait_for(pred, timeout=60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


@pytest.fixture
def watched(tmp_path):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file() or not CHORALE.exists():
        pytest.skip("no shipped model or corpus")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    made = []

    def start(**kw):
        cfg = ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "inbox", outbox=tmp_path / "outbox", beats=4.0, **kw)
        d = Daemon(cfg)
        d.start()
        made.append(d)
        return d

    yield start
    for d in made:
        d.stop()


def test_files_present_at_start_and_dropped_later_are_continued(watched, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(CHORALE, inbox / "early.krn")
    before = (inbox / "early.krn").read_bytes()
    watched()
    out = tmp_path / "outbox" / "early.cadenza.mid"
    assert wait_for(out.exists)
    shutil.copy(MIDI, inbox / "later.mid")
    assert wait_for((tmp_path / "outbox" / "later.cadenza.mid").exists)
    prime = read_midi(MIDI)
    cont = read_midi(tmp_path / "outbox" / "later.cadenza.mid")
    assert cont.duration_beats > prime.duration_beats  # the prime, then its continuation
    assert (inbox / "early.krn").read_bytes() == before  # the input is never changed


def test_a_file_still_being_written_is_waited_out(watched, tmp_path):
    watched()
    data = MIDI.read_bytes()
    target = tmp_path / "inbox" / "slow.mid"
    with open(target, "wb") as f:
        f.write(data[: len(data) // 3])  # a truncated file: reading it now would fail
        f.flush()
        for i in range(3):  # pauses, each and all shorter than the watcher's settle time (0.5 s)
            time.sleep(0.1)
        f.write(data[len(data) // 3:])
    assert wait_for((tmp_path / "outbox" / "slow.cadenza.mid").exists)
    assert not (tmp_path / "inbox" / "failed").exists()


def test_unreadable_file_moves_to_failed_with_the_reason(watched, tmp_path):
    watched()
    bad = tmp_path / "inbox" / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01")
    err = tmp_path / "inbox" / "failed" / "broken.error.txt"
    assert wait_for(err.exists)
    assert "truncated MIDI header" in err.read_text()
    assert (tmp_path / "inbox" / "failed" / "broken.mid").read_bytes() == b"MThd\x00\x00\x00\x06\x00\x01"
    assert not bad.exists() and not (tmp_path / "outbox" / "broken.cadenza.mid").exists()


def test_sidecar_settings(watched, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(MIDI, inbox / "long.mid")
    (inbox / "long.toml").write_text("beats = 24\nseed = 3\n")
    shutil.copy(MIDI, inbox / "short.mid")
    watched()
    long_out, short_out = tmp_path / "outbox" / "long.cadenza.mid", tmp_path / "outbox" / "short.cadenza.mid"
    assert wait_for(lambda: long_out.exists() and short_out.exists())
    assert read_midi(long_out).duration_beats > read_midi(short_out).duration_beats + 10


def test_a_restart_does_not_redo_finished_work(watched, tmp_path):
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(MIDI, inbox / "once.mid")
    d = watched()
    out = tmp_path / "outbox" / "once.cadenza.mid"
    assert wait_for(out.exists)
    stamp = out.stat().st_mtime_ns
    d.stop()
    d2 = watched()
    time.sleep(2.0)
    assert out.stat().st_mtime_ns == stamp and d2.watcher.processed == 0


def test_killing_the_daemon_mid_file_loses_nothing(tmp_path):
    """SIGKILL while a long continuation is generated: no partial output, input intact; a restart finishes it."""
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file() or not CHORALE.exists():
        pytest.skip("no shipped model or corpus")
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    shutil.copy(CHORALE, inbox / "big.krn")
    (inbox / "big.toml").write_text('beats = 1024\nmodel = "piano"\n')  # 17,000 tokens: a second or two
    original = (inbox / "big.krn").read_bytes()
    args = [sys.executable, "-m", "bridge", "serve", "--port", "0", "--model", MODEL, "--inbox", str(inbox),
            "--outbox", str(outbox)]
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for(lambda: "big.krn: continuing" in (tmp_path / "serve.log").read_text(), 120)
        os.killpg(proc.pid, signal.SIGKILL)  # mid-generation
        proc.wait()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert (inbox / "big.krn").read_bytes() == original
    assert not (outbox / "big.cadenza.mid").exists()
    (inbox / "big.toml").write_text("beats = 8\n")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        assert wait_for((outbox / "big.cadenza.mid").exists, 120)
        assert read_midi(outbox / "big.cadenza.mid").note_count > 0
        assert not list(outbox.glob(".*.part"))
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(30)
    assert proc.returncode == 0  # SIGTERM stops it cleanly


def test_a_symbolic_link_is_refused_unread(watched, tmp_path):
    secret = tmp_path / "secret.mid"
    secret.write_bytes(b"root:x:0:0:root:/root:/bin/bash\n")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "y.mid").symlink_to(secret)
    watched()
    err = inbox / "failed" / "y.error.txt"
    assert wait_for(err.exists)
    assert "symbolic link" in err.read_text() and "root" not in err.read_text()
    assert (inbox / "failed" / "y.mid").is_symlink() and secret.read_bytes().startswith(b"root")


def test_every_readable_suffix_is_taken_and_others_are_reported(watched, tmp_path, caplog):
    from bridge.music import SUFFIXES

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for suffix in (".kar", ".rmi", ".smf"):
        shutil.copy(MIDI, inbox / f"tune{suffix.replace('.', '_')}{suffix}")
    (inbox / "notes.pdf").write_bytes(b"%PDF-1.4")
    with caplog.at_level("WARNING", logger="cadenza.watch"):
        watched()
        outs = [tmp_path / "outbox" / f"tune{s.replace('.', '_')}.cadenza.mid" for s in (".kar", ".rmi", ".smf")]
        assert wait_for(lambda: all(o.exists() for o in outs))
    assert any("notes.pdf: left in the inbox: not a file Cadenza reads" in r.getMessage() for r in caplog.records)
    assert (inbox / "notes.pdf").exists()
    from bridge.codecs import get_codec

    for name in ("kern", "notewise", "performance", "messages"):  # prepare feeds every codec the same list
        assert set(get_codec(name).suffixes) >= {s for s in SUFFIXES if s not in (".wav", ".flac", ".ogg", ".mp3")}


def test_the_watch_folder_keeps_the_primes_tracks_tempo_and_meter(watched, tmp_path):
    from bridge.music import CONTINUATION
    from tests.test_continuation import prime_file

    inbox = tmp_path / "inbox"
    inbox.mkdir()
    prime = prime_file(inbox / "waltz.mid", [(0, 60.0), (480, 75.0)], (3, 4))
    (inbox / "waltz.toml").write_text("beats = 6\nseed = 2\n")
    watched()
    out = tmp_path / "outbox" / "waltz.cadenza.mid"
    assert wait_for(out.exists)
    got = read_midi(out)
    assert [(t.tick * prime.tpq // got.tpq, round(t.qpm)) for t in got.tempos] == [(0, 60), (480, 75)]
    assert [(s.numerator, s.denominator) for s in got.time_signatures] == [(3, 4)]
    kept = [len(t.array) for t in got.tracks if t.is_drum and t.name != "Cadenza drums"]
    assert kept == [len(t.array) for t in prime.tracks if t.is_drum]  # the prime's drums as they were
    if (ROOT / "models" / "drums" / "cadenza.json").is_file():  # and continued by the drums model alongside
        assert [t for t in got.tracks if t.name == "Cadenza drums" and t.is_drum and len(t.array)]
    end = [m.tick for m in got.markers if m.text == CONTINUATION][0] / got.tpq
    new = [n for t in got.tracks if t.name == "Cadenza continuation" for n in t.notes]
    assert new and max(n.end for n in new) / got.tpq <= end + 6 + 1e-6


BEAT = CORPUS / "groove" / "drummer1" / "session1" / "1_funk_80_beat_4-4.mid"
BEAT2 = CORPUS / "groove" / "drummer1" / "session1" / "2_funk_80_beat_4-4.mid"


def test_drum_tasks_in_the_watch_folder(watched, tmp_path):
    """task = "groove" / "drumify" / "interpolate" in a sidecar: the groove model answers, as on the command line."""
    from bridge import store

    try:
        store.find("groove")
    except Exception:
        pytest.skip("no groove model in the store")
    inbox, outbox = tmp_path / "inbox", tmp_path / "outbox"
    inbox.mkdir()
    shutil.copy(BEAT, inbox / "beat.mid")
    (inbox / "beat.toml").write_text('task = "groove"\nswing = 0.2\n')
    shutil.copy(MIDI, inbox / "tune.mid")
    (inbox / "tune.toml").write_text('task = "drumify"\ndensity = 2\n')
    shutil.copy(BEAT, inbox / "a.mid")
    (inbox / "a.toml").write_text('task = "interpolate"\nto = "b.mid"\nsteps = 3\n')
    shutil.copy(BEAT2, inbox / "b.mid")
    (inbox / "b.toml").write_text('task = "groove"\n')
    shutil.copy(MIDI, inbox / "bad.mid")
    (inbox / "bad.toml").write_text('task = "interpolate"\nto = "../etc/passwd"\n')
    watched()
    outs = [outbox / "beat.cadenza.mid", outbox / "tune.cadenza.mid"] + [outbox / f"a.cadenza-{k}.mid" for k in (1, 2, 3)]
    assert wait_for(lambda: all(p.exists() for p in outs) and (inbox / "failed" / "bad.error.txt").exists())
    played = read_midi(outs[0])
    assert sum(len(t.array) for t in played.tracks if t.is_drum) > 100
    tune = read_midi(outs[1])
    assert any(t.is_drum for t in tune.tracks) and any(not t.is_drum for t in tune.tracks)
    assert "no such plain file in the inbox" in (inbox / "failed" / "bad.error.txt").read_text()
