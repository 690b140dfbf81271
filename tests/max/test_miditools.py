"""The Live 12 MIDI Tools (Cadenza Generate, Cadenza Transform): MIDI Tool containers around valid patchers, built
by their script, and their script run under Node with models of live.miditool.in/out and Max's Dict against a
real daemon: a selection filled, each transform applied, the clip's scale respected, an error and a timeout
leaving the clip as it was, a second apply replacing the first."""
from __future__ import annotations

import json
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest
from pythonosc.osc_packet import OscPacket

from tests.conftest import ROOT
from bridge.harness.net import free_udp_port
from tests.host.conftest import daemon  # noqa: F401
from tests.max.test_amxd import builder, osc

JS = ROOT / "max_patches" / "cadenza_miditool.js"
HARNESS = ROOT / "tests" / "max" / "miditool_harness.js"
TOOLS = {"generate": ROOT / "max_patches" / "Cadenza Generate.amxd",
         "transform": ROOT / "max_patches" / "Cadenza Transform.amxd"}
pytest.importorskip("py2max")


def unwrap(data: bytes) -> dict:
    """The patcher inside a MIDI Tool's .amxd, its header checked on the way."""
    assert data[:4] == b"ampf" and struct.unpack("<I", data[4:8])[0] == 4
    assert data[8:12] == b"natt"  # a MIDI Tool, as Live 12 writes one
    assert data[12:16] == b"meta" and struct.unpack("<II", data[16:24]) == (4, 7)
    assert data[24:28] == b"ptch" and struct.unpack("<I", data[28:32])[0] == len(data) - 32
    assert data[32:36] == b"mx@c"
    size = struct.unpack(">I", data[44:48])[0] - 16
    assert data[48 + size - 1] == 0  # NUL-terminated JSON
    assert data[48 + size:48 + size + 4] == b"dlst"
    return json.loads(data[48:48 + size - 1])


@pytest.mark.parametrize("role", ["generate", "transform"])
def test_the_tool_containers_hold_valid_patchers_and_are_what_the_script_builds(role, tmp_path):
    patcher = unwrap(TOOLS[role].read_bytes())
    source = tmp_path / "p.maxpat"
    source.write_text(json.dumps(patcher))
    r = subprocess.run([sys.executable, "-m", "py2max", "validate", str(source)], capture_output=True, text=True)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr
    fresh = builder("build_miditools").build(role, tmp_path / "x.maxpat", tmp_path / f"Cadenza {role.capitalize()}.amxd")
    assert fresh.read_bytes() == TOOLS[role].read_bytes()
    # the wiring: the tool's notes and context into the script, its answer out to the clip
    boxes = {b["box"]["id"]: b["box"] for b in patcher["patcher"]["boxes"]}
    lines = {(l["patchline"]["source"][0], l["patchline"]["source"][1], l["patchline"]["destination"][0])
             for l in patcher["patcher"]["lines"]}
    by = {b.get("text", ""): i for i, b in boxes.items()}
    js, tin, tout = by[f"js cadenza_miditool.js {role}"], by["live.miditool.in"], by["live.miditool.out"]
    assert (tin, 0, by["prepend notes"]) in lines and (tin, 1, by["prepend context"]) in lines
    assert (by["prepend notes"], 0, js) in lines and (by["prepend context"], 0, js) in lines
    assert (js, 0, by["udpsend 127.0.0.1 9000"]) in lines and (js, 1, tout) in lines and (js, 3, tin) in lines
    assert (by["udpreceive 9126"], 0, js) in lines and (by["tick"], 0, js) in lines
    controls = {b.get("varname") for b in boxes.values() if b.get("presentation")}
    want = {"model", "temperature", "seed", "status"} | ({"density", "use_scale", "quantise", "next"}
                                                          if role == "generate" else {"mode"})
    assert want <= controls


