"""Preparation at scale: the Beam pipeline writes what `cadenza prepare` writes; memory stays flat."""
from __future__ import annotations

import hashlib
import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.codecs import get_codec
from bridge.music import read_midi
from bridge.music.transforms import transpose
from bridge.training.prepare import PrepareConfig, load_prepared, prepare
from bridge.training.split import split_of
from tests.conftest import CORPUS, ROOT, corpus_files
from tests.training.test_prepare import wild_folder

pytestmark = pytest.mark.skipif(importlib.util.find_spec("apache_beam") is None, reason="apache-beam not installed")


def shards(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha1(p.read_bytes()).hexdigest() for p in sorted(folder.glob("shard-*.npy"))}


@pytest.fixture(scope="module")
def mixed(tmp_path_factory):
    """Piano pieces, the wild folder's broken files and a kern file the MIDI codec does not read."""
    root = tmp_path_factory.mktemp("mixed")
    wild_folder(root / "wild")
    for p in corpus_files("piano-midi", "*.mid", 12, step=25):
        dst = root / "piano" / p.parent.name / p.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(p, dst)
    return root


@pytest.mark.parametrize("workers", [1, 2])
def test_beam_writes_the_same_shards_and_manifest(mixed, tmp_path, workers):
    """Same bytes in every shard, same entries (token counts, shards, offsets, parts, transpositions), same
    failures with the same reasons; the unreadable files are counted and listed and the run completes."""
    cfg = dict(corpus=mixed, shards=3, transpose=2, progress=False, workers=workers)
    local = prepare(PrepareConfig(out=tmp_path / "local", **cfg))
    beam = prepare(PrepareConfig(out=tmp_path / "beam", runner="beam", **cfg))
    assert shards(tmp_path / "beam") == shards(tmp_path / "local") and len(shards(tmp_path / "local")) == 3
    assert beam["files"] == local["files"] and beam["statistics"] == local["statistics"]
    assert beam["failed"] == local["failed"] and len(beam["failed"]) == 6
    assert {f["path"] for f in beam["failed"]} >= {"wild/empty.mid", "wild/text.mid", "wild/truncated.mid"}
    assert beam["totals"]["counters"]["files_failed"] == 6
    assert beam["totals"]["counters"]["files_encoded"] == beam["totals"]["encoded"] == 17
    assert beam["totals"]["runner"] == "beam" and local["totals"]["runner"] == "local"


def test_transposed_copies_and_parts(mixed, tmp_path):
    """--transpose N writes each file's copies as the codec would encode the transposed music, in the
    file's part; the part is the one `cadenza train` computes for the file."""
    m = prepare(PrepareConfig(corpus=mixed, out=tmp_path / "o", transpose=2, progress=False))
    manifest, seqs = load_prepared(tmp_path / "o")
    codec = get_codec("performance")
    piece = next(e["path"] for e in manifest["files"] if e["path"].startswith("piano/"))
    copies = {e["transpose"]: ids for e, ids in zip(manifest["files"], seqs) if e["path"] == piece}
    assert set(copies) == {-2, -1, 0, 1, 2}
    score = read_midi(mixed / piece)
    for s, ids in copies.items():
        assert np.array_equal(ids, codec.encode(transpose(score, s)))
    from bridge.training.train import TrainConfig, split_files

    paths = [f"{mixed.name}/{e['path']}" for e in manifest["files"]]
    trained = split_files(TrainConfig(data=[], name="x"), paths)
    for part, idx in trained.items():
        assert {manifest["files"][i]["part"] for i in idx} == {part}  # train's parts are the manifest's
    assert all(e["part"] == split_of(p) for e, p in zip(manifest["files"], paths))
    assert m["statistics"]["parts"]["train"]["records"] == 5 * m["statistics"]["parts"]["train"]["files"]


def test_a_codec_without_pitches_cannot_transpose(mixed, tmp_path):
    from bridge.errors import CadenzaError

    with pytest.raises(CadenzaError, match="no pitch tokens to transpose"):
        prepare(PrepareConfig(corpus=mixed, out=tmp_path / "o", codec="midibytes", transpose=1, progress=False))


def test_beam_options_pass_through_the_command_line(mixed, tmp_path):
    """`--beam-option` reaches Beam: a runner named explicitly runs; an unknown one is a clear error."""
    from tests.conftest import cadenza

    run = lambda *extra: cadenza("prepare", mixed / "piano", "--out", tmp_path / "o", "--quiet",  # noqa: E731
                                 "--runner", "beam", *extra)  # in this process: the same output
    ok = run("--beam-option=--runner=DirectRunner", "--beam-option=--direct_running_mode=in_memory")
    assert ok.returncode == 0, ok.stderr
    assert "12 of 12 files encoded" in ok.stdout and "with Apache Beam" in ok.stdout
    bad = run("--beam-option=--runner=NoSuchRunner")
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--beam-option: Unexpected pipeline runner: NoSuchRunner" in bad.stderr


def test_memory_stays_flat_on_a_corpus_ten_times_larger(tmp_path):
    """The piano corpus once and ten times over (links to its files at ten paths each), each prepared in a
    fresh process on one core: the larger run's peak resident memory is within 1.2x of the smaller's,
    while its ids alone (as the encoder returns them) are three times that allowance: a preparation that
    held the corpus would break it. The larger run also runs under an address-space limit of the smaller
    run's peak plus 40 MB."""
    from bridge.harness.measure import peak_memory

    files = sorted((CORPUS / "piano-midi").rglob("*.mid"))
    if not files:
        pytest.skip("the piano corpus is not here")
    for copies, folder in ((1, tmp_path / "x1"), (10, tmp_path / "x10")):
        for k in range(copies):
            for p in files:
                dst = folder / f"copy{k}" / p.name
                dst.parent.mkdir(parents=True, exist_ok=True)
                dst.symlink_to(p)
    one = peak_memory(tmp_path / "x1", tmp_path / "o1")
    limit = int((one["address_space_mb"] + 40) * 2**20)
    ten = peak_memory(tmp_path / "x10", tmp_path / "o10", address_space=limit)
    assert ten["files"] == 10 * one["files"] and ten["tokens"] == 10 * one["tokens"]
    allowance = 0.2 * one["peak_mb"]
    held = ten["tokens"] * 4 / 2**20
    assert held > 2.5 * allowance, (held, allowance)
    assert ten["peak_mb"] <= 1.2 * one["peak_mb"], (one, ten)
    manifest = json.loads((tmp_path / "o10" / "manifest.json").read_text())
    assert manifest["totals"]["encoded"] == 10 * len(files)


def test_without_beam_installed_the_error_says_what_to_install(mixed, tmp_path):
    code = ("import sys; sys.modules['apache_beam'] = None\n"  # as if the extra were not installed
            "from bridge.cli import main\n"
            f"sys.exit(main(['prepare', {str(mixed / 'piano')!r}, '--out', {str(tmp_path / 'o')!r}, '--runner', 'beam']))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "--runner beam needs Apache Beam: pip install 'cadenza[beam]'" in r.stderr


def test_a_shard_count_out_of_range_is_refused(mixed, tmp_path):
    from bridge.errors import CadenzaError

    for bad in (-2, 100_001):
        with pytest.raises(CadenzaError, match=f"--shards {bad}: 1 to 100000"):
            prepare(PrepareConfig(corpus=mixed, out=tmp_path / "o", shards=bad, progress=False))
    assert not (tmp_path / "o").exists()
