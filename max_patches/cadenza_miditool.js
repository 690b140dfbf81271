// Cadenza as Live 12 MIDI Tools: the script of Cadenza Generate.amxd and Cadenza Transform.amxd (Max's [js], ES5).
//
// A MIDI Tool gets the clip's notes and context from [live.miditool.in] when the musician presses Apply (or
// when a control changes with auto-apply on) and sets the clip's notes through [live.miditool.out]:
//   context: {clip: {time_selection_start, time_selection_end, insert_marker_time, first_note_start,
//             last_note_end, lowest_pitch, highest_pitch}, scale: {scale_mode, root_note, scale_intervals,
//             scale_name}, grid: {interval, enabled}}
//   notes:   {notes: [{pitch, start_time, duration, velocity (a float), mute, probability, velocity_deviation,
//             release_velocity, note_id}, ...]}   (beats: 1.0 is a quarter note)
// Here the notes go to `cadenza serve` over OSC; the answer comes back on [udpreceive] and only when it is
// complete are the clip's notes set, in one go: a refusal, an error or a timeout leaves the clip as it was.
// Each apply starts from the notes the apply cycle began with, so applying again replaces the last result.
//
// Generate (role "generate"): fills the time selection (else 4 bars from the insert marker) with a
//   continuation of the notes before it, or new music when there are none; the clip's scale becomes the
//   request's scale unless switched off; "quantise" snaps the new notes to the clip's grid. Four variations
//   are asked for at once: "next" shows the next one without asking again.
// Transform (role "transform"), by mode:
//   infill    the selected time range written anew by an infill model, given both sides
//   groove    the notes (General MIDI drums) played with feel by the groove model
//   humanize  any notes: each onset's timing and velocity from the groove model playing that rhythm
//   drumify   a drum kit for the notes' rhythm, added as new notes
//   harmonize the notes as a melody; a harmony model's parts under it, added as new notes
//
// Inlets: messages. Outlets: 0 OSC to [udpsend 127.0.0.1 9000]; 1 "dictionary NAME" to [live.miditool.out];
// 2 the status line ("set ..."); 3 "bang" to [live.miditool.in] (continue the apply cycle: "next").
// tests/max/test_miditools.py runs this file under Node with models of the two objects and Max's Dict.

inlets = 1;
outlets = 4;

var REPLY_PORT = 9126;
var MODES = ["infill", "groove", "humanize", "drumify", "harmonize"];
var role = (typeof jsarguments !== "undefined" && jsarguments.length > 1) ? String(jsarguments[1]) : "transform";
var settings = { model: "", temperature: 1.0, density: 0, seed: -1, mode: "infill", use_scale: 1, quantise: 0,
                 timeout: 20 };
var ctx = null;          // the apply cycle's context
var pending = null;      // the request in the air: {rid, kind, deadline, notes, context, collected: {variation: [...]}}
var results = null;      // generate: the last answer's variations, and which one is shown
var next_id = 1;
var out_dict = null;

function status(text) { outlet(2, "set", text); }

function init() {
    outlet(0, "/cadenza/set", "reply_port", REPLY_PORT, "midi", 0, "write_file", 0);
    status(role === "generate" ? "ready: select a time range, then Apply" : "ready: choose a mode, then Apply");
}

function setrole(r) { role = String(r); }
function model(name) { settings.model = String(name) === "default" ? "" : String(name); }
function temperature(t) { settings.temperature = Math.max(0.05, Math.min(4.0, Number(t))); }
function density(d) { settings.density = Math.max(0, Math.min(16, Number(d))); }
function seed(s) { settings.seed = Math.round(Number(s)); }
function use_scale(v) { settings.use_scale = Number(v) ? 1 : 0; }
function quantise(v) { settings.quantise = Number(v) ? 1 : 0; }
function timeout(s) { settings.timeout = Math.max(0.5, Number(s)); }
function mode(m) {
    var name = (typeof m === "number" || /^\d+$/.test(String(m))) ? MODES[Number(m)] : String(m);
    if (MODES.indexOf(name) < 0) { status("unknown mode " + m); return; }
    settings.mode = name;
}

function read_dict(name) {
    var d = new Dict(String(name));
    return JSON.parse(d.stringify());
}

// [live.miditool.in]'s middle outlet comes first (Max sends right to left), then its left outlet
function context() { ctx = read_dict(arguments[arguments.length - 1]); }
function notes() {
    var given = read_dict(arguments[arguments.length - 1]).notes || [];
    apply(given, ctx || {});
}

