"""Decoding a continuation: the new tokens as music in the prime's beats, tempo map and meter; a mixed
prime's drums continued by the drums model alongside; the opening of a held-out piece as a prime."""
from __future__ import annotations

import numpy as np

from ..errors import CadenzaError
from ..music import Score
from .runner import Generator, Request, Result



def generator_for(loaded) -> Generator:
    """The compiled generator of a loaded model, built once and kept with it."""
    gen = getattr(loaded, "_generator", None)
    if gen is None:
        if "self_attention" in loaded.arrays.attrs:  # the attention-LSTM: its own kernels
            from .messages_runner import MessagesGenerator

            gen = MessagesGenerator(loaded)
        else:
            gen = Generator(loaded)
        object.__setattr__(loaded, "_generator", gen)
    return gen


def continue_ids(loaded, prime_ids: np.ndarray, req: Request, on_chunk=None, cancel=None) -> Result:
    return generator_for(loaded).run(prime_ids, req, on_chunk=on_chunk, cancel=cancel)


def prime_beats(codec, prime_ids: np.ndarray, qpm: float | None = None) -> float:
    beats = codec.token_beats(qpm) if qpm else codec.token_beats()
    if beats is not None and len(prime_ids):
        return float(beats[np.asarray(prime_ids, np.int64)].sum())
    return codec.span_beats(prime_ids) if len(prime_ids) else 0.0


def decode_continuation(codec, prime_ids: np.ndarray, new_ids: np.ndarray, include_prime: bool = True,
                        like: Score | None = None, qpm: float | None = None, beats: float | None = None,
                        velocity_range: tuple[int, int] | None = None) -> Score:
    """The prime followed by the new music, as one Score (or the new music alone).

    `like`: the prime as read, whose opening tempo and meter the result takes where the codec counts
    time in beats (the performance codec counts seconds, so its music keeps its own timing).
    `beats`: the length asked for: new notes starting after it are dropped, notes sounding past it are
    cut there (codecs that count time in whole bars generate a little more). `velocity_range`: the new
    notes' velocities are kept inside it (codecs without velocity tokens decode one velocity for all)."""
    full = np.concatenate([np.asarray(prime_ids), np.asarray(new_ids)]) if len(prime_ids) else np.asarray(new_ids)
    score = codec.decode(full, qpm=qpm) if qpm and codec.time_in_seconds else codec.decode(full)
    if like is not None and not codec.time_in_seconds:
        from ..music import Tempo

        sigs = tuple(s._replace(tick=0) for s in like.time_signatures[:1]) or score.time_signatures
        score = score.replace(tempos=(Tempo(0, like.tempos[0].usec_per_quarter),), time_signatures=sigs)
    start = int(round(prime_beats(codec, prime_ids, qpm) * score.tpq)) if len(prime_ids) else 0
    if beats is not None:
        score = cut_at(score, start + int(round(beats * score.tpq)))
    if velocity_range is not None:
        score = clip_velocities(score, velocity_range, start)
    if not len(prime_ids):
        return score
    if include_prime:  # a marker where the new music begins: `cadenza render` colours the two apart
        from ..music import CONTINUATION, Marker

        return score.replace(markers=(Marker(start, CONTINUATION),))
    tracks = []
    for t in score.tracks:
        arr = t.array[t.array[:, 2] >= start].copy()
        arr[:, 2:] -= start
        tracks.append(t.replace(notes=arr))
    return score.replace(tracks=tuple(tracks))


def with_meter(req: Request, score: Score, tick: int | None = None) -> Request:
    """The request counted in the bars of `score`: its meter in force at `tick` (default: its end) and
    where in a bar that tick falls (the musician's controls count bar by bar)."""
    import dataclasses

    from .controls import beat_of

    tick = score.end_tick if tick is None else tick
    sigs = [s for s in score.time_signatures if s.tick <= tick] or list(score.time_signatures[:1])
    if not sigs:
        return dataclasses.replace(req, phase=(tick / score.tpq) % req.bar)
    sig = sigs[-1]
    bar = sig.numerator * 4.0 / sig.denominator
    phase = ((tick - sig.tick) / score.tpq) % bar
    return dataclasses.replace(req, bar=bar, beat=beat_of(sig.numerator, sig.denominator), phase=phase)


