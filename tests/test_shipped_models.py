"""Every model shipped in models/: small, better than its bigram baseline, and it plays."""
from __future__ import annotations

import json

import pytest

from bridge import store
from bridge.generation import Request, continue_ids, decode_continuation, prime_from_generation_set
from bridge.music import midi_bytes, parse_midi
from tests.conftest import ROOT

SHIPPED = sorted(p.parent.name for p in (ROOT / "models").glob("*/cadenza.json"))
pytestmark = pytest.mark.skipif(not SHIPPED, reason="no models shipped yet")


@pytest.mark.parametrize("name", SHIPPED)
def test_small_described_and_better_than_bigram(name):
    folder = ROOT / "models" / name
    size = sum(f.stat().st_size for f in folder.iterdir())
    assert size <= 25 * 2**20
    meta = json.loads((folder / "cadenza.json").read_text())
    m = meta["metrics"]
    assert m["val_bits_per_token"] < 0.9 * m["bigram_bits_per_token"]  # a clear margin: at least 10% fewer bits
    assert meta["corpus"]["licences"] and meta["corpus"]["note"]
    assert meta["split"]["generation"] and not set(meta["split"]["generation"]) & set(meta["split"]["train"])


@pytest.mark.parametrize("name", SHIPPED)
def test_generate_and_continue_from_the_generation_set_give_valid_midi(name):
    loaded = store.load(name)
    source, prime = prime_from_generation_set(loaded, beats=8, seed=1)
    for prime_ids, include in ((prime[:0], True), (prime, True)):
        result = continue_ids(loaded, prime_ids, Request(beats=8, seed=2))
        score = decode_continuation(loaded.codec, result.prime, result.new[0], include)
        again = parse_midi(midi_bytes(score))  # a valid Standard MIDI File that reads back
        assert again.note_count == score.note_count > 0
        assert result.beats[0] >= 7.5 or loaded.codec.token_beats() is None
