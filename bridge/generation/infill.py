"""Infill: write the music of a region of a piece, given what comes before and after it.

Only a model trained for it (`cadenza train --fim`: its codec is a `FimCodec`) infills; a continuation
model is refused by name. The prime is the music after the region (its first tokens), then the music
before it (its last tokens), then the region's length; the model writes the region and generation stops
at its length. The result keeps every note outside the region as it was (notes that begin before the
region and sound into it too) and puts the new notes in a track of their own, between markers.
"""
from __future__ import annotations

import numpy as np

from ..errors import CadenzaError
from ..music import Marker, Score, Track
from ..music.score import INFILL_END, INFILL_START
from . import continue_ids, cut_at, decode_continuation, tempo_at
from .runner import Request, Result

SUFFIX_TOKENS = 128  # of the music after the region: the start of it is what the region must lead into
PREFIX_TOKENS = 128  # of the music before it: as in training (a gap begins 32-128 tokens into a window), so the
# recurrent state still holds the suffix when it starts writing
SCORED_TOKENS = 32  # of the music after the region: what a candidate middle is judged by (K > 1)


def check_region(score: Score, start: float, end: float, max_gap: int) -> None:
    length = score.end_tick / score.tpq
    if not end > start:
        raise CadenzaError(f"the region ends at beat {end:g}, not after its start {start:g}: give end > start")
    if start < 0:
        raise CadenzaError(f"the region starts at beat {start:g}: before the piece")
    if start >= length:
        raise CadenzaError(f"the region starts at beat {start:g}, past the end of the piece ({length:g} beats)")
    if end - start > max_gap:
        raise CadenzaError(f"a region of {end - start:g} beats: this model infills at most {max_gap} beats at once")


def split(score: Score, start: float, end: float) -> tuple[Score, Score]:
    """(before, after): the music before the region (sounding notes cut at its start), and the music from
    its end on, moved to begin at 0."""
    s, e = int(round(start * score.tpq)), int(round(end * score.tpq))
    before = cut_at(score, s)
    tracks = []
    for t in score.tracks:
        arr = t.array[t.array[:, 2] >= e].copy()
        arr[:, 2:] -= e
        tracks.append(t.replace(notes=arr))
    return before, score.replace(tracks=tuple(tracks))


def infill(loaded, score: Score, start: float, end: float, req: Request, on_chunk=None, cancel=None,
           on_prime=None, candidates: int = 1) -> tuple[list[Score], list[list[tuple]], Result]:
    """(whole scores, the region's notes of each variation as (pitch, start beat, duration, velocity) in the
    piece's beats, the generation result). `on_prime(prime, request)`: called with what the model reads
    before it writes (a streaming door builds its note streams from it).

    `candidates` K > 1 (and music after the region): K middles are drawn for each variation in one batch,
    and the one the real music after the region follows best (the fewest bits of its first SCORED_TOKENS
    tokens, read after the music before the region and that middle) is kept, a silent middle only when all
    are silent; the chosen middles reach `on_chunk` at once, when they are chosen."""
    codec = loaded.codec
    if not hasattr(codec, "infill_prime"):
        raise CadenzaError(f"{loaded.name} is not an infill model: it continues from the end, and is never passed "
                           "off as infill (use an infill model, e.g. chorale-infill, or train one with "
                           "`cadenza train --fim`)")
    check_region(score, start, end, codec.max_gap)
    before, after = split(score, start, end)
    prefix = codec.base.encode(before) if before.note_count else codec.base.empty()
    suffix = codec.base.encode(after) if after.note_count else codec.base.empty()
    prime = codec.infill_prime(prefix[-PREFIX_TOKENS:], suffix[:SUFFIX_TOKENS], end - start)
    qpm = tempo_at(score, int(start * score.tpq))
    import dataclasses

    from . import with_meter

    req = with_meter(dataclasses.replace(req, beats=end - start, tokens=0, qpm=qpm), score, int(round(start * score.tpq)))
    if on_prime is not None:
        on_prime(prime, req)
    k = max(1, int(candidates)) if len(suffix) else 1
    if k == 1:
        result = continue_ids(loaded, prime, req, on_chunk=on_chunk, cancel=cancel)
    else:
        result = _best_of(loaded, prime, req, k, prefix, suffix[:SCORED_TOKENS], cancel)
        if on_chunk is not None and not result.cancelled:
            on_chunk(list(result.new))
    s_tick, e_tick = int(round(start * score.tpq)), int(round(end * score.tpq))
    pitched = [t for t in score.tracks if not t.is_drum and len(t.array)]
    lead = max(pitched, key=lambda t: len(t.array)) if pitched else None
    wholes, regions = [], []
    for new in result.new:
        region = decode_continuation(codec, codec.context(prime), new, include_prime=False, qpm=qpm, beats=end - start,
                                     velocity_range=req.controls.velocity_range)
        arr = np.concatenate([t.array for t in region.tracks]) if region.tracks else np.zeros((0, 4), np.int64)
        arr = arr.copy()
        arr[:, 2:] = np.round(arr[:, 2:] * (score.tpq / region.tpq)).astype(np.int64) + s_tick
        arr = arr[arr[:, 2] < e_tick]
        arr[:, 3] = np.minimum(arr[:, 3], e_tick)
        kept = []
        for t in score.tracks:  # the notes that begin in the region give way to the new ones; drums stay
            if t.is_drum:
                kept.append(t)
                continue
            inside = (t.array[:, 2] >= s_tick) & (t.array[:, 2] < e_tick)
            kept.append(t.replace(notes=t.array[~inside]))
        track = Track(arr, program=lead.program if lead else 0, name="Cadenza infill",
                      channel=lead.channel if lead else 0)
        markers = tuple(score.markers) + (Marker(s_tick, INFILL_START), Marker(e_tick, INFILL_END))
        wholes.append(score.replace(tracks=tuple(kept) + (track,), markers=tuple(sorted(markers))))
        regions.append(sorted((int(p), a / score.tpq, (b - a) / score.tpq, int(v)) for p, v, a, b in arr.tolist()))
    return wholes, regions, result


def _best_of(loaded, prime: np.ndarray, req: Request, k: int, prefix: np.ndarray, suffix: np.ndarray,
             cancel) -> Result:
    """K candidates a variation, drawn as one batch (candidate j of variation v is row v * K + j, so its seed
    is its own), each judged by the bits of the real suffix after it; the best of each variation kept (`chosen`)."""
    import dataclasses

    many = continue_ids(loaded, prime, dataclasses.replace(req, variations=req.variations * k), cancel=cancel)
    if many.cancelled:
        return many
    keep = chosen(loaded, prefix, many.new, suffix, k)
    return dataclasses.replace(many, new=[many.new[i] for i in keep], beats=[many.beats[i] for i in keep])


def chosen(loaded, prefix: np.ndarray, middles: list, suffix: np.ndarray, k: int) -> list[int]:
    """The middle kept of each K in turn (variation v's are middles v * K .. v * K + K - 1): the one after which
    `suffix` costs the fewest bits, read after `prefix`; a silent one (not one note) only when all K are: a
    region was asked to be filled, and the music after a rest can cost the fewest bits."""
    from .decode import generator_for

    bits = generator_for(loaded).suffix_bits(prefix, middles, suffix)
    onsets = loaded.codec.onset_pitches()
    silent = [not (onsets[np.asarray(ids, np.int64)] >= 0).any() for ids in middles]
    return [min(range(v, v + k), key=lambda i: (silent[i], bits[i])) for v in range(0, len(middles), k)]
