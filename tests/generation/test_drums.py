"""Drums: the codec, the groove model's numpy inference against Keras, groove / drumify / interpolate and
their controls, the drums LSTM, bad input, and the command line."""
from __future__ import annotations

import contextlib

import numpy as np
import pytest

from bridge.errors import CadenzaError
from tests.conftest import CORPUS, GROOVE, cadenza

BEAT = GROOVE / "drummer1" / "session1" / "1_funk_80_beat_4-4.mid"
MELODY = CORPUS / "nottingham" / "ashover1.mid"
pytestmark = pytest.mark.skipif(not BEAT.is_file(), reason="the Groove MIDI Dataset is not here")


def cli(*args):
    return cadenza(*args)


@contextlib.contextmanager
def as_trained(*models):
    """The groove models as their nets play, without the style guesser and the fitted velocity lines that
    calibration adds."""
    kept = [(m.guess, m.fit) for m in models]
    try:
        for m in models:
            m.guess, m.fit = None, {}
        yield
    finally:
        for m, (guess, fit) in zip(models, kept):
            m.guess, m.fit = guess, fit


@pytest.fixture(scope="module")
def plain_groove(tmp_path_factory, tiny_groove):
    """A groove model trained without styles (`--no-styles`), at tiny_groove's sizes."""
    import json

    from bridge.training.groove import GrooveConfig, train_groove

    args = json.loads((tiny_groove / "cadenza.json").read_text())["arch"]["args"]
    return train_groove(GrooveConfig(data=GROOVE, name="plain", out=tmp_path_factory.mktemp("plain"), max_files=6,
                                     steps_per_epoch=2, epochs=1, styles=False, verbose=0,
                                     args={k: args[k] for k in ("latent", "enc_units", "dec_units")}))


@pytest.fixture(scope="module")
def model(tiny_groove):
    from bridge import store
    from bridge.generation.groove import model_for

    return model_for(store.load(str(tiny_groove)))


# ----- the codec ------------------------------------------------------------------------------------------
def test_the_nine_classes_and_the_step_round_trip():
    from bridge.codecs import get_codec
    from bridge.codecs.drums import CLASS_PITCH, PITCH_CLASS
    from bridge.music import load_score

    roland = [[36], [38, 37, 40], [42, 22, 44], [46, 26], [43, 58], [47, 45], [50, 48], [49, 52, 55, 57], [51, 53, 59]]
    for k, pitches in enumerate(roland):  # GrooVAE's reduction of the TD-11's notes
        assert all(PITCH_CLASS[p] == k for p in pitches) and CLASS_PITCH[k] == pitches[0]
    codec = get_codec("drums")
    score = load_score(BEAT)
    ids = codec.encode(score)
    assert len(ids) > 100 and (ids > 0).sum() > 50
    again = codec.encode(codec.decode(ids))
    assert np.array_equal(again, ids)  # exact for the classes struck on each step
    assert codec.decode(ids).tracks[0].is_drum and codec.decode(ids).tracks[0].channel == 9
    assert len(codec.encode(load_score(MELODY))) == 0  # no drums, nothing to encode


def test_the_grid_keeps_velocity_and_timing():
    from bridge.codecs.drums import from_grid, grid
    from bridge.music import load_score

    score = load_score(BEAT)
    h, v, o = grid(score)
    assert h.sum() > 100 and np.abs(o[h > 0]).max() <= 0.5 and 0 < v[h > 0].min()
    h2, v2, o2 = grid(from_grid(h, v, o, score.qpm))
    assert np.array_equal(h, h2) and np.abs(v - v2).max() < 1 / 127 and np.abs(o - o2).max() < 1 / 120


