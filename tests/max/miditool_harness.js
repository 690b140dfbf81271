// Runs max_patches/cadenza_miditool.js as Max's [js] would in a Live 12 MIDI Tool, under Node, with models of
// what it touches: Max's Dict (a named dictionary: parse, stringify, name), jsarguments, outlet, messagename
// and arrayfromargs. [live.miditool.in] is the test: it creates the cycle's dictionaries ({"dict"}) and sends
// "context dictionary NAME" then "notes dictionary NAME", as the object's middle and left outlets do.
// [live.miditool.out] is the test too: outlet 1 "dictionary NAME" is what the clip would be set to.
//
// argv: SCRIPT ROLE [REPLY_PORT]. stdin: one JSON command a line: {"dict": {"name", "value"}} |
// {"call": NAME, "args": [...]} | {"get": NAME}. stdout: {"outlet": N, "args": [...]} per outlet call, then
// {"ok": NAME} (or {"error": ...}); {"value": ...} for "get".
"use strict";
const fs = require("fs");
const vm = require("vm");
const readline = require("readline");

const dicts = new Map();
function emit(obj) { process.stdout.write(JSON.stringify(obj) + "\n"); }

class Dict {
  constructor(name) {
    this.name = name || `u${Math.floor(Math.random() * 1e9)}`;
    if (!dicts.has(this.name)) dicts.set(this.name, {});
  }
  parse(text) { dicts.set(this.name, JSON.parse(text)); }
  stringify() { return JSON.stringify(dicts.get(this.name)); }
}

const sandbox = globalThis;
sandbox.Dict = Dict;
sandbox.jsarguments = ["cadenza_miditool.js", process.argv[3]];
sandbox.outlet = function (n, ...args) {
  const flat = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  emit({ outlet: n, args: flat });
};
sandbox.post = function (...a) { process.stderr.write(a.join(" ")); };
sandbox.arrayfromargs = function (a) { return Array.prototype.slice.call(a); };
let source = fs.readFileSync(process.argv[2], "utf8");
if (process.argv[4]) source = source.replace(/var REPLY_PORT = \d+;/, `var REPLY_PORT = ${Number(process.argv[4])};`);
vm.runInThisContext(source, { filename: process.argv[2] });

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  const cmd = JSON.parse(line);
  try {
    if (cmd.dict) { dicts.set(cmd.dict.name, JSON.parse(JSON.stringify(cmd.dict.value))); emit({ ok: "dict" }); return; }
    if (cmd.get) { emit({ value: dicts.get(cmd.get) || null }); return; }
    const name = cmd.call;
    const fn = sandbox[name];
    if (typeof fn === "function" && name.charAt(0) !== "/") fn.apply(sandbox, cmd.args || []);
    else { sandbox.messagename = name; sandbox.anything.apply(sandbox, cmd.args || []); }
    emit({ ok: name });
  } catch (e) {
    emit({ error: String(e && e.stack || e) });
  }
});
