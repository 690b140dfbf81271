// Cadenza Studio: plain ES module, no build step, no library. It asks the daemon (same origin) for its models
// and settings, sends a request, draws the notes into a piano roll as they stream (server-sent events),
// plays them (Web Audio, or Web MIDI out), and offers the files the daemon wrote.
const TOKEN = document.querySelector('meta[name="cadenza-token"]').content;
const $ = (id) => document.getElementById(id);
const COLOURS = ['#e08a2c', '#4aa36c', '#b04a9a', '#8a6d3b', '#2a9bb0', '#c0392b', '#7f8c8d', '#d4ac0d'];
const PRIME_COLOUR = '#3b6fb6';

// What tests and benchmarks read: counts, not pixels.
const state = window.cadenza = {
  ready: false, drawnNotes: 0, firstNoteAt: null, clickedAt: null, job: null, done: false, error: null,
  prime: { notes: [], end: 0 }, variations: {}, files: [], played: [], settings: [], models: [], task: 'continue',
  region: [0, 0],
};

async function api(path, options = {}) {
  const headers = Object.assign({ 'X-Cadenza-Token': TOKEN }, options.headers || {});
  const r = await fetch(path, Object.assign({}, options, { headers }));
  let body = null;
  try { body = await r.json(); } catch (e) { body = { error: `the daemon answered ${r.status}` }; }
  if (!r.ok) { const err = new Error(body.error || `HTTP ${r.status}`); err.field = body.field; throw err; }
  return body;
}

function say(text, ok = false) {
  const m = $('message');
  m.textContent = text;
  m.className = ok ? 'ok' : '';
}

// ----- models and settings -----------------------------------------------------------------------------
async function loadModels() {
  const { models, default: def } = await api('/api/models');
  state.models = models;
  state.defaultModel = def;
  const sel = $('model');
  sel.innerHTML = '';
  for (const m of modelsFor('continue')) {
    const o = document.createElement('option');
    o.value = m.name; o.textContent = m.name;
    if (m.name === def) o.selected = true;
    sel.append(o);
  }
  showCard();
  await loadPieces();
}

function showCard() {
  const m = state.models.find((x) => x.name === $('model').value);
  const card = $('card');
  card.replaceChildren();
  if (!m) return;
  const what = document.createElement('p');
  const plays = (m.plays || m.corpus || '').split(' (')[0];
  what.textContent = `${m.name}: ${m.tasks.join(', ')}${plays ? ' · ' + plays : ''}${m.files ? ` (${m.files} files)` : ''}`;
  card.append(what);
  const figures = Object.entries(m.figures || {});
  if (figures.length) {
    const table = document.createElement('table');
    for (const [k, v] of figures) {
      const tr = document.createElement('tr');
      const th = document.createElement('th'); th.textContent = k;
      const td = document.createElement('td'); td.textContent = typeof v === 'number' ? +v.toFixed(3) : v;
      tr.append(th, td); table.append(tr);
    }
    card.append(table);
  }
  if (m.licence) { const l = document.createElement('p'); l.className = 'licence'; l.textContent = `Licence: ${m.licence}`; card.append(l); }
}

// ----- the task -----------------------------------------------------------------------------------------
function task() { return $('task').value; }
// jam is played here, in the page; each answer is a continuation of the phrase, asked as the Continue task is
function serverTask(t) { return t === 'jam' ? 'continue' : t; }
function modelsFor(t) { return state.models.filter((m) => m.tasks.includes(serverTask(t))); }
function showTask() {
  const t = task();
  const sel = $('model');
  const keep = sel.value;
  sel.innerHTML = '';
  const fit = modelsFor(t);
  for (const m of fit) {
    const o = document.createElement('option');
    o.value = m.name; o.textContent = m.name;
    sel.append(o);
  }
  if (fit.some((m) => m.name === keep)) sel.value = keep;
  else if (serverTask(t) === 'continue' && fit.some((m) => m.name === state.defaultModel)) sel.value = state.defaultModel;
  if (t !== 'jam') stopJam();
  $('region-box').hidden = t !== 'infill';
  $('second-box').hidden = t !== 'interpolate';
  $('jam-box').hidden = t !== 'jam';
  $('clear-notes').hidden = $('notes-count').hidden = t === 'jam';  // a jam's phrases come and go
  const none = document.querySelector('input[name="prime"][value="none"]');
  none.disabled = t !== 'continue';
  if (none.disabled && none.checked) document.querySelector('input[name="prime"][value="upload"]').checked = true;
  for (const r of document.querySelectorAll('input[name="prime"]')) {  // a jam's prime is what is played
    if (r.value !== 'none') r.disabled = t === 'jam' && r.value !== 'notes';
    if (t === 'jam' && r.value === 'notes') r.checked = true;
  }
  showCard();
  showSettings();
  showPrimePanel();
  loadPieces();
  draw();
}

