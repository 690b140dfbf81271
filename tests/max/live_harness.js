// Runs max_patches/cadenza_live.js as Max's [js] would, under Node, with a model of Live's object model.
//
// The model follows the Live Object Model (LOM) for what the device touches: live_set (tempo,
// signature_numerator/denominator), live_set view highlighted_clip_slot, tracks N clip_slots M
// (has_clip, create_clip), clip (is_midi_clip, length, loop_start, loop_end, name, get_notes_extended
// returning its JSON string, add_new_notes taking {notes: [...]}, remove_notes_extended) and Max's [js] globals (outlet, post, messagename,
// arrayfromargs). Paths are reported quoted, as Live does.
//
// stdin: one JSON command a line: {"set": LIVESET} | {"call": NAME, "args": [...]} | {"dump": true}
// stdout: one JSON line per outlet call: {"outlet": N, "args": [...]}, and {"live": LIVESET} on dump.
"use strict";
const fs = require("fs");
const vm = require("vm");
const readline = require("readline");

let live = null; // {tempo, num, den, selected: [track, slot], tracks: [{slots: [null | clip]}]}

function emit(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

function resolve(path) {
  const words = path.trim().split(/\s+/);
  if (words[0] !== "live_set") return null;
  if (words.length === 1) return { kind: "song" };
  if (words[1] === "view" && words[2] === "highlighted_clip_slot") {
    if (!live.selected) return null;
    const rest = words.slice(3).join(" ");
    return resolve(`live_set tracks ${live.selected[0]} clip_slots ${live.selected[1]} ${rest}`);
  }
  if (words[1] !== "tracks") return null;
  const t = Number(words[2]);
  if (!live.tracks[t]) return null;
  if (words.length === 3) return { kind: "track", t };
  if (words[3] !== "clip_slots") return null;
  const s = Number(words[4]);
  if (!(s in live.tracks[t].slots)) return null;
  if (words.length === 5) return { kind: "slot", t, s };
  if (words[5] === "clip" && words.length === 6) {
    return live.tracks[t].slots[s] ? { kind: "clip", t, s } : null;
  }
  return null;
}

function canonical(o) {
  if (o.kind === "song") return "live_set";
  if (o.kind === "track") return `live_set tracks ${o.t}`;
  if (o.kind === "slot") return `live_set tracks ${o.t} clip_slots ${o.s}`;
  return `live_set tracks ${o.t} clip_slots ${o.s} clip`;
}

class LiveAPI {
  constructor(a, b) {
    const path = typeof a === "function" ? b : a;
    this.obj = resolve(String(path));
    this.id = this.obj ? 1 + Math.floor(Math.random() * 1000) : 0;
    this.path = this.obj ? `"${canonical(this.obj)}"` : "";
  }
  need(kind) {
    if (!this.obj || this.obj.kind !== kind) throw new Error(`LiveAPI: no ${kind} at ${this.path || "(nothing)"}`);
  }
  get(prop) {
    const o = this.obj;
    if (!o) throw new Error("LiveAPI.get on no object");
    if (o.kind === "song") {
      const v = { tempo: live.tempo, signature_numerator: live.num, signature_denominator: live.den }[prop];
      if (v === undefined) throw new Error(`song has no property ${prop}`);
      return [v];
    }
    if (o.kind === "slot" && prop === "has_clip") return [live.tracks[o.t].slots[o.s] ? 1 : 0];
    if (o.kind === "clip") {
      const c = live.tracks[o.t].slots[o.s];
      if (prop === "loop_start" && !("loop_start" in c)) return [0];
      if (prop === "loop_end" && !("loop_end" in c)) return [c.length];
      if (prop in c && prop !== "notes") return [c[prop]];
    }
    throw new Error(`${o.kind} has no property ${prop}`);
  }
  set(prop, value) {
    this.need("clip");
    if (prop !== "name") throw new Error(`cannot set ${prop}`);
    live.tracks[this.obj.t].slots[this.obj.s].name = String(value);
  }
  getcount(child) {
    this.need("track");
    if (child !== "clip_slots") throw new Error(`track has no list ${child}`);
    return live.tracks[this.obj.t].slots.length;
  }
  call(fn, ...args) {
    const o = this.obj;
    if (o && o.kind === "slot" && fn === "create_clip") {
      if (live.tracks[o.t].slots[o.s]) throw new Error("create_clip: the slot already has a clip");
      if (!(args[0] > 0)) throw new Error("create_clip: length must be positive");
      live.tracks[o.t].slots[o.s] = { is_midi_clip: 1, length: args[0], name: "", notes: [] };
      return;
    }
    this.need("clip");
    const c = live.tracks[o.t].slots[o.s];
    if (fn === "get_notes_extended") {
      if (args.length !== 4) throw new Error("get_notes_extended takes from_pitch, pitch_span, from_time, time_span");
      const [p0, span, t0, tspan] = args;
      const notes = c.notes.filter(n => n.pitch >= p0 && n.pitch < p0 + span && n.start_time >= t0 &&
                                        n.start_time < t0 + tspan)
        .map((n, i) => Object.assign({ note_id: i + 1, mute: 0, probability: 1, velocity_deviation: 0,
                                       release_velocity: 64 }, n));
      return JSON.stringify({ notes });
    }
    if (fn === "remove_notes_extended") {
      if (args.length !== 4) throw new Error("remove_notes_extended takes from_pitch, pitch_span, from_time, time_span");
      const [p0, span, t0, tspan] = args;
      c.notes = c.notes.filter(n => !(n.pitch >= p0 && n.pitch < p0 + span && n.start_time >= t0 &&
                                      n.start_time < t0 + tspan));
      return;
    }
    if (fn === "add_new_notes") {
      const d = args[0];
      if (args.length !== 1 || !d || !Array.isArray(d.notes)) throw new Error("add_new_notes takes {notes: [...]}");
      for (const n of d.notes) {
        for (const k of ["pitch", "start_time", "duration"]) {
          if (typeof n[k] !== "number" || !isFinite(n[k])) throw new Error(`add_new_notes: note without ${k}`);
        }
        if (n.pitch < 0 || n.pitch > 127 || n.duration <= 0) throw new Error("add_new_notes: bad note");
        c.notes.push({ pitch: n.pitch, start_time: n.start_time, duration: n.duration,
                       velocity: n.velocity === undefined ? 100 : n.velocity });
      }
      return;
    }
    throw new Error(`clip has no function ${fn}`);
  }
}

const sandbox = globalThis;
sandbox.LiveAPI = LiveAPI;
sandbox.outlet = function (n, ...args) {
  const flat = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  emit({ outlet: n, args: flat });
};
sandbox.post = function (...a) { process.stderr.write(a.join(" ")); };
sandbox.arrayfromargs = function (a) { return Array.prototype.slice.call(a); };
let source = fs.readFileSync(process.argv[2], "utf8");
if (process.argv[3]) {  // the test's own reply port instead of the device's fixed 9125
  source = source.replace(/var REPLY_PORT = \d+;/, `var REPLY_PORT = ${Number(process.argv[3])};`);
}
vm.runInThisContext(source, { filename: process.argv[2] });

const rl = readline.createInterface({ input: process.stdin });
rl.on("line", (line) => {
  const cmd = JSON.parse(line);
  try {
    if (cmd.set) { live = cmd.set; emit({ ok: "set" }); return; }
    if (cmd.dump) { emit({ live }); return; }
    const name = cmd.call;
    const fn = sandbox[name];
    if (typeof fn === "function" && name.charAt(0) !== "/") {
      fn.apply(sandbox, cmd.args || []);
    } else {
      sandbox.messagename = name;
      sandbox.anything.apply(sandbox, cmd.args || []);
    }
    emit({ ok: name });
  } catch (e) {
    emit({ error: String(e && e.stack || e) });
  }
});
