"""The musician's controls, applied while sampling: hard bounds hold in every bar, targets are met in most
bars and clearly more often than without them, contradictions are refused before any work, and every
door takes them from the one settings specification."""
from __future__ import annotations

import numpy as np
import pytest

from bridge import settings as S
from bridge.errors import CadenzaError
from tests.conftest import ROOT

BARS = 8


def _have(name):
    if not (ROOT / "models" / name / "cadenza.json").is_file():
        pytest.skip(f"model {name} not here")


def _generate(model: str, seed: int = 1, variations: int = 4, **asked):
    from bridge import store
    from bridge.generation import continue_ids, decode_continuation
    from bridge.generation.controls import notes_of

    _have(model)
    loaded = store.load(model)
    s = S.Settings()
    for k, v in {**asked, "seed": seed, "beats": 4.0 * BARS, "variations": variations}.items():
        s = S.apply(s, k, v)
    req = S.request_of(s)
    res = continue_ids(loaded, loaded.codec.empty(), req)
    out = [notes_of(decode_continuation(loaded.codec, loaded.codec.empty(), new, include_prime=False, beats=4.0 * BARS,
                                      velocity_range=req.controls.velocity_range)) for new in res.new]
    return out, req.controls


def _met(model, name, seed=1, **asked):
    from bridge.generation.controls import bar_report

    runs, controls = _generate(model, seed=seed, **asked)
    return float(np.mean([bar_report(n, controls, BARS, 4.0, 1.0)[name] for n in runs])), runs


@pytest.mark.parametrize("density", [1.0, 3.0])
def test_density_is_held_bar_by_bar(density):
    met, runs = _met("chorale", "density", density=density)
    assert met >= 0.9
    for notes in runs:  # and the notes a beat come close to the target overall
        assert abs(len(notes) / (4.0 * BARS) - density) <= 0.25 * density + 0.1


@pytest.mark.parametrize("low,high", [(0, 1), (0, 2), (2, 3)])
def test_polyphony_bounds_hold_whenever_time_passes(low, high):
    met, runs = _met("chorale", "polyphony", polyphony_min=low, polyphony_max=high)
    assert met == 1.0
    for notes in runs:
        for t in np.arange(0, 4.0 * BARS, 1 / 12):
            n = int(((notes[:, 2] <= t + 1e-6) & (notes[:, 3] > t + 1e-6)).sum())
            assert n <= high and (low == 0 or n >= low), (t, n)


@pytest.mark.parametrize("model", ["chorale", "piano"])
def test_a_velocity_range_holds_for_every_note(model):
    runs, _ = _generate(model, velocity_range="40-60")
    for notes in runs:
        assert len(notes) and notes[:, 1].min() >= 40 and notes[:, 1].max() <= 60


def test_the_piano_model_draws_only_velocities_in_the_range():
    """The performance codec has velocity tokens: those outside the range are never drawn (the model draws
    them freely without the range), and every note decoded is inside it."""
    from bridge import store
    from bridge.generation import continue_ids

    _have("piano")
    loaded = store.load("piano")
    table = loaded.codec.token_velocities()
    for asked, check in (("", lambda v: v.min() < 60), ("60-90", lambda v: v.min() >= 57 and v.max() <= 90)):
        s = S.Settings()
        for k, v in {"velocity_range": asked, "seed": 2, "beats": 32, "variations": 4}.items():
            s = S.apply(s, k, v)
        res = continue_ids(loaded, loaded.codec.empty(), S.request_of(s))
        drawn = np.concatenate([table[n] for n in res.new])
        drawn = drawn[drawn >= 0]
        assert len(drawn) and check(drawn), (asked, np.unique(drawn))  # the bin of 57 reaches to 60


def test_no_repeated_interval_ngrams_in_the_top_voice():
    from bridge.generation.controls import top_voice

    runs, _ = _generate("chorale", no_repeat=3)
    for notes in runs:
        iv = np.diff(top_voice(notes))
        grams = [tuple(iv[i:i + 3]) for i in range(len(iv) - 2)]
        assert len(grams) > 10 and len(set(grams)) == len(grams)
    free, _ = _generate("chorale")  # the model repeats itself without it (in one bar of four variations or more)
    repeats = 0
    for notes in free:
        iv = np.diff(top_voice(notes))
        grams = [tuple(iv[i:i + 3]) for i in range(len(iv) - 2)]
        repeats += len(grams) - len(set(grams))
    assert repeats > 0


@pytest.mark.parametrize("name,asked", [("offbeats", {"offbeats": 0.0}), ("offbeats", {"offbeats": 0.5}),
                                        ("leaps", {"leaps": 0.1})])
