"""`cadenza bench prepare` measures both paths on the same files and prints its figures."""
from __future__ import annotations

import json

import pytest
import subprocess
import sys

from tests.conftest import corpus_files


def test_bench_prepare_json_has_both_paths_and_identical_ids():
    corpus = corpus_files("piano-midi", "*.mid", 1)[0].parents[2]
    r = subprocess.run([sys.executable, "-m", "bridge", "bench", "prepare", str(corpus), "--files", "6", "--json"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    fig = json.loads(r.stdout)
    assert fig["files"] == 6 and fig["identical_ids"] == fig["compared"] == 6
    for key in ("cadenza_files_per_s", "note_seq_files_per_s", "cadenza_all_cores_files_per_s"):
        assert fig[key] > 0
    assert fig["speedup_one_core"] == pytest.approx(fig["cadenza_files_per_s"] / fig["note_seq_files_per_s"])


def test_bench_prepare_table():
    corpus = corpus_files("nottingham", "*.mid", 1)[0].parent
    r = subprocess.run([sys.executable, "-m", "bridge", "bench", "prepare", str(corpus), "--files", "3"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "note-seq (1 core)" in r.stdout and "cadenza (1 core)" in r.stdout and "identical ids: 3 of 3" in r.stdout


def test_bench_corpus_compares_beam_and_measures_memory(tmp_path):
    """`cadenza bench corpus`: prepare against the Beam pipeline on the same files (same shards), and the
    peak memory on the corpus and on transposed copies of it, in a table."""
    pytest.importorskip("apache_beam")
    import shutil

    for p in corpus_files("nottingham", "*.mid", 6, step=40):
        shutil.copy(p, tmp_path / p.name)
    # one worker: Beam on two is tested in tests/training/test_prepare_scale.py (each worker a process to start)
    r = subprocess.run([sys.executable, "-m", "bridge", "bench", "corpus", str(tmp_path), "--copies", "2",
                        "--workers", "1", "--json"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    fig = json.loads(r.stdout)
    assert fig["beam_identical"] and fig["beam_1_identical"] and fig["copies_throughput"]["beam_identical"]
    assert fig["x2"]["files"] == 2 * fig["x1"]["files"] == fig["copies_files"] == 12
    assert fig["x2"]["tokens"] == 2 * fig["x1"]["tokens"] and fig["x1"]["peak_mb"] > 0
