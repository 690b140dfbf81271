"""`cadenza bench osc`: a daemon, then clients at once, each in a process of its own, sending continuations one
after another: first notes, done and requests per second at each count, nothing lost."""
from __future__ import annotations

import json

from tests.conftest import cadenza


def test_bench_osc_prints_each_client_count():
    r = cadenza("bench", "osc", "--model", "chorale", "--clients", "1", "2", "--requests", "3", "--beats", "8",
                "--json")
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert [x["clients"] for x in out["runs"]] == [1, 2]
    for x in out["runs"]:
        assert x["requests"] == x["answered"] == 3 * x["clients"] and x["lost"] == 0
        assert 0 < x["first_notes_ms_p50"] <= x["done_ms_p50"] and x["requests_per_s"] > 0
    from bridge.bench.osc import table_osc

    assert "requests/s" in table_osc(out)