let KIT = [];  // the drum grid's rows: [name, [General MIDI pitches]] (the groove model's nine classes)
async function loadSettings() {
  const { settings, kit } = await api('/api/settings');
  state.settings = settings;
  KIT = kit || [];
  $('settings').innerHTML = '';
  $('settings-more').innerHTML = '';
  for (const s of settings) {
    if (s.name === 'model') continue;
    const id = `set-${s.name}`;
    const label = document.createElement('label');
    label.htmlFor = id;
    label.textContent = s.label;
    let input;
    if (s.choices) {
      input = document.createElement('select');
      for (const c of s.choices) {
        const o = document.createElement('option');
        o.value = c; o.textContent = c === '' ? '(none)' : c;
        if (c === s.default) o.selected = true;
        input.append(o);
      }
    } else {
      input = document.createElement('input');
      input.type = s.kind === 'str' ? 'text' : 'number';
      if (s.kind === 'float') input.step = 'any';
      input.value = s.default;
    }
    input.id = id; input.name = s.name; input.title = s.help;
    input.setAttribute('aria-describedby', `${id}-help`);
    const help = document.createElement('div');
    help.className = 'sr'; help.id = `${id}-help`; help.textContent = s.help;  // read aloud; shown as the tooltip
    const cell = document.createElement('div');
    cell.className = 'cell';
    cell.id = `cell-${s.name}`;
    cell.append(label, input, help);
    $(s.first ? 'settings' : 'settings-more').append(cell);
  }
  showSettings();
}

// only the settings the task (and the model) take: the first few in view, the rest under "More settings"
function applies(s) {
  const t = serverTask(task());
  if (!s.tasks.includes(t)) return false;
  if (task() === 'jam' && (s.name === 'beats' || s.name === 'variations')) return false;  // the bars above; one answer
  if (s.name === 'drum_classes' && t === 'continue') {
    const m = state.models.find((x) => x.name === $('model').value);
    return !!m && m.codec === 'drums';
  }
  return true;
}
function showSettings() {
  for (const s of state.settings) {
    const cell = $(`cell-${s.name}`);
    if (cell) cell.hidden = !applies(s);
  }
}

function settingsValues() {
  const out = { model: $('model').value };
  for (const s of state.settings) {
    if (s.name === 'model' || !applies(s)) continue;
    const el = $(`set-${s.name}`);
    el.classList.remove('field-error');
    if (el.value === '' && s.kind !== 'str') continue;
    out[s.name] = s.kind === 'str' ? el.value : Number(el.value);
  }
  return out;
}

// ----- primes ------------------------------------------------------------------------------------------
let pieces = [];
async function loadPieces() {
  try { pieces = (await api(`/api/pieces?model=${encodeURIComponent($('model').value)}`)).pieces; } catch (e) { pieces = []; }
  const cols = [...new Set(pieces.map((p) => p.collection))];
  const cs = $('collection');
  cs.innerHTML = '';
  for (const c of cols) { const o = document.createElement('option'); o.value = c; o.textContent = c; cs.append(o); }
  fillPieces();
}
function fillPieces() {
  const ps = $('piece');
  ps.innerHTML = '';
  for (const p of pieces.filter((x) => x.collection === $('collection').value)) {
    const o = document.createElement('option'); o.value = p.id; o.textContent = p.title; ps.append(o);
  }
}

function primeKind() { return document.querySelector('input[name="prime"]:checked').value; }
const VERBS = { continue: 'Continue', infill: 'Infill', harmonize: 'Harmonize', groove: 'Groove', drumify: 'Drumify',
  interpolate: 'Interpolate', jam: 'Start jamming' };
function showPrimePanel() {
  for (const k of ['piece', 'upload', 'notes']) $(`prime-${k}`).hidden = primeKind() !== k;
  $('go').textContent = task() === 'continue' && primeKind() === 'none' ? 'Generate'
    : task() === 'jam' && jam.on ? 'Stop jamming' : VERBS[task()];
}

let second = null;  // interpolate's beat to end on
async function sendSecond(file) {
  const form = new FormData();
  form.append('file', file);
  try {
    second = await api('/api/upload', { method: 'POST', body: form });
    $('second-name').textContent = `${second.name}: ${second.notes.length} notes, ${second.end} beats`;
    say(`${second.name} is ready`, true);
  } catch (e) {
    second = null;
    $('second-name').textContent = '';
    say(e.message);
  }
}

let upload = null;
async function sendFile(file) {
  say('reading the file…', true);
  const form = new FormData();
  form.append('file', file);
  try {
    upload = await api('/api/upload', { method: 'POST', body: form });
    $('upload-name').textContent = `${upload.name}: ${upload.notes.length} notes, ${upload.end} beats`;
    state.prime = { notes: upload.notes, end: upload.end };
    state.variations = {};
    draw();
    say(`${upload.name} is ready`, true);
  } catch (e) {
    upload = null;
    $('upload-name').textContent = '';
    say(e.message);
  }
}

