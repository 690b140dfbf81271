"""The Max for Live device: a valid .amxd around a valid patcher, built by its script, and its Live API
logic (cadenza_live.js) run under Node with a model of Live's objects against a real daemon."""
from __future__ import annotations

import json
import re
import shutil
import socket
import struct
import subprocess
import sys
import time

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from tests.conftest import ROOT
from bridge.harness.net import free_udp_port
from tests.host.conftest import daemon  # noqa: F401

DEVICE = ROOT / "max_patches" / "Cadenza.amxd"
SOURCE = ROOT / "max_patches" / "cadenza_device.maxpat"
JS = ROOT / "max_patches" / "cadenza_live.js"
HARNESS = ROOT / "tests" / "max" / "live_harness.js"
pytest.importorskip("py2max")


def builder(name: str = "build_device"):
    """A builder script of max_patches/ as a module (they are scripts, not a package)."""
    import importlib

    sys.path.insert(0, str(ROOT / "max_patches"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.pop(0)


def test_the_amxd_header_and_the_patcher_inside(tmp_path):
    from py2max.m4l import read_amxd, unpack_amxd

    data = DEVICE.read_bytes()
    assert data[:4] == b"ampf" and struct.unpack("<I", data[4:8])[0] == 4
    assert data[8:12] == b"mmmm"  # a MIDI effect
    assert data[12:16] == b"ptch" and struct.unpack("<I", data[16:20])[0] == len(data) - 20
    assert data[20:24] == b"mx@c"
    json_size = struct.unpack(">I", data[32:36])[0] - 16
    assert data[36 + json_size - 1] == 0  # NUL-terminated JSON
    patcher, kind = read_amxd(DEVICE)
    assert kind == "midi_effect"
    raw, _ = unpack_amxd(data)
    assert json.loads(raw) == patcher
    unwrapped = tmp_path / "unwrapped.maxpat"
    unwrapped.write_text(json.dumps(patcher))
    r = subprocess.run([sys.executable, "-m", "py2max", "validate", str(unwrapped)], capture_output=True, text=True)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr
    r = subprocess.run([sys.executable, "-m", "py2max", "validate", str(SOURCE)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_the_device_is_what_build_device_py_makes(tmp_path):
    fresh = builder().build(tmp_path / "d.maxpat", tmp_path / "D.amxd")
    assert fresh.read_bytes() == DEVICE.read_bytes()
    assert json.loads((tmp_path / "d.maxpat").read_text()) == json.loads(SOURCE.read_text())


def test_the_device_wiring():
    from py2max.m4l import read_amxd

    patcher, _ = read_amxd(DEVICE)
    boxes = {b["box"]["id"]: b["box"] for b in patcher["patcher"]["boxes"]}
    lines = [(l["patchline"]["source"], l["patchline"]["destination"]) for l in patcher["patcher"]["lines"]]
    by_text = {b.get("text", ""): i for i, b in boxes.items()}
    js = by_text["js cadenza_live.js"]
    port = int(re.search(r"var REPLY_PORT = (\d+);", JS.read_text()).group(1))
    assert ([by_text[f"udpreceive {port}"], 0], [js, 0]) in lines  # replies reach the script
    assert ([js, 0], [by_text["udpsend 127.0.0.1 9000"], 0]) in lines  # requests reach the daemon
    assert ([by_text["init"], 0], [js, 0]) in lines and by_text["live.thisdevice"]
    controls = {b.get("varname") for b in boxes.values() if b.get("presentation")}
    assert {"model", "temperature", "variations", "bars", "density", "continue", "infill", "generate", "groove",
            "drumify", "interpolate", "status"} <= controls
    assert ([js, 1], [next(i for i, b in boxes.items() if b.get("varname") == "status"), 0]) in lines
    assert ([by_text["midiin"], 0], [by_text["midiout"], 0]) in lines  # MIDI passes through


def osc(address, args) -> bytes:
    """As Max's [udpsend] sends a message: ints as i, floats as f, symbols as s."""
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a, "i" if isinstance(a, int) and not isinstance(a, bool) else "f" if isinstance(a, float) else "s")
    return b.build().dgram


class Device:
    """cadenza_live.js under Node; its outlet 0 goes to the daemon, replies come back into it."""

    def __init__(self, daemon_port: int):
        self.reply = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.reply.bind(("127.0.0.1", free_udp_port()))
        self.reply.settimeout(0.1)
        self.node = subprocess.Popen(["node", str(HARNESS), str(JS), str(self.reply.getsockname()[1])],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        self.daemon = ("127.0.0.1", daemon_port)
        self.sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.status: list[str] = []
        self.sent: list[tuple] = []
        self.replies: list[tuple] = []

    def command(self, cmd: dict) -> list[dict]:
        self.node.stdin.write(json.dumps(cmd) + "\n")
        out = []
        while True:
            line = json.loads(self.node.stdout.readline())
            assert "error" not in line, line["error"]
            if "ok" in line or "live" in line:
                return out + ([line] if "live" in line else [])
            out.append(line)
            if line["outlet"] == 0:
                address, args = line["args"][0], line["args"][1:]
                self.sent.append((address, args))
                self.sender.sendto(osc(address, args), self.daemon)
            else:
                assert line["args"][0] == "set"
                self.status.append(" ".join(str(a) for a in line["args"][1:]))

    def call(self, name, *args):
        return self.command({"call": name, "args": list(args)})

    def pump(self, until, timeout=120.0):
        """Feed replies into the script until `until()` holds."""
        deadline = time.time() + timeout
        while time.time() < deadline and not until():
            try:
                data, _ = self.reply.recvfrom(65536)
            except socket.timeout:
                continue
            for m in OscPacket(data).messages:
                params = list(m.message.params)
                self.replies.append((m.message.address, params))
                self.call(m.message.address, *params)
        assert until(), (self.status, self.replies[-5:])

    def live(self):
        return self.command({"dump": True})[-1]["live"]

    def close(self):
        self.node.stdin.close()
        self.node.wait(10)
        self.reply.close()
        self.sender.close()


def live_set(selected=(0, 0), first_clip=True):
    prime = [{"pitch": p, "start_time": i * 0.5, "duration": 0.5, "velocity": 90} for i, p in
             enumerate([60, 64, 67, 72, 67, 64, 60, 55])]
    slots = [{"is_midi_clip": 1, "length": 4.0, "name": "riff", "notes": prime} if first_clip else None,
             {"is_midi_clip": 1, "length": 4.0, "name": "taken", "notes": []}, None, None]
    return {"tempo": 96.0, "num": 3, "den": 4, "selected": list(selected),
            "tracks": [{"slots": slots}, {"slots": [{"is_midi_clip": 0, "length": 8.0, "name": "drums", "notes": []},
                                                    None]}]}


@pytest.fixture
def device(daemon):  # noqa: F811
    if shutil.which("node") is None:
        pytest.skip("node is not installed (CI installs it)")
    d = Device(daemon.server.address[1])
    yield d
    d.close()


def test_continue_writes_each_variation_into_the_next_empty_slots(device):
    device.command({"set": live_set()})
    device.call("init")
    device.pump(lambda: any("connected" in s for s in device.status), timeout=30)
    device.call("model", "chorale")
    device.call("temperature", 0.9)
    device.call("variations", 2)
    device.call("bars", 2)
    device.call("continue")
    requests = [(a, args) for a, args in device.sent if a == "/cadenza/continue"]
    assert len(requests) == 2
    args = requests[0][1]
    assert args[1:33:4] == [60, 64, 67, 72, 67, 64, 60, 55]  # the clip's notes, pitch start dur vel
    settings = dict(zip(args[33::2], args[34::2]))
    assert settings["model"] == "chorale" and settings["beats"] == 6.0 and settings["qpm"] == 96.0  # 2 bars of 3/4
    device.pump(lambda: sum(1 for a, _ in device.replies if a == "/cadenza/done") == 2)
    live = device.live()
    slots = live["tracks"][0]["slots"]
    assert slots[1]["name"] == "taken" and slots[1]["notes"] == []  # an occupied slot is left alone
    for slot, (_, req) in zip(slots[2:], requests):
        rid = req[0]
        sent = [r[1][1:] for r in device.replies if r[0] == "/cadenza/notes" and r[1][0] == rid]
        expected = [n for chunk in sent for n in zip(chunk[::4], chunk[1::4], chunk[2::4], chunk[3::4])]
        assert slot["length"] == 6.0 and slot["name"] == "Cadenza chorale"
        written = [(n["pitch"], n["start_time"], n["duration"], n["velocity"]) for n in slot["notes"]]
        kept = [n for n in expected if n[1] < 6.0]
        assert len(kept) > 0 and [w[:2] for w in written] == [(p, pytest.approx(s)) for p, s, _, _ in kept]
        assert all(s + d <= 6.0 + 1e-6 for _, s, d, _ in written)  # cut at the clip's end
    assert device.status[-1].startswith("wrote")


@pytest.mark.parametrize("selected,first_clip,message", [
    ((0, 2), True, "the selected slot is empty"),
    ((1, 0), True, "the selected clip is audio"),
    ((0, 0), False, "the selected slot is empty"),
])
def test_wrong_selections_are_explained_on_the_device(device, selected, first_clip, message):
    device.command({"set": live_set(selected, first_clip)})
    device.call("continue")
    assert message in device.status[-1]
    assert not [a for a, _ in device.sent if a == "/cadenza/continue"]


def test_a_daemon_error_is_shown_and_nothing_is_written(device):
    device.command({"set": live_set()})
    device.call("model", "no-such-model")
    device.call("continue")
    device.pump(lambda: any(s.startswith("error") for s in device.status), timeout=60)
    assert "no-such-model" in device.status[-1]
    assert device.live()["tracks"][0]["slots"][2] is None


def infill_set(loop=(4.0, 8.0)):
    """A 4-bar clip of eighth notes (a C major line) whose loop region is bars 2."""
    line = [60, 62, 64, 65, 67, 65, 64, 62]
    prime = [{"pitch": line[i % 8] + (12 if i // 8 == 2 else 0), "start_time": i * 0.5, "duration": 0.5,
              "velocity": 80} for i in range(32)]
    clip = {"is_midi_clip": 1, "length": 16.0, "name": "tune", "notes": prime, "loop_start": loop[0],
            "loop_end": loop[1]}
    return {"tempo": 110.0, "num": 4, "den": 4, "selected": [0, 0], "tracks": [{"slots": [clip, None]}]}


def test_infill_rewrites_the_loop_region_as_the_notes_arrive(device):
    device.command({"set": infill_set()})
    device.call("model", "chorale-infill")
    device.call("infill")
    (address, args), = [(a, x) for a, x in device.sent if a == "/cadenza/infill"]
    rid, start, end = args[0], args[1], args[2]
    assert (start, end) == (4.0, 8.0) and len(args[3:3 + 128]) == 128  # every note of the clip, pitch start dur vel
    settings = dict(zip(args[131::2], args[132::2]))
    assert settings["model"] == "chorale-infill" and settings["meter"] == "4/4" and settings["qpm"] == 110.0
    before = device.live()["tracks"][0]["slots"][0]["notes"]
    device.pump(lambda: any(a == "/cadenza/notes" for a, _ in device.replies))
    first = device.live()["tracks"][0]["slots"][0]["notes"]  # the region changes with the first chunk
    device.pump(lambda: any(a == "/cadenza/done" for a, _ in device.replies))
    after = device.live()["tracks"][0]["slots"][0]["notes"]
    outside = [n for n in before if not 4.0 <= n["start_time"] < 8.0]
    assert [n for n in after if not 4.0 <= n["start_time"] < 8.0] == outside  # the rest is as it was
    sent = [r[1][1:] for r in device.replies if r[0] == "/cadenza/notes" and r[1][0] == rid]
    new = sorted((p, s) for chunk in sent for p, s in zip(chunk[::4], chunk[1::4]))
    inside = sorted((n["pitch"], n["start_time"]) for n in after if 4.0 <= n["start_time"] < 8.0)
    assert new and inside == [(p, pytest.approx(s)) for p, s in new]
    assert all(n["start_time"] + n["duration"] <= 8.0 + 1e-6 for n in after if 4.0 <= n["start_time"] < 8.0)
    assert [n for n in first if 4.0 <= n["start_time"] < 8.0] != [n for n in before if 4.0 <= n["start_time"] < 8.0]
    assert device.status[-1].startswith("filled beats 4-8")


def test_infill_with_a_continuation_model_is_explained_and_the_clip_is_kept(device):
    device.command({"set": infill_set()})
    device.call("model", "chorale")
    device.call("infill")
    device.pump(lambda: any(s.startswith("error") for s in device.status), timeout=60)
    assert "not an infill model" in device.status[-1]
    assert device.live()["tracks"][0]["slots"][0]["notes"] == infill_set()["tracks"][0]["slots"][0]["notes"]


def test_infill_needs_a_loop_region_inside_the_clip(device):
    device.command({"set": infill_set(loop=(0.0, 16.0))})
    device.call("infill")
    assert "loop only the bars to fill" in device.status[-1]
    assert not [a for a, _ in device.sent if a == "/cadenza/infill"]


def drum_set():
    """Track 0: a 2-bar beat (slot 0), another beat (slot 1), then empty slots."""
    def beat(snare_at):
        return [{"pitch": p, "start_time": t, "duration": 0.25, "velocity": 100} for t in range(8) for p in
                ([36] if t % 2 == 0 else []) + ([38] if t % 4 == snare_at else [])] + \
               [{"pitch": 42, "start_time": t * 0.5, "duration": 0.25, "velocity": 80} for t in range(16)]
    slots = [{"is_midi_clip": 1, "length": 8.0, "name": "beat A", "notes": beat(1)},
             {"is_midi_clip": 1, "length": 8.0, "name": "beat B", "notes": beat(3)}, None, None, None, None]
    return {"tempo": 100.0, "num": 4, "den": 4, "selected": [0, 0], "tracks": [{"slots": slots}]}


def _groove_model():
    from bridge import store

    try:
        store.find("groove")
    except Exception:
        pytest.skip("no groove model in the store")


def test_groove_and_drumify_write_new_clips(device):
    _groove_model()
    device.command({"set": drum_set()})
    device.call("groove")
    device.pump(lambda: any(a == "/cadenza/done" for a, _ in device.replies))
    slots = device.live()["tracks"][0]["slots"]
    before = drum_set()["tracks"][0]["slots"][0]["notes"]
    assert slots[2]["length"] == 8.0 and len(slots[2]["notes"]) == len(before)  # every hit, played with feel
    assert sorted(n["pitch"] for n in slots[2]["notes"]) == sorted(n["pitch"] for n in before)
    assert device.status[-1].startswith("groove: wrote 1 clip(s)")
    device.call("variations", 2)
    device.call("drumify")
    device.pump(lambda: sum(1 for a, _ in device.replies if a == "/cadenza/done") == 2)
    slots = device.live()["tracks"][0]["slots"]
    assert slots[3] and slots[4] and slots[3]["notes"] and slots[4]["notes"]  # two kits, one clip each


def test_interpolate_goes_from_the_selected_clip_to_the_one_below(device):
    _groove_model()
    device.command({"set": drum_set()})
    device.call("variations", 3)
    device.call("interpolate")
    (address, args), = [(a, x) for a, x in device.sent if a == "/cadenza/interpolate"]
    assert args[1] == len(drum_set()["tracks"][0]["slots"][0]["notes"])  # count_a: beat A's notes
    device.pump(lambda: any(a == "/cadenza/done" for a, _ in device.replies))
    slots = device.live()["tracks"][0]["slots"]
    assert all(slots[k] and slots[k]["length"] == 8.0 for k in (2, 3, 4)) and slots[5] is None


def test_generate_fills_the_selected_empty_slot(device):
    live = drum_set()
    live["selected"] = [0, 3]
    device.command({"set": live})
    device.call("model", "chorale")
    device.call("bars", 1)
    device.call("generate")
    device.pump(lambda: any(a == "/cadenza/done" for a, _ in device.replies))
    slot = device.live()["tracks"][0]["slots"][3]
    assert slot and slot["length"] == 4.0 and slot["notes"] and slot["name"] == "Cadenza chorale"
