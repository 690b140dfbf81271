"""The model store: names and folders, what it lists, loading through the array cache without Keras,
and refusals that name the problem."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from bridge import store
from bridge.arrays import Arrays, cache_dir, digest
from bridge.errors import CadenzaError
from tests.conftest import ROOT

MODEL = "chorale"


@pytest.fixture
def mine(tmp_path, monkeypatch):
    src = ROOT / "models" / MODEL
    if not (src / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    monkeypatch.setenv("CADENZA_MODELS", str(tmp_path / "models"))
    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    shutil.copytree(src, tmp_path / "models" / "mine")
    return tmp_path / "models" / "mine"


def test_names_resolve_in_the_search_path_and_paths_only_when_allowed(mine):
    assert store.find("mine") == mine
    assert store.find(str(mine)) == mine
    with pytest.raises(CadenzaError, match="no model"):
        store.find(str(mine), paths=False)  # a name from the network is never a path
    with pytest.raises(CadenzaError, match="no model"):
        store.find("m" * 5000)  # too long for the file system: refused, not an OSError
    names = [m["name"] for m in store.list_models()]
    assert "mine" in names and MODEL in names


def test_the_first_load_caches_arrays_the_next_needs_no_keras(mine):
    first = store.load("mine")
    cache = cache_dir() / f"{digest(mine / store.WEIGHTS)[:32]}.npz"
    assert cache.is_file() and first.keras is not None
    again = store.load("mine")
    assert again.keras is None  # from the cache: Keras not touched
    for name in first.arrays.names:
        for a, b in zip(first.arrays.get(name), again.arrays.get(name)):
            assert np.array_equal(a, b)
    assert again.model is not None  # and it loads when asked for


def test_a_damaged_cache_is_rebuilt(mine):
    store.load("mine")
    cache = cache_dir() / f"{digest(mine / store.WEIGHTS)[:32]}.npz"
    cache.write_bytes(b"not an npz")
    assert Arrays.read(cache) is None
    loaded = store.load("mine")
    assert loaded.keras is not None and Arrays.read(cache) is not None


def test_a_model_whose_codec_disagrees_is_refused(mine):
    meta = json.loads((mine / "cadenza.json").read_text())
    meta["codec"]["vocab_size"] += 1
    (mine / "cadenza.json").write_text(json.dumps(meta))
    with pytest.raises(CadenzaError, match="predicts .* tokens but its codec has"):
        store.load("mine")


def test_a_corrupt_model_file_is_named(mine):
    (mine / store.WEIGHTS).write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(CadenzaError, match="mine/model.keras: cannot load model"):
        store.load("mine")
