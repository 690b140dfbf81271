"""Build the Max for Live MIDI device max_patches/Cadenza.amxd (and its source, cadenza_device.maxpat).

    python max_patches/build_device.py

The device is the "Continue" of Magenta Studio, in a device strip: select a MIDI clip in Session view,
press Continue, and the continuation lands in the next empty clip slot below it. The Live API work
(get_notes_extended, create_clip, add_new_notes) is in cadenza_live.js, run by Max's [js] object; keep
that file beside Cadenza.amxd (or anywhere in Max's search path).

Controls: model (menu), temperature (dial), variations (1-8; each goes to its own clip slot), bars
(1-64, in the Live set's meter), density (notes per beat, 0: the model's own), Continue (button),
Infill (button: the selected clip's loop region written anew by an infill model, given the music
around it, the new notes written into the clip as they arrive), Generate, and Magenta Studio's drum
devices: Groove (the selected drum clip played with feel), Drumify (a kit part for the selected clip's
rhythm), Interpolate (from the selected clip to the clip below it, `variations` steps), each result in
the next empty clip slots; and a status line that shows progress and errors.
MIDI passes through unchanged ([midiin] -> [midiout]), as a MIDI effect should.
The device talks OSC to `cadenza serve` on 127.0.0.1:9000 and hears replies on its own port 9125.

The .amxd file (what py2max.m4l.pack_amxd writes, reverse-engineered from Max-exported devices):

    offset  size  value
    0       4     "ampf"                   magic
    4       4     u32 LE 4                 format version
    8       4     "mmmm"                   device type: MIDI effect ("aaaa" audio, "iiii" instrument)
    12      4     "ptch"                   chunk id
    16      4     u32 LE file size - 20    chunk size
    20      4     "mx@c"                   sub-block id
    24      12    u32 BE 16, 0, JSON size + 16
    36      N+1   the patcher JSON, NUL-terminated
    then a "dlst" chunk listing the patcher as a dependency (type "JSON", its file name, size, offset,
    version, flags, modification time in seconds since 1904); each chunk is FOURCC + u32 BE size.

tests/max/test_amxd.py unwraps the .amxd, checks the header and validates the patcher inside with
`python -m py2max validate`, and runs cadenza_live.js against a real daemon with a model of the Live API.
"""
from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEND_PORT = 9000
REPLY_PORT = 9125
MODELS = ["piano", "chorale", "sonata-kern", "messages", "melody", "chorale-infill", "piano-infill", "drums"]
MTIME = 3_850_000_000  # a fixed modification time (Max epoch) so rebuilding gives the same bytes


def _param(longname: str, shortname: str, kind: int, **extra) -> dict:
    """A Live parameter's attributes: kind 0 float, 1 int, 2 enum."""
    return {"valueof": {"parameter_longname": longname, "parameter_shortname": shortname,
                        "parameter_type": kind, **extra}}