def test_targets_steer_the_music(name, asked):
    seeds = range(1, 13)  # 12 x 4 continuations of 8 bars: a bar's share is a coarse figure, so many bars
    met = np.mean([_met("chorale", name, seed=seed, **asked)[0] for seed in seeds])
    from bridge.generation.controls import Controls, bar_report

    control = Controls(**{k: float(v) for k, v in asked.items()})
    free = np.mean([bar_report(n, control, BARS, 4.0, 1.0)[name] for seed in seeds
                    for n in _generate("chorale", seed=seed)[0]])
    # (leaps 0.1 at the chorale model's defaults since session 29, its lean 0.25 and rhythm variety 0.25: 0.802 of
    # bars against 0.659 alone; 0.75 and 0.69 over the first 4 seeds; with its lean at 0.4 and no variety 0.797 and
    # 0.64; at 0.2, 0.859 and 0.625: with fewer notes a bar, a bar's share of leaps is a coarser figure)
    assert met >= 0.75 and met > free + 0.1


def test_bars_follow_the_prime_meter(tmp_path):
    """A continuation of a 3/4 piece counts density in its bars of three beats, from where the prime ends."""
    from bridge import store
    from bridge.generation import continue_ids, continuation_of, with_meter
    from bridge.generation.controls import bar_report
    from bridge.music import Score

    _have("chorale")
    loaded = store.load("chorale")
    prime = Score.from_beats([(60 + i % 5, i * 1.0, 1.0, 80) for i in range(7)], time_signature=(3, 4))  # ends mid-bar
    s = S.apply(S.apply(S.apply(S.Settings(), "density", 2.0), "seed", 4), "beats", 2 + 3 * 6)
    req = with_meter(S.request_of(s), prime)
    assert req.bar == 3.0 and req.phase == pytest.approx(1.0)
    ids = loaded.codec.encode(prime)
    res = continue_ids(loaded, ids, req)
    out = continuation_of(loaded.codec, ids, res.new[0], prime, beats=req.beats)
    new = [t for t in out.tracks if t.name == "Cadenza continuation"][0]
    notes = np.array([(p, v, a / out.tpq, b / out.tpq) for p, v, a, b in new.array.tolist()])
    assert bar_report(notes, req.controls, 6, 3.0, 1.0, start=9.0)["density"] >= 5 / 6


@pytest.mark.parametrize("pairs,named", [
    ({"polyphony_min": 4, "polyphony_max": 2}, "polyphony_min 4 is above polyphony_max 2"),
    ({"density": 50}, "density"),
    ({"leaps": 2}, "leaps"),
    ({"velocity_range": "90-20"}, "velocity range"),
])
def test_contradictions_are_refused_naming_the_setting(pairs, named):
    with pytest.raises(CadenzaError, match=named):
        s = S.Settings()
        for k, v in pairs.items():
            s = S.apply(s, k, v)
        S.request_of(s)


def test_a_model_that_cannot_take_a_control_says_so_before_any_work():
    from bridge import store
    from bridge.generation import continue_ids

    _have("sonata-kern")
    loaded = store.load("sonata-kern")
    req = S.request_of(S.apply(S.Settings(), "density", 2))
    with pytest.raises(CadenzaError, match="sonata-kern cannot take density"):
        continue_ids(loaded, loaded.codec.empty(), req)


@pytest.mark.parametrize("model,key,value,named", [
    ("messages", "density", 2, "messages cannot take density"),  # the attention-LSTM refuses as the LSTM does
    ("messages", "drum_classes", "kick,snare", "messages plays no drums"),
    ("chorale", "drum_classes", "kick,snare", "chorale plays no drums"),
])
def test_every_architecture_refuses_what_it_cannot_honour_by_name(model, key, value, named):
    from bridge import store
    from bridge.generation import continue_ids

    _have(model)
    loaded = store.load(model)
    with pytest.raises(CadenzaError, match=named):
        continue_ids(loaded, loaded.codec.empty(), S.request_of(S.apply(S.Settings(), key, value)))


def test_the_cost_of_a_control_on_real_music():
    """bits_of walks real music with the control applied as in generation: a bound the music breaks forbids
    some of its tokens; with no control nothing is forbidden."""
    from bridge import store
    from bridge.evaluate import held_out_ids
    from bridge.generation import generator_for

    _have("chorale")
    loaded = store.load("chorale")
    gen = generator_for(loaded)
    real = held_out_ids(loaded, 2, 256)
    free = S.request_of(S.Settings())
    mono = S.request_of(S.apply(S.Settings(), "polyphony_max", 1))
    for ids in real:
        bits, forbidden = gen.bits_of(ids, free, controls=False)
        assert forbidden == 0 and 0 < bits / len(ids) < 4
        assert gen.bits_of(ids, mono)[1] > 0  # chorales are four voices


