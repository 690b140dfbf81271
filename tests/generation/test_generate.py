"""A tiny real training run, then generation from the exported model: the compiled loop, the CLI."""
from __future__ import annotations

import json

import numpy as np
import pytest

from bridge import store
from bridge.errors import CadenzaError
from bridge.generation import Request, Sampling, continue_score, generator_for, parse_scale
from bridge.music import load_score, read_midi
from tests.conftest import CHORALES, CORPUS



def test_training_lowers_the_loss_and_exports_a_described_model(tiny):
    meta = json.loads((tiny / "cadenza.json").read_text())
    hist = meta["training"]["history"]
    assert hist["loss"][-1] < hist["loss"][0] - 0.5  # it learns
    assert meta["training"]["epochs_run"] == 5 and meta["training"]["steps_per_epoch"] == 60
    m = meta["metrics"]
    assert m["val_bits_per_token"] < m["unigram_bits_per_token"]
    assert set(meta["split"]) == {"train", "validation", "generation"}
    assert not set(meta["split"]["generation"]) & set(meta["split"]["train"])
    assert meta["codec"]["name"] == "notewise" and meta["arch"]["args"]["units"] == 64
    assert any("LICENSE" in l["file"] for l in meta["corpus"]["licences"])


def test_training_can_start_from_an_exported_model(tiny, tmp_path):
    """--init: a further run starts where the exported model ended, not from scratch; a model of another
    shape is refused by name."""
    from bridge.training.train import TrainConfig, train

    first = json.loads((tiny / "cadenza.json").read_text())["training"]["history"]["loss"]
    common = dict(data=[CHORALES], codec="notewise", seq_len=64, batch=16, steps_per_epoch=20, epochs=1, patience=10,
                  max_files=24, val_fraction=0.2, gen_fraction=0.2, out=tmp_path / "models", runs=tmp_path / "runs",
                  verbose=0)
    again = train(TrainConfig(name="again", init=str(tiny), arch_args={"layers": 1, "units": 64, "embed": 16},
                              **common))
    loss = json.loads((again / "cadenza.json").read_text())["training"]["history"]["loss"]
    assert loss[0] < first[0] - 0.5 and loss[0] < first[-1] + 0.3  # it went on from the trained weights
    with pytest.raises(CadenzaError, match="--init .*args"):
        train(TrainConfig(name="wider", init=str(tiny), arch_args={"layers": 1, "units": 96, "embed": 16}, **common))


def test_a_model_learns_to_read_the_sounding_notes_on_top_of_its_weights(tiny, tmp_path):
    """--init with note_state: the new inputs start at zero weight, so the run starts from what the base
    model knew; it trains, exports, reloads in safe mode and continues a chorale."""
    from bridge.training.train import TrainConfig, train

    base = json.loads((tiny / "cadenza.json").read_text())["metrics"]["val_bits_per_token"]
    folder = train(TrainConfig(name="notes", init=str(tiny), data=[CHORALES], codec="notewise", seq_len=64, batch=16,
                               steps_per_epoch=40, epochs=1, patience=10, max_files=24, val_fraction=0.2,
                               gen_fraction=0.2, out=tmp_path / "models", runs=tmp_path / "runs", verbose=0,
                               arch_args={"layers": 1, "units": 64, "embed": 16, "note_state": True}))
    meta = json.loads((folder / "cadenza.json").read_text())
    assert meta["arch"]["args"]["note_state"] is True
    assert meta["metrics"]["val_bits_per_token"] < base + 0.3  # it did not start from scratch
    loaded = store.load(str(folder))
    assert generator_for(loaded).note_state
    prime = load_score(CHORALES / "chor010.krn")
    scores, result = continue_score(loaded, prime, Request(beats=8, variations=2, seed=1))
    assert all(b >= 8 for b in result.beats) and all(s.note_count > prime.note_count for s in scores)
    with pytest.raises(CadenzaError, match="note_state needs a codec"):
        train(TrainConfig(name="bytes", data=[CHORALES], codec="midibytes", max_files=8, out=tmp_path / "m",
                          runs=tmp_path / "r", verbose=0, arch_args={"note_state": True}))


