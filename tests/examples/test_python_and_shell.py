"""The Python client and the shell example against a running daemon."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from bridge.music import read_midi
from tests.conftest import ROOT
from bridge.harness.net import free_udp_port
from tests.host.conftest import daemon  # noqa: F401


def test_python_client(daemon, tmp_path):  # noqa: F811
    out = tmp_path / "reply.mid"
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "client.py"), "--port",
                        str(daemon.server.address[1]), "--beats", "4", "--out", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "MIDI written" in r.stdout and read_midi(out).note_count > 0


def test_python_client_says_when_no_daemon_runs(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "examples" / "python" / "client.py"), "--port",
                        str(free_udp_port()), "--timeout", "2"], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 1 and "is `cadenza serve` running?" in r.stderr


@pytest.mark.skipif(not shutil.which("oscsend"), reason="liblo-tools not installed")
def test_shell_example(daemon):  # noqa: F811
    env = dict(os.environ, CADENZA_PORT=str(daemon.server.address[1]), REPLY_PORT=str(free_udp_port()))
    r = subprocess.run(["bash", str(ROOT / "examples" / "shell" / "continue.sh")], env=env, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "/cadenza/started" in r.stdout and "/cadenza/notes" in r.stdout and "/cadenza/done" in r.stdout
