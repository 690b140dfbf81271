"""The SuperCollider and Pure Data examples, run headless as a newcomer would, against a real daemon:
notes come back, and each sounds at its start beat."""
from __future__ import annotations

import os
import re
import shutil
import subprocess

import pytest

from tests.conftest import ROOT
from bridge.harness.net import free_udp_port
from tests.host.conftest import daemon  # noqa: F401 - the running daemon fixture

QPM = 480  # a fast tempo keeps the test short: 8 beats in one second


@pytest.mark.skipif(not shutil.which("sclang"), reason="supercollider-language not installed")
def test_supercollider_example(daemon):  # noqa: F811
    env = dict(os.environ, CADENZA_PORT=str(daemon.server.address[1]), CADENZA_HEADLESS="1", CADENZA_QPM=str(QPM),
               QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    r = subprocess.run(["sclang", "-D", str(ROOT / "examples" / "supercollider" / "cadenza.scd")], env=env,
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    done = int(re.search(r"DONE (\d+) notes", out).group(1))
    notes = re.findall(r"NOTE (\d+) ([\d.]+) ([\d.]+) (\d+) at ([-\d.]+)", out)
    assert done > 0 and len(notes) == done and f"PLAYED {done} notes" in out
    for pitch, start, dur, vel, at in notes:
        assert abs(float(at) - float(start)) < 0.05  # on its beat, within 1/20 beat


@pytest.mark.skipif(not shutil.which("pd"), reason="puredata not installed")
def test_puredata_example(daemon):  # noqa: F811
    listen = free_udp_port()
    r = subprocess.run(["pd", "-nogui", "-noaudio", "-nomidi", "-stderr",
                        "-send", f"cadenza-port {daemon.server.address[1]}", "-send", f"cadenza-listen {listen}",
                        "-send", f"cadenza-qpm {QPM}", "-send", "cadenza-headless bang",
                        str(ROOT / "examples" / "puredata" / "cadenza.pd")],
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert "error" not in out.lower(), out[-3000:]
    done = int(re.search(r"DONE: \d+ (\d+)", out).group(1))
    notes = re.findall(r"NOTE: (\d+) ([\d.]+) ([\d.]+)", out)
    assert done > 0 and len(notes) == done
    ms_per_beat = 60000 / QPM
    for pitch, start, elapsed in notes:
        assert abs(float(elapsed) - (500 + float(start) * ms_per_beat)) < 30  # on its beat, within 30 ms


@pytest.mark.skipif(not shutil.which("sclang"), reason="supercollider-language not installed")
def test_supercollider_gets_a_beat(daemon):  # noqa: F811
    """examples/supercollider/beat.scd: a phrase's rhythm to drumify, the drum part played on its beats."""
    env = dict(os.environ, CADENZA_PORT=str(daemon.server.address[1]), CADENZA_HEADLESS="1", CADENZA_QPM=str(QPM),
               QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    r = subprocess.run(["sclang", "-D", str(ROOT / "examples" / "supercollider" / "beat.scd")], env=env,
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    done = int(re.search(r"DONE (\d+) notes", out).group(1))
    drums = re.findall(r"DRUM (\d+) ([\d.]+) ([\d.]+) (\d+) at ([-\d.]+)", out)
    assert done > 0 and len(drums) == done and f"PLAYED {done} notes" in out
    assert {int(p) for p, *_ in drums} <= {36, 38, 42, 46, 43, 47, 50, 49, 51}
    for pitch, start, dur, vel, at in drums:
        assert abs(float(at) - float(start)) < 0.05


@pytest.mark.skipif(not shutil.which("pd"), reason="puredata not installed")
def test_puredata_gets_a_beat(daemon):  # noqa: F811
    """examples/puredata/beat.pd: the same, in Pd, on [noteout 10]."""
    listen = free_udp_port()
    r = subprocess.run(["pd", "-nogui", "-noaudio", "-nomidi", "-stderr",
                        "-send", f"cadenza-port {daemon.server.address[1]}", "-send", f"cadenza-listen {listen}",
                        "-send", f"cadenza-qpm {QPM}", "-send", "cadenza-headless bang",
                        str(ROOT / "examples" / "puredata" / "beat.pd")],
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert "error" not in out.lower(), out[-3000:]
    done = int(re.search(r"DONE: \d+ (\d+)", out).group(1))
    notes = re.findall(r"NOTE: (\d+) ([\d.]+) ([\d.]+)", out)
    assert done > 0 and len(notes) == done
    assert {int(float(p)) for p, *_ in notes} <= {36, 38, 42, 46, 43, 47, 50, 49, 51}


@pytest.mark.skipif(not shutil.which("sclang"), reason="supercollider-language not installed")
@pytest.mark.timing  # each note within 10 ms of its time: alone, after the rest (tests/__main__.py)
def test_supercollider_plays_timed_bundles_at_their_time(daemon):  # noqa: F811
    env = dict(os.environ, CADENZA_PORT=str(daemon.server.address[1]), CADENZA_HEADLESS="1",
               QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
    r = subprocess.run(["sclang", "-D", str(ROOT / "examples" / "supercollider" / "in_time.scd")], env=env,
                       capture_output=True, text=True, timeout=180)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    done, timed, late = map(int, re.search(r"DONE (\d+) notes, (\d+) timed, (\d+) late", out).groups())
    plays = re.findall(r"PLAY (\d+) at ([\d.]+) \(due ([\d.]+)\)", out)
    assert done > 0 and timed == done and late == 0 and len(plays) == done
    for _, at, due in plays:
        assert abs(float(at) - float(due)) < 0.01  # sclang played each at the time the daemon tagged


@pytest.mark.skipif(not shutil.which("sclang"), reason="supercollider-language not installed")
@pytest.mark.timing  # each note within 10 ms of its time: alone, after the rest (tests/__main__.py)
def test_supercollider_jams_over_osc(tmp_path):
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon
    from tests.host.conftest import MODEL

    d = Daemon(ServeConfig(http_port=0, port=0, model=MODEL, inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False,
                           jam=True, jam_wait=1.0, jam_bars=1, qpm=240.0))
    d.start()
    d.wait_ready(120)
    try:
        env = dict(os.environ, CADENZA_PORT=str(d.server.address[1]), CADENZA_HEADLESS="1", CADENZA_QPM="240",
                   QT_QPA_PLATFORM="offscreen", QTWEBENGINE_DISABLE_SANDBOX="1")
        r = subprocess.run(["sclang", "-D", str(ROOT / "examples" / "supercollider" / "jam.scd")], env=env,
                           capture_output=True, text=True, timeout=120)
    finally:
        d.stop()
    out = r.stdout + r.stderr
    assert r.returncode == 0, out[-3000:]
    answered = int(re.search(r"ANSWERED (\d+) notes", out).group(1))
    played, due = map(int, re.search(r"PLAYED (\d+) of (\d+)", out).groups())
    plays = re.findall(r"PLAY (\d+) at ([\d.]+) \(due ([\d.]+)\)", out)
    assert answered > 0 and played == due > 0 and len(plays) == played
    assert all(abs(float(at) - float(when)) < 0.01 for _, at, when in plays)
    assert d.live.answer_log  # the daemon answered on its clock
