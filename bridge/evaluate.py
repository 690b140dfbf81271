"""`cadenza eval --model NAME`: a model's quality in figures, on pieces it never trained on.

1. Validation NLL in bits per event, on the model's own validation files, windowed exactly as training
   measured it, next to unigram and bigram baselines fitted on its training files.
2. Music statistics of generated pieces next to the same statistics of real held-out pieces of the
   same length (definitions after MusPy, Dong et al. 2020):
     pitch-class entropy  bits, of the histogram of pitch classes of note onsets (0 to log2 12 = 3.58)
     scale consistency    the largest share of notes inside one major or minor scale
     groove consistency   1 - mean Hamming distance between the onset patterns of consecutive bars
                          (12 positions a beat)
     empty-beat rate      share of beats in which no note starts
     polyphony            mean number of pitches sounding, over the 1/12-beat steps where any sounds
     note density         note onsets per beat
     pitch range          highest minus lowest pitch, semitones
   Each generated piece continues the opening `prime_beats` of a generation-set piece (never trained
   on, article 002's lesson) for `beats` beats; its real counterpart is the same piece's next `beats`.
   A drums model gets seven drum statistics instead: hits per bar, the kick's, snare's and hi-hats'
   shares of the hits, groove consistency and empty-beat rate as above, and the off-beat share (hits
   not on an 8th note).
3. Copy rate: the share of the generated pieces' 8-note pitch n-grams (notes in onset order) found
   verbatim in the training files, next to the same share for the real held-out pieces (real music
   repeats scales and cadences too: that is the floor to compare with).
"""
from __future__ import annotations

import math
import os
from dataclasses import fields
from pathlib import Path

import numpy as np

from . import store
from .errors import CadenzaError

STEPS = 12  # grid steps per beat for groove and polyphony
NGRAM = 8
MAX_SAMPLES = 64  # continuations of each piece `--samples` may ask for
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MINOR = (0, 2, 3, 5, 7, 8, 10)
STAT_NAMES = ("pitch_class_entropy", "scale_consistency", "groove_consistency", "empty_beat_rate", "polyphony",
              "note_density", "pitch_range")
DRUM_STAT_NAMES = ("hits_per_bar", "kick_share", "snare_share", "hihat_share", "groove_consistency",
                   "empty_beat_rate", "offbeat_share")
LABELS = {"hits_per_bar": "hits per bar", "kick_share": "kick share", "snare_share": "snare share",
          "hihat_share": "hi-hat share", "offbeat_share": "off-8th share",
          "pitch_class_entropy": "pitch-class entropy (bits)", "scale_consistency": "scale consistency",
          "groove_consistency": "groove consistency", "empty_beat_rate": "empty-beat rate",
          "polyphony": "polyphony", "note_density": "note density (/beat)", "pitch_range": "pitch range (semitones)"}


# ----- music statistics -------------------------------------------------------------------------------
def notes_in_beats(score, drums: bool = False) -> np.ndarray:
    """(N, 3) pitch, start beat, end beat of every non-drum note (with `drums`, every drum note), by onset."""
    if drums:
        kit = [t.array for t in score.tracks if t.is_drum and len(t.array)]
        arr = np.concatenate(kit) if kit else np.zeros((0, 4), np.int64)
    else:
        arr = score.note_array()
    if not len(arr):
        return np.zeros((0, 3))
    out = np.stack([arr[:, 0], arr[:, 2] / score.tpq, arr[:, 3] / score.tpq], axis=1).astype(float)
    return out[np.lexsort((out[:, 0], out[:, 1]))]