// the on-screen keyboard (two octaves from C4) and Web MIDI input record a prime
const played = state.played;
const sounding = new Map();
let t0 = null;
function noteOn(pitch, vel = 90) {
  const now = performance.now() / 1000;
  if (jam.on) jamNoteOn(pitch, vel, now);
  if (t0 === null) t0 = now;
  sounding.set(pitch, { start: now, vel });
  synth.start(pitch, vel, 0);
}
function noteOff(pitch) {
  const n = sounding.get(pitch);
  if (!n) return;
  sounding.delete(pitch);
  synth.stop(pitch);
  if (jam.on) { jamNoteOff(pitch, performance.now() / 1000); return; }
  const qpm = Number(($('set-qpm') || {}).value) || 120;
  const k = qpm / 60;
  played.push([pitch, +((n.start - t0) * k).toFixed(4), Math.max(1 / 16, +((performance.now() / 1000 - n.start) * k).toFixed(4)), n.vel]);
  $('notes-count').textContent = `${played.length} notes`;
  state.prime = { notes: played.map((x) => [...x, 0]), end: Math.max(...played.map((x) => x[1] + x[2])) };
  draw();
}
function buildKeys() {
  const keys = $('keys');
  const names = ['C', 'C#', 'D', 'D#', 'E', 'F', 'F#', 'G', 'G#', 'A', 'A#', 'B'];
  for (let p = 60; p < 84; p++) {
    const b = document.createElement('button');
    b.type = 'button';
    b.textContent = names[p % 12] + (Math.floor(p / 12) - 1);
    b.setAttribute('aria-label', `play ${b.textContent}`);
    if (names[p % 12].includes('#')) b.className = 'black';
    b.dataset.pitch = p;
    b.addEventListener('pointerdown', () => { b.classList.add('down'); noteOn(p); });
    const up = () => { b.classList.remove('down'); noteOff(p); };
    b.addEventListener('pointerup', up);
    b.addEventListener('pointerleave', up);
    b.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); b.classList.add('down'); noteOn(p); } });
    b.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') up(); });
    keys.append(b);
  }
  const letters = 'awsedftgyhujk';
  document.addEventListener('keydown', (e) => {
    if (primeKind() !== 'notes' || e.repeat || e.target.tagName === 'INPUT') return;
    const i = letters.indexOf(e.key);
    if (i >= 0) noteOn(60 + i);
  });
  document.addEventListener('keyup', (e) => {
    const i = letters.indexOf(e.key);
    if (i >= 0) noteOff(60 + i);
  });
  $('clear-notes').addEventListener('click', () => {
    played.length = 0; t0 = null; $('notes-count').textContent = '0 notes';
    state.prime = { notes: [], end: 0 }; draw();
  });
}

// ----- Web MIDI ----------------------------------------------------------------------------------------
let midiAccess = null;
async function setupMidi() {
  if (!navigator.requestMIDIAccess) return;
  try { midiAccess = await navigator.requestMIDIAccess(); } catch (e) { return; }
  const fill = () => {
    for (const [sel, ports] of [[$('midi-in'), midiAccess.inputs], [$('midi-out'), midiAccess.outputs]]) {
      const keep = sel.value;
      while (sel.options.length > 1) sel.remove(1);
      for (const port of ports.values()) {
        const o = document.createElement('option'); o.value = port.id; o.textContent = port.name; sel.append(o);
      }
      sel.value = keep;
    }
  };
  fill();
  midiAccess.onstatechange = fill;
  $('midi-in').addEventListener('change', () => {
    for (const port of midiAccess.inputs.values()) port.onmidimessage = null;
    const port = midiAccess.inputs.get($('midi-in').value);
    if (port) port.onmidimessage = (m) => {
      const [st, p, v] = m.data;
      if ((st & 0xf0) === 0x90 && v > 0) noteOn(p, v);
      else if ((st & 0xf0) === 0x80 || ((st & 0xf0) === 0x90 && v === 0)) noteOff(p);
    };
  });
}

// ----- a small Web Audio synth and the player ------------------------------------------------------------
const synth = {
  ctx: null, voices: new Map(),
  ensure() { if (!this.ctx) this.ctx = new (window.AudioContext || window.webkitAudioContext)(); return this.ctx; },
  start(pitch, vel, when) {
    const ctx = this.ensure();
    const osc = ctx.createOscillator(); const gain = ctx.createGain();
    osc.type = 'triangle';
    osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
    const t = ctx.currentTime + when;
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(0.25 * vel / 127, t + 0.01);
    gain.gain.exponentialRampToValueAtTime(0.08 * vel / 127 + 1e-4, t + 0.5);
    osc.connect(gain).connect(ctx.destination);
    osc.start(t);
    this.voices.set(pitch, { osc, gain });
    return { osc, gain };
  },
  stop(pitch) {
    const v = this.voices.get(pitch);
    if (!v) return;
    const t = this.ctx.currentTime;
    v.gain.gain.cancelScheduledValues(t);
    v.gain.gain.setTargetAtTime(0, t, 0.05);
    v.osc.stop(t + 0.3);
    this.voices.delete(pitch);
  },
};

// one note of the page's synth from Web Audio time a to b (Play and the jam's answers)
function voice(ctx, pitch, vel, a, b) {
  const osc = ctx.createOscillator(); const gain = ctx.createGain();
  osc.type = 'triangle'; osc.frequency.value = 440 * Math.pow(2, (pitch - 69) / 12);
  gain.gain.setValueAtTime(0, a);
  gain.gain.linearRampToValueAtTime(0.2 * vel / 127, a + 0.01);
  gain.gain.setTargetAtTime(0, b, 0.05);
  osc.connect(gain).connect(ctx.destination);
  osc.start(a); osc.stop(b + 0.4);
  return { osc, gain };
}

