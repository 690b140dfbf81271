"""Many players at once (continuous batching): requests for one model that wait at the same moment run as
one batch, each with its own settings, seed, controls and stop, and each gets the music it would get alone."""
from __future__ import annotations

import threading
import time

import numpy as np
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
    shared_before = sum(b.shared for b in g.lanes)
    gate = threading.Barrier(len(reqs))

    def play(k):
        gate.wait()
        together[k] = g.run(prime_of(loaded, k), reqs[k]).new

    threads = [threading.Thread(target=play, args=(k,)) for k in range(len(reqs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sum(b.shared for b in g.lanes) > shared_before  # they did fly together
    for k in range(len(reqs)):
        assert len(together[k]) == len(alone[k]) == reqs[k].variations
        for a, b in zip(alone[k], together[k]):
            assert (a == b).all(), f"request {k}: its music changed in company"


def test_the_piano_models_continuations_are_the_same_alone_and_with_eight_players():
    """Sixty-four 32-beat continuations of one prime, each alone and then eight players at once: the same tokens,
    cut at the same token. (Before session 32, 3 in 100 ended a few tokens apart: the beats a request had made were
    summed chunk by chunk, and chunks are longer in a batch; and a row's products were other sums in the last bits
    at three, five, six or seven rows than alone.)"""
    if not (ROOT / "models" / "piano" / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge import store
    from bridge.generation import generator_for
    from bridge.generation.runner import as_drawn

    loaded = store.load("piano")
    g = generator_for(loaded)
    prime = prime_of(loaded, 1)
    reqs = [as_drawn(loaded, request_of(apply(Settings(beats=32.0), "seed", 1000 + i))) for i in range(64)]
    alone = [g.run(prime, r, alone=True).new[0] for r in reqs]
    together: list = [None] * len(reqs)

    def play(k):
        for i in range(k, len(reqs), 8):
            together[i] = g.run(prime, reqs[i]).new[0]

    threads = [threading.Thread(target=play, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    differ = [i for i in range(len(reqs)) if len(alone[i]) != len(together[i]) or (alone[i] != together[i]).any()]
    assert not differ, f"continuations {differ} changed in company"


def test_a_batchs_rows_follow_every_join_leave_and_move_between_chunks(gen):
    """The batch's arrays are kept between chunks and changed only where a flight joins or leaves (Merged): six
    requests of one to three variations fly in company that changes at every chunk (each one there or not, chunks of
    2-6 tokens, in one to four parts), so rows are added, taken out and moved between the parts; each one's music is
    what it is alone, and no two parts ever differ by more than a row (every core kept as busy)."""
    from bridge.generation.runner import Merged, advance_flights

    loaded, g = gen
    reqs = []
    for k, variations in enumerate((1, 3, 1, 2, 1, 1)):
        reqs.append(request_of(apply(apply(Settings(beats=6.0 + k), "seed", 40 + k), "variations", variations)))
    alone = [g.run(prime_of(loaded, k), r, alone=True).new for k, r in enumerate(reqs)]
    for seed in (1, 11):  # (these two move flights between the parts, and lay them all out again)
        made = [g.flight(prime_of(loaded, k), r) for k, r in enumerate(reqs)]
        flights = [f for f, _ in made]
        merged, rng, chunks, gaps, company, widths = Merged(), np.random.default_rng(seed), 0, [], [], set()
        while not all(f.over for f in flights):  # each one stays on with 0.7, or joins with 0.3
            company = [f for f in flights if not f.over and rng.random() < (0.7 if f in company else 0.3)]
            if company:
                most, length = int(rng.integers(1, 5)), int(rng.integers(2, 7))
                advance_flights(g, company, most, merged=merged, length=length)
                chunks += 1
                if len(merged.sides) > 1:
                    rows = [side.rows for side in merged.sides]
                    gaps.append(max(rows) - min(rows))
                    widths.add(len(rows))
        assert chunks > 20 and gaps and max(gaps) <= 1 and widths == {2, 3, 4}
        for k, (_, result) in enumerate(made):
            for a, b in zip(alone[k], result().new, strict=True):
                assert (a == b).all(), f"request {k}: its music changed in company (schedule {seed})"


def test_a_stop_is_reached_at_the_same_token_however_the_tokens_are_chunked():
    """The piano codec's time steps are multiples of 0.02 beats (not exact in binary): summed 32 or 64 tokens at a
    time, a stop at 32 beats is reached at the same token (these steps, summed so, reached it at token 80 or 83)."""
    from bridge.generation.runner import Stopper

    r = np.random.default_rng(59)
    kinds = r.integers(0, 4, 3000)
    step = np.where(kinds == 0, 0.0, r.integers(1, 50, 3000) * 0.02)  # a note's event, or a time step
    cuts = []
    for size in (32, 64):
        at = [0]

        def beats_of(rows):
            got = step[at[0]:at[0] + len(rows)]
            at[0] += len(rows)
            return got

        stopper = Stopper(1, 32.0, beats_of)
        while not stopper.finished:
            stopper.take([np.zeros(size, np.int32)])
        cuts.append(len(stopper.new(10_000, np.zeros(0, np.int32))[0]))
    assert cuts == [80, 80]


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


def _in_the_air(g, lanes: int) -> None:
    deadline = time.time() + 10
    while sum(b.thread is not None for b in g.lanes) < lanes and time.time() < deadline:
        time.sleep(0.001)


def test_a_request_that_finds_a_batch_running_gets_its_first_chunk_at_once_and_the_same_music(gen):
    """It does not wait for a running batch's next chunk boundary: it flies in the model's other lane (an
    empty batch) or, with every lane busy, its first half chunk is made on its own thread (a token alone costs
    two or three in the batch), then it joins; its music is what it is alone."""
    loaded, g = gen
    longs = [request_of(apply(Settings(beats=512.0), "seed", 13 + k)) for k in range(len(g.lanes))]
    short = request_of(apply(apply(Settings(beats=16.0), "seed", 20), "variations", 2))
    alone = g.run(prime_of(loaded, 1), short, alone=True).new
    flying = []
    for k, req in enumerate(longs):
        flying.append(threading.Thread(target=g.run, args=(loaded.codec.empty(), req)))
        flying[-1].start()
        _in_the_air(g, k + 1)  # each long one in a lane of its own
    assert all(b.thread is not None for b in g.lanes)
    solos = sum(b.solos for b in g.lanes)
    sizes = []
    got = g.run(prime_of(loaded, 1), short, on_chunk=lambda chunk: sizes.append(len(chunk[0]))).new
    for t in flying:
        t.join(120)
    assert sum(b.solos for b in g.lanes) == solos + 1
    assert sizes[0] == g.chunk // 2 and sum(sizes) == len(got[0])
    assert all((a == b).all() for a, b in zip(alone, got)) and len(got) == 2


def test_a_long_request_alone_makes_long_chunks_that_a_request_that_comes_ends_at_once(gen):
    """A request with far to go, alone in its batch, makes up to Batcher.LONG chunks at once (fewer times the
    interpreter's work between chunks, which holds up every other door); a request that comes meanwhile ends
    that chunk at the next token and joins; every request's music is what it is alone."""
    from bridge.generation.runner import step

    loaded, g = gen
    longs = [request_of(apply(Settings(beats=768.0), "seed", 40 + k)) for k in range(len(g.lanes))]
    short = request_of(apply(Settings(beats=16.0), "seed", 50))
    alone = [g.run(loaded.codec.empty(), r, alone=True).new[0] for r in longs + [short]]
    sizes = [[] for _ in longs]
    started = [threading.Event() for _ in longs]
    got = [None] * len(longs)

    def play(k):
        def chunk(c):
            sizes[k].append(len(c[0]))
            if len(sizes[k]) >= 2:  # the next, being made now, is a long one
                started[k].set()
        got[k] = g.run(loaded.codec.empty(), longs[k], on_chunk=chunk).new[0]

    threads = [threading.Thread(target=play, args=(k,)) for k in range(len(longs))]
    for t in threads:
        t.start()
    for e in started:
        assert e.wait(60)
    halted = sum(b.halted for b in g.lanes)
    mine = []
    # (one that comes while the loop waits for its notes' hand-over, between chunks, joins at that boundary: no long
    # chunk to end, on a busy machine now and then; the next one comes into one)
    while len(mine) < 5 and sum(b.halted for b in g.lanes) == halted:
        mine.append(g.run(loaded.codec.empty(), short).new[0])
    for t in threads:
        t.join(120)
    assert sum(b.halted for b in g.lanes) > halted  # it did not wait for the long chunk to end
    assert max(max(s) for s in sizes) > 2 * g.chunk
    assert all((a == b).all() for a, b in zip(alone, got)) and all((m == alone[-1]).all() for m in mine)
    flight, _ = g.flight(loaded.codec.empty(), longs[0])  # a halt already set: one token, then the chunk ends
    assert step(g, [flight], False, None, 100, np.ones(1, np.int32))[0].shape == (1, 1)
    assert step(g, [flight], False, None, 100)[0].shape == (1, 100)


def test_a_chunk_ends_at_the_token_where_a_request_reaches_its_stop(gen):
    """The kernel counts each row's beats to its request's stop: a chunk ends at the token that reaches it, so no
    token is made past it (a request leaves its batch then, not a chunk later), alone and beside a request with
    farther to go (which goes on in the next chunk); either way the music is what it is in short chunks. In parts on
    several cores (two halves, three parts) the part that sees the stop tells the others, which end at their next
    token (those that made fewer then catch up: the tokens past the stop are cut by the stopper)."""
    from bridge.generation.runner import advance_flights

    loaded, g = gen
    short = request_of(apply(apply(Settings(beats=6.0), "seed", 60), "variations", 2))
    far = request_of(apply(Settings(beats=64.0), "seed", 61))
    want = [g.run(loaded.codec.empty(), r, alone=True).new for r in (short, far)]
    for batch, most in (([short], 1), ([short, far], 1), ([short, far], 2), ([short, far], 3)):
        flights = [g.flight(loaded.codec.empty(), r) for r in batch]
        rounds = 0
        while not flights[0][0].over:
            advance_flights(g, [f for f, _ in flights if not f.over], most, length=4096)
            rounds += 1
        first = flights[0][0]
        made = max(len(n) for n in flights[0][1]().new)
        # nothing made past its stop; in parts, what another part had made beyond it when told (a few tokens, more
        # on a busy machine; not told, it would make the whole 4,096)
        assert rounds <= 2 and made <= first.made <= made + (512 if most > 1 else 0)
        assert all((a == b).all() for a, b in zip(flights[0][1]().new, want[0]))
        if len(batch) > 1:
            assert not flights[1][0].over and flights[1][0].made == first.made  # it ended there too, and goes on
            while not flights[1][0].over:
                advance_flights(g, [flights[1][0]], 1, length=4096)
            assert (flights[1][1]().new[0] == want[1][0]).all()


def test_short_chunks_reach_the_callback_gathered_and_a_cancel_loses_nothing(gen):
    """After its first chunk (its first notes, at once), a request's tokens reach its callback GATHER a row at least
    (a batch's chunks end wherever a request joins or leaves: each handed over is decoded and sent), the last
    whatever is left; every token once, in order. A request cancelled meanwhile still gets what it made."""
    from bridge.generation.runner import GATHER, advance_flights

    loaded, g = gen
    for cancel in (False, True):
        seen = []
        stop = threading.Event()
        flight, result = g.flight(loaded.codec.empty(), request_of(apply(Settings(beats=64.0), "seed", 70)),
                                  on_chunk=lambda c: seen.append(c[0]), cancel=stop)
        rounds = 0
        while not flight.over:
            advance_flights(g, [flight], 1, length=16)
            rounds += 1
            if cancel and rounds == 7:
                stop.set()
        sizes = [len(c) for c in seen]
        assert sizes[0] == 16 and all(n >= GATHER for n in sizes[1:-1]) and len(sizes) < rounds / 2
        assert (np.concatenate(seen) == result().new[0]).all() and result().cancelled == cancel
        if cancel:
            assert sum(sizes) == 7 * 16 and sizes[-1] < GATHER


def test_a_chunk_with_nothing_to_tell_yet_brings_the_next_at_once(gen):
    """A callback that returns False (no note ended in what it was handed: a long first chord) gets the next chunk
    at once, not gathered, until it has something to tell; then GATHER a row again."""
    from bridge.generation.runner import GATHER, advance_flights

    loaded, g = gen
    seen = []
    flight, result = g.flight(loaded.codec.empty(), request_of(apply(Settings(beats=256.0), "seed", 70)),
                              on_chunk=lambda c: seen.append(len(c[0])) or len(seen) > 3)
    while not flight.over:
        advance_flights(g, [flight], 1, length=16)
    assert seen[:4] == [16, 16, 16, 16] and len(seen) > 5 and all(n >= GATHER for n in seen[4:-1])
    assert sum(seen) == len(result().new[0])


def test_two_requests_fly_in_two_lanes_at_once(gen):
    """On two cores or more a model runs two batches: a request that finds one busy starts in the other at
    once (no solo chunk, no boundary to wait for), with the same music."""
    loaded, g = gen
    if len(g.lanes) < 2:
        pytest.skip("one core: one lane")
    long = request_of(apply(Settings(beats=512.0), "seed", 30))
    short = request_of(apply(Settings(beats=16.0), "seed", 31))
    alone = g.run(prime_of(loaded, 1), short, alone=True).new
    first = threading.Thread(target=g.run, args=(loaded.codec.empty(), long))
    first.start()
    _in_the_air(g, 1)
    solos = sum(b.solos for b in g.lanes)
    got = g.run(prime_of(loaded, 1), short).new
    busy_both = sum(b.batches > 0 for b in g.lanes)
    first.join(120)
    assert sum(b.solos for b in g.lanes) == solos and busy_both == 2
    assert (alone[0] == got[0]).all()


@pytest.mark.parametrize("cores", ["", "4"])
def test_variations_on_every_core_make_long_chunks_that_a_request_in_the_other_lane_ends(gen, cores, monkeypatch):
    """A request's variations alone run in parts, one a core, and once they have their first notes make up to
    Batcher.LONG chunks at once (the interpreter's work between chunks came every 64 tokens); a request that comes
    starts the model's other lane and ends that chunk at the next token, so each batch has its share of the cores
    (on two, one; on four, two: CADENZA_CORES=4 here) while both run; the music is what it is alone."""
    from bridge.generation import runner

    loaded, g = gen
    if len(g.lanes) < 2:
        pytest.skip("one core: one lane")
    monkeypatch.setenv("CADENZA_CORES", cores) if cores else monkeypatch.delenv("CADENZA_CORES", raising=False)
    widths, real = [], runner.advance_flights

    def advance(gen, flights, most=1, *args, **kw):  # each chunk's parts at most, and the lane's thread
        widths.append((threading.get_ident(), sum(f.size for f in flights), most))
        return real(gen, flights, most, *args, **kw)

    monkeypatch.setattr(runner, "advance_flights", advance)
    rows = min(16, max(4, g.spread()))  # (more rows than a lane's share of the cores: 16 variations at most)
    if rows <= g.share():
        pytest.skip("a lane's share of this machine's cores is more than a request's variations")
    many = request_of(apply(apply(Settings(beats=768.0), "seed", 32), "variations", rows))
    short = request_of(apply(Settings(beats=384.0), "seed", 33))  # (long enough to be seen beside it)
    alone = [g.run(loaded.codec.empty(), r, alone=True).new for r in (many, short)]
    sizes, started, got = [], threading.Event(), {}

    def chunk(c):
        sizes.append(len(c[0]))
        if len(sizes) >= 2:  # the next, being made now, is a long one
            started.set()

    widths.clear()
    first = threading.Thread(target=lambda: got.update(many=g.run(loaded.codec.empty(), many, on_chunk=chunk).new))
    first.start()
    assert started.wait(60)
    lane = next(b for b in g.lanes if b.thread is not None)
    assert lane.width == min(rows, g.spread()) > g.share()  # on every core (two: both), more than its share
    halted, before = lane.halted, len(widths)
    mine = g.run(loaded.codec.empty(), short).new
    first.join(120)
    assert lane.halted > halted  # the other lane's start ended the long chunk in parts
    assert max(sizes) > 2 * g.chunk
    assert all((a == b).all() for a, b in zip(alone[0], got["many"])) and (alone[1][0] == mine[0]).all()
    ours = widths[0][0]
    assert {m for t, _, m in widths[:before]} == {g.spread()}  # alone: every core
    later = [(t, rows, m) for t, rows, m in widths[before:]]
    assert any(t == ours and m == g.share() for t, _, m in later)  # its share while the other lane ran
    assert {m for t, _, m in later if t != ours} == {g.share()}  # and the other lane too


def test_a_callback_that_fails_stops_its_own_request_and_not_the_batch(gen):
    """Chunks go to their callbacks on a thread beside the batch loop: a callback that raises ends its own
    request with its error; the others in the batch get all their music."""
    loaded, g = gen
    reqs = [request_of(apply(Settings(beats=32.0), "seed", 40 + k)) for k in range(4)]
    alone = [g.run(loaded.codec.empty(), r, alone=True).new[0] for r in reqs]
    results, errors, got = {}, {}, {k: [] for k in range(4)}
    gate = threading.Barrier(4)

    def on_chunk(k):
        def take(chunk):
            if k == 1 and got[k]:
                raise RuntimeError("the client went away")
            got[k].append(chunk[0])
        return take

    def play(k):
        gate.wait()
        try:
            results[k] = g.run(loaded.codec.empty(), reqs[k], on_chunk=on_chunk(k))
        except RuntimeError as e:
            errors[k] = str(e)

    threads = [threading.Thread(target=play, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == {1: "the client went away"}
    for k in (0, 2, 3):
        assert (results[k].new[0] == alone[k]).all()
        assert (np.concatenate(got[k]) == alone[k]).all()  # every chunk, in order


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="per-thread nice: Linux")
def test_the_loops_threads_yield_the_cores_and_no_other_thread_does(gen):
    """The threads that run the compiled loop (a batch's, its parts') run at nice 10, so a thread that wakes to
    answer (the OSC door, the page, the MIDI scheduler) has a core at once; the others, and the caller, stay
    at the interpreter's own priority (Linux gives each thread its own nice value)."""
    import os

    from bridge.generation.runner import LOOP_NICE

    loaded, g = gen
    seen = {}
    before = os.getpriority(os.PRIO_PROCESS, 0)

    def look(chunk):
        seen[threading.current_thread().name] = os.getpriority(os.PRIO_PROCESS, 0)

    reqs = [request_of(apply(apply(Settings(beats=16.0), "seed", 50 + k), "variations", 2)) for k in range(2)]
    threads = [threading.Thread(target=g.run, args=(loaded.codec.empty(), r), kwargs={"on_chunk": look})
               for r in reqs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)

    def nice_of(thread) -> int:  # field 19 of /proc/PID/task/TID/stat
        return int(open(f"/proc/self/task/{thread.native_id}/stat").read().rsplit(")", 1)[1].split()[16])

    from bridge.generation.runner import parts_pool

    pool = [nice_of(t) for t in parts_pool()._threads]
    assert pool and all(n == max(LOOP_NICE, before) for n in pool)
    assert os.getpriority(os.PRIO_PROCESS, 0) == before  # the caller's thread (and so the process) as it was
    assert seen and set(seen.values()) == {before}  # the notes are handed over at the interpreter's priority


def test_a_prime_sent_again_is_read_once_and_the_music_is_the_same(gen, monkeypatch):
    """The Live device asks for each variation of a clip in a request of its own, all at once, and a loop sends the
    same phrase again: a model keeps the state after its last PRIMED primes, so eight requests with one prime, at
    once, read it once (the others wait for it), and each gets the music it gets with the prime read anew; a caller
    that changes the state it was given changes nobody else's; the primes kept are bounded."""
    from bridge.generation import Generator, kernels, runner

    loaded, g = gen
    fresh = Generator(loaded)
    from tests.conftest import CHORALES

    prime = loaded.codec.encode_file(CHORALES / "chor010.krn")[:60]
    reqs = [request_of(apply(Settings(beats=8.0), "seed", 70 + k)) for k in range(8)]
    want = [Generator(loaded).run(prime, r, alone=True).new[0] for r in reqs]  # each read anew by a new generator
    reads, real = [], kernels.prime

    def counted(*args):
        reads.append(1)
        return real(*args)

    monkeypatch.setattr(kernels, "prime", counted)
    got, gate = {}, threading.Barrier(8)

    def play(k):
        gate.wait()
        got[k] = fresh.run(prime, reqs[k]).new[0]

    threads = [threading.Thread(target=play, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(reads) == 1 and fresh.primed.made == 1 and fresh.primed.found == 7
    assert all((got[k] == want[k]).all() for k in range(8))
    logits, state = fresh.prime(prime)
    state["h"][:] = 1.0
    logits[:] = 0.0
    again = fresh.prime(prime)
    assert len(reads) == 1 and not (again[1]["h"] == 1.0).all() and again[0].any()
    for k in range(runner.PRIMED + 8):  # others, each read once, the oldest let go
        fresh.prime(prime[: 10 + k])
    assert len(fresh.primed.items) == runner.PRIMED and len(reads) == 1 + runner.PRIMED + 8