def clip_velocities(score: Score, rng: tuple[int, int], start: int = 0) -> Score:
    """Velocities of notes starting at or after `start` moved into rng."""
    tracks = []
    for t in score.tracks:
        arr = t.array.copy()
        new = arr[:, 2] >= start
        arr[new, 1] = np.clip(arr[new, 1], rng[0], rng[1])
        tracks.append(t.replace(notes=arr))
    return score.replace(tracks=tuple(tracks))


def tempo_at(score: Score, tick: int) -> float:
    """The tempo (qpm) in force at a tick."""
    qpm = score.tempos[0].qpm if score.tempos else 120.0
    for t in score.tempos:
        if t.tick <= tick:
            qpm = t.qpm
    return qpm


def continuation_of(codec, prime_ids: np.ndarray, new_ids: np.ndarray, like: Score, beats: float | None = None,
                    include_prime: bool = True, velocity_range: tuple[int, int] | None = None) -> Score:
    """The prime as it was read, every track, channel, program, drum part, tempo change, meter and key kept,
    followed by the new music in a track of its own from where the prime ends, counted in the prime's
    beats (codecs that count seconds are decoded at the tempo in force there). `include_prime=False`:
    the new music alone, at that tempo and meter."""
    from ..music import CONTINUATION, Marker, Tempo, Track
    from ..music.score import qpm_to_usec

    end = like.end_tick
    qpm = tempo_at(like, end)
    new = decode_continuation(codec, prime_ids, new_ids, include_prime=False, qpm=qpm, beats=beats,
                              velocity_range=velocity_range)
    arrays = [t.array for t in new.tracks if len(t.array)]
    arr = np.concatenate(arrays) if arrays else np.zeros((0, 4), np.int64)
    arr = arr.copy()
    arr[:, 2:] = np.round(arr[:, 2:] * (like.tpq / new.tpq)).astype(np.int64)
    pitched = [t for t in like.tracks if not t.is_drum and len(t.array)]
    lead = max(pitched, key=lambda t: len(t.array)) if pitched else None
    if codec.drums:  # a drum model continues the drum part, on the drum channel
        kit = [t for t in like.tracks if t.is_drum and len(t.array)]
        track = Track(arr, program=kit[0].program if kit else 0, is_drum=True, channel=9, name="Cadenza drums")
    else:
        track = Track(arr, program=lead.program if lead else 0, name="Cadenza continuation",
                      channel=lead.channel if lead else 0)
    if not include_prime:
        sigs = [s for s in like.time_signatures if s.tick <= end][-1:] or list(like.time_signatures[:1])
        keys = [k for k in like.key_signatures if k.tick <= end][-1:]
        return like.replace(tracks=(track,), tempos=(Tempo(0, qpm_to_usec(qpm)),),
                            time_signatures=tuple(s._replace(tick=0) for s in sigs), markers=(),
                            key_signatures=tuple(k._replace(tick=0) for k in keys))
    arr[:, 2:] += end
    return like.replace(tracks=like.tracks + (track.replace(notes=arr),),
                        markers=tuple(like.markers) + (Marker(end, CONTINUATION),))


def drum_note(codec, like: Score, model: str, drums_too: bool = False) -> str | None:
    """What to tell the user about the prime's drums (None: nothing to say). `drums_too`: a drums model
    continues them alongside. Raises CadenzaError when the model has nothing it can continue."""
    has_drums = any(t.is_drum and len(t.array) for t in like.tracks)
    pitched = any(not t.is_drum and len(t.array) for t in like.tracks)
    if codec.drums:
        if not has_drums:
            raise CadenzaError(f"no drums here, and {model} plays only drums: `cadenza drumify` makes a drum part "
                               "from this music's rhythm")
        return f"{model} continues the drums; the other parts are kept as they were" if pitched else None
    if not has_drums:
        return None
    if not pitched:
        raise CadenzaError(f"only drums here, and {model} plays no drums: continue it with the drums model "
                           "(--model drums, or `model drums`)")
    if drums_too:
        return f"{model} continues the pitched parts and the drums model the drums"
    return f"{model} plays no drums; the drum track is kept as it was"


DRUMS_MODEL = "drums"  # the model that continues a mixed prime's drums alongside a pitched model


def drums_model_here(models=None) -> bool:
    """Whether there is a drums model to continue a mixed prime's drums with."""
    from .. import store

    try:
        (models.find if models is not None else store.find)(DRUMS_MODEL)
        return True
    except CadenzaError:
        return False


