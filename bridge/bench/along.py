"""`cadenza bench along`: jam mode along, played into a real daemon in real time.

A daemon with `--jam --jam-mode along` on its steady clock at each `--qpm`; a test player, a real OSC client on
127.0.0.1, plays held-out melodies (the soprano of chorales the harmony model never trained on, their first
`--beats` beats) note by note at their times with `/cadenza/note`. For every take:

- **on time**: the share of beats whose parts were decided before the beat began (the decision is due
  ALONG_MARGIN before it), and the p50/p99 error of every part's MIDI message against its time, as the
  scheduler sent it (as `bench clock` measures MIDI out);
- **harmony**: the share of the melody's on-beat notes whose pitch class the parts sound at that moment,
  against the same melody harmonized offline (the whole tune known in advance: what the live model gives up
  by not knowing the future), against the same model told only the past bar (each beat decided by a fresh
  model that hears the melody of the 4 beats before it, its parts ended at the next beat: what the live
  model gains by remembering the take), and against Bach's own parts;
- **latency**: how long before a beat a note must arrive to count for that beat's parts (ALONG_MARGIN), and
  the decision's own time (ms per beat, p50/p99).
"""
from __future__ import annotations

import time

import numpy as np


def _melodies(model, count: int, beats: float):
    from .. import store
    from ..codecs.harmony import split_melody
    from .infill import _pieces

    loaded = store.load(model)
    out = []
    for score in _pieces(loaded, count * 2):
        melody, parts = split_melody(score)
        a = melody.tracks[0].array
        first = a[0, 2] if len(a) else 0
        keep = (a[:, 2] >= first) & (a[:, 2] < first + beats * score.tpq)
        if keep.sum() < 4:
            continue
        shift = first - first % score.tpq  # from the bar line... the beat before the first note
        m = a[keep].copy()
        m[:, 2:] -= shift
        p = parts.tracks[0].array.copy()
        p[:, 2:] -= shift
        out.append((m / [1, 1, score.tpq, score.tpq], p[(p[:, 2] >= 0) & (p[:, 2] < beats * score.tpq)]
                    / [1, 1, score.tpq, score.tpq]))
        if len(out) == count:
            break
    return loaded, out


class _Sender:
    """A player: OSC messages over UDP to the daemon (its replies are not read)."""

    def __init__(self, port: int):
        import socket

        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.to = ("127.0.0.1", port)

    def send(self, address: str, *args) -> None:
        from pythonosc.osc_message_builder import OscMessageBuilder

        b = OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(a)
        self.sock.sendto(b.build().dgram, self.to)

    def close(self) -> None:
        self.sock.close()


def _agreement(melody: np.ndarray, parts: list[tuple[int, float, float]]) -> tuple[int, int]:
    """(agreeing, counted): on-beat melody notes (beats) whose pitch class sounds in the parts then."""
    agree = counted = 0
    for p, _, s, _ in melody.tolist():
        if abs(s - round(s)) > 1e-6:
            continue
        counted += 1
        agree += any(q % 12 == p % 12 for q, a, b in parts if a <= s + 1e-6 < b)
    return agree, counted


def _chordal(melody: np.ndarray, parts: list[tuple[int, float, float]]) -> tuple[int, int]:
    """(chordal, counted): voicing.chordal_share of the parts (pitch, on beat, off beat) under the melody (beats)."""
    from ..music.voicing import chordal_share

    tpq = 48

    def ticks(rows):
        return np.array([(int(p), 80, round(a * tpq), round(b * tpq)) for p, a, b in rows], np.int64).reshape(-1, 4)

    return chordal_share(ticks([(p, a, b) for p, _, a, b in melody.tolist()]), ticks(parts), tpq)


def past_bar(loaded, melody: np.ndarray, seed: int, voices: int = 3,
             transpositions: int = 1) -> list[tuple[int, float, float]]:
    """The parts the model writes beat by beat when told only the past bar: at each beat b, a fresh model
    hears the melody that began in the 4 beats before b (as live: a note on beat b counts from the next beat)
    and decides the parts of beat b, which end at b + 1 at the latest (the next beat's model does not know
    them). (pitch, on beat, off beat)."""
    from ..generation import Request
    from ..generation.along import Along

    spq = loaded.codec.params["steps_per_quarter"]
    end = int(np.ceil(max(melody[:, 3]))) if len(melody) else 0
    out = []
    for b in range(1, end):
        shift = max(0, b - 4)
        heard = [(int(p), round((on - shift) * spq), round((min(off, b) - shift) * spq) if off <= b else None)
                 for p, _, on, off in melody.tolist() if shift <= on < b]
        if not heard:
            continue
        along = Along(loaded, Request(seed=seed + b), voices=voices, transpositions=transpositions)
        along.decided = (b - shift) * spq
        for p, on, off in along.beat(heard, (b - shift + 1) * spq):
            a = on / spq + shift
            out.append((p, a, min(off / spq + shift, b + 1.0)))
    return out


