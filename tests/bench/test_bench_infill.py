"""`cadenza bench infill`: the real middle's bits given both sides and the left alone, and for each count of
candidates the joins across the region's edges (against real music's) and the speed of a 2-bar infill."""
from __future__ import annotations

import json

import pytest

from tests.conftest import ROOT, cadenza


def test_bench_infill_prints_bits_joins_and_speed_for_each_count_of_candidates():
    if not all((ROOT / "models" / m / "cadenza.json").is_file() for m in ("chorale-infill", "chorale")):
        pytest.skip("no shipped chorale models")
    r = cadenza("bench", "infill", "--model", "chorale-infill", "--baseline", "chorale", "--pieces", "2",
                "--candidates", "1", "2", "--json")
    assert r.returncode == 0, r.stderr
    got = json.loads(r.stdout)
    bits = got["bits_per_token"]
    assert got["middle_tokens"] > 0 and all(0 < v < 10 for v in bits.values())
    assert sorted(got["candidates"]) == ["1", "2"]
    for row in got["candidates"].values():
        assert row["two_bar_infill_ms"] > 0
        j = row["joins"]
        assert j["boundaries"] > 0 and j["real_edge_interval_mean_std"][1] > 0
        assert {"interval_gap_std", "onset_gap_std"} <= set(j)
