// Cadenza for Ableton Live: the Live API half of max_patches/Cadenza.amxd (Max's [js] object, ES5).
//
// "Continue", as in Magenta Studio, without Electron:
//   1. read the notes of the selected clip (Live API: clip.get_notes_extended);
//   2. send them to `cadenza serve` as /cadenza/continue (one request per variation);
//   3. collect the /cadenza/notes replies; on /cadenza/done write them into the next empty clip slot
//      below the selected one on the same track (clip_slot.create_clip, clip.add_new_notes);
//   4. show what happens (and any /cadenza/error) on the device.
//
// "Infill", as the anticipatory music transformer's device: the notes that begin inside the selected
// clip's loop region are written anew by an infill model (chorale-infill, melody, ...) given everything
// before and after it: /cadenza/infill id loop_start loop_end notes...; the first notes to arrive
// replace the region's old ones (clip.remove_notes_extended), and each later chunk is added as it
// arrives, so the region fills in while the model writes. An error before any note leaves the clip as
// it was.
//
// Drums, as Magenta Studio's devices: "Groove" plays the selected drum clip with feel, "Drumify" makes a
// kit part for the selected clip's rhythm, "Interpolate" goes from the selected clip to the clip below it
// in `variations` steps (at least 2), "Generate" makes new music with the model (drums with `drums` or
// `groove`); each result lands in the next empty clip slots, as Continue's do.
//
// Inlet messages: continue | infill | groove | drumify | interpolate | generate | model NAME | temperature F | variations N | bars N | density F | init (from
// [live.thisdevice]) | and every reply from [udpreceive], whose address arrives as the message name.
// Outlet 0 goes to [udpsend 127.0.0.1 9000]; outlet 1 to the status line ("set ...").
// tests/max/test_amxd.py runs this file under Node with a model of the Live API, against a real daemon.

inlets = 1;
outlets = 2;

var REPLY_PORT = 9125;
var settings = { model: "piano", temperature: 1.0, variations: 1, bars: 4, density: 0 };
var pending = {};     // request id -> { notes: [[pitch, start, dur, vel], ...], slot: path, length: beats }
var order = [];       // request ids in the order sent: clips are written in this order, whichever ends first
var next_id = 1;
var outstanding = 0;

function status(text) {
    outlet(1, "set", text);
}

function init() {
    outlet(0, "/cadenza/set", "reply_port", REPLY_PORT, "midi", 0, "write_file", 0);
    outlet(0, "/cadenza/ping", 0);
    status("ready: select a MIDI clip, then Continue");
}

function model(name) { settings.model = String(name); }
function temperature(t) { settings.temperature = Math.max(0.05, Math.min(4.0, Number(t))); }
function variations(n) { settings.variations = Math.max(1, Math.min(8, Math.round(Number(n)))); }
function bars(n) { settings.bars = Math.max(1, Math.min(64, Math.round(Number(n)))); }
function density(d) { settings.density = Math.max(0, Math.min(16, Number(d))); }

function unquote(path) {
    return String(path).replace(/^"|"$/g, "");
}

function selected_clip() {
    var slot = new LiveAPI("live_set view highlighted_clip_slot");
    if (!slot || Number(slot.id) === 0) {
        return { error: "select a clip slot in Session view first" };
    }
    if (Number(slot.get("has_clip")[0]) !== 1) {
        return { error: "the selected slot is empty: select a clip with notes" };
    }
    var clip = new LiveAPI(unquote(slot.path) + " clip");
    if (Number(clip.get("is_midi_clip")[0]) !== 1) {
        return { error: "the selected clip is audio: select a MIDI clip" };
    }
    return { slot: unquote(slot.path), clip: clip };
}

function read_notes(clip) {
    var length = Number(clip.get("length")[0]);
    var data = JSON.parse(clip.call("get_notes_extended", 0, 128, 0, length));
    var notes = [];
    for (var i = 0; i < data.notes.length; i++) {
        var n = data.notes[i];
        if (n.mute) { continue; }
        notes.push([Math.round(n.pitch), Math.max(0, n.start_time), Math.max(0.001, n.duration),
                    Math.max(1, Math.min(127, Math.round(n.velocity)))]);
    }
    notes.sort(function (a, b) { return a[1] - b[1] || a[0] - b[0]; });
    return notes;
}

