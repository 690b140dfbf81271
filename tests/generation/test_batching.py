"""Many players at once (continuous batching): requests for one model that wait at the same moment run as
one batch, each with its own settings, seed, controls and stop, and each gets the music it would get alone."""
from __future__ import annotations

import threading
import time

import pytest

from bridge.settings import Settings, apply, request_of
from tests.conftest import ROOT

MODEL = "chorale"


@pytest.fixture(scope="module")
def gen():
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge import store
    from bridge.generation import generator_for

    loaded = store.load(MODEL)
    return loaded, generator_for(loaded)


def requests():
    """Eight players, no two alike: seeds, lengths, variations, strategies, a scale, a range, controls."""
    asks = [dict(seed=1), dict(seed=2, beats=24), dict(seed=3, variations=3), dict(seed=4, temperature=0.7),
            dict(seed=5, strategy="top_k", top_k=8), dict(seed=6, scale="D minor"), dict(seed=7, density=2.0),
            dict(seed=8, pitch_range="48-72", variations=2)]
    out = []
    for ask in asks:
        s = Settings(beats=8.0)
        for key, value in ask.items():
            s = apply(s, key, value)
        out.append(request_of(s))
    return out


def prime_of(loaded, k: int):
    from bridge.music import Score

    notes = [(60 + k, 0.0, 1.0, 90), (64 + k, 1.0, 1.0, 90), (67, 2.0, 2.0, 90)]
    return loaded.codec.encode(Score.from_beats(notes)) if k % 2 else loaded.codec.empty()


def test_each_request_gets_the_music_it_gets_alone(gen):
    loaded, g = gen
    reqs = requests()
    alone = [g.run(prime_of(loaded, k), r, alone=True).new for k, r in enumerate(reqs)]
    together: list = [None] * len(reqs)
    shared_before = g.batcher.shared
    gate = threading.Barrier(len(reqs))

    def play(k):
        gate.wait()
        together[k] = g.run(prime_of(loaded, k), reqs[k]).new

    threads = [threading.Thread(target=play, args=(k,)) for k in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert g.batcher.shared > shared_before  # they did fly together
    for k in range(len(reqs)):
        assert len(together[k]) == len(alone[k]) == reqs[k].variations
        for a, b in zip(alone[k], together[k]):
            assert (a == b).all(), f"request {k}: its music changed in company"


def test_a_short_request_does_not_wait_for_a_long_one(gen):
    loaded, g = gen
    long = request_of(apply(Settings(beats=512.0), "seed", 9))
    short = request_of(apply(Settings(beats=4.0), "seed", 10))
    done = {}

    def play(name, req):
        g.run(loaded.codec.empty(), req)
        done[name] = time.perf_counter()

    first = threading.Thread(target=play, args=("long", long))
    first.start()
    time.sleep(0.05)  # the long one is in the air
    play("short", short)
    first.join(120)
    assert done["short"] < done["long"]


def test_a_cancel_lands_one_request_and_leaves_the_others(gen):
    loaded, g = gen
    stop = threading.Event()
    results = {}
    reqs = {"kept": request_of(apply(Settings(beats=64.0), "seed", 11)),
            "cancelled": request_of(apply(Settings(beats=512.0), "seed", 12))}

    def play(name):
        results[name] = g.run(loaded.codec.empty(), reqs[name], cancel=stop if name == "cancelled" else None,
                              on_chunk=(lambda chunk: stop.set()) if name == "cancelled" else None)

    threads = [threading.Thread(target=play, args=(n,)) for n in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert results["cancelled"].cancelled and not results["kept"].cancelled
    alone = g.run(loaded.codec.empty(), reqs["kept"], alone=True)
    assert (alone.new[0] == results["kept"].new[0]).all()


def test_a_request_that_finds_a_batch_running_gets_its_first_chunk_at_once_and_the_same_music(gen):
    """It does not wait for the running batch's next chunk boundary: its first chunk is made on its own
    thread (the core the batch leaves free), then it joins; its music is what it is alone."""
    loaded, g = gen
    long = request_of(apply(Settings(beats=512.0), "seed", 13))
    short = request_of(apply(apply(Settings(beats=16.0), "seed", 14), "variations", 2))
    alone = g.run(prime_of(loaded, 1), short, alone=True).new
    first = threading.Thread(target=g.run, args=(loaded.codec.empty(), long))
    first.start()
    deadline = time.time() + 10
    while g.batcher.thread is None and time.time() < deadline:  # the long one is in the air
        time.sleep(0.001)
    solos = g.batcher.solos
    got = g.run(prime_of(loaded, 1), short).new
    first.join(120)
    assert g.batcher.solos == solos + 1
    assert all((a == b).all() for a, b in zip(alone, got)) and len(got) == 2