# ----- the groove model -------------------------------------------------------------------------------------
def test_numpy_inference_equals_keras(tiny_groove, model, tmp_path):
    """The numpy passes give Keras' numbers: for train-groove's model (its decoder reading the steps both ways)
    and for one whose decoder reads them forward only (the models shipped before it)."""
    import json

    import keras

    from bridge import nets, store
    from bridge.generation.groove import GrooveModel
    from bridge.training.groove import make_examples, windows

    meta = json.loads((tiny_groove / "cadenza.json").read_text())
    args = {**meta["arch"]["args"], "dec_bidi": False}
    keras.utils.set_random_seed(1)
    forward = nets.build("groovae", None, **args)
    folder = store.save(tmp_path / "forward", forward, {**meta, "arch": {"name": "groovae", "args": args}})
    H, V, O, Q, _ = windows([BEAT])
    style = np.array([16, -1, 9, 16, -1, 9])  # rock, not said, jazz
    src, cond, _ = make_examples(H[:6], V[:6], O[:6], np.array([0, 1, 2, 0, 1, 2]), style, Q[:6])
    z = np.random.default_rng(0).standard_normal((6, model.latent)).astype(np.float32)
    # trained with the style and tempo at every step, the decoder reading the steps both ways
    assert model.styles == 18 and len(model.members[0]["decoder"]) == 6
    for m, path in ((model, tiny_groove), (GrooveModel(store.load(str(folder))), folder)):
        mu, lv, out = store.load(str(path)).model.predict([src, cond, z], verbose=0)
        nmu, nlv = m.encode(src)
        p, v, o = m.decode(z, cond)
        assert np.abs(mu - nmu).max() < 1e-4 and np.abs(lv - nlv).max() < 1e-4
        assert np.abs(p - 1 / (1 + np.exp(-out[..., :9]))).max() < 1e-4
        assert np.abs(v - 1 / (1 + np.exp(-out[..., 9:18]))).max() < 1e-4
        assert np.abs(o - 0.5 * np.tanh(out[..., 18:])).max() < 1e-4
    assert len(m.members[0]["decoder"]) == 3


def test_groove_keeps_the_hits_and_the_other_parts(model):
    from bridge.codecs.drums import grid
    from bridge.generation.groove import groove
    from bridge.music import Score, load_score
    from bridge.music.score import Track

    beat = load_score(BEAT)
    piano = Track(np.array([[60, 80, 0, 480], [64, 80, 480, 960]]), name="piano")
    mixed = beat.replace(tracks=beat.tracks + (piano,))
    out = groove(model, mixed)
    assert [t for t in out.tracks if not t.is_drum][0] == piano  # the other parts as they were
    h, _, _ = grid(beat)
    h2, v2, o2 = grid(out, length=len(h))
    assert np.array_equal(h, h2)  # every hit kept, on its step
    still = groove(model, mixed, humanize=0.0)
    _, v0, o0 = grid(still, length=len(h))
    assert np.abs(o0[h > 0]).max() < 1 / 100  # quantised: on the grid
    swung = groove(model, mixed, humanize=0.0, swing=1.0)
    _, _, os_ = grid(swung, length=len(h))
    odd = h[1::2] > 0
    assert np.allclose(os_[1::2][odd], 1 / 3, atol=0.01) and np.abs(os_[0::2][h[0::2] > 0]).max() < 0.01
    assert isinstance(out, Score)


def test_groove_draws_a_feel_around_its_likeliest_performance(model, tiny_groove):
    """temperature 0: the model's likeliest performance, as before; above: the drummers' spread around it
    (calibrated into the model's cadenza.json when it was trained) drawn from the seed: the same seed the same
    performance, every hit kept on its step, the timing spread wider; variations are different takes."""
    import json

    from bridge import store
    from bridge.codecs.drums import grid
    from bridge.generation.groove import groove, run_task
    from bridge.music import load_score
    from bridge.settings import Settings, apply

    feel = json.loads((tiny_groove / "cadenza.json").read_text())["feel"]
    assert all(len(feel[k]) == 9 and min(feel[k]) >= 0 for k in ("offset_between", "offset_within",
                                                                  "velocity_between", "velocity_within"))
    beat = load_score(BEAT)
    h, _, _ = grid(beat)
    hit = h > 0
    _, v0, o0 = grid(groove(model, beat), length=len(h))
    _, v1, o1 = grid(groove(model, beat, temperature=0.0, seed=3), length=len(h))
    assert np.array_equal(o0, o1) and np.array_equal(v0, v1)  # 0: the likeliest, whatever the seed
    a = groove(model, beat, temperature=1.0, seed=3)
    assert a == groove(model, beat, temperature=1.0, seed=3)  # the same seed, the same take
    ha, va, oa = grid(a, length=len(h))
    assert np.array_equal(ha, h)  # every hit kept, on its step
    assert np.abs(oa[hit]).max() <= 0.5 + 1e-6 and va[hit].min() >= 1 / 127 - 1e-6
    assert oa[hit].std() > o0[hit].std() and not np.array_equal(oa, o0)
    s = apply(apply(Settings(), "variations", 2), "seed", 5)
    takes, _ = run_task("groove", store.load(str(tiny_groove)), [beat], s)
    assert len(takes) == 2 and takes[0] != takes[1]


