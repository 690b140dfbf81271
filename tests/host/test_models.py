"""The daemon's model store: lazy, warm, reloads on change, refuses a broken version but keeps serving."""
from __future__ import annotations

import os
import shutil
import time

import pytest

from bridge.errors import CadenzaError
from bridge.host.models import ModelStore
from tests.conftest import ROOT
from tests.host.conftest import MODEL


@pytest.fixture
def user_model(tmp_path, monkeypatch):
    src = ROOT / "models" / MODEL
    if not (src / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    monkeypatch.setenv("CADENZA_MODELS", str(tmp_path))
    shutil.copytree(src, tmp_path / "mine")
    return tmp_path / "mine"


def touch_later(path):
    t = time.time() + 5
    os.utime(path, (t, t))


def test_loads_lazily_keeps_warm_and_reloads_on_change(user_model):
    store = ModelStore("mine")
    assert store.loaded() == []
    first = store.get()
    assert store.get() is first  # warm: the same object, no reload
    touch_later(user_model / "model.keras")
    second = store.get()
    assert second is not first and second.name == "mine"


def test_a_corrupt_new_version_is_refused_while_the_old_one_serves(user_model):
    store = ModelStore("mine")
    good = store.get()
    (user_model / "model.keras").write_bytes(b"half a zip file")
    touch_later(user_model / "model.keras")
    assert store.get() is good  # still serving
    assert "refused" in store.check("mine")
    shutil.copy(ROOT / "models" / MODEL / "model.keras", user_model / "model.keras")
    touch_later(user_model / "model.keras")
    assert store.get() is not good and store.check("mine") is None  # a fixed version is taken


def test_an_incompatible_model_is_refused_by_name(user_model):
    meta = (user_model / "cadenza.json").read_text().replace('"vocab_size": 225', '"vocab_size": 300')
    (user_model / "cadenza.json").write_text(meta)
    with pytest.raises(CadenzaError, match="predicts 225 tokens but its codec has 300"):
        ModelStore("mine").get()


def test_a_loaded_model_is_kept_out_of_the_collectors_passes_and_a_replaced_one_is_collected(user_model):
    """After a load the objects alive then are frozen: the collector's full passes no longer walk the modules
    and the model (they held every door for tens of milliseconds); a reload looks at them again, so the
    version it replaces is freed."""
    import gc
    import weakref

    store = ModelStore("mine")
    first = store.get()
    assert gc.get_freeze_count() > 10_000 and len(gc.get_objects()) < gc.get_freeze_count() // 4
    gone = weakref.ref(first)
    del first
    touch_later(user_model / "model.keras")
    store.get()
    assert gone() is None  # the replaced version, frozen before, was collected at the reload


def test_a_models_folder_is_looked_up_again_after_a_moment(user_model, monkeypatch):
    """A name's folder is kept for FOUND_FOR seconds (its lookup is a tenth of a millisecond of every request);
    then a removed model is refused by name, and the one that takes its name is found."""
    from bridge.host import models

    monkeypatch.setattr(models, "FOUND_FOR", 0.05)
    store = ModelStore("piano")
    assert store.find("mine") == user_model.resolve()
    shutil.rmtree(user_model)
    time.sleep(0.1)
    with pytest.raises(CadenzaError, match="no model 'mine'"):
        store.find("mine")
    shutil.copytree(ROOT / "models" / MODEL, user_model)
    assert store.find("mine") == user_model.resolve()