function beats_per_bar() {
    var song = new LiveAPI("live_set");
    return Number(song.get("signature_numerator")[0]) * 4 / Number(song.get("signature_denominator")[0]);
}

// the message name is "continue", a reserved word: Max finds the function through this table
this["continue"] = function () {
    var sel = selected_clip();
    if (sel.error) { status(sel.error); return; }
    var notes = read_notes(sel.clip);
    if (!notes.length) { status("the selected clip has no notes to continue"); return; }
    var qpm = Number(new LiveAPI("live_set").get("tempo")[0]);
    var length = settings.bars * beats_per_bar();
    for (var v = 0; v < settings.variations; v++) {
        var id = next_id++;
        pending[id] = { notes: [], slot: sel.slot, length: length, done: false };
        order.push(id);
        var args = ["/cadenza/continue", id];
        for (var i = 0; i < notes.length; i++) {
            args.push(notes[i][0], notes[i][1], notes[i][2], notes[i][3]);
        }
        args.push("model", settings.model, "temperature", settings.temperature, "beats", length, "qpm", qpm,
                  "density", settings.density, "reply_port", REPLY_PORT, "midi", 0, "write_file", 0);
        outlet(0, args);
        outstanding++;
    }
    status("continuing " + notes.length + " notes with " + settings.model + " ...");
};

function infill() {
    var sel = selected_clip();
    if (sel.error) { status(sel.error); return; }
    var notes = read_notes(sel.clip);
    var start = Number(sel.clip.get("loop_start")[0]);
    var end = Number(sel.clip.get("loop_end")[0]);
    var length = Number(sel.clip.get("length")[0]);
    if (!(end > start)) { status("the clip's loop region is empty: set a loop region to fill"); return; }
    if (start <= 0 && end >= length) {
        status("the loop region is the whole clip: loop only the bars to fill, so there is music around them");
        return;
    }
    var song = new LiveAPI("live_set");
    var qpm = Number(song.get("tempo")[0]);
    var meter = song.get("signature_numerator")[0] + "/" + song.get("signature_denominator")[0];
    var id = next_id++;
    pending[id] = { infill: true, clip: unquote(sel.slot) + " clip", start: start, end: end, cleared: false,
                    notes: [], done: false, slot: sel.slot };
    order.push(id);
    var args = ["/cadenza/infill", id, start, end];
    for (var i = 0; i < notes.length; i++) {
        args.push(notes[i][0], notes[i][1], notes[i][2], notes[i][3]);
    }
    args.push("model", settings.model, "temperature", settings.temperature, "qpm", qpm, "meter", meter,
              "density", settings.density, "reply_port", REPLY_PORT, "midi", 0, "write_file", 0);
    outlet(0, args);
    outstanding++;
    status("filling beats " + start + "-" + end + " with " + settings.model + " ...");
}

function clip_notes_at(path) {
    var slot = new LiveAPI(path);
    if (!slot || Number(slot.id) === 0 || Number(slot.get("has_clip")[0]) !== 1) { return null; }
    var clip = new LiveAPI(path + " clip");
    if (Number(clip.get("is_midi_clip")[0]) !== 1) { return null; }
    return { notes: read_notes(clip), length: Number(clip.get("length")[0]) };
}

// a request whose answers are whole clips: /cadenza/notes is the first, /cadenza/variation id k the k-th
function send_clips(address, head, notes, extra, length, below, what) {
    var id = next_id++;
    pending[id] = { clips: true, parts: {}, slot: below, length: length, done: false, what: what };
    order.push(id);
    var args = [address, id].concat(head);
    for (var i = 0; i < notes.length; i++) {
        args.push(notes[i][0], notes[i][1], notes[i][2], notes[i][3]);
    }
    args = args.concat(extra, ["reply_port", REPLY_PORT, "midi", 0, "write_file", 0]);
    outlet(0, args);
    outstanding++;
    status(what + " ...");
}