def test_drumify_plays_a_melody_s_rhythm_with_the_controls(model):
    from bridge.generation.groove import drumify
    from bridge.music import load_score

    tune = load_score(MELODY)
    out, from_notes = drumify(model, tune, density=2.0)
    assert from_notes  # no drums there: the notes' onsets were the rhythm
    drums = [t for t in out.tracks if t.is_drum][0]
    assert [t for t in out.tracks if not t.is_drum] == [t for t in tune.tracks if not t.is_drum]
    bars = np.floor(drums.array[:, 2] / out.tpq / 4).astype(int)
    counts = np.bincount(bars)
    assert (counts[:-1] == 8).all()  # density 2 a beat: 8 hits in every whole bar
    only, _ = drumify(model, tune, density=2.0, classes=(0, 1))
    assert set(t for tr in only.tracks if tr.is_drum for t in tr.array[:, 0].tolist()) <= {36, 38}


def test_drumify_sounds_every_onset_of_the_rhythm_and_nothing_off_it(model):
    """Without a density, each class over its threshold, and on a tapped step where none is, the class likeliest
    for its threshold: the tune's every onset has a drum on its step (of the classes allowed), no step without
    one has a drum, and the hits over the thresholds are all kept."""
    from bridge.codecs.drums import grid
    from bridge.generation.groove import drumify, rhythm_of, strike
    from bridge.music import load_score

    tune = load_score(MELODY)
    tapped, _ = rhythm_of(tune)
    for classes in ((), (1,)):
        out, _ = drumify(model, tune, classes=classes)
        hits, _, _ = grid(out, length=len(tapped))
        assert np.array_equal(hits.max(-1) > 0, tapped > 0)
        if classes:
            assert (hits[:, 1] == tapped).all() and hits.sum() == tapped.sum()
    prob = np.array([[0.9, 0.1, 0.0], [0.2, 0.3, 0.0], [0.8, 0.0, 0.0], [0.0, 0.0, 0.0]], np.float32)
    got = strike(prob, [0.5, 0.5, 0.2], np.array([1, 1, 0, 1]))
    assert got.tolist() == [[True, False, False], [False, True, False], [False] * 3, [False] * 3]


def test_interpolate_goes_from_a_to_b(model):
    from bridge.generation.groove import interpolate
    from bridge.music import load_score

    a, b = load_score(BEAT), load_score(GROOVE / "drummer1" / "session1" / "2_funk_80_beat_4-4.mid")
    steps = interpolate(model, a, b, 4)
    assert len(steps) == 4 and all(s.end_tick <= 8 * s.tpq + s.tpq for s in steps)
    with pytest.raises(CadenzaError, match="steps 1"):
        interpolate(model, a, b, 1)


def test_bad_input_is_named(model):
    from bridge.generation.groove import drumify, groove, interpolate
    from bridge.music import Score, load_score

    with pytest.raises(CadenzaError, match="no drums to groove"):
        groove(model, load_score(MELODY))
    with pytest.raises(CadenzaError, match="no notes"):
        drumify(model, Score.from_beats([]))
    with pytest.raises(CadenzaError, match="interpolate goes between two drum beats"):
        interpolate(model, load_score(MELODY), load_score(BEAT))
    long = Score.from_beats([(36, 4.0 * i, 0.25, 100) for i in range(1000)])
    long = long.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in long.tracks))
    assert len(groove(model, long).tracks[0].array) == 1000  # 1,000 bars: done
    longer = long.replace(tracks=tuple(t.replace(notes=np.vstack([t.array, [[36, 100, 1100 * 4 * long.tpq,
                                                                             1100 * 4 * long.tpq + 10]]]))
                                       for t in long.tracks))
    with pytest.raises(CadenzaError, match="at most 1024 bars"):
        groove(model, longer)


def test_the_command_line(tiny_groove, tmp_path):
    out = tmp_path / "played.mid"
    r = cli("groove", BEAT, "--model", tiny_groove, "--out", out, "--swing", "0.5")
    assert r.returncode == 0 and out.is_file() and "drum hits" in r.stdout, r.stderr
    r = cli("drumify", MELODY, "--model", tiny_groove, "--out", tmp_path / "d.mid", "--variations", "2", "--seed", "1")
    assert r.returncode == 0 and "notes' onsets are the rhythm" in r.stdout, r.stderr
    assert (tmp_path / "d-1.mid").is_file() and (tmp_path / "d-2.mid").is_file()
    r = cli("interpolate", BEAT, GROOVE / "drummer1" / "session1" / "2_funk_80_beat_4-4.mid", "--model", tiny_groove,
            "--steps", "3", "--out-dir", tmp_path / "between")
    assert r.returncode == 0 and len(list((tmp_path / "between").glob("*.mid"))) == 3, r.stderr
    r = cli("groove", MELODY, "--model", tiny_groove, "--out", tmp_path / "no.mid")
    assert r.returncode != 0 and "no drums to groove" in r.stderr and not (tmp_path / "no.mid").exists()
    r = cli("groove", BEAT, "--model", "chorale", "--out", tmp_path / "no.mid")
    assert r.returncode != 0 and "chorale is not a groove model" in r.stderr


