"""Compile before anyone waits: numba compiles Cadenza's kernels the first time they run on a machine (and
for a new checkout path), ~45-60 s in all on a 2-core machine, then loads them from its disk cache in
milliseconds. `warm(loaded)` runs a model's generator once for one and for several variations, encodes (a prime
with a sustain pedal) and decodes once, judges an infill model's candidates and harmonizes with a harmony model
as their requests do, and imports what a request reads with, so that a client's first request finds everything
compiled and loaded; `cadenza warm` (the README's install command runs it) does this for every model in the
store, and reads and writes a MIDI file (the MIDI kernels), ahead of the first `cadenza serve`.
"""
from __future__ import annotations

from ..errors import CadenzaError


LOOPS = {"lstm": "kernels.chunk", "rnn": "kernels.chunk", "attention_lstm": "messages_kernels.chunk"}  # each
# architecture's generation loop, numba's (the groove model's is numpy)


def compiles(arch: str) -> bool:
    """Whether warming a model of this architecture compiles its generation loop first (not in numba's cache yet)."""
    from ..caches import kernels_cached

    return arch in LOOPS and not kernels_cached(LOOPS[arch])


def warm(loaded) -> None:
    """Run a loaded model once (compiling what it needs), for one variation and for several."""
    from .decode import decode_continuation, generator_for
    from .runner import Request
    from .sampling import Sampling

    if loaded.arch == "groovae":  # the groove model: read its weights and run it once
        from .groove import generate_beats, model_for

        generate_beats(model_for(loaded), 2)
        return
    from ..codecs import drums  # noqa: F401 - what every request reads (settings: drum classes)
    from ..music import Score
    from . import stream  # noqa: F401 - and streams its notes with

    two = Score.from_beats([(60, 0, 1, 80), (64, 1, 1, 80)])
    pedal = two.replace(tracks=tuple(t.replace(controls=((0, 64, 127), (two.tpq, 64, 0))) for t in two.tracks))
    try:  # encode once: a codec's encoder may be compiled too (a request's prime is encoded first), with a sustain
        loaded.codec.encode(pedal)  # pedal down and up (the piano's encoder lengthens the notes it holds)
    except CadenzaError:
        pass
    gen = generator_for(loaded)
    for b in (1, 2):  # compile the loop for one and for several variations before a client waits on it
        result = gen.run(loaded.codec.empty(), Request(tokens=gen.chunk, variations=b, sampling=Sampling()))
    try:  # and decode once: a codec's first decode may import what it reads with
        decode_continuation(loaded.codec, loaded.codec.empty(), result.new[0], include_prime=False)
    except CadenzaError:
        pass
    loaded.codec.warm()  # and what a decode may need that this one did not (music21 for **kern with split spines)
    if hasattr(loaded.codec, "infill_prime"):  # an infill model: its candidates judged by the music after the gap
        from .infill import infill  # (the bits of the real suffix: kernels.walk_bits; 6 s at a first infill before)

        piece = Score.from_beats([(60 + i % 5, i, 1, 80) for i in range(8)])
        infill(loaded, piece, 2.0, 4.0, Request(seed=0), candidates=2)
    if loaded.codec.harmonizes:  # a harmony model: its own loop too (bridge.generation.harmonize_kernels), and
        from .harmonize import harmonize, parallels_of  # the candidates' judging, as a request harmonizes

        tune = Score.from_beats([(72, 0, 1, 80), (74, 1, 1, 80), (76, 2, 2, 80), (74, 4, 2, 80), (72, 6, 2, 80)])
        harmonize(loaded, tune, Request(seed=0), candidates=2, parallels=parallels_of(loaded))


def warm_midi() -> None:
    """Write and read a small MIDI file in memory: the MIDI reader's and writer's kernels compiled."""
    from ..music import Score, read_midi
    from ..music.midi import midi_bytes

    read_midi(midi_bytes(Score.from_beats([(60, 0, 1, 80), (64, 1, 1, 90)])))
