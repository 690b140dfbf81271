"""Streaming: each chunk decoded with a bounded context gives exactly the notes a whole decode gives."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import ROOT

MODELS = [m for m in ("piano", "chorale", "messages") if (ROOT / "models" / m / "cadenza.json").is_file()]


@pytest.mark.parametrize("context", [None, 24])
@pytest.mark.parametrize("model", MODELS)
def test_streamed_notes_are_the_whole_decodes_notes(model, context, monkeypatch):
    """With the real context, and with one so short that notes outlive it (then finish() decodes the whole
    variation once: the only time anything does)."""
    from bridge import store
    from bridge.generation import Request, continue_ids, decode_continuation
    from bridge.generation import stream
    from bridge.generation.stream import NoteStream
    from bridge.music import Score

    if context:
        from bridge.generation import runner

        monkeypatch.setattr(stream, "CONTEXT", context)
        monkeypatch.setattr(runner.Batcher, "LONG", 1)  # short chunks, each handed over: notes sound across many
        monkeypatch.setattr(runner, "GATHER", 1)  # chunks' ends
    loaded = store.load(model)
    codec = loaded.codec
    prime = codec.encode(Score.from_beats([(60, 0, 1, 90), (64, 1, 1, 80), (67, 2, 2, 70)], qpm=90))
    streams = [NoteStream(codec, prime, qpm=90.0, beats=96.0) for _ in range(2)]
    got = [[], []]

    def on_chunk(chunk):
        for k, rows in enumerate(chunk):
            got[k] += streams[k].feed(rows)

    # (the time prior and the rhythm variety off: their longer time steps make fewer tokens a note, and this seed's
    # notes outlive 24 without them)
    from bridge.generation.controls import Controls

    result = continue_ids(loaded, prime, Request(beats=96, seed=1, variations=2, qpm=90.0, time_prior=0.0,
                                                 controls=Controls(rhythm_variety=0.0)), on_chunk=on_chunk)
    for k in range(2):
        before_finish = len(got[k])
        got[k] += streams[k].finish()
        whole = decode_continuation(codec, prime, result.new[k], include_prime=False, qpm=90.0, beats=96.0)
        want = sorted((n.pitch, n.start / whole.tpq, (n.end - n.start) / whole.tpq, n.velocity) for n in whole.notes())
        have = sorted(got[k])  # (the same notes; a time may differ in its last bits: the chunks' beats were summed)
        assert [(p, v) for p, _, _, v in have] == [(p, v) for p, _, _, v in want]
        assert np.allclose([x[1:3] for x in have], [x[1:3] for x in want], rtol=0, atol=1e-6)
        assert before_finish >= 0.9 * len(want)  # most notes came while generating, not at the end
    if context:
        assert any(s.outlived for s in streams)  # notes outlived 24 tokens: the whole decode was needed