function drum_task(task) {
    var sel = selected_clip();
    if (sel.error) { status(sel.error); return; }
    var notes = read_notes(sel.clip);
    if (!notes.length) { status("the selected clip has no notes"); return; }
    var qpm = Number(new LiveAPI("live_set").get("tempo")[0]);
    var length = Number(sel.clip.get("length")[0]);
    send_clips("/cadenza/" + task, [], notes, ["qpm", qpm, "density", settings.density, "temperature",
               settings.temperature, "variations", task === "drumify" ? settings.variations : 1], length, sel.slot,
               task + " of " + notes.length + " notes");
}

function groove() { drum_task("groove"); }
function drumify() { drum_task("drumify"); }

function interpolate() {
    var sel = selected_clip();
    if (sel.error) { status(sel.error); return; }
    var m = /^live_set tracks (\d+) clip_slots (\d+)$/.exec(sel.slot);
    var below = m ? "live_set tracks " + m[1] + " clip_slots " + (Number(m[2]) + 1) : "";
    var b = below ? clip_notes_at(below) : null;
    if (!b || !b.notes.length) { status("interpolate goes from the selected clip to the clip below it: put a beat there"); return; }
    var a = read_notes(sel.clip);
    if (!a.length) { status("the selected clip has no notes"); return; }
    var qpm = Number(new LiveAPI("live_set").get("tempo")[0]);
    send_clips("/cadenza/interpolate", [a.length], a.concat(b.notes), ["qpm", qpm, "steps",
               Math.max(2, settings.variations)], 8, below, "interpolating in " + Math.max(2, settings.variations) + " steps");
}

function generate() {
    var sel = selected_clip();
    var slot = sel.slot;
    if (sel.error) {  // an empty slot is where the new clip goes
        var s = new LiveAPI("live_set view highlighted_clip_slot");
        if (!s || Number(s.id) === 0) { status(sel.error); return; }
        slot = unquote(s.path);
    }
    var qpm = Number(new LiveAPI("live_set").get("tempo")[0]);
    var length = settings.bars * beats_per_bar();
    var id = next_id++;
    pending[id] = { notes: [], slot: slot, length: length, done: false, fill_here: !!sel.error };
    order.push(id);
    outlet(0, ["/cadenza/generate", id, "model", settings.model, "temperature", settings.temperature, "beats", length,
               "qpm", qpm, "density", settings.density, "reply_port", REPLY_PORT, "midi", 0, "write_file", 0]);
    outstanding++;
    status("generating " + settings.bars + " bars with " + settings.model + " ...");
}

// an infill's notes go into the clip as they arrive: the region's old notes leave with the first chunk
function write_region(job, chunk) {
    var clip = new LiveAPI(job.clip);
    if (!job.cleared) {
        clip.call("remove_notes_extended", 0, 128, job.start, job.end - job.start);
        job.cleared = true;
    }
    var notes = [];
    for (var i = 0; i < chunk.length; i++) {
        var n = chunk[i];
        if (n[1] < job.start || n[1] >= job.end) { continue; }
        notes.push({ pitch: n[0], start_time: n[1], duration: Math.max(0.001, Math.min(n[2], job.end - n[1])),
                     velocity: n[3], mute: 0 });
    }
    if (notes.length) { clip.call("add_new_notes", { notes: notes }); }
}

function empty_slot_below(slot_path) {
    var m = /^live_set tracks (\d+) clip_slots (\d+)$/.exec(slot_path);
    if (!m) { return null; }
    var track = new LiveAPI("live_set tracks " + m[1]);
    var count = Number(track.getcount("clip_slots"));
    for (var k = Number(m[2]) + 1; k < count; k++) {
        var slot = new LiveAPI("live_set tracks " + m[1] + " clip_slots " + k);
        if (Number(slot.get("has_clip")[0]) === 0) { return slot; }
    }
    return null;
}

function write_clip(job) {
    var slot = empty_slot_below(job.slot);
    if (!slot) { return "no empty clip slot below the selected clip: add a scene"; }
    slot.call("create_clip", job.length);
    var clip = new LiveAPI(unquote(slot.path) + " clip");
    var notes = [];
    for (var i = 0; i < job.notes.length; i++) {
        var n = job.notes[i];
        if (n[1] >= job.length) { continue; }
        notes.push({ pitch: n[0], start_time: n[1], duration: Math.min(n[2], job.length - n[1]), velocity: n[3],
                     mute: 0 });
    }
    clip.call("add_new_notes", { notes: notes });
    clip.set("name", "Cadenza " + settings.model);
    return null;
}

