"""Build the Live 12 MIDI Tools `Cadenza Generate.amxd` and `Cadenza Transform.amxd` (and their sources,
cadenza_generate.maxpat and cadenza_transform.maxpat).

    python max_patches/build_miditools.py

Both run max_patches/cadenza_miditool.js (keep it beside them) and talk OSC to `cadenza serve` on
127.0.0.1:9000, hearing replies on their own port 9126. What each control sends and receives: docs/live.md.

    [live.miditool.in] --notes--> [prepend notes]   --\\
                       --context-> [prepend context] --> [js cadenza_miditool.js ROLE] --0--> [udpsend 127.0.0.1 9000]
    [udpreceive 9126] ------------------------------/                                  --1--> [live.miditool.out]
    controls -> [prepend KEY] ---------------------/                                   --2--> status line
                                                                                        --3--> [live.miditool.in] (next)

The container is the one Max for Live writes for MIDI Tools, read from Live 12 Transformation devices
(Max-exported, e.g. h1data/M4L-MIDI-tool-examples): the .amxd layout of build_device.py with the device type
"natt" and a "meta" chunk (u32 LE 4, u32 LE 7) between it and "ptch". Both tools are of that type: a
Transformation gets the clip's notes (a Generator gets none), and Cadenza Generate continues the notes before
the time selection. tests/max/test_miditools.py checks the header and the patchers and runs the script under
Node against a real daemon.
"""
from __future__ import annotations

import json
import struct
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEND_PORT = 9000
REPLY_PORT = 9126
MTIME = 3_850_000_000  # fixed (Max epoch): rebuilding gives the same bytes
GENERATE_MODELS = ["default", "piano", "chorale", "melody", "sonata-kern", "drums"]
TRANSFORM_MODELS = ["default", "chorale-infill", "piano-infill", "melody", "chorale-harmony"]
MODES = ["infill", "groove", "humanize", "drumify", "harmonize"]
TOOL_TYPE = b"natt"  # a MIDI Tool (Transformation), as Live 12 writes it
META = b"meta" + struct.pack("<I", 4) + struct.pack("<I", 7)


def _param(longname: str, shortname: str, kind: int, **extra) -> dict:
    return {"valueof": {"parameter_longname": longname, "parameter_shortname": shortname,
                        "parameter_type": kind, **extra}}


def pack_tool(patcher_json: str, filename: str) -> bytes:
    """The .amxd of a MIDI Tool: py2max's container with the tool's device type and its meta chunk."""
    from py2max.m4l import pack_amxd

    data = pack_amxd(patcher_json, device_type="midi_effect", patcher_filename=filename, mtime=MTIME)
    assert data[8:12] == b"mmmm"
    return data[:8] + TOOL_TYPE + META + data[12:]


