"""Build max_patches/cadenza.maxpat, the Max client of Cadenza, with py2max.

    python max_patches/build.py            # writes cadenza.maxpat beside this file

py2max checks every cord against Max's object reference (inlet and outlet counts) while building;
`python -m py2max validate cadenza.maxpat` checks the result again. The tests also send every OSC
message the patch can send to a real daemon (tests/max/test_maxpat.py).

What the patch does:
- on load: `/cadenza/set reply_port 9124` (replies come back to its own [udpreceive 9124]) and
  `/cadenza/models 1` to fill the model menu;
- play on a MIDI keyboard ([notein] -> `/cadenza/note id pitch velocity`), then click *continue what I
  played* (`/cadenza/continue id`): call and response;
- or edit the typed prime (pitch start duration velocity ...) and click it;
- model menu, temperature, length in beats, variations and tempo set `/cadenza/set ...`;
- a typed beat (General MIDI drums) sent as `/cadenza/groove id notes...` (played with feel by the groove
  model), and the typed prime as `/cadenza/drumify id notes...` (a kit that plays its rhythm);
- notes come back in chunks as `/cadenza/notes id pitch start dur vel ...`; each is delayed to its start
  beat at the patch's tempo ([pipe]) and played by [makenote] -> [noteout];
- a typed melody sent as `/cadenza/harmonize id notes...`: the parts under it (chorale-harmony) come back
  as notes and play with it;
- the status line shows started / done / the error message.
"""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
SEND_PORT = 9000
REPLY_PORT = 9124
TYPED_PRIME = "60 0 1 90 64 1 1 90 67 2 1 90 72 3 1 100"
# a melody to harmonize (the opening of "Ode to joy"): pitch start dur vel ...
TYPED_MELODY = " ".join(f"{p} {i} 1 90" for i, p in enumerate([64, 64, 65, 67, 67, 65, 64, 62, 60, 60, 62, 64]))
# a 2-bar rock beat in General MIDI drums: kick 36, snare 38, closed hi-hat 42 (pitch start dur vel ...)
TYPED_BEAT = " ".join(f"{p} {b + s:g} 0.25 {v}" for b in (0, 4) for p, s, v in
                      [(36, 0, 110), (42, 0, 80), (42, 0.5, 70), (38, 1, 105), (42, 1, 80), (42, 1.5, 70),
                       (36, 2, 110), (36, 2.5, 90), (42, 2, 80), (42, 2.5, 70), (38, 3, 105), (42, 3, 80),
                       (42, 3.5, 70)])


