"""A piano-roll picture of a score: the prime and the continuation in different colours, with beat lines.

Where the continuation begins comes from the `continuation` marker Cadenza writes into every
continuation it saves, or from `prime_beats`; an infill's region (between the `infill` markers) is shaded and
its new notes drawn in the continuation's colour. Drawn with matplotlib (imported here only).
"""
from __future__ import annotations

import io

import numpy as np

from .score import CONTINUATION, INFILL_END, INFILL_START, Score

PRIME_COLOUR = "#4a6fa5"  # blue
NEW_COLOUR = "#e07a1f"  # orange


def continuation_tick(score: Score, prime_beats: float | None = None) -> int | None:
    if prime_beats is not None:
        return int(round(prime_beats * score.tpq))
    for m in score.markers:
        if m.text == CONTINUATION:
            return m.tick
    return None


def infill_ticks(score: Score) -> tuple[int, int] | None:
    """The region an infill wrote anew (its markers' ticks), or None."""
    marks = {m.text: m.tick for m in score.markers}
    if INFILL_START in marks and INFILL_END in marks and marks[INFILL_START] < marks[INFILL_END]:
        return marks[INFILL_START], marks[INFILL_END]
    return None


def piano_roll_png(score: Score, prime_beats: float | None = None, title: str | None = None,
                   width: float = 12.0, dpi: int = 100) -> bytes:
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.collections import PolyCollection
    from matplotlib.figure import Figure

    notes = score.note_array()
    split = continuation_tick(score, prime_beats)
    tpq = score.tpq
    end_beats = max(score.duration_beats, 1.0)
    if len(notes):
        low, high = int(notes[:, 0].min()) - 2, int(notes[:, 0].max()) + 2
    else:
        low, high = 58, 72
    fig = Figure(figsize=(width, max(3.0, min(9.0, (high - low) * 0.12 + 1.5))), dpi=dpi)
    ax = fig.add_subplot()
    # beat and bar lines
    num = score.time_signatures[0].numerator if score.time_signatures else 4
    for b in range(int(np.ceil(end_beats)) + 1):
        ax.axvline(b, color="#000000", alpha=0.28 if b % num == 0 else 0.08, lw=0.8 if b % num == 0 else 0.5,
                   zorder=0)
    region = infill_ticks(score) if split is None else None
    if region is not None:  # an infill: the notes that start in its region are the new ones
        is_new = (notes[:, 2] >= region[0]) & (notes[:, 2] < region[1]) if len(notes) else np.zeros(0, bool)
        ax.axvspan(region[0] / tpq, region[1] / tpq, color=NEW_COLOUR, alpha=0.10, zorder=0)
        ax.text(region[0] / tpq, high - 0.5, " infill ", color=NEW_COLOUR, va="top", ha="left", fontsize=9)
    else:
        is_new = (notes[:, 2] >= split) if split is not None and len(notes) else np.zeros(len(notes), bool)
    given = "prime" if split is not None else "given" if region is not None else "notes"
    for mask, colour, label in ((~is_new, PRIME_COLOUR, given),
                                (is_new, NEW_COLOUR, "infill" if region is not None else "continuation")):
        sel = notes[mask]
        if not len(sel):
            continue
        x0 = sel[:, 2] / tpq
        x1 = np.maximum(sel[:, 3], sel[:, 2] + 1) / tpq
        y = sel[:, 0].astype(float)
        boxes = np.stack([np.stack([x0, y - 0.4], 1), np.stack([x1, y - 0.4], 1),
                          np.stack([x1, y + 0.4], 1), np.stack([x0, y + 0.4], 1)], axis=1)
        alpha = 0.45 + 0.55 * (sel[:, 1] / 127.0)
        faces = [(*matplotlib.colors.to_rgb(colour), a) for a in alpha]
        ax.add_collection(PolyCollection(boxes, facecolors=faces, edgecolors=colour, linewidths=0.4, label=label))
    if split is not None:
        ax.axvline(split / tpq, color=NEW_COLOUR, lw=1.6, ls="--", zorder=3)
        ax.text(split / tpq, high - 0.5, " continuation ", color=NEW_COLOUR, va="top", ha="left", fontsize=9)
    ax.set_xlim(0, end_beats)
    ax.set_ylim(low, high)
    ax.set_xlabel(f"beats ({num} to a bar, {score.qpm:.0f} qpm)")
    ax.set_ylabel("MIDI pitch")
    c_ticks = [p for p in range(low, high + 1) if p % 12 == 0]
    ax.set_yticks(c_ticks, [f"C{p // 12 - 1}" for p in c_ticks])
    if len(notes):
        ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