def build(role: str, source: Path, device: Path) -> Path:
    from py2max import Patcher
    from py2max.m4l import add_to_presentation, enable_presentation

    p = Patcher(str(source), validate_connections=True)
    p.rect = [40.0, 60.0, 900.0, 560.0]
    box = p.add_textbox
    line = p.add_line

    tin = box("live.miditool.in", patching_rect=[20, 20, 110, 22], numinlets=1, numoutlets=3,
              outlettype=["", "", ""])
    tout = box("live.miditool.out", patching_rect=[20, 400, 110, 22], numinlets=1, numoutlets=0)
    pnotes = box("prepend notes", patching_rect=[20, 60, 90, 22])
    pctx = box("prepend context", patching_rect=[120, 60, 100, 22])
    line(tin, pnotes, outlet=0)
    line(tin, pctx, outlet=1)
    js = box(f"js cadenza_miditool.js {role}", patching_rect=[300, 300, 190, 22], numinlets=1, numoutlets=4,
             outlettype=["", "", "", ""])
    line(pnotes, js)
    line(pctx, js)
    udpsend = box(f"udpsend 127.0.0.1 {SEND_PORT}", patching_rect=[300, 360, 160, 22])
    udprecv = box(f"udpreceive {REPLY_PORT}", patching_rect=[700, 250, 120, 22])
    line(js, udpsend, outlet=0)
    line(js, tout, outlet=1)
    line(js, tin, outlet=3)  # "next": continue the apply cycle
    line(udprecv, js)

    thisdev = box("live.thisdevice", patching_rect=[300, 20, 100, 22])
    init = p.add_message("init", patching_rect=[300, 50, 40, 22])
    line(thisdev, init, outlet=0)
    line(init, js)
    metro = box("metro 250", patching_rect=[420, 50, 70, 22])  # the timeout is checked four times a second
    tick = p.add_message("tick", patching_rect=[420, 80, 40, 22])
    line(thisdev, metro, outlet=0)
    line(metro, tick)
    line(tick, js)

    title = p.add_comment(f"Cadenza {role.capitalize()}", patching_rect=[140, 20, 150, 20], fontsize=13)
    add_to_presentation(title, [6, 2, 150, 18])

    def wired(control, key, prepend_rect, where, outlet=0):
        """A control in the device strip whose value goes to the script as `KEY value`."""
        pre = box(f"prepend {key}", patching_rect=prepend_rect)
        line(control, pre, outlet=outlet)
        line(pre, js)
        add_to_presentation(control, where)
        return control

    def menu(items, x, where):
        m = box("live.menu", patching_rect=[x, 120, 100, 15], varname="model",
                saved_attribute_attributes=_param("Model", "Model", 2, parameter_enum=items, parameter_initial=[0]))
        wired(m, "model", [x, 150, 90, 22], where, outlet=1)  # a menu's item text comes from outlet 1

    def dial(name, short, low, high, initial, x, where):
        d = box("live.dial", patching_rect=[x, 110, 44, 48], varname=name,
                saved_attribute_attributes=_param(name.capitalize(), short, 0, parameter_mmin=low, parameter_mmax=high,
                                                  parameter_initial=[initial]))
        wired(d, name, [x, 190, 120, 22], where)

    def numbox(name, short, low, high, initial, x, where):
        n = box("live.numbox", patching_rect=[x, 120, 40, 15], varname=name,
                saved_attribute_attributes=_param(name.capitalize(), short, 1, parameter_mmin=low, parameter_mmax=high,
                                                  parameter_initial=[initial]))
        wired(n, name, [x, 150, 90, 22], where)
        label = p.add_comment(name, patching_rect=[x + 45, 118, 50, 20])
        add_to_presentation(label, [where[0] + 42, where[1] - 2, 50, 18])

    def toggle(name, x, where):
        t = box("live.toggle", patching_rect=[x, 220, 15, 15], varname=name,
                saved_attribute_attributes=_param(name.capitalize(), name[:8], 2, parameter_enum=["off", "on"],
                                                  parameter_initial=[1 if name == "use_scale" else 0]))
        wired(t, name, [x, 245, 95, 22], where)
        label = p.add_comment(name.replace("_", " "), patching_rect=[x + 20, 218, 70, 20])
        add_to_presentation(label, [where[0] + 18, where[1] - 3, 70, 18])

    if role == "generate":
        menu(GENERATE_MODELS, 20, [6, 24, 96, 15])
        dial("temperature", "Temp", 0.1, 2.0, 1.0, 140, [106, 22, 40, 44])
        numbox("density", "Dens", 0, 16, 0, 200, [152, 24, 40, 15])
        numbox("seed", "Seed", -1, 99999, -1, 300, [152, 44, 40, 15])
        toggle("use_scale", 420, [6, 48, 15, 15])
        toggle("quantise", 530, [6, 66, 15, 15])
        nxt = box("live.text", patching_rect=[640, 300, 60, 20], varname="next", mode=0,
                  saved_attribute_attributes=_param("Next", "Next", 2, parameter_enum=["off", "on"]))
        sel = box("sel 1", patching_rect=[640, 330, 40, 22])
        msg = p.add_message("next", patching_rect=[640, 360, 40, 22])
        line(nxt, sel, outlet=0)
        line(sel, msg, outlet=0)
        line(msg, js)
        add_to_presentation(nxt, [106, 70, 40, 16])
    else:
        tab = box("live.tab", patching_rect=[20, 220, 250, 20], varname="mode",
                  saved_attribute_attributes=_param("Mode", "Mode", 2, parameter_enum=MODES, parameter_initial=[0]))
        wired(tab, "mode", [20, 250, 90, 22], [6, 22, 250, 18])
        menu(TRANSFORM_MODELS, 20, [6, 46, 110, 15])
        dial("temperature", "Temp", 0.1, 2.0, 1.0, 140, [122, 42, 40, 44])
        numbox("seed", "Seed", -1, 99999, -1, 300, [170, 46, 40, 15])

    status = p.add_message("start `cadenza serve`, then Apply", patching_rect=[300, 440, 400, 22], varname="status")
    line(js, status, outlet=2)
    add_to_presentation(status, [6, 90, 250, 20])

    enable_presentation(p, devicewidth=262)
    p.save()
    patcher = json.loads(source.read_text())
    for b in patcher["patcher"]["boxes"]:
        if b["box"].get("varname") == "next":
            b["box"]["text"] = "Next"
    source.write_text(json.dumps(patcher, indent=4) + "\n")
    device.write_bytes(pack_tool(json.dumps(patcher, indent=4), device.with_suffix(".maxpat").name))
    return device


def build_all(folder: Path = HERE) -> list[Path]:
    return [build("generate", folder / "cadenza_generate.maxpat", folder / "Cadenza Generate.amxd"),
            build("transform", folder / "cadenza_transform.maxpat", folder / "Cadenza Transform.amxd")]


if __name__ == "__main__":
    for path in build_all():
        print(path)
