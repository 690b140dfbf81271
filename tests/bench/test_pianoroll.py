"""`cadenza bench pianoroll`: the Boulanger-Lewandowski format read, frames scored exactly, the command end to end."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from tests.conftest import SHARED, cadenza

JSB = SHARED / "benchmarks" / "pianoroll" / "JSB_Chorales.mat"


def write_mat(path, rng, pieces=(12, 4, 4), keys=88):
    import scipy.io

    def roll(frames):
        r = np.zeros((frames, keys), np.uint8)
        for t in range(frames):
            base = 40 + (t // 4) % 12
            for p in (base, base + 4, base + 7, base + 12)[:int(rng.integers(0, 5))]:
                r[t, p] = 1
        return r

    data = {}
    for name, n in zip(("traindata", "validdata", "testdata"), pieces):
        cells = np.empty((1, n), dtype=object)
        for i in range(n):
            cells[0, i] = roll(int(rng.integers(20, 60)))
        data[name] = cells
    scipy.io.savemat(str(path), data)


def test_serialisation_is_the_pianoroll_codecs_and_masks_only_the_past():
    from bridge.bench.pianoroll import serialise
    from bridge.codecs import get_codec

    roll = np.zeros((3, 88), bool)
    roll[0, [39, 51, 58]] = True
    roll[2, [10]] = True  # frame 1 is empty
    prev, floor, prev_frame, placed, phase, target = serialise(roll)
    assert target.tolist() == get_codec("pianoroll").encode_roll(roll).tolist() == [39, 51, 58, 88, 88, 10, 88]
    assert prev.tolist() == [89, 39, 51, 58, 88, 88, 10]
    assert floor.tolist() == [-1, 39, 51, 58, -1, -1, 10]
    assert placed[2].nonzero()[0].tolist() == [39, 51] and placed[3].sum() == 3 and not placed[4].any()
    assert prev_frame[4].nonzero()[0].tolist() == [39, 51, 58] and not prev_frame[0].any()
    assert phase.tolist() == [0, 0, 0, 0, 1, 2, 2]


def test_a_uniform_model_scores_exactly_log_of_the_choices(tmp_path):
    """Zero output weights: each step is uniform over the keys above the last placed one plus end-of-frame,
    so a frame's NLL is the sum of log(choices) over its tokens: the scorer must give exactly that."""
    from bridge.bench.pianoroll import BenchConfig, build_model, load_mat, nll_per_frame, scorer, serialise

    write_mat(tmp_path / "toy.mat", np.random.default_rng(0))
    test = load_mat(tmp_path / "toy.mat")["test"]
    model = build_model(88, BenchConfig(layers=1, units=16))
    dense = model.get_layer("logits")
    dense.set_weights([np.zeros_like(w) for w in dense.get_weights()])
    got, frames = nll_per_frame(scorer(model), test)
    expected = sum(math.log(89 - (f + 1)) for roll in test for f in serialise(roll)[1].tolist())
    assert frames == sum(len(r) for r in test)
    assert got == pytest.approx(expected / frames, rel=1e-5)


@pytest.mark.parametrize("content,message", [(b"not a mat file", "not a MATLAB .mat file")])
def test_a_file_that_is_not_mat_is_named(tmp_path, content, message):
    (tmp_path / "x.mat").write_bytes(content)
    r = cadenza("bench", "pianoroll", tmp_path / "x.mat")
    assert r.returncode == 1 and message in r.stderr


def test_missing_splits_are_named(tmp_path):
    import scipy.io

    from bridge.bench.pianoroll import load_mat
    from bridge.errors import CadenzaError

    scipy.io.savemat(str(tmp_path / "y.mat"), {"traindata": np.zeros((1, 1))})
    with pytest.raises(CadenzaError, match="validdata"):
        load_mat(tmp_path / "y.mat")


def test_the_command_trains_keeps_the_best_checkpoint_and_reports(tmp_path):
    write_mat(tmp_path / "toy.mat", np.random.default_rng(1))
    out = tmp_path / "r.json"
    r = cadenza("bench", "pianoroll", tmp_path / "toy.mat", "--epochs", "4", "--units", "32", "--layers", "1",
                "--out", out)
    assert r.returncode == 0, r.stderr
    report = json.loads(out.read_text())
    history = [h["valid_nats_per_frame"] for h in report["history"]]
    assert len(history) == 4 and history[-1] < history[0]  # it learns
    assert report["valid_nats_per_frame"] == pytest.approx(min(history), abs=1e-3)  # the best epoch's weights
    assert 0 < report["test_nats_per_frame"] < 60
    assert "test nats/frame" in r.stdout


def test_the_real_jsb_file_loads_with_its_standard_split():
    if not JSB.exists():
        pytest.skip("benchmarks not here")
    from bridge.bench.pianoroll import load_mat

    s = load_mat(JSB)
    assert [len(s[k]) for k in ("train", "valid", "test")] == [229, 76, 77]
    assert sum(len(r) for r in s["test"]) == 4725 and s["test"][0].shape[1] == 88