def test_exported_model_reloads_in_safe_mode_and_generates(tiny, tmp_path):
    loaded = store.load(str(tiny))
    prime = load_score(CHORALES / "chor010.krn")
    scores, result = continue_score(loaded, prime, Request(beats=8, variations=3, seed=1))
    assert len(scores) == 3 and not result.cancelled
    for s, beats in zip(scores, result.beats):
        assert beats == pytest.approx(8, abs=4.01)  # stops at the first token past 8 beats (a wait is up to 4)
        assert s.note_count > prime.note_count * 0.9
    # seeded: the same request gives the same music; another seed does not
    again, _ = continue_score(loaded, prime, Request(beats=8, variations=3, seed=1))
    other, _ = continue_score(loaded, prime, Request(beats=8, variations=3, seed=2))
    assert [s.note_array().tolist() for s in again] == [s.note_array().tolist() for s in scores]
    assert [s.note_array().tolist() for s in other] != [s.note_array().tolist() for s in scores]


def test_chunks_stream_and_cancel_stops_between_chunks(tiny):
    import threading

    from bridge.generation.runner import Batcher, _Post

    loaded = store.load(str(tiny))
    gen = generator_for(loaded)
    long = Batcher.LONG * gen.chunk
    ahead = _Post.AHEAD
    cut = False
    for _ in range(20):  # (until a cancel came while a chunk was being made: see below)
        seen = []
        cancel = threading.Event()

        def on_chunk(chunk):
            seen.append(len(chunk[0]))
            if len(seen) == 2:
                cancel.set()

        result = gen.run(np.zeros(0, np.int32), Request(tokens=gen.chunk + 5 * long, sampling=Sampling("temperature")),
                         on_chunk=on_chunk, cancel=cancel)
        # the first chunk alone (the first notes soon), then long ones (a request alone: Batcher.LONG chunks between
        # the batch's boundaries); the callbacks run beside the loop, up to _Post.AHEAD chunks behind it, and no chunk
        # starts after a callback cancelled; the result is what was handed over
        assert result.cancelled and seen[:2] == [gen.chunk, long] and len(seen) <= 2 + ahead
        assert len(result.new[0]) == sum(seen)
        # a cancel that comes while a chunk is being made ends it at its next token (what it made comes too); on a
        # busy machine the loop may have made its chunks whole before the callback ran (all of five tries once,
        # in a CI run on two busy cores; a try takes ~10 ms): so up to twenty tries
        cut = any(n < long for n in seen[2:])
        if cut:
            break
    assert cut


def test_scale_mask_holds_in_generated_music(tiny):
    from bridge.generation import parse_scale

    loaded = store.load(str(tiny))
    scores, _ = continue_score(loaded, None, Request(beats=16, scale=parse_scale("C major"), pitch_range=(55, 79),
                                                    sampling=Sampling("temperature", temperature=1.5)))
    pitches = [n.pitch for n in scores[0].notes()]
    assert pitches and all(p % 12 in {0, 2, 4, 5, 7, 9, 11} and 55 <= p <= 79 for p in pitches)


def test_cli_generate_and_continue_write_valid_midi(tiny, tmp_path):
    from tests.conftest import cadenza

    r = cadenza("generate", "--model", tiny, "--beats", "8", "--out", tmp_path / "g.mid", "--strategy", "top_n_95",
                "--seed", "0")  # the default is a fresh seed each run; a tiny model may rest for 8 beats
    assert r.returncode == 0, r.stderr
    assert read_midi(tmp_path / "g.mid").note_count > 0
    r = cadenza("continue", CHORALES / "chor020.krn", "--model", tiny, "--beats", "8", "--variations", "2",
                "--seed", "0", "--out", tmp_path / "c.mid")
    assert r.returncode == 0, r.stderr
    prime = load_score(CHORALES / "chor020.krn")
    for i in (1, 2):
        out = read_midi(tmp_path / f"c-{i}.mid")
        assert out.duration_beats > prime.duration_beats  # the prime, then new music
    r = cadenza("generate", "--model", "no-such-model", "--out", tmp_path / "x.mid")
    assert r.returncode == 1 and "no model 'no-such-model'" in r.stderr
    r = cadenza("generate", "--model", tiny, "--scale", "H major", "--out", tmp_path / "x.mid")
    assert r.returncode == 1 and "unknown scale" in r.stderr


