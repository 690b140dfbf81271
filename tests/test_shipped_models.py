"""Every model shipped in models/: small, better than its bigram baseline, and it plays."""
from __future__ import annotations

import json

import pytest

from bridge import store
from bridge.generation import Request, continue_ids, decode_continuation, prime_from_generation_set
from bridge.music import midi_bytes, parse_midi
from tests.conftest import ROOT

ALL = sorted(p.parent.name for p in (ROOT / "models").glob("*/cadenza.json"))
pytestmark = pytest.mark.skipif(not ALL, reason="no models shipped yet")


def _meta(name):
    return json.loads((ROOT / "models" / name / "cadenza.json").read_text())


SHIPPED = [n for n in ALL if _meta(n)["arch"]["name"] != "groovae"]  # token models
HARMONY = [n for n in SHIPPED if _meta(n)["codec"]["name"] == "harmony"]  # they harmonize, never continue
CONTINUING = [n for n in SHIPPED if n not in HARMONY]
GROOVE = [n for n in ALL if _meta(n)["arch"]["name"] == "groovae"]


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


@pytest.mark.parametrize("name", CONTINUING)
def test_generate_and_continue_from_the_generation_set_give_valid_midi(name):
    loaded = store.load(name)
    source, prime = prime_from_generation_set(loaded, beats=8, seed=1)
    for prime_ids, include in ((prime[:0], True), (prime, True)):
        result = continue_ids(loaded, prime_ids, Request(beats=8, seed=2))
        score = decode_continuation(loaded.codec, result.prime, result.new[0], include)
        again = parse_midi(midi_bytes(score))  # a valid Standard MIDI File that reads back
        assert again.note_count == score.note_count > 0
        assert result.beats[0] >= 7.5 or loaded.codec.token_beats() is None


INFILL = [n for n in SHIPPED if json.loads((ROOT / "models" / n / "cadenza.json").read_text())["codec"].get("fim")]


@pytest.mark.parametrize("name", INFILL)
def test_shipped_infill_models_fill_a_region_of_a_held_out_piece(name):
    from bridge.generation.infill import infill
    from bridge.music import load_score

    loaded = store.load(name)
    source, _ = prime_from_generation_set(loaded, beats=8, seed=1)
    score = load_score(source)
    wholes, regions, _ = infill(loaded, score, 8.0, 12.0, Request(seed=1))
    assert regions[0] and all(8 <= s < 12 for _, s, _, _ in regions[0])
    bench = json.loads((ROOT / "models" / name / "cadenza.json").read_text())["metrics"]["infill_bench"]
    # the music after the gap is used: the real middle is likelier given both sides than the left alone
    assert bench["bits_per_token_given_both_sides"] < bench["bits_per_token_infill_model_left_only"]
    assert bench["held_out_middle_tokens"] > 1000 and bench["bits_per_token_continuation_model_left_only"] > 0


@pytest.mark.parametrize("name", GROOVE)
def test_the_groove_model_is_small_described_and_beats_its_baselines(name):
    """Its figures on the Groove MIDI Dataset's validation split, recorded by `cadenza bench groove --record`."""
    folder = ROOT / "models" / name
    assert sum(f.stat().st_size for f in folder.iterdir()) <= 25 * 2**20
    meta = _meta(name)
    assert meta["corpus"]["licences"] and meta["corpus"]["note"] and meta["split"]["validation"]
    assert not set(meta["split"]["validation"]) & set(meta["split"]["train"])
    b = meta["metrics"]["groove_bench"]
    for figure in ("timing_mae_ms", "velocity_mae"):
        mine = b["groove"][figure]["model"]
        assert mine < b["groove"][figure]["quantised input"] and mine < b["groove"][figure]["class x position means"]
    assert b["drumify"]["hit_f1"]["model"] > b["drumify"]["hit_f1"]["most common pattern for the tap count"]
    # drumify plays the whole kit: every class the drummers struck at least every other window, at 0.5-1.5x,
    # told the style and not (the thresholds for no style are fitted on this split: bridge.training.groove)
    for name, c in b["drumify"]["hits_per_window_by_class"].items():
        if c["real"] >= 0.5:
            for told in ("model", "model, style not said"):
                assert 0.5 <= c[told] / c["real"] <= 1.5, (name, told, c)
    assert min(b["drumify"]["hit_f1"]["model"], b["drumify"]["hit_f1"]["model, style not said"]) >= 0.55
    # each class's timing as groove plays it by default (the feel drawn) spreads as the drummers' does
    assert all(0.8 <= c["offset"] <= 1.2 for c in b["groove"]["spread_vs_real_feel_drawn"].values())
    assert b["speed_ms_2_bars"]["groove"] < 20 and b["speed_ms_2_bars"]["drumify"] < 20


@pytest.mark.parametrize("name", GROOVE)
def test_the_groove_model_plays_without_tensorflow(name):
    import subprocess
    import sys

    code = (f"import sys; from bridge import store; from bridge.generation.groove import model_for, generate_beats; "
            f"m = model_for(store.load({name!r})); s = generate_beats(m, 4, seed=1); "
            f"print(s.note_count, 'tensorflow' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    count, tf = out.stdout.split()
    assert int(count) > 0 and tf == "False", out.stderr


@pytest.mark.parametrize("name", HARMONY)
def test_shipped_harmony_models_listen_to_the_melody(name):
    """Recorded by `cadenza bench harmonize --record` on held-out pieces: the real parts are clearly likelier given
    the melody read ahead than by the same model without it; the generated parts stay under the melody, in full
    and in their voices' ranges (folk chords, whose real parts sit in no chorale voice's range, as often as the
    real ones)."""
    b = _meta(name)["metrics"]["harmonize_bench"]
    bits = b["bits_per_part_token"]
    assert bits["given_melody"] < 0.85 * bits["melody_withheld"]
    assert b["part_tokens"]["given_melody"] > 2000
    assert b["generated"]["moments_with_a_part_above_melody"] == 0  # the melody stays the top line
    assert b["generated"]["four_voice_moments"] >= 0.9  # the parts sound in full under it, as Bach's do
    # in the voices' ranges (a chorale's alto, tenor and bass) at least as often as the real parts are, or 90%
    assert b["generated"]["parts_in_voice_range"] >= min(0.9, b["real"]["parts_in_voice_range"])


@pytest.mark.skipif(not {"folk-chords", "chorale-harmony"} <= set(HARMONY), reason="no shipped harmony models")
def test_harmonize_with_no_model_named_uses_the_daemons_own_where_it_harmonizes():
    """`cadenza serve --model folk-chords`, then /cadenza/harmonize with no model named: folk-chords writes the
    parts (a daemon of a model that does not harmonize, and the command line, use chorale-harmony); a model
    named that does not harmonize is refused by name."""
    from bridge.host.models import ModelStore
    from bridge.music import Score
    from bridge.settings import Settings
    from bridge.tasks import Harmonize, StoreModels, events, run

    tune = Score.from_beats([(67, 0, 1, 90), (69, 1, 1, 90), (71, 2, 2, 90), (67, 4, 4, 90)])
    for models, used in ((ModelStore("folk-chords"), "folk-chords"), (ModelStore("piano"), "chorale-harmony"),
                         (StoreModels(), "chorale-harmony")):
        assert run(Harmonize(Settings(seed=1), prime=tune), models=models).model == used
    refused = run(Harmonize(Settings(model="melody"), prime=tune), models=ModelStore("folk-chords"))
    assert isinstance(refused, events.Failed) and "melody does not harmonize" in refused.message