function selection(c) {
    var clip = c.clip || {};
    var a = Number(clip.time_selection_start), b = Number(clip.time_selection_end);
    if (isFinite(a) && isFinite(b) && b > a) { return [a, b]; }
    var at = isFinite(Number(clip.insert_marker_time)) ? Number(clip.insert_marker_time) : 0;
    return [at, at + 16];
}

function flat(list) {
    var out = [];
    for (var i = 0; i < list.length; i++) {
        var n = list[i];
        out.push(Math.round(n.pitch), Math.max(0, n.start_time), Math.max(0.001, n.duration),
                 Math.max(1, Math.min(127, Math.round(n.velocity))));
    }
    return out;
}

function scale_setting(c) {
    var s = c.scale || {};
    if (!settings.use_scale || !s.scale_mode || !s.scale_intervals || !s.scale_intervals.length) { return null; }
    var pcs = [];
    for (var i = 0; i < s.scale_intervals.length; i++) { pcs.push((Number(s.root_note) + Number(s.scale_intervals[i])) % 12); }
    return pcs.join(",");
}

function common_settings(extra) {
    var out = ["temperature", settings.temperature];
    if (settings.model) { out.push("model", settings.model); }
    if (settings.seed >= 0) { out.push("seed", settings.seed); }
    return out.concat(extra || []);
}

function apply(given, c) {
    var live = [];
    for (var i = 0; i < given.length; i++) { if (!given[i].mute) { live.push(given[i]); } }
    var sel = selection(c);
    if (role === "generate" && results && results.key === key_of(given, c)) {
        show(results.index = (results.want !== null ? results.want : results.index));  // "next": no new request
        results.want = null;
        return;
    }
    var rid = next_id++;
    var req = { rid: rid, kind: role === "generate" ? "generate" : settings.mode, notes: given, context: c,
                sel: sel, collected: {}, deadline: Date.now() + settings.timeout * 1000 };
    var args;
    if (role === "generate") {
        var before = [];
        for (i = 0; i < live.length; i++) {
            if (live[i].start_time < sel[0]) { before.push(live[i]); }
        }
        var extra = ["beats", sel[1] - sel[0], "variations", 4];
        var scale = scale_setting(c);
        if (scale) { extra.push("scale", scale); }
        if (settings.density) { extra.push("density", settings.density); }
        args = before.length ? ["/cadenza/continue", rid].concat(flat(before)) : ["/cadenza/generate", rid];
        args = args.concat(common_settings(extra));
        req.key = key_of(given, c);
    } else if (settings.mode === "infill") {
        if (!live.length) { status("infill needs the notes around the selected range"); return; }
        args = ["/cadenza/infill", rid, sel[0], sel[1]].concat(flat(live), common_settings([]));
    } else {
        var chosen = live;
        if (!chosen.length) { status(settings.mode + " needs notes in the clip"); return; }
        if (settings.mode === "humanize") {
            chosen = [];
            for (i = 0; i < live.length; i++) {  // the rhythm as a hi-hat: the groove model plays it
                chosen.push({ pitch: 42, start_time: live[i].start_time, duration: 0.1, velocity: live[i].velocity });
            }
        }
        var address = { groove: "/cadenza/groove", humanize: "/cadenza/groove", drumify: "/cadenza/drumify",
                        harmonize: "/cadenza/harmonize" }[settings.mode];
        var opts = settings.mode === "harmonize" ? common_settings([]) :
            (settings.seed >= 0 ? ["seed", settings.seed] : []);
        args = [address, rid].concat(flat(chosen), opts);
    }
    pending = req;
    outlet(0, args);
    status(req.kind + ": asking Cadenza...");
}

function key_of(given, c) {
    return JSON.stringify([given.length, selection(c), settings.model, settings.temperature, settings.seed,
                           settings.density, settings.use_scale, settings.quantise]);
}

// ----- replies ----------------------------------------------------------------------------------------------
function anything() {
    var args = arrayfromargs(arguments);
    var address = messagename;
    if (!pending || args[0] !== pending.rid) { return; }  // another request's, or one given up on
    if (address === "/cadenza/notes" || address === "/cadenza/variation") {
        // variation 1 streams as /cadenza/notes id ...; variation k as /cadenza/variation id k ...
        var variation = address === "/cadenza/notes" ? 1 : args[1];
        var list = args.slice(address === "/cadenza/notes" ? 1 : 2);
        var bucket = pending.collected[variation] = pending.collected[variation] || [];
        for (var i = 0; i + 3 < list.length; i += 4) {
            bucket.push({ pitch: list[i], start_time: list[i + 1], duration: list[i + 2], velocity: list[i + 3] });
        }
        status(pending.kind + ": " + (pending.collected[1] || []).length + " notes so far");
    } else if (address === "/cadenza/error") {
        status("Cadenza: " + args.slice(1).join(" ") + " (the clip is unchanged)");
        pending = null;
    } else if (address === "/cadenza/done") {
        finish(pending);
        pending = null;
    }
}