class Tool:
    """cadenza_miditool.js under Node; outlet 0 goes to the daemon, replies come back into it."""

    def __init__(self, role: str, daemon_port: int):
        self.reply = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.reply.bind(("127.0.0.1", free_udp_port()))
        self.reply.settimeout(0.1)
        self.node = subprocess.Popen(["node", str(HARNESS), str(JS), role, str(self.reply.getsockname()[1])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.daemon = ("127.0.0.1", daemon_port)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.status: list[str] = []
        self.sent: list[tuple] = []
        self.written: list[list[dict]] = []  # what live.miditool.out set the clip to, each time
        self.bangs = 0
        self.done = 0

    def command(self, cmd: dict):
        self.node.stdin.write(json.dumps(cmd) + "\n")
        names = []
        while True:
            line = json.loads(self.node.stdout.readline())
            assert "error" not in line, line["error"]
            if "ok" in line:
                for name in names:  # what the clip was set to, read once the call is over
                    self.written.append(self.command({"get": name})["notes"])
                return
            if "value" in line:
                return line["value"]
            n, args = line["outlet"], line["args"]
            if n == 0:
                self.sent.append((args[0], args[1:]))
                self.sender.sendto(osc(args[0], args[1:]), self.daemon)
            elif n == 1:
                assert args[0] == "dictionary"
                names.append(args[1])
            elif n == 2:
                self.status.append(" ".join(str(a) for a in args[1:]))
            else:
                self.bangs += 1

    def call(self, name, *args):
        self.command({"call": name, "args": list(args)})

    def apply(self, notes: list[dict], context: dict):
        """What live.miditool.in does on Apply: the context, then the notes, as named dictionaries."""
        self.command({"dict": {"name": "ctx", "value": context}})
        self.command({"dict": {"name": "in", "value": {"notes": notes}}})
        self.call("context", "dictionary", "ctx")
        self.call("notes", "dictionary", "in")

    def pump(self, until, timeout=120.0):
        deadline = time.time() + timeout
        while time.time() < deadline and not until():
            try:
                data, _ = self.reply.recvfrom(65536)
            except socket.timeout:
                continue
            for m in OscPacket(data).messages:
                if m.message.address in ("/cadenza/done", "/cadenza/error"):
                    self.done += 1
                self.call(m.message.address, *m.message.params)
        assert until(), self.status[-5:]

    def close(self):
        self.node.stdin.close()
        self.node.wait(10)
        self.reply.close()
        self.sender.close()


def clip_notes(pitches=(60, 62, 64, 65, 67, 69, 71, 72), step=0.5):
    return [{"pitch": p, "start_time": i * step, "duration": step, "velocity": 90.0, "mute": 0, "probability": 1.0,
             "velocity_deviation": 0.0, "release_velocity": 64.0, "note_id": i + 1} for i, p in enumerate(pitches)]


def context(start=4.0, end=8.0, scale=True, grid=0.25, grid_on=True):
    return {"clip": {"time_selection_start": start, "time_selection_end": end, "insert_marker_time": start,
                     "first_note_start": 0.0, "last_note_end": 4.0, "lowest_pitch": 60, "highest_pitch": 72},
            "scale": {"scale_mode": 1 if scale else 0, "root_note": 2, "scale_intervals": [0, 2, 3, 5, 7, 9, 10],
                      "scale_name": "Dorian"},
            "grid": {"interval": grid, "enabled": 1 if grid_on else 0}}


def tool(role, daemon_port):
    if shutil.which("node") is None:
        pytest.skip("node is not installed (CI installs it)")
    t = Tool(role, daemon_port)
    t.call("init")
    return t


@pytest.fixture
def generate(daemon):  # noqa: F811
    t = tool("generate", daemon.server.address[1])
    yield t
    t.close()


@pytest.fixture
def transform(daemon):  # noqa: F811
    t = tool("transform", daemon.server.address[1])
    yield t
    t.close()


def test_generate_fills_the_selection_in_the_clips_scale_and_next_shows_another_variation(generate):
    g = generate
    g.call("model", "chorale")
    g.call("seed", 7)
    g.call("quantise", 1)
    notes = clip_notes()
    g.apply(notes, context())
    address, args = g.sent[-1]
    assert address == "/cadenza/continue"
    pairs = dict(zip(args[33::2], args[34::2]))
    assert args[1:33:4] == [60, 62, 64, 65, 67, 69, 71, 72]  # the notes before the selection are the prime
    assert pairs["scale"] == "2,4,5,7,9,11,0" and pairs["beats"] == 4.0 and pairs["variations"] == 4  # D dorian
    g.pump(lambda: g.written)
    out = g.written[-1]
    kept = [n for n in out if "note_id" in n]
    new = [n for n in out if "note_id" not in n]
    assert [n["note_id"] for n in kept] == list(range(1, 9))  # the notes outside the selection, as they were
    assert new and all(4.0 <= n["start_time"] < 8.0 and n["start_time"] + n["duration"] <= 8.0 + 1e-9 for n in new)
    assert all(n["pitch"] % 12 in {2, 4, 5, 7, 9, 11, 0} for n in new)  # the clip's scale
    assert all(abs(n["start_time"] / 0.25 - round(n["start_time"] / 0.25)) < 1e-9 for n in new)  # on the grid
    sent = len(g.sent)
    g.call("next")
    assert g.bangs == 1  # the apply cycle continues: live.miditool.in gives the same notes again
    g.apply(notes, context())
    assert len(g.sent) == sent  # no new request
    second = [n for n in g.written[-1] if "note_id" not in n]
    assert second and second != new and "variation 2 of 4" in g.status[-1]


def test_generate_from_nothing_and_without_the_scale(generate):
    g = generate
    g.call("model", "chorale")
    g.call("use_scale", 0)
    g.apply([], context(0.0, 4.0))
    address, args = g.sent[-1]
    assert address == "/cadenza/generate" and "scale" not in args
    g.pump(lambda: g.written)
    assert g.written[-1] and all(0 <= n["start_time"] < 4.0 for n in g.written[-1])


@pytest.mark.skipif(not (ROOT / "models" / "chorale-infill" / "cadenza.json").is_file(), reason="no infill model")
def test_infill_rewrites_the_selected_range_and_a_second_apply_replaces_the_first(transform):
    t = transform
    t.call("mode", 0)
    t.call("model", "chorale-infill")
    notes = clip_notes(tuple(range(60, 76)), step=0.5)  # 8 beats
    for k in (1, 2):
        t.call("seed", k)
        t.apply(notes, context(2.0, 4.0))
        t.pump(lambda: len(t.written) == k)
    first, second = t.written
    for out in (first, second):
        kept = sorted(n["note_id"] for n in out if "note_id" in n)
        assert kept == [n["note_id"] for n in notes if not 2.0 <= n["start_time"] < 4.0]  # outside: untouched
        new = [n for n in out if "note_id" not in n]
        assert new and all(2.0 <= n["start_time"] < 4.0 for n in new)
    # the second apply started from the cycle's notes: its range holds its own answer only, never both
    answered = int(t.status[-1].split("done, ")[1].split()[0])
    assert len([n for n in second if "note_id" not in n]) == answered


def test_drumify_adds_a_kit_and_humanize_moves_only_timing_and_velocity(transform):
    t = transform
    notes = clip_notes()
    t.call("mode", "drumify")
    t.apply(notes, context(0.0, 4.0))
    assert t.sent[-1][0] == "/cadenza/drumify"
    t.pump(lambda: t.written)
    out = t.written[-1]
    assert sorted(n["note_id"] for n in out if "note_id" in n) == list(range(1, 9))
    assert any("note_id" not in n and 35 <= n["pitch"] <= 59 for n in out)
    t.call("mode", "humanize")
    t.apply(notes, context(0.0, 4.0))
    assert t.sent[-1][0] == "/cadenza/groove" and set(t.sent[-1][1][1::4][:8]) == {42}
    t.pump(lambda: len(t.written) == 2)
    out = sorted(t.written[-1], key=lambda n: n["note_id"])
    assert [n["pitch"] for n in out] == [n["pitch"] for n in notes]  # the same notes
    assert all(abs(a["start_time"] - b["start_time"]) <= 0.125 + 1e-9 for a, b in zip(out, notes))
    assert any(a["start_time"] != b["start_time"] or a["velocity"] != b["velocity"] for a, b in zip(out, notes))


def test_groove_plays_drum_notes_with_feel(transform):
    t = transform
    t.call("mode", "groove")
    beat = [{"pitch": p, "start_time": b / 2, "duration": 0.1, "velocity": 100.0, "note_id": i + 1}
            for i, (p, b) in enumerate([(36, 0), (42, 0), (42, 1), (38, 2), (42, 2), (42, 3), (36, 4), (42, 4),
                                        (42, 5), (38, 6), (42, 6), (42, 7)])]
    t.apply(beat, context(0.0, 4.0))
    t.pump(lambda: t.written)
    out = t.written[-1]
    assert len(out) == len(beat) and sorted(n["pitch"] for n in out) == sorted(n["pitch"] for n in beat)


@pytest.mark.skipif(not (ROOT / "models" / "chorale-harmony" / "cadenza.json").is_file(), reason="no harmony model")
def test_harmonize_adds_parts_under_the_melody(transform):
    t = transform
    t.call("mode", "harmonize")
    melody = clip_notes((67, 67, 69, 71, 71, 69, 67, 66), step=1.0)
    t.apply(melody, context(0.0, 8.0))
    assert t.sent[-1][0] == "/cadenza/harmonize"
    t.pump(lambda: t.written)
    out = t.written[-1]
    assert sorted(n["note_id"] for n in out if "note_id" in n) == list(range(1, 9))
    parts = [n for n in out if "note_id" not in n]
    assert parts and all(n["pitch"] < max(m["pitch"] for m in melody) for n in parts)


def test_an_error_and_a_timeout_leave_the_clip_as_it_was(transform, daemon):  # noqa: F811
    t = transform
    t.call("mode", "infill")
    t.call("model", "chorale")  # a continuation model: the daemon refuses infill with it
    t.apply(clip_notes(), context(1.0, 2.0))
    t.pump(lambda: t.done)
    assert not t.written and "unchanged" in t.status[-1] and "Cadenza:" in t.status[-1]
    # nobody answers: after the timeout the tool says so and sets nothing
    t.daemon = ("127.0.0.1", free_udp_port())
    t.call("timeout", 0.5)
    t.call("mode", "drumify")
    t.apply(clip_notes(), context(0.0, 4.0))
    time.sleep(0.7)
    t.call("tick")
    assert not t.written and "no answer" in t.status[-1] and "unchanged" in t.status[-1]