def test_the_cli_takes_the_controls(tmp_path):
    from tests.conftest import cadenza

    _have("chorale")
    out = tmp_path / "x.mid"
    r = cadenza("generate", "--model", "chorale", "--seed", "1", "--beats", "16", "--polyphony-max", "1",
                "--velocity-range", "50-70", "--out", out)
    assert r.returncode == 0, r.stderr
    from bridge.music import load_score

    notes = load_score(out).note_array()
    assert len(notes) and notes[:, 1].min() >= 50 and notes[:, 1].max() <= 70
    r = cadenza("generate", "--model", "chorale", "--polyphony-min", "3", "--polyphony-max", "2", "--out",
                tmp_path / "y.mid")
    assert r.returncode != 0 and "polyphony_min 3 is above polyphony_max 2" in r.stderr
    assert not (tmp_path / "y.mid").exists()


def test_rhythm_variety_leans_each_time_step_by_the_places_it_makes_differ_from_the_last_bar():
    """rhythm_variety r: a time step gets r nats for every place (1/12 beat) of the bar it makes differ from the
    last bar: an onset the last bar had that it passes over, and its landing where the last bar had none. Nothing
    else moves, and with no last bar (its first) nothing does."""
    from bridge import store
    from bridge.generation import generator_for
    from bridge.generation import kernels as K
    from bridge.generation.controls import Controls

    _have("chorale")
    gen = generator_for(store.load("chorale"))
    ctl = Controls(rhythm_variety=1.0).kernel_array(4.0, 1.0, 1 / 12)
    V = len(gen.starts)
    cs = np.zeros((1, K.N_STATE), np.float32)
    cs[0, K.S_TOP] = cs[0, K.S_STEP_TOP] = -1
    hist = np.zeros((1, K.HIST_WIDTH), np.int32)
    last = np.zeros(K.CELLS, np.int32)
    last[[0, 6, 12, 24, 36]] = 1  # the last bar: onsets on beats 1, 2, 3, 4 and the eighth after the first
    hist[0, K.LAST + 1:K.LAST + K.CELLS + 1] = np.cumsum(last)

    def leaned(hist):
        full = np.zeros(V, np.float32)
        K.controls(full, 0, np.zeros(K.PITCHES, np.bool_), cs, hist, ctl, gen.T, gen.starts, np.empty(V, np.float32))
        return full

    full = leaned(hist)
    steps = {int(round(b * 12)): full[v] for v, b in enumerate(gen.T[4]) if b > 0 and gen.T[5][v]}
    assert steps[6] == 0  # lands on the last bar's eighth: the same
    assert steps[3] == 1  # lands where the last bar had nothing
    assert steps[12] == 1  # passes over its eighth, lands on its second beat
    assert steps[24] == 2  # passes over its eighth and second beat
    assert (full[gen.T[4] == 0] == 0).all()  # note starts and ends: untouched
    assert not leaned(np.zeros_like(hist)).any()  # no last bar to differ from


def test_the_chorale_model_varies_its_rhythm_from_bar_to_bar_as_bach_does():
    """The model alone repeats the bar before's rhythm: on a beat it plays an eighth note, or none, as that beat
    of the last bar did far more often than Bach (62% of bars against 48%). Its own rhythm_variety (0.25, from its
    card) brings that down; asked 0 it is off."""
    from bridge import store
    from bridge.generation import Request, generator_for
    from bridge.generation import kernels as K
    from bridge.generation.controls import Controls
    from bridge.generation.runner import variety_of

    _have("chorale")
    loaded = store.load("chorale")
    gen = generator_for(loaded)
    assert variety_of(loaded) == 0.25 and variety_of(store.load("piano")) == 0.0
    assert "0.25 for chorale" in S.BY_NAME["rhythm_variety"].help  # the help (and docs/osc.md) says the card's value
    assert gen.control_array(Request())[K.C_VARY] == np.float32(0.25)
    assert gen.control_array(Request(controls=Controls(rhythm_variety=0)))[K.C_VARY] == 0

    def same_eighths(variety):
        same = []
        for seed in range(1, 9):  # 128 pieces of 8 bars: two seeds' 32 moved the share by 0.03 (docs/controls.md)
            for notes in _generate("chorale", seed=seed, variations=16, rhythm_variety=variety)[0]:
                cells = np.zeros(BARS * 48, bool)
                cells[np.clip(np.round(notes[:, 2] * 12).astype(int), 0, len(cells) - 1)] = True
                eighths = cells.reshape(BARS, 4, 12)[:, :, 6]
                same.append((eighths[1:] == eighths[:-1]).mean())
        return float(np.mean(same))

    off, own = same_eighths(0), same_eighths(-1)
    assert own < off - 0.03, (off, own)


def test_rhythm_variety_is_refused_where_it_cannot_work():
    from bridge import store
    from bridge.generation import Request, generator_for
    from bridge.generation.controls import Controls

    for name, says in (("drums", "rhythm_variety are for pitched notes"), ("sonata-kern", "or rhythm_variety yet")):
        _have(name)
        with pytest.raises(CadenzaError, match=says):
            generator_for(store.load(name)).control_array(Request(controls=Controls(rhythm_variety=0.5)))
    with pytest.raises(S.SettingError, match="rhythm_variety 7 is out of range"):
        S.apply(S.Settings(), "rhythm_variety", 7)