function tick() {
    if (pending && Date.now() > pending.deadline) {
        status("no answer from Cadenza in " + settings.timeout + " s (is `cadenza serve` running?); the clip is unchanged");
        pending = null;
    }
}

// ----- results ------------------------------------------------------------------------------------------------
function keep(n) {
    var o = { pitch: n.pitch, start_time: n.start_time, duration: n.duration, velocity: n.velocity };
    if (n.note_id !== undefined) { o.note_id = n.note_id; }
    if (n.mute !== undefined) { o.mute = n.mute; }
    if (n.probability !== undefined) { o.probability = n.probability; }
    return o;
}

function snap(n, grid) {
    if (!settings.quantise || !grid || !grid.enabled || !(grid.interval > 0)) { return n; }
    var g = Number(grid.interval);
    var s = Math.round(n.start_time / g) * g;
    n.duration = Math.max(g, Math.round(n.duration / g) * g);
    n.start_time = s;
    return n;
}

function finish(req) {
    var out = [], i, n;
    var sel = req.sel;
    if (req.kind === "generate") {
        results = { key: req.key, variations: [], index: 0, want: null, req: req };
        var ks = [];
        for (var k in req.collected) { ks.push(Number(k)); }
        ks.sort(function (x, y) { return x - y; });
        for (i = 0; i < ks.length; i++) { results.variations.push(req.collected[ks[i]]); }
        if (!results.variations.length) { status("Cadenza answered with no notes; the clip is unchanged"); return; }
        show(0);
        return;
    }
    var got = req.collected[1] || [];
    if (req.kind === "infill") {
        for (i = 0; i < req.notes.length; i++) {
            n = req.notes[i];
            if (n.start_time < sel[0] || n.start_time >= sel[1]) { out.push(keep(n)); }
        }
        for (i = 0; i < got.length; i++) { out.push(got[i]); }
    } else if (req.kind === "groove") {
        for (i = 0; i < got.length; i++) { out.push(got[i]); }  // the same hits, played
    } else if (req.kind === "humanize") {
        // each played onset moves by its hit's offset from the grid step it came from, with its velocity
        for (i = 0; i < req.notes.length; i++) {
            n = keep(req.notes[i]);
            var best = null;
            for (var j = 0; j < got.length; j++) {
                var d = Math.abs(got[j].start_time - n.start_time);
                if (d <= 0.125 && (!best || d < Math.abs(best.start_time - n.start_time))) { best = got[j]; }
            }
            if (best && !n.mute) {
                n.start_time = Math.max(0, best.start_time);
                n.velocity = best.velocity;
            }
            out.push(n);
        }
    } else {  // drumify, harmonize: the notes as they were, and the new ones
        for (i = 0; i < req.notes.length; i++) { out.push(keep(req.notes[i])); }
        for (i = 0; i < got.length; i++) { out.push(got[i]); }
    }
    set_notes(out);
    status(req.kind + ": done, " + got.length + " notes from Cadenza");
}

function show(index) {
    var req = results.req, sel = req.sel;
    index = index % results.variations.length;
    results.index = index;
    var out = [], i, n;
    for (i = 0; i < req.notes.length; i++) {  // the notes outside the range stay; the range is filled anew
        n = req.notes[i];
        if (n.start_time < sel[0] || n.start_time >= sel[1]) { out.push(keep(n)); }
    }
    var made = results.variations[index];
    var count = 0;
    for (i = 0; i < made.length; i++) {
        n = snap({ pitch: made[i].pitch, start_time: sel[0] + made[i].start_time, duration: made[i].duration,
                   velocity: made[i].velocity }, req.context.grid);
        if (n.start_time >= sel[1]) { continue; }
        n.duration = Math.min(n.duration, sel[1] - n.start_time);
        if (n.duration > 0) { out.push(n); count++; }
    }
    set_notes(out);
    status("variation " + (index + 1) + " of " + results.variations.length + ": " + count + " notes");
}

// "next": the next variation, in the apply cycle still open (a bang continues it with the same notes)
function next() {
    if (!results) { status("Apply first"); return; }
    results.want = (results.index + 1) % results.variations.length;
    outlet(3, "bang");
}

function set_notes(list) {
    if (!out_dict) { out_dict = new Dict("cadenza_miditool_out_" + role); }
    out_dict.parse(JSON.stringify({ notes: list }));
    outlet(1, "dictionary", out_dict.name);
}