let playback = null;
function allNotes() {
  const out = state.prime.notes.filter((n) => !n[4]).map((n) => ({ p: n[0], s: n[1], d: n[2], v: n[3] }));
  const inside = (b) => state.task === 'infill' && b >= state.region[0] && b < state.region[1];
  const kept = out.filter((n) => !inside(n.s));
  // interpolate: every step, one after another; the other tasks: the first variation
  const parts = state.task === 'interpolate' ? Object.entries(state.variations) : [['1', state.variations[1] || []]];
  for (const [k, notes] of parts) for (const n of notes) kept.push({ p: n[0], s: n[1] + offset(k), d: n[2], v: n[3] });
  return kept;
}
function play() {
  stop();
  const notes = allNotes();
  if (!notes.length) return;
  const qpm = state.qpm || 120;
  const spb = 60 / qpm;
  const out = midiAccess && midiAccess.outputs.get($('midi-out').value);
  const startAt = performance.now();
  const timers = [];
  if (out) {
    for (const n of notes) {
      out.send([0x90, n.p, n.v], startAt + n.s * spb * 1000);
      out.send([0x80, n.p, 0], startAt + (n.s + n.d) * spb * 1000);
    }
  } else {
    const ctx = synth.ensure();
    const t0a = ctx.currentTime + 0.05;
    for (const n of notes) {
      const a = t0a + n.s * spb;
      timers.push(voice(ctx, n.p, n.v, a, a + Math.max(0.05, n.d * spb)).osc);
    }
  }
  const end = Math.max(...notes.map((n) => n.s + n.d));
  playback = { startAt, spb, end, timers, out };
  $('stop').disabled = false;
  requestAnimationFrame(tick);
}
function stop() {
  if (!playback) return;
  for (const o of playback.timers) { try { o.stop(); } catch (e) { /* already stopped */ } }
  if (playback.out) { playback.out.clear && playback.out.clear(); for (let p = 0; p < 128; p++) playback.out.send([0x80, p, 0]); }
  playback = null;
  $('stop').disabled = true;
  draw();
}
function tick() {
  if (!playback) return;
  const beat = (performance.now() - playback.startAt) / 1000 / playback.spb;
  if (beat > playback.end + 0.5) { playback = null; $('stop').disabled = true; draw(); return; }
  draw(beat);
  requestAnimationFrame(tick);
}

// ----- the piano roll ----------------------------------------------------------------------------------
// a continuation's notes count from the prime's end; every other task's are in the piece's own beats
// interpolate's steps (a variation each, two bars long) one after another
const STEP_BEATS = 8;
function offset(k = '1') {
  if (state.task === 'interpolate') return (Number(k) - 1) * STEP_BEATS;
  if (state.task === 'jam') return jam.offset;  // the answer starts on the bar line after the phrase
  return state.task === 'continue' ? state.prime.end : 0;
}
let view = { end: 4, W: 960 };
function region() { return [Number($('region-start').value), Number($('region-end').value)]; }
function drumView() {  // drum tasks, or a prime of drums alone: the kit's rows instead of pitches
  const t = state.task || task();
  if (t === 'groove' || t === 'drumify' || t === 'interpolate') return true;
  const prime = state.prime.notes;
  return t === 'continue' && prime.length > 0 && prime.every((n) => n[4]);
}
function kitRow(pitch) {
  const k = KIT.findIndex(([, pitches]) => pitches.includes(pitch));
  return k;  // -1: not a drum of the kit
}
function draw(playhead = null) {
  if (drumView() && KIT.length) { drawGrid(playhead); return; }
  state.grid = null;
  $('roll').setAttribute('aria-label', 'Piano roll: the prime and what the model wrote');
  const c = $('roll');
  const g = c.getContext('2d');
  const W = c.width, H = c.height;
  g.clearRect(0, 0, W, H);
  const prime = state.prime.notes;
  const vars = Object.entries(state.variations);
  let lo = 127, hi = 0, end = Math.max(state.prime.end, 4);
  const seen = (p) => { lo = Math.min(lo, p); hi = Math.max(hi, p); };
  for (const n of prime) { if (!n[4]) seen(n[0]); end = Math.max(end, n[1] + n[2]); }
  for (const [, notes] of vars) for (const n of notes) { seen(n[0]); end = Math.max(end, offset() + n[1] + n[2]); }
  view = { end, W };
  if (lo > hi) { lo = 48; hi = 84; }
  lo -= 2; hi += 2;
  const x = (b) => (b / end) * W;
  const y = (p) => H - ((p - lo + 1) / (hi - lo + 1)) * H;
  const h = Math.max(2, H / (hi - lo + 1) - 1);
  g.fillStyle = '#f0f0f0';
  for (let b = 0; b < end; b += 4) g.fillRect(x(b), 0, 1, H);
  const [r0, r1] = region();
  const showRegion = task() === 'infill' && r1 > r0;
  if (showRegion) { g.fillStyle = '#fff1d6'; g.fillRect(x(r0), 0, x(r1) - x(r0), H); }
  let drawn = 0;
  g.fillStyle = PRIME_COLOUR;
  const replaced = (b) => state.task === 'infill' && vars.length && b >= state.region[0] && b < state.region[1];
  for (const n of prime) { if (n[4] || replaced(n[1])) continue; g.fillRect(x(n[1]), y(n[0]), Math.max(1, x(n[2])), h); }
  vars.forEach(([k, notes]) => {
    g.fillStyle = COLOURS[(Number(k) - 1) % COLOURS.length];
    g.globalAlpha = vars.length > 1 && k !== '1' ? 0.6 : 1;
    for (const n of notes) { g.fillRect(x(offset() + n[1]), y(n[0]), Math.max(1, x(n[2])), h); drawn++; }
  });
  g.globalAlpha = 1;
  if (state.prime.end && (state.task || task()) === 'continue') { g.fillStyle = '#000'; g.fillRect(x(state.prime.end), 0, 1, H); }
  if (state.task === 'jam' && vars.length) { g.fillStyle = '#000'; g.fillRect(x(jam.offset), 0, 1, H); }
  if (playhead !== null) { g.fillStyle = '#d00'; g.fillRect(x(playhead), 0, 2, H); }
  state.drawnNotes = drawn;
  legendOf(vars);
}