def statistics(notes: np.ndarray, beats: float | None = None, beats_per_bar: int = 4) -> dict | None:
    """The seven statistics of one piece given as notes_in_beats() rows; None if it has no notes."""
    if not len(notes):
        return None
    pitch = notes[:, 0].astype(int)
    start = notes[:, 1] - notes[:, 1].min() if beats is None else notes[:, 1]
    end = notes[:, 2] - (notes[:, 1].min() if beats is None else 0)
    length = beats if beats is not None else float(max(end.max(), start.max() + 1e-9))
    n_beats = max(1, int(math.ceil(length - 1e-9)))
    hist = np.bincount(pitch % 12, minlength=12).astype(float)
    p = hist / hist.sum()
    entropy = float(-(p[p > 0] * np.log2(p[p > 0])).sum())
    scale = 0.0
    for tonic in range(12):
        for steps in (MAJOR, MINOR):
            inside = hist[[(tonic + s) % 12 for s in steps]].sum() / hist.sum()
            scale = max(scale, float(inside))
    bar_steps = beats_per_bar * STEPS
    n_bars = max(1, int(math.ceil(n_beats / beats_per_bar)))
    onsets = np.zeros(n_bars * bar_steps, bool)
    idx = np.clip(np.round(start * STEPS).astype(int), 0, len(onsets) - 1)
    onsets[idx] = True
    bars = onsets.reshape(n_bars, bar_steps)
    groove = 1.0 - float(np.mean(bars[1:] != bars[:-1])) if n_bars > 1 else 1.0
    beat_has_onset = np.zeros(n_beats, bool)
    beat_has_onset[np.clip(np.floor(start).astype(int), 0, n_beats - 1)] = True
    empty = 1.0 - float(beat_has_onset.mean())
    grid = np.zeros(n_beats * STEPS + 1, int)
    a = np.clip(np.round(start * STEPS).astype(int), 0, len(grid) - 1)
    b = np.clip(np.maximum(np.round(end * STEPS).astype(int), a + 1), 0, len(grid))
    diff = np.zeros(len(grid) + 1, int)
    np.add.at(diff, a, 1)
    np.add.at(diff, b, -1)
    sounding = np.cumsum(diff)[:-1]
    poly = float(sounding[sounding > 0].mean()) if (sounding > 0).any() else 0.0
    return {"pitch_class_entropy": entropy, "scale_consistency": scale, "groove_consistency": groove,
            "empty_beat_rate": empty, "polyphony": poly, "note_density": len(pitch) / n_beats,
            "pitch_range": float(pitch.max() - pitch.min())}


def drum_statistics(notes: np.ndarray, beats: float | None = None, beats_per_bar: int = 4) -> dict | None:
    """Seven statistics of a drum part (notes_in_beats(score, drums=True) rows); None if it has no hits."""
    if not len(notes):
        return None
    base = statistics(notes, beats, beats_per_bar)
    from .codecs.drums import PITCH_CLASS

    cls = PITCH_CLASS[notes[:, 0].astype(int)]
    length = beats if beats is not None else float(notes[:, 2].max() - notes[:, 1].min())
    start = notes[:, 1] if beats is not None else notes[:, 1] - notes[:, 1].min()
    off = np.abs(start * 2 - np.round(start * 2)) > 1e-3
    return {"hits_per_bar": len(notes) / max(length / beats_per_bar, 1e-9), "kick_share": float((cls == 0).mean()),
            "snare_share": float((cls == 1).mean()), "hihat_share": float(np.isin(cls, (2, 3)).mean()),
            "groove_consistency": base["groove_consistency"], "empty_beat_rate": base["empty_beat_rate"],
            "offbeat_share": float(off.mean())}


def window(notes: np.ndarray, start: float, beats: float) -> np.ndarray:
    """Notes starting in [start, start + beats), shifted to start at 0 and cut at the window's end."""
    sel = notes[(notes[:, 1] >= start) & (notes[:, 1] < start + beats)].copy()
    sel[:, 1:] -= start
    sel[:, 2] = np.minimum(sel[:, 2], beats)
    return sel


def ngrams(pitches, n: int = NGRAM) -> set:
    p = list(pitches)
    return {tuple(p[i:i + n]) for i in range(len(p) - n + 1)}


def copy_rate(pieces: list[np.ndarray], train: set) -> tuple[float | None, int]:
    total = hits = 0
    for notes in pieces:
        grams = [tuple(g) for g in np.lib.stride_tricks.sliding_window_view(notes[:, 0].astype(int), NGRAM)] \
            if len(notes) >= NGRAM else []
        total += len(grams)
        hits += sum(g in train for g in grams)
    return (hits / total if total else None), total


def summarise(rows: list[dict], names=STAT_NAMES) -> dict:
    out = {}
    for k in names:
        vals = np.array([r[k] for r in rows], float)
        out[k] = {"mean": float(vals.mean()), "std": float(vals.std()), "n": len(vals)} if len(vals) else None
    return out