def run(model: str = "chorale-harmony", melodies: int = 12, beats: float = 16.0, qpm: tuple = (60.0, 120.0, 180.0),
        seed: int = 0, transpositions: int | None = None) -> dict:
    import tempfile
    from pathlib import Path

    from ..generation import Request
    from ..generation.harmonize import harmonize
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon
    from ..host.live import ALONG_MARGIN
    from ..music import Score
    from ..generation.harmonize import transpositions_of
    from .osc import pct

    loaded, tunes = _melodies(model, melodies, beats)
    R = transpositions_of(loaded, transpositions or 0)  # the setting's default (0): the model's own
    report = {"model": model, "melodies": len(tunes), "beats": beats, "margin_ms": ALONG_MARGIN * 1000,
              "transpositions": R, "tempi": {}}
    for tempo in qpm:
        root = Path(tempfile.mkdtemp(prefix="cadenza-along-"))
        d = Daemon(ServeConfig(port=0, http_port=0, watch=False, model=model, inbox=root / "in", outbox=root / "out",
                               jam=True, jam_mode="along", jam_wait=1.0, qpm=tempo))
        d.start()
        d.wait_ready(120)
        c = _Sender(d.server.address[1])
        c.send("/cadenza/set", "seed", seed, "model", model, "transpositions", R)
        figures = {"beats": 0, "late": 0, "errors": [], "ms": [], "live": [0, 0], "offline": [0, 0], "past bar": [0, 0],
                   "bach": [0, 0]}
        chords = {k: [0, 0] for k in ("live", "offline", "past bar", "bach")}
        try:
            live = d.live
            for k, (melody, bach) in enumerate(tunes):
                clock = live.clock
                origin = np.ceil(clock.beat_at()) + 1
                events = sorted([(on, 1, int(p), int(v)) for p, v, on, _ in melody.tolist()] +
                                [(off, 0, int(p), 0) for p, _, _, off in melody.tolist()])
                takes = len(live.along_log)
                errors_before = len(live.scheduler.errors)
                for beat, _, pitch, vel in events:
                    t = clock.time_at(origin + beat)
                    while time.monotonic() < t:
                        time.sleep(min(0.002, max(0.0, t - time.monotonic())))
                    c.send("/cadenza/note", 1, pitch, vel)
                deadline = time.monotonic() + 10
                while len(live.along_log) == takes and time.monotonic() < deadline:
                    time.sleep(0.01)
                if len(live.along_log) == takes:
                    continue
                take = live.along_log[-1]
                figures["beats"] += take["beats"]
                figures["late"] += take["late"]
                figures["ms"] += take["ms"]
                figures["errors"] += list(live.scheduler.errors)[errors_before:]
                played = [(e["pitch"], e["on"] - origin, e["off"] - origin) for e in live.answer_log
                          if e.get("tag") == take["tag"] and "on" in e]
                for key, parts in (("live", played), ("bach", [(int(p), a, b) for p, _, a, b in bach.tolist()]),
                                   ("past bar", past_bar(loaded, melody, seed + k, transpositions=R))):
                    a, n = _agreement(melody, parts)
                    figures[key][0] += a
                    figures[key][1] += n
                    a, n = _chordal(melody, parts)
                    chords[key][0] += a
                    chords[key][1] += n
                score = Score.from_beats([(int(p), a, b - a, int(v)) for p, v, a, b in melody.tolist()], qpm=tempo)
                h = harmonize(loaded, score, Request(seed=seed + k), voices=3, transpositions=R)
                off = [(int(p), a / score.tpq, b / score.tpq) for p, _, a, b in h.parts[0].tolist()]
                a, n = _agreement(melody, off)
                figures["offline"][0] += a
                figures["offline"][1] += n
                a, n = _chordal(melody, off)
                chords["offline"][0] += a
                chords["offline"][1] += n
        finally:
            c.close()
            d.stop()
        err = [e * 1000 for e in figures["errors"]]
        report["tempi"][f"{tempo:g}"] = {
            "beats": figures["beats"], "on_time_share": round(1 - figures["late"] / max(figures["beats"], 1), 4),
            "note_error_ms_p50": round(pct(err, 50), 3) if err else None,
            "note_error_ms_p99": round(pct(err, 99), 3) if err else None,
            "decision_ms_p50": round(pct(figures["ms"], 50), 2) if figures["ms"] else None,
            "decision_ms_p99": round(pct(figures["ms"], 99), 2) if figures["ms"] else None,
            "on_beat_melody_in_parts": {k: round(figures[k][0] / max(figures[k][1], 1), 3)
                                        for k in ("live", "offline", "past bar", "bach")},
            "beats_sounding_one_chord": {k: round(v[0] / max(v[1], 1), 3) for k, v in chords.items()}}
    return report


def table(r: dict) -> str:
    lines = [f"{r['melodies']} held-out melodies of {r['beats']:g} beats played live into jam mode along with "
             f"{r['model']}; a note counts for a beat's parts when it arrives {r['margin_ms']:g} ms before it",
             "| qpm | beats | on time | note error p50 / p99 ms | decision p50 / p99 ms | on-beat melody in parts: "
             "live / offline / past bar only / Bach | beats sounding one chord: the same |", "|---|---|---|---|---|---|---|"]
    for q, f in r["tempi"].items():
        a = f["on_beat_melody_in_parts"]
        c = f.get("beats_sounding_one_chord", {})
        lines.append(f"| {q} | {f['beats']} | {f['on_time_share']:.1%} | {f['note_error_ms_p50']} / "
                     f"{f['note_error_ms_p99']} | {f['decision_ms_p50']} / {f['decision_ms_p99']} | "
                     f"{a['live']} / {a['offline']} / {a.get('past bar')} / {a['bach']} | "
                     f"{c.get('live')} / {c.get('offline')} / {c.get('past bar')} / {c.get('bach')} |")
    return "\n".join(lines)
