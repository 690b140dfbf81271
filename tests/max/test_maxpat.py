"""The Max patch: structurally valid, up to date with its builder, and every message it sends is one
a real daemon accepts."""
from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT
from bridge.harness.osc import Client
from tests.host.conftest import daemon  # noqa: F401

PATCH = ROOT / "max_patches" / "cadenza.maxpat"
pytest.importorskip("py2max")

# what Max's interface objects send when a person uses them, by the box's varname
UI_SAMPLES = {"model": "chorale", "temperature": "0.9", "beats": "8", "variations": "2", "bpm": "120"}


def load(path=PATCH):
    d = json.loads(path.read_text())["patcher"]
    boxes = {b["box"]["id"]: b["box"] for b in d["boxes"]}
    lines = [(l["patchline"]["source"], l["patchline"]["destination"]) for l in d["lines"]]
    return boxes, lines


def into(lines, box_id, inlet):
    return [src for src, dst in lines if dst == [box_id, inlet]]


def output(boxes, lines, src) -> str:
    """What a box sends from an outlet, for the objects the patch uses between a control and [udpsend]."""
    box_id, outlet = src
    b = boxes[box_id]
    text = b.get("text", "")
    cls = b["maxclass"]
    if cls == "message":
        return text
    if cls in ("umenu", "flonum", "number"):
        return UI_SAMPLES[b["varname"]]
    name, _, args = text.partition(" ")
    if name == "prepend":
        return f"{args} {output(boxes, lines, into(lines, box_id, 0)[0])}"
    if name == "counter":
        return args.split()[0]  # its first count
    if name == "pack":
        return "60 100"  # from [notein]: pitch, velocity
    if name == "zl.join":
        return f"{output(boxes, lines, into(lines, box_id, 0)[0])} {output(boxes, lines, into(lines, box_id, 1)[0])}"
    if name == "t":  # a trigger passes a list on from an 'l' outlet
        return output(boxes, lines, into(lines, box_id, 0)[0])
    raise AssertionError(f"the test does not know what [{text}] sends")


def to_osc(text: str):
    """Max's [udpsend] turns a message into OSC: the first word is the address; ints, floats, symbols."""
    words = text.split()
    args = []
    for w in words[1:]:
        try:
            args.append(int(w))
        except ValueError:
            try:
                args.append(float(w))
            except ValueError:
                args.append(w)
    return words[0], args


def sent_messages():
    boxes, lines = load()
    udpsend = next(i for i, b in boxes.items() if b.get("text", "").startswith("udpsend"))
    return [to_osc(output(boxes, lines, src)) for src in into(lines, udpsend, 0)]


def test_py2max_validates_the_patch():
    r = subprocess.run([sys.executable, "-m", "py2max", "validate", str(PATCH)], capture_output=True, text=True)
    assert r.returncode == 0 and "0 error" in r.stdout + r.stderr or "clean" in r.stdout, r.stdout + r.stderr


def test_the_patch_is_what_build_py_makes(tmp_path):
    sys.path.insert(0, str(ROOT / "max_patches"))
    try:
        import build
    finally:
        sys.path.pop(0)
    fresh = build.build(tmp_path / "fresh.maxpat")
    a, la = load(fresh)
    b, lb = load()
    assert {k: v.get("text") for k, v in a.items()} == {k: v.get("text") for k, v in b.items()} and la == lb


def test_the_patch_routes_every_reply_the_daemon_sends_it():
    boxes, lines = load()
    texts = [b.get("text", "") for b in boxes.values()]
    route = next(t for t in texts if t.startswith("route /cadenza/"))
    for address in ("/cadenza/notes", "/cadenza/started", "/cadenza/done", "/cadenza/error", "/cadenza/models"):
        assert address in route.split()
    port = next(t for t in texts if t.startswith("udpreceive")).split()[1]
    assert any(t == f"/cadenza/set reply_port {port}" for t in texts)  # it tells Cadenza where it listens


def test_every_message_the_patch_sends_is_accepted_by_a_real_daemon(daemon):  # noqa: F811
    messages = sent_messages()
    addresses = {a for a, _ in messages}
    assert {"/cadenza/set", "/cadenza/note", "/cadenza/continue", "/cadenza/models", "/cadenza/groove",
            "/cadenza/drumify"} <= addresses
    c = Client(daemon.server.address[1])
    try:
        c.send("/cadenza/set", "reply_port", 0)  # this test listens where it sends from
        c.receive(until=("/cadenza/ok",))
        # playing on the keyboard first, so a bare /cadenza/continue has a prime
        order = sorted(messages, key=lambda m: (m[0] == "/cadenza/continue", m[0] != "/cadenza/note"))
        for address, args in order:
            if address == "/cadenza/set" and args[0] == "reply_port":
                continue  # would send the replies to the patch's port, where nobody listens in this test
            c.send(address, *args)
            if address == "/cadenza/note":
                c.send("/cadenza/note", args[0], args[1], 0)  # and the key goes up again
                time.sleep(0.05)
                continue
            until = {"/cadenza/set": ("/cadenza/ok", "/cadenza/error"), "/cadenza/models": ("/cadenza/models",
                     "/cadenza/error")}.get(address, ("/cadenza/done", "/cadenza/error"))
            reply = c.receive(until=until, timeout=60)
            assert reply[-1][0] != "/cadenza/error", (address, args, reply[-1])
    finally:
        c.send("/cadenza/set", "variations", 1, "temperature", 1.0, "beats", 4.0)
        c.close()


def test_the_jam_patch_is_valid_built_and_wired_to_cadenzas_ports(tmp_path):
    jam = ROOT / "max_patches" / "cadenza_jam.maxpat"
    r = subprocess.run([sys.executable, "-m", "py2max", "validate", str(jam)], capture_output=True, text=True)
    assert r.returncode == 0 and "clean" in r.stdout, r.stdout + r.stderr
    sys.path.insert(0, str(ROOT / "max_patches"))
    try:
        import build_jam
    finally:
        sys.path.pop(0)
    fresh = build_jam.build(tmp_path / "fresh.maxpat")
    a, la = load(fresh)
    b, lb = load(jam)
    assert {k: v.get("text") for k, v in a.items()} == {k: v.get("text") for k, v in b.items()} and la == lb
    texts = [v.get("text", "") for v in b.values()]
    from bridge.host.live import Live  # noqa: F401 - the names the daemon opens its virtual ports with

    assert 'noteout "Cadenza in"' in texts and 'notein "Cadenza out"' in texts and 'midiout "Cadenza in"' in texts