// the drum grid: one row a kit piece (kick at the bottom), a hit's shade its velocity; notes of the prime
// that are not drums (drumify's rhythm) in a row of their own at the top
function drawGrid(playhead) {
  const c = $('roll');
  const g = c.getContext('2d');
  const W = c.width, H = c.height, LABEL = 96;
  c.setAttribute('aria-label', 'Drum grid: a row for each piece of the kit, each hit shaded by its velocity');
  g.clearRect(0, 0, W, H);
  const prime = state.prime.notes;
  const vars = Object.entries(state.variations);
  let end = Math.max(state.prime.end, 4);
  for (const n of prime) end = Math.max(end, n[1] + n[2]);
  for (const [k, notes] of vars) for (const n of notes) end = Math.max(end, offset(k) + n[1] + n[2]);
  view = { end, W };
  const rows = KIT.length + 1;
  const rowH = H / rows;
  const x = (b) => LABEL + (b / end) * (W - LABEL);
  const y = (row) => H - (row + 1) * rowH;  // row 0 (kick) at the bottom; row KIT.length: the rhythm
  // sixteenths, beats and bars, so a hit played off the grid (groove's feel) shows as off its line
  for (let i = 0; i * 0.25 < end; i++) {
    g.fillStyle = i % 16 === 0 ? '#c8c8c8' : i % 4 === 0 ? '#e0e0e0' : '#f4f4f4';
    g.fillRect(x(i * 0.25), 0, 1, H);
  }
  g.fillStyle = '#f0f0f0';
  for (let r = 0; r <= rows; r++) g.fillRect(LABEL, r * rowH, W - LABEL, 1);
  g.fillStyle = '#333';
  g.font = '12px sans-serif';
  g.textBaseline = 'middle';
  KIT.forEach(([name], r) => g.fillText(name, 4, y(r) + rowH / 2));
  g.fillText('rhythm', 4, y(KIT.length) + rowH / 2);
  const hit = (b, row, v) => {
    g.globalAlpha = 0.25 + 0.75 * Math.min(127, Math.max(1, v)) / 127;  // the shade is the velocity
    g.fillRect(x(b), y(row) + 2, 3, rowH - 4);  // a hit's left edge at its time
  };
  const cells = {};
  const count = (row) => { cells[row] = (cells[row] || 0) + 1; };
  g.fillStyle = PRIME_COLOUR;
  for (const n of prime) {
    const row = n[4] ? kitRow(n[0]) : KIT.length;
    if (row < 0) continue;
    hit(n[1], row, n[3]);
  }
  let drawn = 0;
  vars.forEach(([k, notes]) => {
    g.fillStyle = COLOURS[(Number(k) - 1) % COLOURS.length];
    for (const n of notes) {
      const row = kitRow(n[0]);
      if (row < 0) continue;
      hit(offset(k) + n[1], row, n[3]);
      if (k === '1' || state.task === 'interpolate') count(KIT[row][0]);
      drawn++;
    }
  });
  g.globalAlpha = 1;
  if (playhead !== null) { g.fillStyle = '#d00'; g.fillRect(x(playhead), 0, 2, H); }
  state.drawnNotes = drawn;
  state.grid = { rows: KIT.map(([name]) => name), hits: cells };  // what the grid shows (the tests read it)
  legendOf(vars);
}

function legendOf(vars) {
  const legend = $('legend');
  legend.replaceChildren();
  for (const [name, colour] of [['prime', PRIME_COLOUR]].concat(
    vars.map(([k]) => [state.task === 'jam' ? 'answer' : `${state.task === 'interpolate' ? 'step' : 'variation'} ${k}`,
      COLOURS[(Number(k) - 1) % COLOURS.length]]))) {
    const item = document.createElement('span');
    const swatch = document.createElement('i');
    swatch.style.background = colour;  // set through the DOM: the page's policy allows no inline style
    item.append(swatch, name);
    legend.append(item);
  }
}

// ----- jam: the page plays with the player ---------------------------------------------------------------
// The page keeps its own clock: beat 0 when Start is pressed, at the tempo setting; bar lines every bar of
// the meter setting (4/4 when none). A phrase is what was played since the last answer. When nothing is held
// and the player has been silent for the wait, the phrase goes to the daemon as a continuation of its notes
// (the Continue task, its settings from the form), and the answer plays from the next bar line, each note
// scheduled at its beat as it streams in (a model late for that bar line: from the one after). A note played
// while the answer is due ends it and drops what has not sounded: the player leads.
const MAX_PHRASE = 1024;  // notes of a phrase kept (the oldest go first), as the daemon's jam keeps
const jam = state.jam = { on: false, t0: 0, qpm: 120, bar: 4, phrase: [], held: new Map(), lastOff: null,
  answer: null, offset: 0, log: [], timer: null, lastBeat: -1 };

function jamBeat(now = performance.now() / 1000) { return (now - jam.t0) * jam.qpm / 60; }
function jamSeconds(beat) { return jam.t0 + beat * 60 / jam.qpm; }  // on performance.now()'s clock, in seconds
function barBeats() {
  const [num, den] = (($('set-meter') || {}).value || '').split('/').map(Number);
  return num > 0 && den > 0 ? num * 4 / den : 4;
}
function jamNumber(id, lo, hi, what) {
  const el = $(id);
  el.classList.remove('field-error');
  const v = Number(el.value);
  if (el.value === '' || !(v >= lo && v <= hi)) { el.classList.add('field-error'); el.focus(); say(`${what} must be ${lo}-${hi}`); return null; }
  return v;
}