# ----- the model's files ------------------------------------------------------------------------------
def resolve_split(meta: dict, corpus: str | os.PathLike | None = None) -> dict[str, list[Path]]:
    """The model's train / validation / generation files on this machine."""
    roots: list[Path] = [Path(corpus)] if corpus else []
    roots += store.corpus_roots(meta)
    out: dict[str, list[Path]] = {}
    for part, rels in meta.get("split", {}).items():
        found = []
        for rel in rels:
            head, _, tail = rel.partition("/")
            cands = [Path(corpus) / tail, Path(corpus) / rel] if corpus else []  # the folder itself or its parent
            cands += [root / tail if root.name == head else root / rel for root in roots]
            hit = next((c for c in cands if c.is_file()), None)
            if hit is not None:
                found.append(hit)
        out[part] = found
    if not out.get("validation") or not out.get("train"):
        where = ", ".join(str(r) for r in roots) or "nowhere"
        raise CadenzaError(f"model {meta.get('name')!r}: its corpus files are not on this machine (looked in "
                           f"{where}); give the corpus folder with --corpus")
    return out


def held_out_ids(loaded, pieces: int, tokens: int) -> list[np.ndarray]:
    """The first `tokens` ids of each of the first `pieces` validation pieces of a model's split (pieces that
    do not read are left out): held-out music to measure bits per token on."""
    from .music import load_score

    codec = getattr(loaded.codec, "base", loaded.codec)
    out = []
    for path in resolve_split(loaded.meta, None).get("validation", [])[:pieces]:
        try:
            ids = codec.encode(load_score(path))
        except Exception:  # noqa: BLE001 - a piece that does not read is left out
            continue
        if len(ids):
            out.append(np.asarray(ids[:tokens], np.int32))
    return out


def _encode(loaded, paths: list[Path], workers: int) -> list[np.ndarray]:
    from .training.prepare import encode_files

    codec = loaded.codec
    got = encode_files([str(p) for p in paths], codec.name, codec.params, workers=workers, progress=False)
    return [got[str(p)][0] for p in paths if got[str(p)][0] is not None and len(got[str(p)][0])]


def validation_nll(loaded, train_seqs, valid_seqs) -> dict:
    """Bits per event on the validation windows, measured as training measured it, with baselines."""
    from .training.data import LN2
    from .training.train import TrainConfig, data_for

    known = {f.name for f in fields(TrainConfig)}
    tr = {k: v for k, v in loaded.meta.get("training", {}).items() if k in known}
    tr.update(verbose=0, name=loaded.name, data=tr.get("data") or [])
    cfg = TrainConfig(**tr)
    data = data_for(cfg, loaded.codec, train_seqs, valid_seqs)
    model = loaded.model
    model.compile(loss=data.losses, jit_compile=False)
    result = model.evaluate(data.full_val, verbose=0)
    loss = float(result[0] if isinstance(result, (list, tuple)) else result)
    return {"bits_per_event": loss / LN2, "events": data.val_tokens,
            **{k.replace("_per_token", "_per_event"): v for k, v in data.baselines.items()}}


# ----- the whole evaluation ---------------------------------------------------------------------------
def _harmonized(loaded, path, beats: float, seed: int, sampling, key_prior: float, samples: int = 1):
    """([(generated statistics, generated notes)] of each of `samples` variations, real statistics, real notes) of
    a held-out piece's first `beats` beats: its melody with the parts the model writes under it, against the
    piece as Bach (or the tune's arranger) wrote it."""
    from .codecs.harmony import split_melody
    from .generation import Request
    from .generation.harmonize import harmonize, parallels_of, transpositions_of, voices_of
    from .music import Score, load_score
    from .music.score import Track
    from .settings import BY_NAME

    score = load_score(path)
    end = int(beats * score.tpq)
    melody, parts = split_melody(score)
    mel = melody.tracks[0].array
    mel = mel[mel[:, 2] < end]
    if not len(mel):
        return [], None, None
    melody = melody.replace(tracks=(melody.tracks[0].replace(notes=mel),))
    h = harmonize(loaded, melody, Request(seed=seed, sampling=sampling, key_prior=key_prior, variations=samples),
                  voices=voices_of(loaded), candidates=BY_NAME["candidates"].default,
                  transpositions=transpositions_of(loaded), judge_beats=BY_NAME["judge_beats"].default,
                  parallels=parallels_of(loaded))  # as every door harmonizes
    drawn = []
    for p in h.parts:
        made = window(notes_in_beats(Score(tpq=score.tpq, tracks=(Track(mel), Track(p)))), 0.0, beats)
        drawn.append((statistics(made, beats), made))
    real = window(notes_in_beats(score), 0.0, beats)
    return [(g, made) for g, made in drawn if g is not None], statistics(real, beats), real


def check_samples(samples: int) -> None:
    if not 1 <= samples <= MAX_SAMPLES:
        raise CadenzaError(f"samples {samples}: 1 to {MAX_SAMPLES} continuations of each piece")