function write_clip_here(job) {
    var slot = new LiveAPI(job.slot);
    slot.call("create_clip", job.length);
    var clip = new LiveAPI(job.slot + " clip");
    var notes = [];
    for (var i = 0; i < job.notes.length; i++) {
        var n = job.notes[i];
        if (n[1] >= job.length) { continue; }
        notes.push({ pitch: n[0], start_time: n[1], duration: Math.min(n[2], job.length - n[1]), velocity: n[3], mute: 0 });
    }
    clip.call("add_new_notes", { notes: notes });
    clip.set("name", "Cadenza " + settings.model);
    return null;
}

function reply(address, args) {
    var id = Number(args[0]);
    var job = pending[id];
    if (address === "/cadenza/pong") { status("connected to Cadenza: select a MIDI clip, then Continue"); return; }
    if (address === "/cadenza/error" && !job) { status("error: " + args.slice(1).join(" ")); return; }
    if (!job) { return; }
    if (job.clips && (address === "/cadenza/notes" || address === "/cadenza/variation")) {
        var k = address === "/cadenza/notes" ? 1 : Number(args[1]);
        var at = address === "/cadenza/notes" ? 1 : 2;
        job.parts[k] = job.parts[k] || [];
        for (var j = at; j + 3 < args.length; j += 4) {
            job.parts[k].push([Number(args[j]), Number(args[j + 1]), Number(args[j + 2]), Number(args[j + 3])]);
        }
        return;
    }
    if (address === "/cadenza/notes") {
        var chunk = [];
        for (var i = 1; i + 3 < args.length; i += 4) {
            chunk.push([Number(args[i]), Number(args[i + 1]), Number(args[i + 2]), Number(args[i + 3])]);
        }
        job.notes = job.notes.concat(chunk);
        if (job.infill) {
            write_region(job, chunk);
            status("filling: " + job.notes.length + " notes so far");
        }
    } else if (address === "/cadenza/done" && job.infill) {
        if (!job.cleared) { write_region(job, []); }  // a region the model left silent
        delete pending[id];
        order.splice(order.indexOf(id), 1);
        outstanding--;
        status("filled beats " + job.start + "-" + job.end + ": " + job.notes.length + " new notes");
        flush();
    } else if (address === "/cadenza/done") {
        job.done = true;  // the daemon may finish variation 2 before 1: write in the order asked
        flush();
    } else if (address === "/cadenza/error" || address === "/cadenza/cancelled") {
        delete pending[id];
        order.splice(order.indexOf(id), 1);
        outstanding--;
        status(address === "/cadenza/error" ? "error: " + args.slice(1).join(" ") : "cancelled");
        flush();
    }
}

// write every finished variation whose earlier ones are written, so variation k takes the k-th empty slot
function flush() {
    while (order.length && pending[order[0]] && pending[order[0]].done) {
        var job = pending[order[0]];
        delete pending[order.shift()];
        outstanding--;
        var problem = null;
        if (job.clips) {  // each answer in the next empty slot
            var keys = [];
            for (var key in job.parts) { keys.push(Number(key)); }
            keys.sort(function (x, y) { return x - y; });
            var count = 0;
            for (var q = 0; q < keys.length && !problem; q++) {
                problem = write_clip({ notes: job.parts[keys[q]], slot: job.slot, length: job.length });
                count += job.parts[keys[q]].length;
            }
            status(problem ? "error: " + problem : job.what.split(" ")[0] + ": wrote " + keys.length + " clip(s), " +
                   count + " notes");
            continue;
        }
        problem = job.fill_here ? write_clip_here(job) : write_clip(job);
        status(problem ? "error: " + problem : "wrote " + job.notes.length + " notes" +
               (outstanding > 0 ? " (" + outstanding + " more coming)" : ""));
    }
}

function anything() {
    var args = arrayfromargs(arguments);
    if (messagename.charAt(0) === "/") {
        reply(messagename, args);
    } else {
        post("cadenza: unknown message " + messagename + "\n");
    }
}