function startJam() {
  say('');
  const qpm = jamNumber('set-qpm', 10, 400, 'the tempo (quarter notes a minute)');
  const wait = qpm && jamNumber('jam-wait', 0.5, 16, 'the wait before an answer (beats)');
  const bars = wait && jamNumber('jam-bars', 1, 8, "the answer's length (bars)");
  if (!bars) return;
  Object.assign(jam, { on: true, t0: performance.now() / 1000, qpm, wait, bars, bar: barBeats(), phrase: [],
    held: new Map(), lastOff: null, lastBeat: -1, answer: null });
  state.task = 'jam'; state.prime = { notes: [], end: 0 }; state.variations = {}; state.error = null;
  synth.ensure();
  jam.timer = setInterval(jamTick, 5);
  requestAnimationFrame(jamFrame);
  say('jamming: play a phrase, then listen', true);
  showPrimePanel();
}

function stopJam() {
  if (!jam.on) return;
  jam.on = false;
  clearInterval(jam.timer);
  dropAnswer();
  $('jam-beat').textContent = 'not jamming';
  showPrimePanel();
  draw();
}

function jamNoteOn(pitch, vel, now) {
  dropAnswer();  // the player leads
  if (!jam.phrase.length && !jam.held.size) { state.prime = { notes: [], end: 0 }; state.variations = {}; }
  jam.held.set(pitch, { on: jamBeat(now), vel });
}
function jamNoteOff(pitch, now) {
  const n = jam.held.get(pitch);
  if (!n) return;
  jam.held.delete(pitch);
  const off = jamBeat(now);
  jam.phrase.push([pitch, n.on, Math.max(1 / 16, off - n.on), n.vel]);
  if (jam.phrase.length > MAX_PHRASE) jam.phrase.shift();
  jam.lastOff = off;
  showPhrase(jam.phrase);
}
function showPhrase(phrase) {
  if (!phrase.length) return;
  const start = Math.min(...phrase.map((n) => n[1]));
  const notes = phrase.map(([p, on, d, v]) => [p, +(on - start).toFixed(4), +d.toFixed(4), v]);
  state.prime = { notes: notes.map((n) => [...n, 0]), end: Math.max(...notes.map((n) => n[1] + n[2])) };
  return { start, notes };
}

function jamTick() {
  const beat = jamBeat();
  const whole = Math.floor(beat);
  if (whole !== jam.lastBeat) {  // the beat shown, and clicked when asked (the click scheduled on the beat itself)
    jam.lastBeat = whole;
    $('jam-beat').textContent = `bar ${Math.floor(whole / jam.bar) + 1}, beat ${Math.floor(whole % jam.bar) + 1}`;
    if ($('jam-click').checked) blip(jamSeconds(whole + 1), (whole + 1) % jam.bar === 0);
  }
  if (jam.phrase.length && !jam.held.size && jam.lastOff !== null && beat - jam.lastOff >= jam.wait) ask(beat);
}
function jamFrame() {
  if (!jam.on) return;
  const start = jam.answer ? jam.answer.start : null;
  draw(start === null ? null : jamBeat() - start);
  requestAnimationFrame(jamFrame);
}

async function ask(beat) {
  const { start, notes } = showPhrase(jam.phrase);
  const lastOff = jam.lastOff;
  jam.phrase = []; jam.lastOff = null;
  const beats = jam.bars * jam.bar;
  const downbeat = Math.ceil(beat / jam.bar - 1e-9) * jam.bar;
  const entry = { phrase: notes.length, lastOff, asked: beat, downbeat, arrived: null, first: null,
    notes: 0, dropped: 0, error: null };
  jam.log.push(entry);
  if (jam.log.length > 100) jam.log.shift();
  const answer = jam.answer = { entry, start, downbeat, beats, pending: [], pitches: new Set(), cancelled: false,
    job: null, out: midiAccess && midiAccess.outputs.get($('midi-out').value) };
  jam.offset = downbeat - start;
  state.variations = {};
  state.clickedAt = performance.now(); state.firstNoteAt = null;
  const settings = Object.assign(settingsValues(), { beats, variations: 1, qpm: jam.qpm });
  let response;
  try {
    response = await fetch('/api/jobs', { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Cadenza-Token': TOKEN },
      body: JSON.stringify({ task: 'continue', settings, prime: { kind: 'notes', notes } }) });
  } catch (e) { jamFailed(entry, `the daemon does not answer (${e.message})`); return; }
  if (!response.ok) {
    let body = {};
    try { body = await response.json(); } catch (e) { body = { error: `the daemon answered ${response.status}` }; }
    const field = body.field && $(`set-${body.field}`);
    if (field) field.classList.add('field-error');
    jamFailed(entry, body.error);
    return;
  }
  await readEvents(response, (ev) => jamEvent(answer, ev));
}
function jamFailed(entry, message) {
  entry.error = message; state.error = message;
  say(message);  // one line; the jam stops so that the player sees it (fix the setting, start again)
  stopJam();
}

function jamEvent(answer, ev) {
  if (ev.type === 'job') { answer.job = ev.id; return; }
  if (ev.type === 'error') { answer.done = true; answer.entry.error = ev.message; state.error = ev.message; say(ev.message); return; }
  if (ev.type === 'done' || ev.type === 'cancelled') { answer.done = true; $('play').disabled = !allNotes().length; return; }
  if (ev.type !== 'notes' || ev.variation !== 1 || answer.cancelled) return;
  const entry = answer.entry;
  if (entry.arrived === null) {
    entry.arrived = jamBeat();
    if (entry.arrived > answer.downbeat - 0.02) {  // the model was late for that bar line: the next one
      answer.downbeat = Math.ceil((entry.arrived + 0.05) / jam.bar) * jam.bar;
      entry.downbeat = answer.downbeat;
      jam.offset = answer.downbeat - answer.start;
    }
    state.firstNoteAt = performance.now();
  }
  const mine = state.variations[1] = state.variations[1] || [];
  for (const [p, s, d, v] of ev.notes) {
    if (s >= answer.beats) continue;
    const len = Math.min(d, answer.beats - s);
    sound(answer, p, v, answer.downbeat + s, len);
    mine.push([p, s, len, v]);
    entry.notes++;
    if (entry.first === null || answer.downbeat + s < entry.first) entry.first = answer.downbeat + s;
  }
}