def continue_drums(like: Score, req: Request, models=None) -> "Track | None":
    """The drum part of `like` continued by the drums model for the request's beats from where `like`
    ends (in its ticks, on the drum channel), or None where there is nothing to continue or no drums
    model. `models`: how to load it (a daemon's model cache), else the store."""
    import dataclasses

    from ..music import Track

    kit = [t for t in like.tracks if t.is_drum and len(t.array)]
    if not kit or req.tokens:
        return None
    from .. import store

    try:
        loaded = models.get(DRUMS_MODEL) if models is not None else store.load(DRUMS_MODEL)
    except CadenzaError:
        return None
    codec = loaded.codec
    drums_only = like.replace(tracks=tuple(kit))
    ids = codec.encode(drums_only)
    steps = codec.steps
    end_step = int(round(like.end_tick / like.tpq * steps))
    ids = np.concatenate([ids[:end_step], np.zeros(max(0, end_step - len(ids)), np.int32)]).astype(np.int32)
    r = dataclasses.replace(req, variations=1, controls=dataclasses.replace(req.controls, density=0.0, leaps=-1.0,
                                                                           offbeats=-1.0, no_repeat=0, polyphony_min=0,
                                                                           polyphony_max=0, rhythm_variety=-1.0),
                            phase=None, qpm=None)
    result = continue_ids(loaded, ids, r)
    new = codec.decode(result.new[0])
    arr = new.tracks[0].array.copy()
    arr[:, 2:] = np.round(arr[:, 2:] * like.tpq / new.tpq).astype(np.int64) + int(round(end_step * like.tpq / steps))
    cut = int(round(like.end_tick + req.beats * like.tpq))
    arr = arr[arr[:, 2] < cut]
    return Track(arr, program=kit[0].program, is_drum=True, channel=9, name="Cadenza drums")


def add_track(score: Score, track) -> Score:
    """`score` with one more track (None: as it is)."""
    return score if track is None else score.replace(tracks=score.tracks + (track,))


def cut_at(score: Score, end: int) -> Score:
    """The score without notes starting at or after tick `end`, and notes sounding past it ended there."""
    tracks = []
    for t in score.tracks:
        arr = t.array[t.array[:, 2] < end].copy()
        arr[:, 3] = np.minimum(arr[:, 3], end)
        tracks.append(t.replace(notes=arr))
    return score.replace(tracks=tuple(tracks))


def continue_score(loaded, score: Score | None, req: Request, include_prime: bool = True, on_chunk=None,
                   cancel=None) -> tuple[list[Score], Result]:
    codec = loaded.codec
    prime = codec.encode(score) if score is not None and score.note_count else np.zeros(0, np.int32)
    result = continue_ids(loaded, prime, req, on_chunk=on_chunk, cancel=cancel)
    scores = [decode_continuation(codec, prime, new, include_prime, like=score, beats=asked_beats(req),
                                  velocity_range=req.controls.velocity_range) for new in result.new]
    return scores, result


def asked_beats(req: Request) -> float | None:
    """The length in beats a request asks for (None when it asks for a number of tokens)."""
    return None if req.tokens else float(req.beats)


def opening(loaded, ids: np.ndarray, beats: float) -> np.ndarray:
    """The ids of a piece's first `beats` beats (at least one token): counted exactly where the codec's
    tokens have durations, else estimated from the model's tokens per beat."""
    beats_per = loaded.codec.token_beats()
    if beats_per is not None:
        cum = np.cumsum(beats_per[np.asarray(ids).astype(np.int64)])
        return ids[:max(1, int(np.searchsorted(cum, beats)))]
    return ids[:max(1, int(beats * (loaded.meta.get("tokens_per_beat") or 40)))]


def prime_from_generation_set(loaded, beats: float = 8.0, seed: int = 0, corpus_root=None) -> tuple[str, np.ndarray]:
    """The opening `beats` of a piece the model never trained on, as prime ids."""
    from pathlib import Path

    split = loaded.meta.get("split", {}).get("generation", [])
    roots = [Path(p) for p in loaded.meta.get("corpus", {}).get("paths", [])]
    rng = np.random.default_rng(seed)
    for rel in rng.permutation(split).tolist() if split else []:
        head, _, tail = rel.partition("/")
        for root in roots:
            path = root / tail if root.name == head else None
            if path is not None and path.is_file():
                try:
                    ids = loaded.codec.encode_file(path)
                except CadenzaError:
                    continue
                return str(path), opening(loaded, ids, beats)
    raise CadenzaError(f"model {loaded.name!r}: none of its generation-set pieces is on this machine")
