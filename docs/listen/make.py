"""Listenable examples: what the shipped models play, as a musician hears it (FLAC) and sees it (PNG).

    .venv/bin/python docs/listen/make.py            # writes docs/listen/*.flac and *.png
    .venv/bin/python docs/listen/make.py piano      # only these (piano chorale melody messages sonata-kern drums
                                                    # chorale-infill piano-infill groove drumify harmonize)

Every prime is music the model never trained on (its generation set; the groove model's validation files),
and every command is the one a user types (`cadenza continue`, `groove`, `drumify`, `harmonize`, `render`), at
the shipped defaults with seeds 1-4. The README in this folder lists what each file is.
"""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

SEEDS = (1, 2, 3, 4)
RATE = "16000"  # enough to hear the notes, a ninth of the size of 44.1 kHz


def cadenza(*args) -> None:
    from bridge.cli import main

    code = main([str(a) for a in args])
    if code:
        raise SystemExit(f"cadenza {' '.join(map(str, args))}: exit {code}")


def render(mid: Path) -> None:
    """The audio and the picture of `mid`; the MIDI file itself is not kept (music files stay out of docs/)."""
    cadenza("render", mid, "--out", mid.with_suffix(".flac"), "--sample-rate", RATE)
    cadenza("render", mid, "--out", mid.with_suffix(".png"))
    mid.unlink()


def prime_file(model: str, seed: int, beats: float = 8.0) -> Path:
    """The opening `beats` of one of the model's held-out pieces, as a MIDI file."""
    from bridge import store
    from bridge.generation.decode import prime_from_generation_set
    from bridge.music import write_midi

    loaded = store.load(model)
    _, ids = prime_from_generation_set(loaded, beats, seed)
    out = HERE / f"{model}-prime-{seed}.mid"
    write_midi(loaded.codec.decode(ids), out)
    return out


def held_out_beat(k: int, beats: float = 16.0) -> Path:
    """The first `beats` of a held-out drum performance (the groove model's validation files) with drums in
    every bar, quantised to the grid as a user's programmed beat would be: what groove is asked to play."""
    import numpy as np

    from bridge import store
    from bridge.evaluate import resolve_split
    from bridge.generation.decode import cut_at
    from bridge.music import load_score, write_midi

    files = sorted(resolve_split(store.load("groove").meta)["validation"])
    rng = np.random.default_rng(k)
    for i in rng.permutation(len(files)).tolist():
        score = load_score(files[i])
        if score.end_tick < beats * score.tpq or "fill" in files[i].name:
            continue
        score = cut_at(score, int(beats * score.tpq))
        step = score.tpq // 4
        tracks = []
        for t in score.tracks:
            a = t.array.copy()
            a[:, 2] = np.round(a[:, 2] / step).astype(np.int64) * step
            a[:, 3] = a[:, 2] + step
            a[:, 1] = 90
            tracks.append(t.replace(notes=a))
        out = HERE / f"beat-{k}.mid"
        write_midi(score.replace(tracks=tuple(tracks)), out)
        return out
    raise SystemExit("no held-out beat long enough")


CONTINUED = ("piano", "chorale", "melody", "messages", "sonata-kern", "drums")  # the models that continue music


FILLED = ("chorale-infill", "piano-infill")  # the infill models: a bar of a held-out piece written anew


def main(parts=CONTINUED + FILLED + ("groove", "drumify", "harmonize")) -> None:
    for model in CONTINUED:
        if model not in parts:
            continue
        for seed in SEEDS:
            prime = prime_file(model, seed)
            out = HERE / f"{model}-{seed}.mid"
            cadenza("continue", prime, "--model", model, "--beats", 16, "--seed", seed, "--out", out)
            prime.unlink()
            render(out)
    for model in FILLED:
        if model not in parts:
            continue
        for seed in SEEDS:
            piece = prime_file(model, seed, 16.0)
            out = HERE / f"{model}-{seed}.mid"
            cadenza("infill", piece, "--model", model, "--start-beat", 8, "--end-beat", 12, "--seed", seed, "--out", out)
            piece.unlink()
            render(out)
    for seed in SEEDS if "groove" in parts else ():
        out = HERE / f"groove-{seed}.mid"
        beat = held_out_beat(seed)
        cadenza("groove", beat, "--seed", seed, "--out", out)
        beat.unlink()
        render(out)
    for seed in SEEDS if {"drumify", "harmonize"} & set(parts) else ():
        melody = prime_file("chorale", seed, 16.0)
        if "drumify" in parts:
            out = HERE / f"drumify-{seed}.mid"
            cadenza("drumify", melody, "--seed", seed, "--out", out)
            render(out)
        if "harmonize" not in parts:
            melody.unlink()
            continue
        out = HERE / f"harmonize-{seed}.mid"
        from bridge.music import load_score, write_midi

        from bridge.music.transforms import top_line

        write_midi(top_line(load_score(melody)), melody)  # the chorale's top line: the melody harmonize is given
        cadenza("harmonize", melody, "--seed", seed, "--out", out)
        melody.unlink()
        render(out)


if __name__ == "__main__":
    main(tuple(sys.argv[1:]) or main.__defaults__[0])
