"""Training windows for models that read the sounding notes: the notes held before each window are
the ones the stream left sounding there, moved with the window's transposition."""
from __future__ import annotations

import numpy as np
import pytest

from bridge.codecs import get_codec
from bridge.music import read_midi
from tests.conftest import CORPUS

PIANO = CORPUS / "piano-midi"


def sounding_counts(ids, codec):
    """(len(ids) + 1, 128): notes of each pitch sounding before each token, by a plain scan."""
    on = {i: p for i, k, p in codec.pitch_tokens() if k == "on"}
    off = {i: p for i, k, p in codec.pitch_tokens() if k == "off"}
    counts = np.zeros(128)
    out = [counts.copy()]
    for t in ids.tolist():
        if t in on:
            counts[on[t]] += 1
        elif t in off and counts[off[t]] > 0:
            counts[off[t]] -= 1
        out.append(counts.copy())
    return np.array(out)


def test_held_notes_before_each_window_follow_the_stream_and_the_transposition():
    from bridge.training.train import TrainConfig, make_datasets

    files = sorted(PIANO.rglob("*.mid"))[:3]
    if len(files) < 3:
        pytest.skip("corpus not here")
    codec = get_codec("performance")
    seqs = [codec.encode(read_midi(f)) for f in files]
    cfg = TrainConfig(data=[], name="w", seq_len=100, batch=64, transpose=3, arch_args={"note_state": True})
    ds, quick, full, _ = make_datasets(cfg, codec, seqs[:2], seqs[2:])
    stream = np.concatenate([np.append(s, codec.eos) for s in seqs[:2]]).astype(np.int32)
    truth = sounding_counts(stream, codec)
    table = codec.transpose_table(3)
    (x, held), y = next(iter(ds))
    checked = moved = 0
    for w, h in zip(x.numpy(), held.numpy()):
        for shift in range(-3, 4):  # which start and shift made this window: find it in the stream
            back = table[3 - shift][w] if shift else w
            if (back < 0).any():
                continue
            hits = np.flatnonzero(np.all(np.lib.stride_tricks.sliding_window_view(stream, len(w)) == back, axis=1))
            if len(hits):
                want = np.roll(truth[hits[0]], shift)
                np.testing.assert_array_equal(h, want)
                checked += 1
                moved += shift != 0
                break
    assert checked >= 32 and moved >= 8
    (vx, vh), _ = next(iter(full))  # validation windows: consecutive, from the start of the stream
    vstream = np.append(seqs[2], codec.eos)
    vtruth = sounding_counts(vstream, codec)
    for k in range(len(vx)):
        np.testing.assert_array_equal(vh[k].numpy(), vtruth[k * 100])
    assert vh.numpy().sum() > 0  # some windows do start with notes sounding
