"""Real third-party OSC clients: liblo's oscsend and oscdump against a running daemon."""
from __future__ import annotations

import shutil
import subprocess
import time

import pytest

from bridge.harness.net import free_udp_port

pytestmark = pytest.mark.skipif(not (shutil.which("oscsend") and shutil.which("oscdump")),
                                reason="liblo-tools (oscsend, oscdump) not installed")


def dump_until(proc, word, timeout=60):
    lines = []
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line:
            lines.append(line.rstrip("\n"))
            if word in line:
                return lines
        elif proc.poll() is not None:
            break
    raise AssertionError(f"no {word!r} from oscdump; got {lines}")


def test_oscsend_continue_and_oscdump_receive(daemon):
    port = daemon.server.address[1]
    listen = free_udp_port()
    dump = subprocess.Popen(["oscdump", "-L", str(listen)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(0.3)
        # a prime of three notes as (pitch, start, duration, velocity), replies to oscdump's port
        subprocess.run(["oscsend", "localhost", str(port), "/cadenza/continue", "iiffiiffiiffisisf",
                        "5", "60", "0", "1", "90", "64", "1", "1", "90", "67", "2", "1", "90",
                        "reply_port", str(listen), "beats", "4"], check=True, timeout=10)
        lines = dump_until(dump, "/cadenza/done")
        started = [l for l in lines if "/cadenza/started" in l]
        notes = [l for l in lines if "/cadenza/notes" in l]
        assert started and notes
        words = notes[0].split()  # [time tag] address typetags args...
        at = words.index("/cadenza/notes")
        assert words[at + 1].startswith("iiffi") and words[at + 2] == "5"  # the request id, then notes
        subprocess.run(["oscsend", "localhost", str(port), "/cadenza/continue", "issi", "6", "oops",
                        "reply_port", str(listen)], check=True, timeout=10)
        errors = dump_until(dump, "/cadenza/error")
        assert "neither a number" in errors[-1]
    finally:
        dump.kill()
