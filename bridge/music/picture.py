"""A piano-roll picture of a score: the prime and the continuation in different colours, with beat lines, and
the drum tracks' hits in rows of their own below the pitched notes.

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


# General MIDI's percussion names (channel 10) for the drum rows
GM_DRUMS = {35: "acoustic bass drum", 36: "kick", 37: "side stick", 38: "snare", 39: "hand clap", 40: "electric snare",
            41: "low floor tom", 42: "closed hi-hat", 43: "high floor tom", 44: "pedal hi-hat", 45: "low tom",
            46: "open hi-hat", 47: "low-mid tom", 48: "high-mid tom", 49: "crash", 50: "high tom", 51: "ride",
            52: "china", 53: "ride bell", 54: "tambourine", 55: "splash", 56: "cowbell", 57: "crash 2", 59: "ride 2"}


def _split(notes: np.ndarray, split: int | None, region: tuple[int, int] | None) -> np.ndarray:
    """Which notes are new: those from the continuation's start, or that start in an infill's region."""
    if region is not None:
        return (notes[:, 2] >= region[0]) & (notes[:, 2] < region[1])
    return notes[:, 2] >= split if split is not None else np.zeros(len(notes), bool)


def _boxes(ax, notes: np.ndarray, y: np.ndarray, is_new: np.ndarray, tpq: int, labels: tuple[str, str],
           shortest: float = 1.0) -> None:
    """Each note a box from its start to its end (at least `shortest` ticks) at height y, its velocity its
    opacity; the given ones blue, the new ones orange."""
    import matplotlib
    from matplotlib.collections import PolyCollection

    for mask, colour, label in ((~is_new, PRIME_COLOUR, labels[0]), (is_new, NEW_COLOUR, labels[1])):
        sel, at = notes[mask], y[mask]
        if not len(sel):
            continue
        x0 = sel[:, 2] / tpq
        x1 = np.maximum(sel[:, 3], sel[:, 2] + shortest) / tpq
        boxes = np.stack([np.stack([x0, at - 0.4], 1), np.stack([x1, at - 0.4], 1),
                          np.stack([x1, at + 0.4], 1), np.stack([x0, at + 0.4], 1)], axis=1)
        alpha = 0.45 + 0.55 * (sel[:, 1] / 127.0)
        faces = [(*matplotlib.colors.to_rgb(colour), a) for a in alpha]
        ax.add_collection(PolyCollection(boxes, facecolors=faces, edgecolors=colour, linewidths=0.4, label=label))


MAX_LINES = 400  # beat lines drawn at most (then bar lines only, then every so many bars)


def piano_roll_png(score: Score, prime_beats: float | None = None, title: str | None = None,
                   width: float = 12.0, dpi: int = 100) -> bytes:
    """The score's pitched notes by pitch and, below them, its drum tracks' hits, a row for each drum struck
    (named as General MIDI names it): the prime's blue and the continuation's (or an infill's) orange."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    notes = score.note_array()
    drum_arrays = [t.array for t in score.tracks if t.is_drum and len(t.array)]
    drums = np.concatenate(drum_arrays) if drum_arrays else np.zeros((0, 4), np.int64)
    split = continuation_tick(score, prime_beats)
    region = infill_ticks(score) if split is None else None
    tpq = score.tpq
    end_beats = max(score.duration_beats, 1.0)
    if len(notes):
        low, high = int(notes[:, 0].min()) - 2, int(notes[:, 0].max()) + 2
    else:
        low, high = 58, 72
    kit = sorted(set(drums[:, 0].tolist()))
    pitched = len(notes) > 0 or not len(drums)
    heights = ([max(2.0, (high - low) * 0.12)] if pitched else []) + ([0.3 * len(kit) + 0.4] if kit else [])
    fig = Figure(figsize=(width, max(3.0, min(11.0, sum(heights) + 1.5))), dpi=dpi)
    axes = fig.subplots(len(heights), 1, sharex=True, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    num = score.time_signatures[0].numerator if score.time_signatures else 4
    given = "prime" if split is not None else "given" if region is not None else "notes"
    labels = (given, "infill" if region is not None else "continuation")
    beats = np.arange(int(np.ceil(end_beats)) + 1)
    bars = beats[beats % num == 0]
    bars = bars[::max(1, len(bars) // MAX_LINES)]  # (more lines than this would be a grey wash at this width)
    for ax in axes:  # beat and bar lines, each kind one artist (a line each took 6.7 s for two hours of music)
        if len(beats) <= MAX_LINES:
            ax.vlines(beats[beats % num != 0], 0, 1, transform=ax.get_xaxis_transform(), colors="#000000",
                      alpha=0.08, lw=0.5, zorder=0)
        ax.vlines(bars, 0, 1, transform=ax.get_xaxis_transform(), colors="#000000", alpha=0.28, lw=0.8, zorder=0)
        if region is not None:  # an infill: the notes that start in its region are the new ones
            ax.axvspan(region[0] / tpq, region[1] / tpq, color=NEW_COLOUR, alpha=0.10, zorder=0)
        if split is not None:
            ax.axvline(split / tpq, color=NEW_COLOUR, lw=1.6, ls="--", zorder=3)
    top = axes[0]
    if pitched:
        ax = axes[0]
        _boxes(ax, notes, notes[:, 0].astype(float), _split(notes, split, region), tpq, labels)
        ax.set_ylim(low, high)
        ax.set_ylabel("MIDI pitch")
        c_ticks = [p for p in range(low, high + 1) if p % 12 == 0]
        ax.set_yticks(c_ticks, [f"C{p // 12 - 1}" for p in c_ticks])
        if len(notes):
            ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    if kit:
        ax = axes[-1]
        row = {p: k for k, p in enumerate(kit)}
        y = np.array([row[p] for p in drums[:, 0].tolist()], float)
        _boxes(ax, drums, y, _split(drums, split, region), tpq, labels, shortest=tpq / 8)
        ax.set_ylim(-0.6, len(kit) - 0.4)
        ax.set_yticks(range(len(kit)), [GM_DRUMS.get(p, f"drum {p}") for p in kit], fontsize=8)
        ax.set_ylabel("drums")
        if not pitched:
            ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    y_text = high - 0.5 if pitched else len(kit) - 0.5
    if region is not None:
        top.text(region[0] / tpq, y_text, " infill ", color=NEW_COLOUR, va="top", ha="left", fontsize=9)
    if split is not None:
        top.text(split / tpq, y_text, " continuation ", color=NEW_COLOUR, va="top", ha="left", fontsize=9)
    axes[-1].set_xlim(0, end_beats)
    axes[-1].set_xlabel(f"beats ({num} to a bar, {score.qpm:.0f} qpm)")
    if title:
        top.set_title(title, fontsize=10)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
