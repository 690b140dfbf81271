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