def evaluate(name: str, corpus=None, pieces: int = 16, beats: float = 32.0, prime_beats: float = 8.0,
             seed: int = 0, workers: int = 0, temperature: float | None = None, progress=print,
             key_prior: float | None = None, register_prior: float | None = None, top_p: float | None = None,
             strategy: str | None = None, time_prior: float | None = None, samples: int = 1) -> dict:
    """`samples`: continuations drawn for each primed piece (one request's variations, so the first is the one a
    single sample gives): the generated figures average them all, against each real piece once, so the gaps
    carry less of the draw's noise (chorale, 71 pieces: a figure moved by up to 0.5 real stds between seeds)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    check_samples(samples)
    from .generation import Request, Sampling, continue_ids, decode_continuation, opening
    from .generation.runner import as_drawn

    loaded = store.load(name)
    # where not given, the settings' defaults (-1: the model's own priors and nucleus), as every door samples
    asked = Request(sampling=Sampling(**{k: v for k, v in (("strategy", strategy), ("temperature", temperature),
                                                          ("top_p", -1.0 if top_p is None else top_p))
                                         if v is not None}),
                    key_prior=-1.0 if key_prior is None else key_prior,
                    register_prior=-1.0 if register_prior is None else register_prior,
                    time_prior=-1.0 if time_prior is None else time_prior)
    drawn = as_drawn(loaded, asked)
    key_prior, register_prior, time_prior, sampling = (drawn.key_prior, drawn.register_prior, drawn.time_prior,
                                                       drawn.sampling)
    codec = loaded.codec
    drums = bool(codec.drums)
    names = DRUM_STAT_NAMES if drums else STAT_NAMES
    stats = drum_statistics if drums else statistics
    split = resolve_split(loaded.meta, corpus)
    workers = workers or os.cpu_count() or 1
    progress(f"{loaded.name}: encoding {len(split['train'])} training, {len(split['validation'])} validation and "
             f"{len(split.get('generation', []))} generation-set files ...")
    train = _encode(loaded, split["train"], workers)
    valid = _encode(loaded, split["validation"], workers)
    progress("validation NLL ...")
    nll = validation_nll(loaded, train, valid)

    # the held-out pieces that prime and that give the real statistics: generation set, then validation
    held = [p for p in split.get("generation", []) + split["validation"]]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(held)).tolist()
    gen_rows, real_rows, gen_notes, real_notes, used = [], [], [], [], []
    progress(f"generating {pieces} pieces of {beats:g} beats, each primed by {prime_beats:g} beats of a held-out "
             f"piece ...")
    for i in order:
        if len(used) >= pieces:
            break
        path = held[i]
        try:
            ids = codec.encode_file(path)
        except CadenzaError:
            continue
        piece_notes = notes_in_beats(codec.decode(ids), drums)
        if not len(piece_notes) or piece_notes[:, 1].max() < prime_beats + beats * 0.75:
            continue  # too short to give a real continuation to compare with
        if codec.harmonizes:  # a harmony model: the piece's own melody harmonized, against the piece itself
            drawn, r, real = _harmonized(loaded, path, beats, seed + len(used), sampling, key_prior, samples)
            if r is None or not drawn:
                continue
        else:
            prime = ids[:int(round(prime_beats * codec.steps))] if drums else opening(loaded, ids, prime_beats)
            req = Request(beats=beats, seed=seed + len(used), variations=samples, sampling=sampling,
                          key_prior=key_prior, register_prior=register_prior, time_prior=time_prior)
            result = continue_ids(loaded, prime, req)
            if drums:  # steps: the real music from the very step where the prime ends, on the same grid
                start = float(codec.span_beats(prime))
                real = window(piece_notes, start, beats)
            else:
                start = float(notes_in_beats(codec.decode(prime))[:, 2].max()) if len(prime) else 0.0
                real = window(piece_notes, max(prime_beats, start), beats)
            r = stats(real, beats)
            drawn = []
            for new in result.new:
                made = window(notes_in_beats(decode_continuation(codec, prime, new, include_prime=False), drums),
                              0.0, beats)
                g = stats(made, beats)
                if g is not None:
                    drawn.append((g, made))
            if r is None or not drawn:
                continue
        gen_rows += [g for g, _ in drawn]
        real_rows.append(r)
        gen_notes += [made for _, made in drawn]
        real_notes.append(real)
        used.append(str(path))
    if not used:
        raise CadenzaError(f"model {loaded.name!r}: no held-out piece is long enough to compare "
                           f"{beats:g} beats after a {prime_beats:g}-beat prime; try --beats 16")
    progress("copy rate ...")
    train_grams: set = set()
    for ids in train:
        train_grams |= ngrams(notes_in_beats(codec.decode(ids), drums)[:, 0].astype(int))
    gen_copy, gen_grams = copy_rate(gen_notes, train_grams)
    real_copy, real_grams = copy_rate(real_notes, train_grams)
    gen_sum, real_sum = summarise(gen_rows, names), summarise(real_rows, names)
    nearness = {}
    for k in names:
        spread = real_sum[k]["std"] or abs(real_sum[k]["mean"]) * 0.1
        # None: the real pieces all have the same value (0 empty beats): no spread to measure the gap in
        nearness[k] = (gen_sum[k]["mean"] - real_sum[k]["mean"]) / spread if spread else None
    import platform

    return {
        "model": loaded.name,
        "codec": codec.name,
        "nll": nll,
        "pieces": len(used),
        "samples": samples,
        "beats": beats,
        "prime_beats": prime_beats,
        "stat_names": list(names),
        "generated": gen_sum,
        "real": real_sum,
        "gap_in_real_stds": nearness,
        "copy_rate": {"n": NGRAM, "generated": gen_copy, "generated_ngrams": gen_grams, "real_held_out": real_copy,
                      "real_ngrams": real_grams, "training_ngrams": len(train_grams)},
        "primes": used,
        "per_piece": {"generated": gen_rows, "real": real_rows},
        "settings": {"seed": seed, "temperature": sampling.temperature, "strategy": f"{sampling.strategy} {sampling.top_p:g}", "key_prior": key_prior, "register_prior": register_prior,
                     "time_prior": time_prior,
                     "max_hold_beats": loaded.codec.max_hold_beats()},
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }


def table(r: dict) -> str:
    n = r["nll"]
    lines = [f"model {r['model']} ({r['codec']}), on held-out pieces",
             "",
             f"validation NLL (bits/event, {n['events']:,} events)   model {n['bits_per_event']:.3f}   "
             f"bigram {n['bigram_bits_per_event']:.3f}   unigram {n['unigram_bits_per_event']:.3f}"
             f"   ({1 - n['bits_per_event'] / n['bigram_bits_per_event']:.0%} under the bigram)",
             "",
             f"music statistics, {r['pieces']} pieces of {r['beats']:g} beats"
             + (f", {r['samples']} drawn for each" if r.get("samples", 1) > 1 else "")
             + f" (mean ± std); gap = (generated - real)"
             f" / real std",
             f"  {'':28s} {'generated':>16s} {'real held-out':>16s} {'gap':>7s}"]
    for k in r.get("stat_names", STAT_NAMES):
        g, re_ = r["generated"][k], r["real"][k]
        gap = r["gap_in_real_stds"][k]
        lines.append(f"  {LABELS[k]:28s} {g['mean']:8.3f} ± {g['std']:5.3f} {re_['mean']:8.3f} ± {re_['std']:5.3f} "
                     + (f"{gap:+7.2f}" if gap is not None else "    n/a"))
    c = r["copy_rate"]

    def pct(x):
        return "n/a" if x is None else f"{x:.1%}"

    lines += ["",
              f"copy rate: {c['n']}-note pitch n-grams found verbatim in the training files: generated "
              f"{pct(c['generated'])} of {c['generated_ngrams']}, real held-out {pct(c['real_held_out'])} of "
              f"{c['real_ngrams']}"]
    return "\n".join(lines)


def plot_png(r: dict) -> bytes:
    """Box plots of each statistic: generated against real held-out pieces."""
    import io

    import matplotlib

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(14, 3.2), dpi=100)
    names = r.get("stat_names", STAT_NAMES)
    axes = fig.subplots(1, len(names))
    for ax, k in zip(axes, names):
        gen = [row[k] for row in r["per_piece"]["generated"]]
        real = [row[k] for row in r["per_piece"]["real"]]
        box = ax.boxplot([real, gen], tick_labels=["real", "gen"], patch_artist=True, widths=0.6)
        for patch, colour in zip(box["boxes"], ("#4a6fa5", "#e07a1f")):
            patch.set_facecolor(colour)
            patch.set_alpha(0.6)
        ax.set_title(LABELS[k], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle(f"{r['model']}: {r['pieces']} generated vs real held-out pieces of {r['beats']:g} beats",
                 fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