def build(source: Path = HERE / "cadenza_device.maxpat", device: Path = HERE / "Cadenza.amxd") -> Path:
    from py2max import Patcher
    from py2max.m4l import add_to_presentation, enable_presentation, pack_amxd, ensure_amxd_project_block

    p = Patcher(str(source), validate_connections=True)
    p.rect = [40.0, 60.0, 900.0, 620.0]
    box = p.add_textbox
    line = p.add_line

    # MIDI passes through
    midiin = box("midiin", patching_rect=[20, 20, 50, 22])
    midiout = box("midiout", patching_rect=[20, 50, 55, 22])
    line(midiin, midiout)

    js = box("js cadenza_live.js", patching_rect=[300, 300, 140, 22], numinlets=1, numoutlets=2,
             outlettype=["", ""])
    udpsend = box(f"udpsend 127.0.0.1 {SEND_PORT}", patching_rect=[300, 360, 160, 22])
    udprecv = box(f"udpreceive {REPLY_PORT}", patching_rect=[500, 250, 120, 22])
    line(js, udpsend, outlet=0)
    line(udprecv, js)  # replies arrive with their OSC address as the message name

    thisdev = box("live.thisdevice", patching_rect=[300, 20, 100, 22])
    init = p.add_message("init", patching_rect=[300, 50, 40, 22])
    line(thisdev, init, outlet=0)  # the Live API is ready only once the device has loaded
    line(init, js)

    title = p.add_comment("Cadenza", patching_rect=[100, 20, 80, 20], fontsize=14)
    add_to_presentation(title, [8, 4, 90, 20])

    menu = box("live.menu", patching_rect=[20, 120, 100, 15], varname="model",
               saved_attribute_attributes=_param("Model", "Model", 2, parameter_enum=MODELS, parameter_initial=[0]))
    pmodel = box("prepend model", patching_rect=[20, 150, 90, 22])
    line(menu, pmodel, outlet=1)  # the item's text
    line(pmodel, js)
    add_to_presentation(menu, [8, 30, 100, 15])

    dial = box("live.dial", patching_rect=[140, 110, 44, 48], varname="temperature",
               saved_attribute_attributes=_param("Temperature", "Temp", 0, parameter_mmin=0.1, parameter_mmax=2.0,
                                                 parameter_initial=[1.0], parameter_unitstyle=1))
    ptemp = box("prepend temperature", patching_rect=[140, 170, 120, 22])
    line(dial, ptemp, outlet=0)
    line(ptemp, js)
    add_to_presentation(dial, [116, 26, 44, 48])

    def numbox(name, short, low, high, initial, x, y, prepend_width):
        """A live.numbox setting that sends `NAME value` to the script, shown with its label."""
        key = name.lower()
        nb = box("live.numbox", patching_rect=[x, 120, 40, 15], varname=key,
                 saved_attribute_attributes=_param(name, short, 1, parameter_mmin=low, parameter_mmax=high,
                                                   parameter_initial=[initial]))
        pre = box(f"prepend {key}", patching_rect=[x, 150, prepend_width, 22])
        line(nb, pre, outlet=0)
        line(pre, js)
        add_to_presentation(nb, [170, y, 40, 15])
        label = p.add_comment(key, patching_rect=[x + 50, 118, 30 + 6 * len(key), 20])
        add_to_presentation(label, [212, y - 2, 60 if len(key) > 4 else 40, 18])

    numbox("Variations", "Var", 1, 8, 1, 280, 30, 110)
    numbox("Bars", "Bars", 1, 64, 4, 420, 52, 80)
    numbox("Density", "Dens", 0, 16, 0, 560, 74, 90)  # notes per beat; 0: the model's own

    go = box("live.text", patching_rect=[20, 220, 80, 20], varname="continue", mode=0,
             saved_attribute_attributes=_param("Continue", "Continue", 2, parameter_enum=["off", "on"]))
    sel = box("sel 1", patching_rect=[20, 250, 40, 22])
    cont = p.add_message("continue", patching_rect=[20, 280, 60, 22])
    line(go, sel, outlet=0)
    line(sel, cont, outlet=0)
    line(cont, js)
    add_to_presentation(go, [8, 52, 100, 20])

    def button(name, x, where, y=460):
        """A live.text button that sends its name to the script."""
        b = box("live.text", patching_rect=[x, y, 80, 20], varname=name, mode=0,
                saved_attribute_attributes=_param(name.capitalize(), name.capitalize()[:8], 2,
                                                  parameter_enum=["off", "on"]))
        sel = box("sel 1", patching_rect=[x, y + 30, 40, 22])
        msg = p.add_message(name, patching_rect=[x, y + 60, 70, 22])
        line(b, sel, outlet=0)
        line(sel, msg, outlet=0)
        line(msg, js)
        add_to_presentation(b, where)

    button("infill", 120, [116, 78, 50, 18], y=220)
    button("generate", 20, [170, 78, 60, 18])  # and the drum devices of Magenta Studio
    button("groove", 120, [8, 128, 60, 18])
    button("drumify", 220, [72, 128, 60, 18])
    button("interpolate", 320, [136, 128, 70, 18])

    status = p.add_message("start `cadenza serve`, then select a MIDI clip", patching_rect=[300, 420, 400, 22],
                           varname="status")
    line(js, status, outlet=1)
    add_to_presentation(status, [8, 152, 300, 22])

    enable_presentation(p, devicewidth=320)
    p.save()
    patcher = json.loads(source.read_text())
    for b in patcher["patcher"]["boxes"]:
        if b["box"].get("varname") in ("continue", "infill", "generate", "groove", "drumify", "interpolate"):
            b["box"]["text"] = b["box"]["varname"].capitalize()  # a live.text button's label is its box text
    source.write_text(json.dumps(patcher, indent=4) + "\n")
    ensure_amxd_project_block(patcher, device_type="midi_effect", mtime=MTIME)
    device.write_bytes(pack_amxd(json.dumps(patcher, indent=4), device_type="midi_effect",
                                 patcher_filename="Cadenza.maxpat", mtime=MTIME))
    return device


if __name__ == "__main__":
    print(build())