def test_corrupt_model_is_refused_with_a_clear_error(tiny, tmp_path):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(tiny, bad)
    (bad / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(CadenzaError, match="cannot load model"):
        store.load(str(bad))
    (bad / "cadenza.json").write_text("{}")
    with pytest.raises(CadenzaError, match="incompatible"):
        store.load(str(bad))


def test_note_grammar_holds_in_generated_tokens(tiny):
    """A release only for a sounding pitch, a start only for a silent one, whatever the model says."""
    loaded = store.load(str(tiny))
    codec = loaded.codec
    prime = codec.encode_file(CHORALES / "chor030.krn")[:90]
    result = generator_for(loaded).run(prime, Request(tokens=256, variations=4, seed=5,
                                                      sampling=Sampling("temperature", temperature=2.0)))
    lo, n = codec.params["low"], codec.n_pitches
    for new in result.new:
        sounding = set()
        for t in prime.tolist():
            if t < n:
                sounding.add(t + lo)
            elif t < 2 * n:
                sounding.discard(t - n + lo)
        for t in new.tolist():
            if t < n:
                assert t + lo not in sounding, "started a pitch that was already sounding"
                sounding.add(t + lo)
            elif t < 2 * n:
                assert t - n + lo in sounding, "released a pitch that was not sounding"
                sounding.discard(t - n + lo)


NOTTINGHAM = CORPUS / "nottingham"


def test_tiny_attention_lstm_trains_and_generates(tmp_path, monkeypatch):
    if not NOTTINGHAM.is_dir():
        pytest.skip("corpus not here")
    from bridge.training.train import TrainConfig, train

    cfg = TrainConfig(data=[NOTTINGHAM], name="tiny-messages", codec="messages", arch="attention_lstm",
                      arch_args={"units": 32, "embed": 8, "model_dim": 16, "heads": 2, "attention_units": 8,
                                 "window": 8},
                      seq_len=48, batch=8, steps_per_epoch=15, epochs=3, patience=10, max_files=30,
                      val_fraction=0.2, gen_fraction=0.2, out=tmp_path / "models", runs=tmp_path / "runs", verbose=0)
    folder = train(cfg)
    meta = json.loads((folder / "cadenza.json").read_text())
    assert meta["training"]["history"]["loss"][-1] < meta["training"]["history"]["loss"][0]
    loaded = store.load(str(folder))
    prime = read_midi(NOTTINGHAM / "ashover1.mid")
    scores, result = continue_score(loaded, prime, Request(beats=8, variations=2, seed=4))
    assert len(scores) == 2 and all(b >= 8 for b in result.beats)
    assert all(s.note_count >= prime.note_count for s in scores)
    # eight variations in parts on two and three threads are the music of one thread, and a scale holds on every
    # note-on
    from bridge.generation.messages_runner import MessagesGenerator

    ids = loaded.codec.encode(prime)[:40]
    req = Request(tokens=96, variations=8, seed=9, sampling=Sampling("top_p", temperature=1.3),
                  scale=parse_scale("C major"))
    b = MessagesGenerator(loaded, split=False).run(ids, req)
    for n in ("2", "3"):
        monkeypatch.setenv("CADENZA_CORES", n)
        a = MessagesGenerator(loaded, split=True).run(ids, req)
        assert all(np.array_equal(x, y) for x, y in zip(a.new, b.new)), n
    assert len({x.tobytes() for x in a.new}) == 8 and all(len(x) == 96 for x in a.new)
    onsets = np.concatenate([x[x[:, 1] == 1, 0] for x in a.new]) + loaded.codec.params["low"]
    assert len(onsets) > 50 and set((onsets % 12).tolist()) <= parse_scale("C major")


def test_large_batches_split_across_cores_give_the_same_music(tiny, monkeypatch):
    """Eight variations run in parts, one a core: two halves on two cores, and as many parts as there are cores up
    to a row each (CADENZA_CORES says 3, 4 and 8 here); the random numbers of a variation depend on its seed and its
    index, not on the thread, so the music is the same as from one thread, and reproducible."""
    from bridge.generation import Generator
    from bridge.generation.runner import cores, parts

    loaded = store.load(str(tiny))
    prime = loaded.codec.encode_file(CHORALES / "chor030.krn")[:40]
    req = Request(tokens=160, variations=8, seed=9, sampling=Sampling("top_p", temperature=1.3))
    split, whole = Generator(loaded, split=True), Generator(loaded, split=False)
    a, c = split.run(prime, req), whole.run(prime, req)
    assert all(np.array_equal(x, y) for x, y in zip(a.new, c.new))
    for n in (3, 4, 8):
        monkeypatch.setenv("CADENZA_CORES", str(n))
        assert cores() == n and len(parts(8, split.spread())) == n
        b = split.run(prime, req)
        assert all(np.array_equal(x, y) for x, y in zip(a.new, b.new)), n
    assert len({tuple(x.tolist()) for x in a.new}) == 8  # eight different variations
    assert all(len(x) == 160 for x in a.new)


def test_the_cores_a_batch_spreads_over_are_its_affinitys_or_cadenza_cores(tiny, tmp_path, monkeypatch):
    """runner.cores(): the cores the process may run on (`taskset` narrows them), or CADENZA_CORES where set (a DAW
    keeps the others); a value that is not a whole number of cores, 1 or more, is refused by its name, and a command
    says so and exits non-zero."""
    import os
    import shutil
    import subprocess
    import sys

    from bridge.generation.runner import cores, physical, quota
    from tests.conftest import ROOT, cadenza

    monkeypatch.delenv("CADENZA_CORES", raising=False)
    mine = physical(frozenset(os.sched_getaffinity(0)))
    assert mine <= len(os.sched_getaffinity(0)) and cores() == min(mine, quota() or mine)
    # a part a physical core: two hyperthreads of one core count once (Linux's topology, here a made-up one)
    for n, siblings in enumerate(("0,2", "1,3", "0,2", "1,3")):
        (tmp_path / "sys" / f"cpu{n}" / "topology").mkdir(parents=True)
        (tmp_path / "sys" / f"cpu{n}" / "topology" / "core_cpus_list").write_text(siblings + "\n")
    root = str(tmp_path / "sys")
    assert physical(frozenset({0, 1, 2, 3}), root) == 2 and physical(frozenset({0, 2}), root) == 1
    assert physical(frozenset({0, 1, 7}), root) == 3  # (a CPU without a topology: each CPU a core)
    shutil.rmtree(tmp_path / "sys")
    # no more parts than a container's CPU quota gives time for (cgroup v2's cpu.max, v1's cfs quota; made-up ones)
    groups = tmp_path / "cgroup"
    cg = tmp_path / "fs"

    def files(lines, **found):
        shutil.rmtree(cg, ignore_errors=True)
        groups.write_text("".join(line + "\n" for line in lines))
        for path, text in found.items():
            (cg / path.replace("__", "/")).parent.mkdir(parents=True, exist_ok=True)
            (cg / path.replace("__", "/")).write_text(text)
        return quota(str(cg), str(groups))

    assert files(["0::/box"], box__cpu_max="200000 100000") is None  # (a file of another name: none)
    assert files(["0::/box"], **{"box__cpu.max": "200000 100000\n"}) == 2
    assert files(["0::/box"], **{"box__cpu.max": "max 100000\n"}) is None
    assert files(["4:cpu,cpuacct:/docker/abc"], **{"cpu,cpuacct__docker__abc__cpu.cfs_quota_us": "150000\n",
                                                   "cpu,cpuacct__docker__abc__cpu.cfs_period_us": "100000\n"}) == 2
    assert files(["1:cpu:/docker/abc"], **{"cpu__cpu.cfs_quota_us": "300000\n",  # a container's own view
                                           "cpu__cpu.cfs_period_us": "100000\n"}) == 3
    assert files(["1:cpu:/"], **{"cpu__cpu.cfs_quota_us": "-1\n", "cpu__cpu.cfs_period_us": "100000\n"}) is None
    one = subprocess.run(["taskset", "-c", "0", sys.executable, "-c",
                          "from bridge.generation.runner import cores; print(cores())"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert one.stdout.strip() == "1", one.stderr
    monkeypatch.setenv("CADENZA_CORES", "3")
    assert cores() == 3
    for bad in ("0", "many", "-2", "1.5"):
        monkeypatch.setenv("CADENZA_CORES", bad)
        with pytest.raises(CadenzaError, match="CADENZA_CORES"):
            cores()
    out = tmp_path / "out"
    out.mkdir()
    ran = cadenza("generate", "--model", tiny, "--beats", 2, "--variations", 2, "--out", out / "x.mid")
    assert ran.returncode == 1 and "CADENZA_CORES='1.5'" in ran.stderr and "whole number" in ran.stderr
    assert not list(out.iterdir())
    served = cadenza("serve", "--port", 0, "--http-port", 0)  # the daemon does not start with it
    assert served.returncode == 1 and "CADENZA_CORES='1.5'" in served.stderr and "ready" not in served.stdout


def _durations(codec, prime, new):
    from bridge.generation import decode_continuation
    score = decode_continuation(codec, prime, new, include_prime=False)
    arr = score.note_array()
    return (arr[:, 3] - arr[:, 2]) / score.tpq


def test_max_hold_releases_long_notes_and_the_model_hears_it(tiny):
    """No note outlasts `max_hold`; the releases are tokens (so the model is told), not a cut made when
    decoding."""
    loaded = store.load(str(tiny))
    codec = loaded.codec
    prime = codec.encode_file(CHORALES / "chor030.krn")[:90]
    sampling = Sampling("temperature", temperature=1.5)
    free = generator_for(loaded).run(prime, Request(tokens=400, variations=4, seed=3, sampling=sampling))
    assert max(_durations(codec, prime, n).max() for n in free.new) > 1.0  # the test can fail
    held = generator_for(loaded).run(prime, Request(tokens=400, variations=4, seed=3, sampling=sampling,
                                                    max_hold=1.0))
    for new in held.new:
        assert _durations(codec, prime, new).max() <= 1.0 + 1e-6  # decoding cuts nothing: the tokens say it
    from bridge.settings import Settings, apply

    with pytest.raises(CadenzaError, match="max_hold"):  # checked once, by the specification every door uses
        apply(Settings(), "max_hold", -5)


def test_max_hold_counts_beats_at_the_requests_tempo():
    """Performance models count seconds: 2 beats at 60 qpm are 2 s, 4 beats of the codec's 120 qpm; the
    default is Magenta's 5 s."""
    from tests.conftest import ROOT

    if not (ROOT / "models" / "piano" / "cadenza.json").is_file():
        pytest.skip("no shipped piano model")
    gen = generator_for(store.load("piano"))
    assert gen.max_hold(Request(max_hold=2.0, qpm=60.0)) == pytest.approx(4.0)
    assert gen.max_hold(Request()) == pytest.approx(10.0)
    assert gen.max_hold(Request(max_hold=0)) >= 1e9  # never