// one note of the answer at its beat: Web MIDI out (time-stamped) or this page's synth (Web Audio time)
function sound(answer, pitch, vel, at, len) {
  const on = jamSeconds(at), off = jamSeconds(at + len);
  answer.pitches.add(pitch);
  if (answer.out) {
    answer.out.send([0x90, pitch, vel], on * 1000);
    answer.out.send([0x80, pitch, 0], off * 1000);
    answer.pending.push({ at: on });
    return;
  }
  const ctx = synth.ensure();
  const shift = ctx.currentTime - performance.now() / 1000;
  const a = Math.max(ctx.currentTime, on + shift);
  answer.pending.push({ at: on, ...voice(ctx, pitch, vel, a, Math.max(a + 0.05, off + shift)) });
}

function dropAnswer() {
  const answer = jam.answer;
  if (!answer) return;
  jam.answer = null;
  answer.cancelled = true;
  const now = performance.now() / 1000;
  answer.entry.dropped = answer.pending.filter((n) => n.at > now).length;
  const ctx = synth.ctx;
  for (const n of answer.pending) {
    if (!n.osc) continue;
    try { n.gain.gain.cancelScheduledValues(ctx.currentTime); n.gain.gain.setTargetAtTime(0, ctx.currentTime, 0.02); n.osc.stop(ctx.currentTime + 0.1); } catch (e) { /* over */ }
  }
  if (answer.out) {
    if (answer.out.clear) answer.out.clear();  // what is queued and not sent yet
    for (const p of answer.pitches) answer.out.send([0x80, p, 0]);
  }
  if (answer.job && !answer.done) api(`/api/jobs/${answer.job}/cancel`, { method: 'POST' }).catch(() => {});
}

function blip(when, accent) {  // the click: a short tick at `when` (performance.now() seconds)
  const ctx = synth.ensure();
  const a = Math.max(ctx.currentTime, when + ctx.currentTime - performance.now() / 1000);
  const osc = ctx.createOscillator(); const gain = ctx.createGain();
  osc.frequency.value = accent ? 1760 : 1320;
  gain.gain.setValueAtTime(0.15, a);
  gain.gain.exponentialRampToValueAtTime(1e-4, a + 0.05);
  osc.connect(gain).connect(ctx.destination);
  osc.start(a); osc.stop(a + 0.06);
}

// ----- a request -----------------------------------------------------------------------------------------
let reading = null;
async function go() {
  if (task() === 'jam') { if (jam.on) stopJam(); else startJam(); return; }
  say('');
  const kind = primeKind();
  const prime = { kind };
  if (kind === 'upload') { if (!upload) { say('drop a file first'); return; } prime.id = upload.id; }
  if (kind === 'piece') { prime.id = $('piece').value; prime.beats = Number($('prime-beats').value); if (!prime.id) { say('this model has no held-out piece on this machine'); return; } }
  if (kind === 'notes') { if (!played.length) { say('play some notes first'); return; } prime.notes = played.slice(); }
  const body = { task: task(), settings: settingsValues(), prime };
  if (task() === 'infill') body.region = region();
  if (task() === 'interpolate') {
    if (!second) { say('choose the beat to end on, too'); return; }
    body.to = { kind: 'upload', id: second.id };
  }
  if (task() !== 'continue' && kind === 'none') { say('this task needs music: drop a file, choose a piece or play some notes'); return; }
  state.task = task(); state.region = region();
  state.clickedAt = performance.now();
  state.firstNoteAt = null; state.done = false; state.error = null; state.files = [];
  state.variations = {};
  $('downloads').innerHTML = ''; $('audio').removeAttribute('src');
  $('go').disabled = true;
  let response;
  try {
    $('region-start').classList.remove('field-error');
    response = await fetch('/api/jobs', { method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Cadenza-Token': TOKEN },
      body: JSON.stringify(body) });
  } catch (e) {
    $('go').disabled = false; say(`the daemon does not answer (${e.message})`); state.error = e.message; return;
  }
  if (!response.ok) {
    let body = {};
    try { body = await response.json(); } catch (e) { body = { error: `the daemon answered ${response.status}` }; }
    $('go').disabled = false;
    const field = body.field === 'region' ? $('region-start') : body.field === 'to' ? $('file2')
      : body.field && $(`set-${body.field}`);
    if (field) { field.classList.add('field-error'); field.focus(); }
    say(body.error); state.error = body.error; return;
  }
  $('cancel').disabled = false;
  await readEvents(response, onEvent);
  if (!state.done) { state.done = true; say('the connection to the daemon was cut'); finish(); }
}

// a request's answer is its event stream (server-sent events): each event to `handle` as it comes
async function readEvents(response, handle) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  reading = reader;
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        for (const line of block.split('\n')) if (line.startsWith('data: ')) handle(JSON.parse(line.slice(6)));
      }
    }
  } catch (e) { /* the stream was cut: the caller says so */ }
  reading = null;
}

