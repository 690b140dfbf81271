"""`cadenza bench osc`: a daemon, then clients at once, each in a process of its own, sending continuations one
after another, the counts in turn round after round: first notes, done and requests per second at each count,
nothing lost."""
from __future__ import annotations

import json

from tests.conftest import cadenza


def test_bench_osc_prints_each_client_count():
    """Each count's figures; here each request sends a prime of its own (`--distinct-primes`, as an ensemble's
    players do: the daemon reads every one), no two of them alike."""
    from bridge.bench.osc import PRIME, distinct

    assert len({tuple(distinct(c, i)) for c in range(16) for i in range(100)}) == 1600
    assert all(0 <= p <= 127 for p in distinct(15, 99)[::4]) and distinct(0, 5)[:len(PRIME)] == PRIME
    r = cadenza("bench", "osc", "--model", "chorale", "--clients", "1", "2", "--requests", "3", "--beats", "8",
                "--rounds", "2", "--distinct-primes", "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert [x["clients"] for x in out["runs"]] == [1, 2]
    for x in out["runs"]:
        assert x["requests"] == x["answered"] == 2 * 3 * x["clients"]  # both rounds and x["lost"] == 0
        assert 0 < x["first_notes_ms_p50"] <= x["done_ms_p50"] and x["requests_per_s"] > 0
    from bridge.bench.osc import table_osc
    from bridge.generation.runner import cores

    assert "requests/s" in table_osc(out) and out["cores"] == cores()
    assert f"the batches on up to {cores()} cores, each request a prime of its own" in table_osc(out)


def test_bench_osc_tells_the_daemons_errors():
    """A request the daemon refuses counts as lost, with the daemon's own words (the clients read only a reply's
    address and id, and an error's text)."""
    r = cadenza("bench", "osc", "--model", "chorale", "--clients", "1", "--requests", "2", "--rounds", "1",
                "--beats", "5000", "--json")
    out = json.loads(r.stdout)
    (run,) = out["runs"]
    assert run["lost"] == 2
    assert [m for _, m in run["lost_examples"]] == ["beats 5000.0 is out of range (> 0, <= 1024)"] * 2
    from bridge.bench.osc import table_osc

    assert not out["distinct_primes"] and "every request the same prime" in table_osc(out)
