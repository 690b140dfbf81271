"""`cadenza bench infill`: does the infill model use the music after the gap?

On held-out pieces (the infill model's validation and generation sets, encoded by its codec), for gaps of
`--gap` beats at several places in each piece: the bits per token of the *real* middle
- given both sides, by the infill model (suffix, prefix, then the middle: what `cadenza infill` does),
- given the left side only, by the same infill model with no suffix (an empty one), and
- given the left side only, by the plain continuation model of the same family (`--baseline`).
Lower is better; infill must be clearly lower than continuation. Then the joins: the pitch interval and
the onset gap of the top line (the highest note at each onset) across the region's start and end in
generated infills, against the same in the real music across the same edges (mean and std; before session 11 the reference was
every consecutive pair of the piece, chord notes included, which made every join look like a jump and a
rest), for 1 and more candidates (`--candidates`), and the speed of a 2-bar infill in a 32-bar piece.
Measured with the compiled generator (no TensorFlow): the log-probability of each real token, token by token.
"""
from __future__ import annotations

import math
import time

import numpy as np


def _bits(gen, prime: np.ndarray, target: np.ndarray, before: np.ndarray | None = None) -> float:
    """Bits of `target` after `prime` under a compiled generator, summed. `before`: the music before the
    prime, whose notes still sounding a model that reads them is told of (as generation does)."""
    held = gen.note_counts(before) if before is not None and len(before) and gen.note_state else None
    logits, state = gen.prime(prime, held)
    counts = (held if held is not None else np.zeros(128, np.float32)) + gen.note_counts(prime)
    total = 0.0
    for t in target.tolist():
        row = logits[0].astype(np.float64)
        row -= row.max()
        total += -(row[t] - math.log(np.exp(row).sum())) / math.log(2)
        if gen.note_state:  # what a model that reads the sounding notes is shown, as in generation
            if gen.on_pitch[t] >= 0:
                counts[gen.on_pitch[t]] += 1
            if gen.off_pitch[t] >= 0:
                counts[gen.off_pitch[t]] -= 1
            state["sounding"][0] = counts > 0.5
        logits = gen.step(np.array([t], np.int32), state)
    return total


def _pieces(loaded, limit: int):
    from ..evaluate import resolve_split
    from ..music import load_score

    split = resolve_split(loaded.meta, None)
    out = []
    for path in (split.get("validation", []) + split.get("generation", []))[:limit]:
        try:
            out.append(load_score(path))
        except Exception:  # noqa: BLE001 - a piece that does not read is left out
            continue
    return out


def _edges(notes: list, start: float, end: float) -> list:
    """(interval, onset gap) of the top line (the highest pitch at each onset) across the region's start and
    end: the pair of consecutive onsets that crosses each edge."""
    top: dict = {}
    for t, p in notes:
        top[t] = max(p, top.get(t, p))
    line = sorted(top.items())
    return [(abs(q - p), b - a) for (a, p), (b, q) in zip(line, line[1:]) if (a < start <= b) or (a < end <= b)]


def _joins(real: list, generated: list) -> dict:
    """Generated music's joins across the region's edges against the real music's across the same edges."""
    ji, jo = np.array(real, float), np.array(generated, float)
    return {"real_edge_interval_mean_std": [round(ji[:, 0].mean(), 2), round(ji[:, 0].std(), 2)],
            "boundary_interval_mean": round(jo[:, 0].mean(), 2),
            "real_edge_onset_gap_mean_std": [round(ji[:, 1].mean(), 3), round(ji[:, 1].std(), 3)],
            "boundary_onset_gap_mean": round(jo[:, 1].mean(), 3), "boundaries": len(jo),
            "interval_gap_std": round((jo[:, 0].mean() - ji[:, 0].mean()) / max(ji[:, 0].std(), 1e-9), 2),
            "onset_gap_std": round((jo[:, 1].mean() - ji[:, 1].mean()) / max(ji[:, 1].std(), 1e-9), 2)}