function onEvent(ev) {
  if (ev.type === 'job') {
    state.job = ev.id; state.prime = ev.prime; state.qpm = ev.prime.qpm; draw();
  } else if (ev.type === 'started') say(`${ev.model} is playing…`, true);
  else if (ev.type === 'notes') {
    (state.variations[ev.variation] = state.variations[ev.variation] || []).push(...ev.notes);
    if (state.firstNoteAt === null && ev.notes.length) state.firstNoteAt = performance.now();
    draw();
  } else if (ev.type === 'file') {
    state.files.push(ev);
    const a = document.createElement('a');
    a.href = `/api/files/${ev.id}`; a.download = ev.name; a.textContent = `MIDI ${ev.variation}`;
    $('downloads').append(a);
    if (ev.variation === 1) {
      for (const fmt of ['wav', 'flac', 'png']) {
        const b = document.createElement('a');
        b.href = `/api/files/${ev.id}?as=${fmt}&t=${encodeURIComponent(TOKEN)}`; b.textContent = fmt.toUpperCase(); b.target = '_blank';
        $('downloads').append(b);
      }
      $('audio').src = `/api/files/${ev.id}?as=wav&t=${encodeURIComponent(TOKEN)}`;
    }
  } else if (ev.type === 'done') {
    state.done = true; say(`done: ${ev.notes} new notes`, true); finish();
  } else if (ev.type === 'error') {
    state.done = true; state.error = ev.message; say(ev.message); finish();
  } else if (ev.type === 'cancelled') {
    state.done = true; say('cancelled', true); finish();
  } else if (ev.type === 'info' || ev.type === 'warning') {
    say(ev.message, ev.type === 'info');  // worth knowing (a warning: a part did not work; the rest stands)
  }
}

function finish() {
  $('go').disabled = false; $('cancel').disabled = true;
  $('play').disabled = !allNotes().length;
  refreshStatus();
}

async function cancel() {
  if (!state.job) return;
  try { await api(`/api/jobs/${state.job}/cancel`, { method: 'POST' }); } catch (e) { say(e.message); }
}

async function refreshStatus() {
  try {
    const s = await api('/api/status');
    $('status').textContent = `${s.state === 'ok' ? 'ready' : 'loading the model…'} · default model ${s.model} · ` +
      `${s.running} running, ${s.waiting} waiting`;
    const h = $('history');
    h.innerHTML = '';
    for (const item of s.history) {
      const li = document.createElement('li');
      const a = document.createElement('a');
      a.href = `/api/files/${item.id}`; a.download = item.name; a.textContent = item.name;
      li.append(a, ` ${new Date(item.time * 1000).toLocaleTimeString()}`);
      h.append(li);
    }
  } catch (e) {
    $('status').textContent = `the daemon does not answer (${e.message})`;
  }
}

// infill's region, dragged across the roll (pointer or touch)
function dragRegion() {
  const c = $('roll');
  let from = null;
  const beat = (e) => {
    const r = c.getBoundingClientRect();
    return Math.max(0, Math.round(((e.clientX - r.left) / r.width) * view.end * 4) / 4);
  };
  c.addEventListener('pointerdown', (e) => {
    if (task() !== 'infill') return;
    from = beat(e); c.setPointerCapture(e.pointerId);
  });
  c.addEventListener('pointermove', (e) => {
    if (from === null) return;
    const b = beat(e);
    $('region-start').value = Math.min(from, b); $('region-end').value = Math.max(from, b);
    draw();
  });
  c.addEventListener('pointerup', () => { from = null; });
}

// the keyboard: Enter runs, Escape cancels, Space plays (not while typing, and not on the on-screen keys)
function keys() {
  document.addEventListener('keydown', (e) => {
    const typing = ['INPUT', 'SELECT', 'TEXTAREA'].includes(e.target.tagName) || e.target.closest('#keys');
    if (e.key === 'Escape') { cancel(); stop(); stopJam(); return; }
    if (typing || e.repeat) return;
    if (e.key === 'Enter' && e.target.tagName !== 'BUTTON' && !$('go').disabled) { e.preventDefault(); go(); }
    else if (e.key === ' ' && e.target.tagName !== 'BUTTON' && primeKind() !== 'notes') {
      e.preventDefault(); if (playback) stop(); else play();
    }
  });
}

// ----- start -----------------------------------------------------------------------------------------
async function main() {
  buildKeys();
  for (const r of document.querySelectorAll('input[name="prime"]')) r.addEventListener('change', showPrimePanel);
  $('model').addEventListener('change', () => { showCard(); showSettings(); loadPieces(); });
  $('task').addEventListener('change', showTask);
  for (const id of ['region-start', 'region-end']) $(id).addEventListener('input', () => draw());
  dragRegion();
  keys();
  $('collection').addEventListener('change', fillPieces);
  $('go').addEventListener('click', go);
  $('cancel').addEventListener('click', cancel);
  $('play').addEventListener('click', play);
  $('stop').addEventListener('click', stop);
  $('file').addEventListener('change', () => { if ($('file').files[0]) sendFile($('file').files[0]); });
  $('file2').addEventListener('change', () => { if ($('file2').files[0]) sendSecond($('file2').files[0]); });
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); if (e.dataTransfer.files[0]) sendFile(e.dataTransfer.files[0]); });
  drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('file').click(); } });
  try {
    await Promise.all([loadModels(), loadSettings()]);
  } catch (e) { say(`cannot reach the daemon: ${e.message}`); }
  showTask();
  refreshStatus();
  setInterval(refreshStatus, 3000);
  setupMidi();
  state.readyAt = performance.now();
  state.ready = true;
}
main();