def build(path: Path = HERE / "cadenza.maxpat"):
    from py2max import Patcher

    p = Patcher(str(path), validate_connections=True)
    p.rect = [40.0, 60.0, 1120.0, 900.0]  # the window: the whole patch in view
    box = p.add_textbox
    msg = p.add_message
    line = p.add_line

    p.add_comment("Cadenza: play or type a prime, hear the model continue it. Start `cadenza serve` first.",
                  patching_rect=[20, 10, 620, 20])
    udpsend = box(f"udpsend 127.0.0.1 {SEND_PORT}", patching_rect=[560, 440, 160, 22])

    # on load: where replies go, and the list of models
    lb = box("loadbang", patching_rect=[20, 40, 60, 22])
    tlb = box("t b b b", patching_rect=[20, 70, 60, 22])
    setreply = msg(f"/cadenza/set reply_port {REPLY_PORT}", patching_rect=[200, 100, 200, 22])
    askmodels = msg("/cadenza/models 1", patching_rect=[420, 100, 120, 22])
    line(lb, tlb)
    line(tlb, setreply, outlet=2)
    line(tlb, askmodels, outlet=1)
    line(setreply, udpsend)
    line(askmodels, udpsend)

    # a live prime from a MIDI keyboard: each note on and off goes to Cadenza as it is played
    p.add_comment("1. play a phrase on a keyboard ...", patching_rect=[20, 130, 170, 20])
    notein = box("notein", patching_rect=[20, 155, 60, 22])
    pk = box("pack i i", patching_rect=[20, 185, 60, 22])
    pnote = box("prepend /cadenza/note 1", patching_rect=[20, 215, 150, 22])
    line(notein, pk, outlet=0, inlet=0)
    line(notein, pk, outlet=1, inlet=1)
    line(pk, pnote)
    line(pnote, udpsend)

    # ... then ask for its continuation, with a fresh request id each time
    p.add_comment("2. ... click to continue it", patching_rect=[200, 130, 170, 20])
    go = box("button", patching_rect=[200, 155, 24, 24])
    ids = box("counter 1 1000000", patching_rect=[200, 185, 110, 22])
    pcont = box("prepend /cadenza/continue", patching_rect=[200, 215, 160, 22])
    line(go, ids)
    line(ids, pcont)
    line(pcont, udpsend)

    # or a typed prime: pitch start duration velocity, ...
    p.add_comment("or edit and click this prime: pitch start dur vel ...", patching_rect=[380, 130, 320, 20])
    typed = msg(TYPED_PRIME, patching_rect=[380, 155, 300, 22])
    tl = box("t b l", patching_rect=[380, 185, 50, 22])
    ids2 = box("counter 1000001 2000000", patching_rect=[380, 215, 150, 22])
    withid = box("zl.join", patching_rect=[380, 245, 60, 22])  # id, then the notes
    pcont2 = box("prepend /cadenza/continue", patching_rect=[380, 275, 160, 22])
    line(typed, tl)
    line(tl, withid, outlet=1, inlet=1)  # the notes wait in the right inlet ...
    line(tl, ids2, outlet=0)
    line(ids2, withid, inlet=0)  # ... and the id sends them
    line(withid, pcont2)
    line(pcont2, udpsend)

    # drums: a typed beat played with feel (groove), a kit for the typed prime's rhythm (drumify)
    def typed_request(text, address, first_id, x, y, comment):
        p.add_comment(comment, patching_rect=[x, y, 330, 20])
        m = msg(text, patching_rect=[x, y + 22, 330, 22])
        t = box("t b l", patching_rect=[x, y + 48, 50, 22])
        counter = box(f"counter {first_id} {first_id + 999999}", patching_rect=[x, y + 74, 150, 22])
        join = box("zl.join", patching_rect=[x + 160, y + 74, 60, 22])
        pre = box(f"prepend {address}", patching_rect=[x + 230, y + 74, 150, 22])
        line(m, t)
        line(t, join, outlet=1, inlet=1)
        line(t, counter, outlet=0)
        line(counter, join, inlet=0)
        line(join, pre)
        line(pre, udpsend)

    typed_request(TYPED_BEAT, "/cadenza/groove", 3000001, 700, 130, "a beat (GM drums): click to groove it")
    typed_request(TYPED_PRIME, "/cadenza/drumify", 4000001, 700, 240, "the prime's rhythm: click for drums")
    typed_request(TYPED_MELODY, "/cadenza/harmonize", 5000001, 700, 350,
                  "a melody: click for the parts under it (chorale-harmony)")

    # settings: a control, and the /cadenza/set message it drives
    def setting(label, control, key, x, width):
        p.add_comment(label, patching_rect=[x, 300, width, 20])
        ui = box(control, patching_rect=[x, 320, 60 if control != "umenu" else 120, 22], varname=key)
        send = box(f"prepend /cadenza/set {key}", patching_rect=[x, 350 + 26 * (x // 200 % 2), 170, 22])
        line(ui, send, outlet=1 if control == "umenu" else 0)  # a menu's item text comes from outlet 1
        line(send, udpsend)
        return ui

    models = setting("model", "umenu", "model", 20, 60)
    setting("temperature", "flonum", "temperature", 200, 80)
    setting("beats", "number", "beats", 400, 50)
    setting("variations", "number", "variations", 570, 70)
    p.add_comment("tempo (bpm)", patching_rect=[20, 390, 80, 20])
    bpm = box("number", patching_rect=[20, 410, 50, 22], varname="bpm")
    pqpm = box("prepend /cadenza/set qpm", patching_rect=[90, 410, 150, 22])
    init_bpm = msg("120", patching_rect=[100, 40, 40, 22])
    line(tlb, init_bpm, outlet=0)
    line(init_bpm, bpm)
    line(bpm, pqpm)
    line(pqpm, udpsend)
    mspb = box("!/ 60000.", patching_rect=[270, 410, 70, 22])  # milliseconds per beat
    line(bpm, mspb)

    # replies
    udprecv = box(f"udpreceive {REPLY_PORT}", patching_rect=[20, 520, 120, 22])
    route = box("route /cadenza/notes /cadenza/started /cadenza/done /cadenza/error /cadenza/models",
                patching_rect=[20, 550, 460, 22])
    line(udprecv, route)

    # the model menu, filled from /cadenza/models id name ...
    mnames = box("zl.slice 1", patching_rect=[560, 580, 70, 22])
    tm = box("t l b", patching_rect=[560, 610, 50, 22])
    clear = msg("clear", patching_rect=[620, 640, 50, 22])
    iter1 = box("zl.iter 1", patching_rect=[560, 640, 60, 22])
    append = box("prepend append", patching_rect=[560, 670, 100, 22])
    line(route, mnames, outlet=4)
    line(mnames, tm, outlet=1)
    line(tm, clear, outlet=1)
    line(tm, iter1, outlet=0)
    line(iter1, append)
    line(clear, models)
    line(append, models)

    # status: started / done / error
    status = msg("waiting for Cadenza ...", patching_rect=[300, 760, 360, 22], varname="status")
    setstarted = msg("set playing ...", patching_rect=[200, 610, 100, 22])
    donecount = box("zl.slice 1", patching_rect=[320, 580, 70, 22])
    donefmt = box("sprintf set done: %ld notes", patching_rect=[320, 610, 170, 22])
    errtext = box("zl.slice 1", patching_rect=[440, 640, 70, 22])
    errfmt = box("prepend set error:", patching_rect=[440, 670, 120, 22])
    line(donecount, donefmt, outlet=1)
    line(route, donecount, outlet=2)
    line(donefmt, status)
    line(route, errtext, outlet=3)
    line(errtext, errfmt, outlet=1)
    line(errfmt, status)
    tstart = box("t b b", patching_rect=[200, 580, 40, 22])
    line(route, tstart, outlet=1)
    line(tstart, setstarted, outlet=1)
    line(setstarted, status)

    # notes: drop the id, take them four numbers at a time, delay each to its start beat, play it
    drop = box("zl.slice 1", patching_rect=[20, 580, 70, 22])
    iter4 = box("zl.iter 4", patching_rect=[20, 610, 60, 22])
    unpack = box("unpack i f f i", patching_rect=[20, 640, 100, 22])
    timer = box("timer", patching_rect=[200, 640, 50, 22])  # time since the reply started
    line(tstart, timer, outlet=0, inlet=0)
    tnow = box("t f b", patching_rect=[130, 670, 50, 22])
    when = box("expr $f1 * $f2 + 500. - $f3", patching_rect=[130, 700, 190, 22])  # 0.5 s lead
    atleast = box("maximum 0.", patching_rect=[130, 730, 80, 22])
    durms = box("* 500.", patching_rect=[80, 670, 50, 22])
    pack4 = box("pack i i i f", patching_rect=[20, 760, 100, 22])
    pipe = box("pipe 0 0 0 0", patching_rect=[20, 790, 100, 22])
    mk = box("makenote 100 500", patching_rect=[20, 820, 110, 22])
    nout = box("noteout", patching_rect=[20, 850, 60, 22])
    line(route, drop, outlet=0)
    line(drop, iter4, outlet=1)
    line(iter4, unpack)
    line(unpack, pack4, outlet=3, inlet=1)  # velocity
    line(unpack, durms, outlet=2)  # duration in beats -> ms
    line(durms, pack4, inlet=2)
    line(unpack, tnow, outlet=1)  # start beat
    line(tnow, timer, outlet=1, inlet=1)  # first: how long since the reply started
    line(timer, when, inlet=2)
    line(mspb, when, inlet=1)
    line(mspb, durms, inlet=1)
    line(tnow, when, outlet=0, inlet=0)
    line(when, atleast)
    line(atleast, pack4, inlet=3)
    line(unpack, pack4, outlet=0, inlet=0)  # pitch last: it sends the list
    line(pack4, pipe)
    line(pipe, mk, outlet=2, inlet=2)
    line(pipe, mk, outlet=1, inlet=1)
    line(pipe, mk, outlet=0, inlet=0)
    line(mk, nout, outlet=0, inlet=0)
    line(mk, nout, outlet=1, inlet=1)
    p.save()
    return path


if __name__ == "__main__":
    print(build())
