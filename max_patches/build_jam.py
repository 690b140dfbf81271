"""Build max_patches/cadenza_jam.maxpat: jam with Cadenza from Max (or Live) over MIDI, in time.

    cadenza serve --virtual-ports --jam              # "Cadenza in" and "Cadenza out"
    python max_patches/build_jam.py                  # writes cadenza_jam.maxpat beside this file

The patch sends what you play on any keyboard to "Cadenza in" and plays what comes back from
"Cadenza out" on Max's synth ([noteout] to the AU DLS synth / Microsoft GS, or any output you pick).
Cadenza answers a phrase when you stop for two beats, from the next downbeat, on the clock it follows:
send MIDI clock to "Cadenza in" (Max: [transport] with the patch's clock toggle below; Live: Preferences >
Link, Tempo & MIDI > Sync on for "Cadenza in"), or start Cadenza with --link and turn Link on in Max or Live.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
IN_PORT, OUT_PORT = "Cadenza in", "Cadenza out"


def build(path: Path = HERE / "cadenza_jam.maxpat"):
    from py2max import Patcher

    p = Patcher(str(path), validate_connections=True)
    p.rect = [40.0, 60.0, 720.0, 480.0]
    box, line, msg = p.add_textbox, p.add_line, p.add_message
    p.add_comment("Jam with Cadenza: start `cadenza serve --virtual-ports --jam`, play a phrase, stop for two "
                  "beats: the answer plays from the next downbeat.", patching_rect=[20, 10, 660, 36])
    # what you play goes to Cadenza
    p.add_comment("1. your keyboard -> Cadenza", patching_rect=[20, 60, 200, 20])
    notein = box("notein", patching_rect=[20, 85, 60, 22])
    toc = box(f'noteout "{IN_PORT}"', patching_rect=[20, 150, 150, 22])
    line(notein, toc, outlet=0, inlet=0)
    line(notein, toc, outlet=1, inlet=1)
    line(notein, toc, outlet=2, inlet=2)
    # what Cadenza plays comes back
    p.add_comment("2. Cadenza -> a synth", patching_rect=[300, 60, 200, 20])
    fromc = box(f'notein "{OUT_PORT}"', patching_rect=[300, 85, 150, 22])
    synth = box("noteout", patching_rect=[300, 150, 80, 22])
    line(fromc, synth, outlet=0, inlet=0)
    line(fromc, synth, outlet=1, inlet=1)
    line(fromc, synth, outlet=2, inlet=2)
    # MIDI clock to Cadenza from Max's transport: 24 ticks a beat, start and stop
    p.add_comment("3. clock: Max's transport sends MIDI clock to Cadenza", patching_rect=[20, 200, 360, 20])
    toggle = p.add_textbox("toggle", patching_rect=[20, 225, 24, 24])
    sel = box("sel 1 0", patching_rect=[20, 260, 60, 22])
    start = msg("250", patching_rect=[20, 295, 40, 22])  # MIDI Start
    stop = msg("252", patching_rect=[70, 295, 40, 22])  # MIDI Stop
    metro = box("metro 20 ticks @active 0", patching_rect=[120, 260, 200, 22])  # 480 ticks a beat: 24 a beat
    clock = msg("248", patching_rect=[120, 330, 40, 22])  # MIDI clock
    midiout = box(f'midiout "{IN_PORT}"', patching_rect=[20, 380, 150, 22])
    line(toggle, sel)
    line(sel, start, outlet=0)
    line(sel, stop, outlet=1)
    line(toggle, metro)
    line(metro, clock)
    line(start, midiout)
    line(stop, midiout)
    line(clock, midiout)
    p.save()
    return path


if __name__ == "__main__":
    print(build())
