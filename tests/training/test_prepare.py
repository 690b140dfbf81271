"""`cadenza prepare`: every file encoded or listed with its reason; shards read back exactly."""
from __future__ import annotations

import json
import os
import shutil
import struct

import numpy as np
import pytest

from bridge.codecs import get_codec
from bridge.music import read_midi
from bridge.training import prepare as prep
from bridge.training.prepare import PrepareConfig, load_prepared, prepare
from tests.conftest import corpus_files, ev, smf, track

GOOD = smf(track(ev(0, 0x90, 60, 100), ev(480, 0x80, 60, 0), ev(0, 0x90, 64, 90), ev(480, 0x80, 64, 0)))


def wild_folder(root):
    """MIDI as found in the wild: fine, odd and broken, with one reason each to fail."""
    (root / "sub").mkdir(parents=True)
    files = {
        "good.mid": GOOD,
        "format0_running_status.mid": smf(track(ev(0, 0x90, 60, 100), ev(0, 64, 90), ev(480, 60, 0), ev(0, 64, 0)), fmt=0),
        "no_end_of_track.midi": smf(track(ev(0, 0x90, 60, 100), ev(480, 0x80, 60, 0), end=False)),
        "sysex_and_smpte.mid": smf(track(ev(0, 0xF0, 3, 1, 2, 0xF7), ev(0, 0x90, 60, 100), ev(30, 0x80, 60, 0)),
                                   division=((256 - 30) << 8) | 10),
        "sub/upper_case.MID": GOOD,
        "empty.mid": b"",
        "text.mid": b"this is not music\n",
        "truncated.mid": GOOD[:-9],
        "only_header.mid": GOOD[:14],
        "no_notes.mid": smf(track(ev(0, 0xFF, 0x51, 3, 7, 0xA1, 0x20))),
        "wave.rmi": b"RIFF" + struct.pack("<I", 4) + b"WAVE",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    (root / "notes.txt").write_text("not a music file: ignored")
    return files


def test_wild_files_are_encoded_or_listed_with_a_reason(tmp_path):
    corpus = tmp_path / "corpus"
    files = wild_folder(corpus)
    m = prepare(PrepareConfig(corpus=corpus, out=tmp_path / "out", workers=2, progress=False))
    encoded = {e["path"] for e in m["files"]}
    failed = {f["path"]: f["error"] for f in m["failed"]}
    assert encoded | set(failed) == set(files)
    assert encoded == {"good.mid", "format0_running_status.mid", "no_end_of_track.midi", "sysex_and_smpte.mid",
                       "sub/upper_case.MID"}
    assert "empty file" in failed["empty.mid"]
    assert "not a MIDI file" in failed["text.mid"]
    assert "truncated" in failed["truncated.mid"]
    assert "no track data" in failed["only_header.mid"]
    assert "no notes" in failed["no_notes.mid"]
    assert "not RIFF MIDI" in failed["wave.rmi"]
    assert all("\n" not in e for e in failed.values())


def test_manifest_and_shards_read_back_exactly(tmp_path):
    corpus = tmp_path / "piano"
    corpus.mkdir()
    for p in corpus_files("piano-midi", "*.mid", 5, step=60):
        shutil.copy(p, corpus / p.name)
    m = prepare(PrepareConfig(corpus=corpus, out=tmp_path / "out", shards=3, progress=False))
    assert m["totals"]["encoded"] == 5 and m["totals"]["shards"] >= 2
    assert m["codec"]["name"] == "performance" and len(m["vocab"]) == 389
    manifest, seqs = load_prepared(tmp_path / "out")
    codec = get_codec("performance")
    for entry, ids in zip(manifest["files"], seqs):
        assert np.array_equal(ids, codec.encode(read_midi(corpus / entry["path"])))
    on_disk = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert on_disk["totals"]["tokens"] == sum(len(s) for s in seqs)


def test_kern_corpus_with_licence(tmp_path):
    src = corpus_files("kern/bach-370-chorales", "*.krn", 4, step=50)
    corpus = tmp_path / "chorales"
    corpus.mkdir()
    for p in src:
        shutil.copy(p, corpus / p.name)
    shutil.copy(src[0].parent / "LICENSE.txt", corpus / "LICENSE.txt")
    m = prepare(PrepareConfig(corpus=corpus, out=tmp_path / "out", codec="kern", progress=False))
    assert m["totals"]["encoded"] == 4
    assert any(l["file"].endswith("LICENSE.txt") for l in m["licences"])


_real_encode_one = prep._encode_one


def encode_or_die(path):
    """Stands in for the encoder: kills its process on one file, as a segfault in a library would."""
    if path.endswith("killer.mid"):
        os._exit(3)
    return _real_encode_one(path)


def test_a_crashing_worker_is_contained(tmp_path, monkeypatch):
    """A file that kills its worker process is retried alone, then listed; the rest are encoded."""
    corpus = tmp_path / "c"
    corpus.mkdir()
    for i in range(4):
        (corpus / f"ok{i}.mid").write_bytes(GOOD)
    (corpus / "killer.mid").write_bytes(GOOD)
    monkeypatch.setattr(prep, "_encode_one", encode_or_die)
    m = prepare(PrepareConfig(corpus=corpus, out=tmp_path / "out", workers=2, progress=False))
    assert sorted(e["path"] for e in m["files"]) == [f"ok{i}.mid" for i in range(4)]
    assert m["failed"] == [{"path": "killer.mid", "error": "killer.mid: the encoder crashed on this file"}]


class _Finalised:
    """Garbage (a cycle) that says which process finalised it."""

    def __init__(self, marker):
        self.marker, self.me = marker, self

    def __del__(self):
        with open(self.marker, "a") as f:
            f.write(f"{os.getpid()}\n")


def _collect_here() -> int:
    import gc

    gc.enable()
    gc.collect()
    return os.getpid()


def test_a_worker_leaves_its_parents_objects_to_the_parent(tmp_path):
    """A forked encoding worker never finalises what it inherited (a parent that loaded TensorFlow: its
    finalisers crashed a worker in the test suite): a collection in the worker finds none of it."""
    import gc
    from concurrent.futures import ProcessPoolExecutor

    marker = tmp_path / "finalised"
    gc.disable()  # the garbage stays uncollected until the worker has forked
    try:
        _Finalised(str(marker))
        with ProcessPoolExecutor(1, mp_context=prep._context(), initializer=prep._init_child,
                                 initargs=("performance", {})) as pool:
            child = pool.submit(_collect_here).result()
    finally:
        gc.enable()
    gc.collect()
    assert child != os.getpid()
    assert marker.read_text().split() == [str(os.getpid())]  # finalised once, by the parent


def test_missing_or_empty_corpus_is_a_clear_error(tmp_path):
    from bridge.errors import CadenzaError

    with pytest.raises(CadenzaError, match="no such folder"):
        prepare(PrepareConfig(corpus=tmp_path / "nope", out=tmp_path / "o", progress=False))
    (tmp_path / "empty").mkdir()
    with pytest.raises(CadenzaError, match="no music files"):
        prepare(PrepareConfig(corpus=tmp_path / "empty", out=tmp_path / "o", progress=False))