# ----- the drums LSTM ---------------------------------------------------------------------------------------
def test_the_drums_model_continues_a_mixed_file_s_drums(tiny_drums, tmp_path):
    out = tmp_path / "more.mid"
    from bridge.music import Score, load_score, write_midi
    from bridge.music.score import Track

    beat = load_score(BEAT)
    mixed = beat.replace(tracks=beat.tracks + (Track(np.array([[60, 80, 0, 480]]), name="bass"),))
    write_midi(mixed, tmp_path / "mixed.mid")
    r = cli("continue", tmp_path / "mixed.mid", "--model", tiny_drums, "--beats", "8", "--seed", "1", "--out", out,
            "--drum-classes", "kick,snare", "--density", "2")
    assert r.returncode == 0, r.stderr
    assert "continues the drums; the other parts are kept" in r.stdout
    got = load_score(out)
    new = [t for t in got.tracks if t.name == "Cadenza drums"][0]
    assert new.is_drum and len(new.array) and set(new.array[:, 0].tolist()) <= {36, 38}
    assert all(a >= mixed.end_tick for a in new.array[:, 2].tolist())
    bars = np.bincount(((new.array[:, 2] - mixed.end_tick) / got.tpq // 4).astype(int))
    assert (np.abs(bars - 8) <= 2).all()  # density 2 a beat: 8 hits a bar, +-25%
    assert [t for t in got.tracks if t.name == "bass"]
    r = cli("continue", MELODY, "--model", tiny_drums, "--out", tmp_path / "x.mid")
    assert r.returncode != 0 and "no drums here" in r.stderr
    r = cli("generate", "--model", tiny_drums, "--polyphony-max", "2", "--out", tmp_path / "y.mid")
    assert r.returncode != 0 and "plays drums" in r.stderr
    assert isinstance(got, Score)


def test_the_style_and_tempo_reach_the_model(model):
    """A model trained with styles reads the style (the `style` setting) and the piece's tempo: told jazz rather
    than rock, or at another tempo, it plays otherwise; an unknown style is refused by the settings."""
    from bridge import settings as S
    from bridge.codecs.drums import STYLES
    from bridge.generation.groove import drumify
    from bridge.music import load_score

    beat = load_score(BEAT)
    rock, _ = drumify(model, beat, style="rock")
    jazz, _ = drumify(model, beat, style="jazz")
    none, _ = drumify(model, beat)
    assert rock.tracks[0].notes != jazz.tracks[0].notes and rock.tracks[0].notes != none.tracks[0].notes
    z = np.zeros((1, 32, 9), np.float32)
    a = model.features(z, z, z, np.zeros((1, 32), np.float32), 1, 16, 90.0)
    b = model.features(z, z, z, np.zeros((1, 32), np.float32), 1, 16, 150.0)
    assert a.shape[-1] == 31 + len(STYLES) + 1 and a[0, 0, 31 + 16] == 1 and (a != b).any()
    with pytest.raises(S.SettingError, match="polka"):
        S.apply(S.Settings(), "style", "polka")


def test_a_beat_not_told_its_style_is_played_in_the_styles_its_drums_suggest(model):
    """Told its style, a window plays as the model plays it in that style. Not told, it is told the odds of every
    style from its drums and tempo (the guesser calibrated into the model's cadenza.json) where a style said is a
    one-hot; then each class's velocities go through the line fitted for windows told or not told."""
    from bridge.codecs.drums import grid
    from bridge.generation.groove import STYLE_AT, style_odds
    from bridge.music import load_score

    assert model.guess is not None and set(model.fit) == {"said", "not_said"}
    h, _, _ = grid(load_score(BEAT))
    H = np.stack([h[:32], h[32:64], h[:32]]).astype(np.float32)
    z = np.zeros_like(H)
    told = model.features(H, z, z, np.zeros(H.shape[:2], np.float32), 0, np.array([16, 4, -1]), 80.0)
    got = model.perform(told)
    odds = style_odds(model.guess, H[2:], 80.0)[0]
    assert abs(odds.sum() - 1) < 1e-5 and odds.min() >= 0
    guessed = told.copy()
    guessed[2, :, STYLE_AT:STYLE_AT + len(odds)] = odds
    fit = model.fit
    with as_trained(model):
        plain = model.perform(told)
        want = model.perform(guessed)
    for i, key in ((0, "said"), (1, "said"), (2, "not_said")):
        assert np.allclose(got[0][i], want[0][i], atol=1e-6) and np.allclose(got[2][i], want[2][i], atol=1e-6)
        line = fit[key]
        assert np.allclose(got[1][i], np.clip(line[:, 0] + line[:, 1] * want[1][i], 1 / 127, 1), atol=1e-6)
    assert np.allclose(want[2][:2], plain[2][:2], atol=1e-6)  # told: its own style, as the net plays it
    assert not np.allclose(got[2][2], plain[2][2], atol=1e-4)  # not told: not as with no style at all


def test_the_fitted_line_is_the_least_absolute_error_one():
    """fit_lines recovers a + b x from noisy values with outliers (where least squares would be pulled off)."""
    from bridge.training.groove import fit_lines

    rng = np.random.default_rng(0)
    x = rng.uniform(0, 1, (400, 32, 2)).astype(np.float32)
    y = 0.1 + 1.2 * x + rng.laplace(0, 0.02, x.shape)
    y[rng.uniform(size=x.shape) < 0.1] += 0.8  # a tenth far above
    hits = np.ones(x.shape, bool)
    hits[..., 1] = False  # a class never struck: the identity
    (a, b), same = fit_lines(x, y, hits)
    assert abs(a - 0.1) < 0.02 and abs(b - 1.2) < 0.03 and same == [0.0, 1.0]


def test_the_shipped_groove_model_guesses_styles_and_plays_closer_to_the_drummers_for_it():
    """The shipped model, on validation windows it never trained on and not told their style: the guesser's
    likeliest style is the real one far more often than the commonest style's share, and groove's velocities and
    timing come nearer the drummers' than the model's own performance with no style said."""
    from bridge import store
    from bridge.evaluate import resolve_split
    from bridge.generation.groove import model_for
    from bridge.training.groove import styles_of, windows

    loaded = store.load("groove")
    m = model_for(loaded)
    files = resolve_split(loaded.meta, GROOVE)["validation"][::4]
    H, V, O, Q, S = windows(files, styles=styles_of(GROOVE))
    odds = m.style_odds(H, Q)
    assert (odds.argmax(1) == S).mean() > np.bincount(S[S >= 0]).max() / len(S) + 0.1
    z = np.zeros_like(H)
    src = m.features(H, z, z, np.zeros(H.shape[:2], np.float32), 0, np.full_like(S, -1), Q)
    hit = H > 0.5
    _, pv, po = m.likeliest(src)
    with as_trained(m):
        _, pv0, po0 = m.likeliest(src)
    ms = (60000.0 / Q / 4)[:, None, None] * np.ones_like(H)
    timing, timing0 = (float((np.abs(p - O) * ms)[hit].mean()) for p in (po, po0))
    velocity, velocity0 = (float(np.abs(p - V)[hit].mean()) for p in (pv, pv0))
    assert timing < timing0 and velocity < 0.99 * velocity0


def test_a_model_without_styles_refuses_a_style_by_name(plain_groove):
    """A groove model trained without styles (`--no-styles`) cannot honour `style`: refused by name, not ignored."""
    from bridge import settings as S, store
    from bridge.errors import CadenzaError
    from bridge.generation.groove import run_task
    from bridge.music import load_score

    loaded = store.load(str(plain_groove))
    beat = load_score(BEAT)
    assert run_task("groove", loaded, [beat], S.Settings())[0]  # no style said: plays
    with pytest.raises(CadenzaError, match="style 'jazz'.*trained without styles"):
        run_task("groove", loaded, [beat], S.apply(S.Settings(), "style", "jazz"))


def test_joined_models_play_the_mean_of_their_members(tiny_groove, plain_groove, model, tmp_path):
    """`cadenza train-groove --join A --join B` makes one ensemble: each member's numbers are its own model's
    (against Keras), groove and drumify play the members' mean performance, interpolate moves through the first
    member's latent space; a model of other sizes or inputs is refused by name, and one alone too."""
    import json

    from bridge import store
    from bridge.generation.groove import drumify, groove, interpolate, model_for
    from bridge.music import load_score
    from bridge.training.groove import GrooveConfig, make_examples, train_groove, windows

    args = json.loads((tiny_groove / "cadenza.json").read_text())["arch"]["args"]
    other = train_groove(GrooveConfig(data=GROOVE, name="other", out=tmp_path, max_files=12, steps_per_epoch=4,
                                      epochs=1, seed=1, verbose=0, args={k: args[k] for k in ("latent", "enc_units",
                                                                                              "dec_units")} |
                                      {"dec_bidi": False}))
    r = cli("train-groove", GROOVE, "--join", tiny_groove, "--join", other, "--name", "both", "--out", tmp_path)
    assert r.returncode == 0 and "2 members joined" in r.stdout, r.stderr
    loaded = store.load(str(tmp_path / "both"))
    both, second = model_for(loaded), model_for(store.load(str(other)))
    meta = loaded.meta
    assert meta["arch"]["args"]["members"] == 2 and meta["arch"]["args"]["dec_bidi"] == [True, False]
    assert len(meta["drumify"]["thresholds"]) == 9 and meta["feel"]  # calibrated as one
    H, V, O, Q, _ = windows([BEAT])
    src, cond, _ = make_examples(H[:4], V[:4], O[:4], np.array([0, 1, 2, 0]), np.array([16, -1, 9, 16]), Q[:4])
    z = np.random.default_rng(0).standard_normal((4, both.latent)).astype(np.float32)
    outs = loaded.model.predict([src, cond, z], verbose=0)
    assert len(outs) == 6
    for k in range(2):
        p, _, o = both.decode(z, cond, k)
        assert np.abs(p - 1 / (1 + np.exp(-outs[3 * k + 2][..., :9]))).max() < 1e-4
        assert np.abs(o - 0.5 * np.tanh(outs[3 * k + 2][..., 18:])).max() < 1e-4
    with as_trained(model, second, both):  # the members' mean; the style guesser and fitted lines are the ensemble's
        mine = [m.perform(src) for m in (model, second)]
        together = both.perform(src)
    for i in range(3):
        assert np.allclose(together[i], (mine[0][i] + mine[1][i]) / 2, atol=1e-5)
    beat = load_score(BEAT)
    assert groove(both, beat, temperature=0).tracks[0].notes != groove(model, beat, temperature=0).tracks[0].notes
    assert drumify(both, load_score(MELODY))[0].tracks
    assert len(interpolate(both, beat, beat, 3)) == 3
    r = cli("train-groove", GROOVE, "--join", tiny_groove, "--join", plain_groove, "--name", "bad", "--out", tmp_path)
    assert r.returncode != 0 and "styles differ" in r.stderr and not (tmp_path / "bad").exists()
    r = cli("train-groove", GROOVE, "--join", tiny_groove, "--name", "bad", "--out", tmp_path)
    assert r.returncode != 0 and "two or more" in r.stderr
    # each task played by the members chosen for it: here groove by the second alone, drumify by both
    r = cli("train-groove", GROOVE, "--join", tiny_groove, "--join", other, "--use", "groove=1", "--name", "chosen",
            "--out", tmp_path)
    assert r.returncode == 0, r.stderr
    chosen = model_for(store.load(str(tmp_path / "chosen")))
    assert chosen.uses == {"groove": [1], "drumify": [0, 1]}
    with as_trained(chosen, second):
        for i in range(3):
            assert np.array_equal(chosen.perform(src)[i], mine[1][i])
            assert np.allclose(chosen.perform(src, task="drumify")[i], together[i], atol=1e-6)
        assert groove(chosen, beat, temperature=0).tracks[0].notes == groove(second, beat, temperature=0).tracks[0].notes
    for use, said in (("groove=2", "members are 0 to 1"), ("groove=0,0", "each once"), ("solo=0", "say a task"),
                      ("drumify=a", "are numbers")):
        r = cli("train-groove", GROOVE, "--join", tiny_groove, "--join", other, "--use", use, "--name", "bad",
                "--out", tmp_path)
        assert r.returncode != 0 and said in r.stderr and not (tmp_path / "bad").exists(), (use, r.stderr)
    r = cli("train-groove", GROOVE, "--use", "groove=0", "--name", "bad", "--out", tmp_path, "--max-files", "2")
    assert r.returncode != 0 and "--use chooses among the members of --join" in r.stderr


def test_a_run_trained_elsewhere_is_saved_with_its_record_and_plays_as_it_was_trained(tiny_groove, model, tmp_path):
    """`cadenza train-groove DATA --weights RUN.npz` (a run of models/groove_gpu.py: PyTorch, on a GPU) saves
    the run's weights, in Keras' layout, as a groove model with the run's record, calibrated; it plays exactly
    those weights. A run on other files than the corpus's own split, or not a run at all, is refused by name."""
    import json
    import subprocess
    import sys

    from bridge import store
    from bridge.generation.groove import model_for
    from bridge.nets.groovae import LAYERS, flat
    from bridge.training.groove import make_examples, windows
    from tests.conftest import ROOT

    windows_file = tmp_path / "windows.npz"
    subprocess.run([sys.executable, ROOT / "models" / "groove_gpu.py", "windows", GROOVE, windows_file,
                    "--max-files", "12"], check=True, capture_output=True)
    data_meta = json.loads(str(np.load(windows_file)["meta"]))
    tiny = store.load(str(tiny_groove))
    record = {"args": tiny.meta["arch"]["args"], "settings": {"seed": 7, "error": "absolute"},
              "history": [{"epoch": 1, "val_loss": 3.5}], "seconds": 12, "best_val_loss": 3.5, "numpy_check": 1e-6,
              "files": data_meta["files"], "windows": data_meta["windows"], "machine": "PyTorch on a test"}
    weights = flat({kind: tiny.arrays.get(kind) for kind in LAYERS})
    run = tmp_path / "run.npz"
    np.savez(run, record=json.dumps(record), **weights)
    r = cli("train-groove", GROOVE, "--weights", run, "--name", "elsewhere", "--out", tmp_path, "--max-files", "12")
    assert r.returncode == 0 and "calibrated" in r.stdout, r.stderr
    loaded = store.load(str(tmp_path / "elsewhere"))
    meta = loaded.meta
    assert meta["training"]["trained_with"] == "models/groove_gpu.py" and meta["training"]["seed"] == 7
    assert meta["metrics"]["val_loss"] == 3.5 and meta["split"] == tiny.meta["split"]
    assert len(meta["drumify"]["thresholds"]) == 9 and meta["feel"]
    H, V, O, Q, S = windows([BEAT])
    src, _, _ = make_examples(H[:4], V[:4], O[:4], np.array([0, 1, 2, 0]), S[:4], Q[:4])
    for mine, theirs in zip(model_for(loaded).perform(src), model.perform(src)):
        assert np.array_equal(mine, theirs)
    # trained on other files: refused, nothing written
    r = cli("train-groove", GROOVE, "--weights", run, "--name", "bad", "--out", tmp_path, "--max-files", "6")
    assert r.returncode != 0 and "other files" in r.stderr and not (tmp_path / "bad").exists()
    text = tmp_path / "notes.npz"
    text.write_text("not a run")
    r = cli("train-groove", GROOVE, "--weights", text, "--name", "bad", "--out", tmp_path)
    assert r.returncode != 0 and "not a run of models/groove_gpu.py" in r.stderr, r.stderr
    r = cli("train-groove", GROOVE, "--weights", run, "--join", tiny_groove, "--join", tiny_groove, "--name", "bad")
    assert r.returncode != 0 and "one or the other" in r.stderr


def test_drumify_without_a_style_is_fitted_for_f1_with_every_class_in_its_band():
    """`fit_thresholds`: the thresholds with the best hit F1, drumify striking as it plays (every tap sounds),
    with every class the drummers struck at least 0.1 times a window struck within the band of their count,
    however far the net's probabilities are from those counts (here one class's are all under 0.1)."""
    from bridge.generation.groove import strike
    from bridge.training.groove import UNSAID_BAND, fit_thresholds

    rng = np.random.default_rng(0)
    rates = np.array([0.25, 0.3, 0.3, 0.05, 0.06, 0.02, 0.04, 0.02, 0.08])
    hits = rng.random((120, 32, 9)) < rates
    tapped = hits.any(-1).astype(np.float32)
    sure = np.array([0.9, 0.8, 0.8, 0.1, 0.5, 0.5, 0.5, 0.6, 0.6], np.float32)  # class 3: all under 0.1
    prob = np.clip(hits * sure * 0.7 + rng.random(hits.shape) * sure * 0.45, 0, 1).astype(np.float32)

    def f1_and_ratios(th):
        k = strike(prob, th, tapped)
        return 2 * (k & hits).sum() / (k.sum() + hits.sum()), k.sum((0, 1)) / hits.sum((0, 1))

    th = fit_thresholds(prob, hits, tapped, [[0.5] * 9])
    f1, ratios = f1_and_ratios(th)
    assert all(UNSAID_BAND[0] <= r <= UNSAID_BAND[1] for r in ratios), ratios
    at_half = f1_and_ratios([0.5] * 9)
    assert at_half[1][3] == 0  # at one threshold of 0.5 the unsure class is never struck
    matched = [float(np.sort(prob[..., c].ravel())[::-1][hits[..., c].sum()]) for c in range(9)]
    assert f1 >= f1_and_ratios(matched)[0] - 1e-9  # no worse than striking each class as often as the drummers


def test_every_threshold_tried_is_valued_as_strike_plays_it():
    """fit_thresholds values a class's thresholds all at once (the other classes' hits counted once): each
    value is the one drumify's own `strike` gives, ties between classes, probabilities of 0 and untapped steps
    included."""
    from bridge.generation.groove import strike
    from bridge.training.groove import UNSAID_BAND, _values_along

    rng = np.random.default_rng(1)
    hits = rng.random((40, 32, 9)) < 0.15
    tapped = (hits.any(-1) | (rng.random((40, 32)) < 0.1)).astype(np.float32)
    prob = (np.round(rng.random(hits.shape) * 8) / 8).astype(np.float32)  # eighths: ties are common, zeros too
    real = hits.sum((0, 1)).astype(np.float64)
    held = real >= 0.1 * len(hits)
    tries = np.array([0.25, 0.125, 0.5, 0.3, 0.75, 0.02, 1.0], np.float32)

    def value(th):  # fit_thresholds' measure, from strike itself
        k = strike(prob, th, tapped)
        f1 = 2 * float((k & hits).sum()) / max(1.0, float(k.sum() + hits.sum()))
        ratio = k.sum((0, 1))[held] / real[held]
        return f1 - 5.0 * float(np.maximum(UNSAID_BAND[0] - ratio, 0).sum() + np.maximum(ratio - UNSAID_BAND[1], 0).sum())

    for trial in range(4):
        th = (np.round(rng.random(9) * 4 + 1) / 8).astype(np.float32)  # equal to some probabilities
        for c in range(9):
            got = _values_along(prob, hits, tapped, th, c, tries, held, real, UNSAID_BAND)
            want = [value(np.concatenate([th[:c], [g], th[c + 1:]])) for g in tries]
            assert got.tolist() == want, (trial, c)


def test_calibrate_again_fits_drumify_without_a_style_on_validation(tiny_groove, tmp_path):
    """`cadenza train-groove DATA --calibrate MODEL`: no training; the model's drumify thresholds for requests
    that say no style fitted on its validation split, the rest of its calibration as training left it."""
    import json
    import shutil

    copy = tmp_path / "again"
    shutil.copytree(tiny_groove, copy)
    before = json.loads((copy / "cadenza.json").read_text())
    assert before["drumify"]["style_not_said"]["windows"] > 0  # as its training ended
    undone = json.loads(json.dumps(before))
    del undone["drumify"]["style_not_said"]
    undone["drumify"]["thresholds_style_not_said"] = [0.5] * 9
    (copy / "cadenza.json").write_text(json.dumps(undone))
    r = cli("train-groove", GROOVE, "--calibrate", copy)
    assert r.returncode == 0 and "calibrated again" in r.stdout, r.stderr
    after = json.loads((copy / "cadenza.json").read_text())
    assert after["drumify"]["thresholds"] == before["drumify"]["thresholds"]
    assert after["feel"] == before["feel"] and after["groove_fit"] == before["groove_fit"]
    assert after["drumify"]["style_not_said"] == before["drumify"]["style_not_said"]
    assert after["drumify"]["thresholds_style_not_said"] == before["drumify"]["thresholds_style_not_said"]
    r = cli("train-groove", GROOVE, "--calibrate", copy, "--init", copy)
    assert r.returncode != 0 and "no --join, --weights or --init" in r.stderr


def test_the_feel_is_scaled_to_spread_the_timing_as_the_drummers_do(model):
    """`match_spread`: each class's drawn timing scaled so that groove's performance of the windows (the
    likeliest, the feel drawn as `cadenza eval` draws it) spreads its offsets in ms as the drummers' do."""
    from bridge.generation.groove import _felt, feel
    from bridge.training.groove import match_spread, windows

    H, V, O, Q, S = windows([BEAT, GROOVE / "drummer1" / "session1" / "2_funk_80_beat_4-4.mid"])
    if not len(H):
        pytest.skip("no windows")
    matched = match_spread(model, model.feel, H, O, Q, S)
    assert len(matched["offset_scale"]) == 9
    kept = model.feel
    try:
        model.feel = {k: np.array(v, np.float32) if isinstance(v, list) else v for k, v in matched.items()}
        z = np.zeros_like(H)
        _, pv, po = model.likeliest(model.features(H, z, z, np.zeros(H.shape[:2], np.float32), 0, S, Q))
        off, _ = _felt(po, pv, *feel(model, len(H), 1.0, np.random.default_rng(1)))
    finally:
        model.feel = kept
    ms = (60000.0 / Q / 4)[:, None]
    checked = 0
    for k in range(9):
        sel = H[..., k] > 0.5
        if sel.sum() >= 20 and 0.01 < matched["offset_scale"][k] < 3.99:  # (a class whose net spreads too wide
            real = (O[..., k] * ms)[sel].std()                             # already is not narrowed by a feel)
            assert abs((off[..., k] * ms)[sel].std() / real - 1.0) < 0.01, k
            checked += 1
    assert checked >= 2