def run_infill(model: str = "chorale-infill", baseline: str = "chorale", gap: float = 4.0, pieces: int = 24,
               candidates: list[int] | None = None) -> dict:
    from .. import store
    from ..generation import Request, generator_for
    from ..generation.infill import PREFIX_TOKENS, SUFFIX_TOKENS, infill
    from ..generation.runner import MAX_PRIME

    fim = store.load(model)
    plain = store.load(baseline)
    g_fim, g_plain = generator_for(fim), generator_for(plain)
    codec = fim.codec
    from ..settings import BY_NAME

    ks = sorted(set(candidates or [1, BY_NAME["candidates"].default]))
    both = left = cont = 0.0
    tokens = 0
    joins_in, joins_out = [], {k: [] for k in ks}
    for score in _pieces(fim, pieces):
        length = score.end_tick / score.tpq
        for start in np.arange(8.0, max(8.0, length - gap - 8), 8.0)[:3]:
            end = start + gap
            ids = codec.base.encode(score)  # split at the tokens where the region begins and ends, as in training
            cum = np.cumsum(codec.base.token_beats()[ids])
            a, b = int(np.searchsorted(cum, start)) + 1, int(np.searchsorted(cum, end)) + 1
            prefix, middle, suffix = ids[:a], ids[a:b], ids[b:]
            if not len(prefix) or not len(middle):
                continue
            both += _bits(g_fim, codec.infill_prime(prefix[-PREFIX_TOKENS:], suffix[:SUFFIX_TOKENS], gap), middle)
            left += _bits(g_fim, codec.infill_prime(prefix[-PREFIX_TOKENS:], codec.base.empty(), gap), middle)
            cont += _bits(g_plain, prefix[-MAX_PRIME:], middle, prefix[:-MAX_PRIME])
            tokens += len(middle)
            # the joins of a generated infill (for each count of candidates), against the music's own
            notes = sorted((n.start / score.tpq, n.pitch) for t in score.tracks if not t.is_drum for n in t.notes)
            joins_in += _edges(notes, start, end)
            for k in ks:
                _, regions, _ = infill(fim, score, start, end, Request(seed=int(start)), candidates=k)
                filled = sorted([(b, p) for b, p in notes if not start <= b < end] +
                                [(st, p) for p, st, _, _ in regions[0]])
                joins_out[k] += _edges(filled, start, end)
    r = {"model": model, "baseline": baseline, "gap_beats": gap, "middle_tokens": tokens,
         "bits_per_token": {"infill_both_sides": round(both / max(tokens, 1), 3),
                            "infill_model_left_only": round(left / max(tokens, 1), 3),
                            "continuation_model_left_only": round(cont / max(tokens, 1), 3)}}
    # speed: 2 bars (8 beats) in the first 32 bars of a piece, the median of 5
    score = _pieces(fim, 1)[0]
    r["candidates"] = {}
    for k in ks:
        times = []
        for i in range(5):
            t = time.perf_counter()
            infill(fim, score, 16.0, 24.0, Request(seed=1 + i), candidates=k)
            times.append((time.perf_counter() - t) * 1000)
        row = {"two_bar_infill_ms": round(sorted(times)[2], 1)}
        if joins_in and joins_out[k]:
            row["joins"] = _joins(joins_in, joins_out[k])
        r["candidates"][k] = row
    default = r["candidates"][BY_NAME["candidates"].default if BY_NAME["candidates"].default in ks else ks[-1]]
    r["joins"] = default.get("joins")
    r["two_bar_infill_ms"] = default["two_bar_infill_ms"]
    return r


def table_infill(r: dict) -> str:
    b = r["bits_per_token"]
    lines = [f"{r['middle_tokens']} real middle tokens ({r['gap_beats']:g}-beat gaps): bits/token given both sides "
             f"{b['infill_both_sides']}, the infill model given the left only {b['infill_model_left_only']}, the "
             f"continuation model {r['baseline']} given the left only {b['continuation_model_left_only']}"]
    for k, row in r.get("candidates", {}).items():
        j = row.get("joins")
        if j:
            lines.append(f"{k} candidate(s): across the edges ({j['boundaries']}) interval {j['boundary_interval_mean']} "
                         f"semitones (the real music across the same edges {j['real_edge_interval_mean_std'][0]} +- "
                         f"{j['real_edge_interval_mean_std'][1]}: {j['interval_gap_std']:+.2f} std), onset gap "
                         f"{j['boundary_onset_gap_mean']} beats (real {j['real_edge_onset_gap_mean_std'][0]} +- "
                         f"{j['real_edge_onset_gap_mean_std'][1]}: {j['onset_gap_std']:+.2f} std); a 2-bar infill "
                         f"{row['two_bar_infill_ms']} ms")
        else:
            lines.append(f"{k} candidate(s): a 2-bar infill {row['two_bar_infill_ms']} ms")
    return "\n".join(lines)
