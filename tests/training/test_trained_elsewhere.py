"""A token model trained elsewhere (models/lstm_gpu.py: PyTorch, on a GPU) and saved here: `windows` writes what
`cadenza train` would read with the same flags, `cadenza train ... --weights RUN.npz` saves a run of it with its
record once Keras gives its weights the validation loss the run measured. PyTorch is not installed here: the run
is made of the windows' own first weights, its loss measured by the script's plain numpy pass (which the run's
check compares with PyTorch's logits on the GPU)."""
from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys

import numpy as np

from tests.conftest import CHORALES, ROOT, cadenza

FLAGS = ["--codec", "notewise", "--layers", "1", "--units", "32", "--embed", "8", "--seq-len", "64",
         "--max-files", "40", "--arg", "note_state=true", "--quiet"]


def _script():
    spec = importlib.util.spec_from_file_location("lstm_gpu", ROOT / "models" / "lstm_gpu.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _numpy_loss(gpu, d, meta) -> float:
    """The mean cross-entropy (nats) of the first weights on every validation window, by the script's numpy."""
    w = {k[2:]: d[k] for k in d.files if k.startswith("w/")}
    layers = [n for n in meta["layers"] if n.startswith("lstm_")]
    logits = gpu.numpy_logits(w, layers, d["val_x"], d["val_held"], d["on"], d["off"]).astype(np.float64)
    logits -= logits.max(-1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    return float(-np.take_along_axis(logp, d["val_y"][..., None].astype(np.int64), -1).mean())


def test_a_run_trained_elsewhere_is_saved_with_its_record_and_its_own_weights(tmp_path):
    from bridge import store

    data = tmp_path / "windows.npz"
    r = subprocess.run([sys.executable, ROOT / "models" / "lstm_gpu.py", "windows", CHORALES, "--name", "elsewhere",
                        *FLAGS, "--runs", tmp_path / "runs", "--to", data], capture_output=True, text=True)
    assert r.returncode == 0 and "validation tokens" in r.stdout, r.stderr[-2000:]
    d = np.load(data)
    meta = json.loads(str(d["meta"]))
    assert meta["layers"] == ["embed", "lstm_0", "logits"] and meta["config"]["max_files"] == 40
    assert d["w/lstm_0/0"].shape == (8 + 128, 128)  # the embedding, then the sounding pitches (note_state)
    assert len(d["table"]) == 11 and d["stream"].dtype == np.uint16  # transpositions -5..5; 2 bytes a token
    gpu = _script()
    loss = _numpy_loss(gpu, d, meta)
    weights = {k[2:]: d[k] for k in d.files if k.startswith("w/")}
    record = {"kind": "models/lstm_gpu.py", "config": {**meta["config"], "batch": 128, "lr": 0.003},
              "arch_args": meta["arch_args"], "split": meta["split"], "full_val_loss": loss, "seconds": 61.0,
              "history": {"loss": [4.1], "val_loss": [loss], "bits": [5.9], "val_bits": [loss / math.log(2)]},
              "numpy_check": 2e-6, "machine": "PyTorch on a test"}
    run = tmp_path / "run.npz"
    np.savez(run, record=json.dumps(record), **weights)
    out = tmp_path / "models"
    r = cadenza("train", CHORALES, "--name", "elsewhere", *FLAGS, "--weights", run, "--out", out, "--runs",
                tmp_path / "runs")
    assert r.returncode == 0, r.stderr
    loaded = store.load(str(out / "elsewhere"))
    t = loaded.meta["training"]
    assert t["trained_with"] == "models/lstm_gpu.py" and t["machine"] == "PyTorch on a test"
    assert t["batch"] == 128 and t["lr"] == 0.003 and t["seconds"] == 61.0 and t["history"]["val_loss"] == [loss]
    # Keras reads the weights as the numpy pass does: the validation loss the run measured
    assert abs(loaded.meta["metrics"]["val_bits_per_token"] - loss / math.log(2)) < 1e-3
    for layer in loaded.model.layers:
        for i, w in enumerate(layer.get_weights()):
            np.testing.assert_array_equal(w, weights[f"{layer.name}/{i}"])

    # refused by name, nothing written: another corpus slice, weights that are not the run's, not a run at all
    r = cadenza("train", CHORALES, "--name", "bad", *[f if f != "40" else "36" for f in FLAGS], "--weights", run,
                "--out", out, "--runs", tmp_path / "runs")
    assert r.returncode != 0 and "its max_files 40 differs from these flags' 36" in r.stderr
    tampered = tmp_path / "tampered.npz"
    np.savez(tampered, record=json.dumps({**record, "full_val_loss": loss + 0.5}), **weights)
    r = cadenza("train", CHORALES, "--name", "bad", *FLAGS, "--weights", tampered, "--out", out, "--runs",
                tmp_path / "runs")
    assert r.returncode != 0 and "not the net it trained" in r.stderr
    text = tmp_path / "notes.npz"
    text.write_text("not a run")
    r = cadenza("train", CHORALES, "--name", "bad", *FLAGS, "--weights", text, "--out", out)
    assert r.returncode != 0 and "not a run of models/lstm_gpu.py" in r.stderr
    r = cadenza("train", CHORALES, "--name", "bad", *FLAGS, "--weights", run, "--fim", "--out", out)
    assert r.returncode != 0 and "plain order" in r.stderr
    assert not (out / "bad").exists()
