"""Harmonize: a harmony model writes parts under a melody; the melody stays exactly as given and on top, the
parts stay under it, a seed gives the same parts, and bad melodies get one clear line with nothing written."""
from __future__ import annotations

import numpy as np
import pytest

TUNE = [(64, 1), (64, 1), (65, 1), (67, 1), (67, 1), (65, 1), (64, 1), (62, 1), (60, 1), (60, 1), (62, 1), (64, 1),
        (64, 1.5), (62, 0.5), (62, 2)]  # Ode to joy, 16 beats


def tune_file(path, notes=TUNE, qpm=90.0):
    from bridge.music import Score, write_midi

    t, out = 0.0, []
    for p, d in notes:
        out.append((p, t, d, 96))
        t += d
    return write_midi(Score.from_beats(out, qpm=qpm), path)


def run(harmony, prime, out=None, **settings):
    from bridge.settings import Settings
    from bridge.tasks import Harmonize, run as run_task

    events = []
    final = run_task(Harmonize(Settings(model=str(harmony), **settings), prime=prime, out=out), sink=events.append)
    return final, events


def test_the_melody_stays_as_given_and_on_top(harmony, tmp_path):
    from bridge.music import load_score
    from bridge.tasks import events as E

    tune = tune_file(tmp_path / "tune.mid")
    before = tune.read_bytes()
    final, events = run(harmony, tune, tmp_path / "h.mid", seed=3, temperature=1.5)
    assert isinstance(final, E.Done), final
    assert tune.read_bytes() == before  # the input is never touched
    given, out = load_score(tune), load_score(tmp_path / "h.mid")
    assert np.array_equal(out.tracks[0].array, given.tracks[0].array)  # the melody, note for note
    parts = out.tracks[-1].array
    assert out.tracks[-1].name == "harmony" and len(parts) == final.notes > 0
    mel = given.tracks[0].array
    for p, _, s, e in parts.tolist():  # every part starts below the melody note sounding (or last sounded)
        sounding = mel[(mel[:, 2] <= s)]
        assert p < sounding[-1, 0], (p, s, sounding[-1])
        assert 0 <= s < e <= mel[:, 3].max()
    for t in np.unique(parts[:, 2]):  # at most three parts at once
        assert ((parts[:, 2] <= t) & (parts[:, 3] > t)).sum() <= 3
    streamed = [n for e in events if isinstance(e, E.Notes) for n in e.notes]
    assert len(streamed) == len(parts)
    assert sorted((p, round(s * 960)) for p, s, _, _ in streamed) == sorted((p, s) for p, _, s, _ in parts.tolist())


def test_a_seed_gives_the_same_parts_and_variations_differ(harmony, tmp_path):
    from bridge.music import load_score

    tune = tune_file(tmp_path / "tune.mid")
    run(harmony, tune, tmp_path / "a.mid", seed=11, variations=2, temperature=1.5)
    run(harmony, tune, tmp_path / "b.mid", seed=11, temperature=1.5)
    a1, a2, b = (load_score(tmp_path / n).tracks[-1].array for n in ("a-1.mid", "a-2.mid", "b.mid"))
    assert np.array_equal(a1, b)  # a variation's music does not depend on the others beside it
    assert not np.array_equal(a1, a2)


def test_voices_and_pitch_range_hold(harmony, tmp_path):
    from bridge.music import load_score

    tune = tune_file(tmp_path / "tune.mid")
    run(harmony, tune, tmp_path / "v.mid", seed=5, voices=1, pitch_range="48-60", temperature=1.5)
    parts = load_score(tmp_path / "v.mid").tracks[-1].array
    assert len(parts) and ((parts[:, 0] >= 48) & (parts[:, 0] <= 60)).all()
    for t in np.unique(parts[:, 2]):
        assert ((parts[:, 2] <= t) & (parts[:, 3] > t)).sum() <= 1


@pytest.mark.parametrize("what", ["empty", "chords", "drums", "too long", "not a harmony model"])
def test_bad_melodies_get_one_clear_line_and_nothing_is_written(harmony, tmp_path, what):
    from bridge.music import Score, write_midi
    from bridge.tasks import events as E

    path, model = tmp_path / "in.mid", harmony
    if what == "empty":
        write_midi(Score.from_beats([], qpm=120), path)
        expect = "no notes"
    elif what == "chords":
        write_midi(Score.from_beats([(p, b, 1, 90) for b in range(8) for p in (60, 64, 67)], qpm=120), path)
        expect = "one note at a time"
    elif what == "drums":
        s = Score.from_beats([(36, b, 0.5, 90) for b in range(8)], qpm=120)
        write_midi(s.replace(tracks=tuple(t.replace(is_drum=True, channel=9) for t in s.tracks)), path)
        expect = "only drums"
    elif what == "too long":  # 10,000 bars
        tune_file(path, [(60 + (k % 12), 4) for k in range(10_000)], qpm=120)
        expect = "40,000 beats long"
    else:
        tune_file(path)
        model = "chorale"
        expect = "does not harmonize"
    final, events = run(model, path, tmp_path / "out.mid", seed=1)
    assert isinstance(final, E.Failed) and expect in final.message, final
    assert "\n" not in final.message
    assert not (tmp_path / "out.mid").exists()
    assert not any(isinstance(e, E.Notes) for e in events)


def test_the_cost_limit_refuses_by_name(harmony, tmp_path):
    from bridge.settings import Settings
    from bridge.tasks import Harmonize, Limits, events as E, run as run_task

    tune = tune_file(tmp_path / "tune.mid", TUNE * 8)
    final = run_task(Harmonize(Settings(model=str(harmony), seed=1, variations=4), prime=tune),
                     limits=Limits(max_tokens=500))
    assert isinstance(final, E.Failed) and "--max-tokens" in final.message
    # candidates are drawn too: one variation of 16 candidates costs what 16 variations do
    tune = tune_file(tmp_path / "short.mid", TUNE)
    limits = Limits(max_tokens=2000)
    one = run_task(Harmonize(Settings(model=str(harmony), seed=1, candidates=1), prime=tune), limits=limits)
    many = run_task(Harmonize(Settings(model=str(harmony), seed=1, candidates=16), prime=tune), limits=limits)
    assert isinstance(one, E.Done) and isinstance(many, E.Failed) and "16 candidates" in many.message
    # and so is every reading of the transpositions: five readings of four candidates cost twenty rows
    five = run_task(Harmonize(Settings(model=str(harmony), seed=1, candidates=4, transpositions=5), prime=tune),
                    limits=limits)
    assert isinstance(five, E.Failed) and "x 5 transpositions" in five.message and "or transpositions" in five.message


def test_the_command_line_says_the_top_line_is_the_melody(harmony, tmp_path):
    from tests.conftest import cadenza

    tune = tune_file(tmp_path / "tune.mid")
    ran = cadenza("harmonize", str(tune), "--model", str(harmony), "--out", str(tmp_path / "h.mid"), "--seed", "2")
    assert ran.returncode == 0, ran.stderr
    assert "the melody as given (the top line)" in ran.stdout and (tmp_path / "h.mid").is_file()


@pytest.mark.parametrize("transpositions", [1, 3])
def test_along_decides_each_beat_from_the_past_only_and_remembers_a_bounded_melody(harmony, transpositions):
    """Jam mode along's model (bridge.generation.along): the parts of a beat never depend on what is played after
    it is decided; every part starts within its beat with its whole length; memory follows the given melody."""
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.along import Along

    loaded = store.load(str(harmony))
    tune = [(p, 12 * k, 12 * k + 11) for k, (p, _) in enumerate(TUNE)]

    def play(known_until):
        along = Along(loaded, Request(seed=2), voices=3, transpositions=transpositions)
        along.decided = 12
        out = []
        for b in range(1, 16):
            now = 12 * b
            melody = [(p, on, off if off <= now else None) for p, on, off in tune if on < min(now, known_until)]
            notes = along.beat(melody, 12 * (b + 1))
            assert all(12 * b <= on < 12 * (b + 1) and off > on for _, on, off in notes)
            assert len(along.heard) <= len(melody)
            out += notes
        return out

    whole, cut = play(10 ** 9), play(12 * 8)
    assert whole and [n for n in whole if n[1] < 12 * 9] == [n for n in cut if n[1] < 12 * 9]


@pytest.mark.parametrize("transpositions", [1, 3])
def test_the_model_reads_the_stream_its_codec_writes(harmony, transpositions):
    """What the model reads while it harmonizes is what the codec writes for the melody and the parts it drew:
    the same tokens in the same order (ends before starts, ascending; no two waits in a row; nothing before the
    tune), so every draw is made from a state the model was trained on."""
    from bridge import store
    from bridge.generation import Request, Sampling
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score
    from bridge.music.score import Track

    loaded = store.load(str(harmony))
    pickup = [(67, 0.5, 0.5, 90)] + [(p, 1 + i, 1.0, 90) for i, (p, _) in enumerate(TUNE)]  # it starts off the beat
    melody = Score.from_beats(pickup, qpm=90.0)
    for seed in range(12):  # (two parts that must end at one step, drawn high before low: seed 3 met it)
        h = harmonize(loaded, melody, Request(seed=seed, sampling=Sampling(temperature=1.5)), read=True,
                      transpositions=transpositions)
        fed = h.read[0].tolist()
        both = melody.replace(tracks=(melody.tracks[0], Track(h.parts[0], name="parts")))
        written = loaded.codec.encode(both).tolist()
        while written and written[-1] < loaded.codec.wait0:  # the parts' last ends: the row stops at them
            written.pop()
        names = loaded.codec.vocab
        assert [names[t] for t in fed[:len(written)]] == [names[t] for t in written]
        assert all(t >= loaded.codec.wait0 for t in fed[len(written):])  # then only the row's closing waits


def test_candidates_are_judged_bar_by_bar_and_stream_as_each_bar_is_chosen(harmony):
    """With candidates, every bar line each candidate waits for the others, the best so far is copied into
    them, and the chosen bar is handed on at once: parts come bar by bar, not at the end; what streamed is
    what is returned; a seed gives the same parts; the melody stays on top."""
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score

    loaded = store.load(str(harmony))
    melody = Score.from_beats([(p, sum(d for _, d in TUNE[:i]), d, 90) for i, (p, d) in enumerate(TUNE)], qpm=90.0)
    calls = []
    h = harmonize(loaded, melody, Request(seed=2, variations=2), candidates=4, on_chunk=calls.append)
    assert len(calls) >= 4  # 16 beats: 4 bars, each handed on when it is chosen (and the rest at the end)
    assert any(c[0] for c in calls[:-1])  # parts before the end
    for v in range(2):
        streamed = sorted((q, round(a, 6), round(d, 6)) for c in calls for q, a, d in c[v])
        kept = sorted((int(q), round(a / melody.tpq, 6), round((b - a) / melody.tpq, 6))
                      for q, _, a, b in h.parts[v].tolist())
        assert streamed == kept
    again = harmonize(loaded, melody, Request(seed=2, variations=2), candidates=4)
    assert all((a == b).all() for a, b in zip(h.parts, again.parts))
    tune = melody.tracks[0].array
    for parts in h.parts:
        for q, _, a, b in parts.tolist():  # every part under the melody note sounding with it
            over = tune[(tune[:, 2] < b) & (tune[:, 3] > a)]
            assert not len(over) or q < over[:, 0].max()


def test_judged_at_every_beat_the_chosen_beats_stream_as_they_are_chosen(harmony):
    """judge_beats 1: the candidates wait for one another and the best is carried on at each beat (the melody's
    first token from it on), not only at bar lines: parts come beat by beat, and what streamed is what is kept."""
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score

    loaded = store.load(str(harmony))
    melody = Score.from_beats([(p, sum(d for _, d in TUNE[:i]), d, 90) for i, (p, d) in enumerate(TUNE)], qpm=90.0)
    by_bar, by_beat = [], []
    harmonize(loaded, melody, Request(seed=3), candidates=4, on_chunk=by_bar.append)
    h = harmonize(loaded, melody, Request(seed=3), candidates=4, on_chunk=by_beat.append, judge_beats=1)
    assert len(by_bar) <= 5 and len(by_beat) >= 13  # 16 beats: 4 bars, or a call at each beat the melody moves
    streamed = sorted((q, round(a, 6), round(d, 6)) for c in by_beat for q, a, d in c[0])
    kept = sorted((int(q), round(a / melody.tpq, 6), round((b - a) / melody.tpq, 6))
                  for q, _, a, b in h.parts[0].tolist())
    assert streamed == kept and kept


def test_a_batch_in_parts_on_several_cores_writes_the_parts_one_batch_writes(harmony, monkeypatch):
    """From two rows (variations times candidates) harmonize runs its batch in parts, one a core (two halves on
    two cores, three or four parts where there are as many: CADENZA_CORES says so here): for every seed, count of
    candidates and readings, and every count of parts, the parts and the tokens are those of the batch run whole."""
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score

    loaded = store.load(str(harmony))
    melody = Score.from_beats([(p, sum(d for _, d in TUNE[:i]), d, 90) for i, (p, d) in enumerate(TUNE)], qpm=90.0)
    for seed, variations, candidates, transpositions, every, cores in (
            (1, 1, 4, 3, 4, 2), (2, 2, 1, 1, 4, 2), (3, 3, 2, 2, 4, 4), (4, 1, 3, 1, 4, 3), (5, 2, 4, 2, 1, 3)):
        monkeypatch.setenv("CADENZA_CORES", str(cores))
        req = Request(seed=seed, variations=variations)
        whole, split = (harmonize(loaded, melody, req, candidates=candidates, transpositions=transpositions,
                                  split=split, judge_beats=every) for split in (False, True))
        assert whole.tokens == split.tokens
        assert all(np.array_equal(a, b) for a, b in zip(whole.parts, split.parts))
        assert sum(len(p) for p in whole.parts)


def test_no_part_is_held_longer_than_max_hold(harmony):
    """A part ends when it has been held max_hold beats (default 8, Bach's longest; the model alone held parts
    up to 47 beats): time waits for its end, and a wait never passes the step it is due."""
    from bridge import store
    from bridge.generation import Request, Sampling
    from bridge.generation.harmonize import HOLD_BEATS, harmonize
    from bridge.music import Score

    loaded = store.load(str(harmony))
    long_notes = [(67, 0.0, 12.0, 90), (72, 12.0, 4.0, 90), (71, 16.0, 12.0, 90), (72, 28.0, 4.0, 90)]
    melody = Score.from_beats(long_notes, qpm=90.0)
    for hold in (None, 2.0):
        for seed in range(3):
            h = harmonize(loaded, melody, Request(seed=seed, max_hold=hold, sampling=Sampling(temperature=1.5)))
            lengths = (h.parts[0][:, 3] - h.parts[0][:, 2]) / melody.tpq
            assert len(lengths) and lengths.max() <= (HOLD_BEATS if hold is None else hold) + 1e-9


def test_each_reading_is_the_music_transposed_and_the_draw_is_their_mean(harmony):
    """With `transpositions`, reading k reads every token as the music moved by SHIFTS[k] semitones would be
    written (melody and parts alike), and the compiled loop draws from the geometric mean of the readings'
    probabilities, each token's taken where its reading has it, as the numpy mixture (which the bench scores by)
    says."""
    from bridge import store
    from bridge.generation.harmonize import SHIFTS, mixture, readings
    from bridge.generation.harmonize_kernels import mixed
    from bridge.music import Score
    from bridge.music.score import Track
    from bridge.music.transforms import transpose

    codec = store.load(str(harmony)).codec
    fwd, has = readings(codec, 5)
    melody = Score.from_beats([(p, sum(d for _, d in TUNE[:i]), d, 90) for i, (p, d) in enumerate(TUNE)], qpm=90.0)
    parts = Score.from_beats([(p - 12, i * 2.0, 2.0, 80) for i, (p, _) in enumerate(TUNE[::2])], qpm=90.0)
    both = melody.replace(tracks=(melody.tracks[0], Track(parts.tracks[0].array, name="parts")))
    ids = codec.encode(both)
    for k, shift in enumerate(SHIFTS):
        assert has[k][ids].all()
        assert fwd[k][ids].tolist() == codec.encode(transpose(both, shift)).tolist()
    assert not has[1][codec.params["high"] - codec.params["low"]]  # the highest start has no semitone up
    rng = np.random.default_rng(0)
    logits = (rng.normal(size=(2 * 3, codec.vocab_size)) * 3).astype(np.float32)
    f3, h3 = readings(codec, 3)
    for r in range(2):
        out = np.empty(codec.vocab_size, np.float32)
        mixed(logits, r, 3, f3, h3, out)  # unnormalised: the draw normalises
        want = mixture(logits[3 * r:3 * r + 3], f3, h3)
        got = out.astype(np.float64) - np.log(np.exp(out.astype(np.float64) - out.max()).sum()) - out.max()
        assert np.allclose(np.exp(got), np.exp(want), atol=1e-6) and abs(np.exp(want).sum() - 1) < 1e-9
        # the geometric mean: where every reading has the token, the mean of their log-probabilities, normalised
        lp = [logits[3 * r + k] - np.log(np.exp(logits[3 * r + k].astype(np.float64)).sum()) for k in range(3)]
        both = h3.all(0)
        mean = np.mean([lp[k][f3[k]] for k in range(3)], 0)
        assert np.allclose((want - mean)[both], (want - mean)[both][0], atol=1e-5)
    one = np.empty(codec.vocab_size, np.float32)
    mixed(logits, 0, 1, *readings(codec, 1), one)
    assert np.array_equal(one, logits[0])  # one reading: the logits as they are


def test_the_candidates_are_judged_by_the_figures_bench_harmonize_reports():
    """Harmonize's compiled judge of a candidate's parts is voicing's figures exactly (parallel fifths and
    octaves per voice-pair motion, the melody's on-beat notes among the parts' pitch classes, the beats that
    sound one chord), on random
    melodies and parts: unisons, more than four voices, gaps, notes shorter and longer than a beat."""
    from bridge.generation.harmonize_kernels import CHORDAL_WEIGHT, judge
    from bridge.music import voicing

    rng = np.random.default_rng(7)

    def notes(k, lo, hi):
        s, d = rng.integers(0, 40, k), rng.integers(1, 9, k)
        return np.column_stack([rng.integers(lo, hi, k), np.full(k, 80), s, s + d]).astype(np.int64)

    fours = chords = 0
    for _ in range(1500):
        melody, parts = notes(rng.integers(0, 12), 60, 80), notes(rng.integers(0, 30), 36, 72)
        got = judge(melody, parts, 4)
        if not len(parts):
            assert got == np.inf
            continue
        parallel, motions, four = voicing.parallels(melody, parts)
        agree, counted = voicing.chord_tone_share(melody, parts, 4)
        chordal, beats = voicing.chordal_share(melody, parts, 4)
        fours += four > 0
        chords += 0 < chordal < beats
        assert got == (500.0 * parallel / max(motions, 1) - 150.0 * agree / max(counted, 1)
                       - CHORDAL_WEIGHT * 100.0 * chordal / max(beats, 1))
        assert judge(melody, parts, 4, 0.0) == 500.0 * parallel / max(motions, 1) - 150.0 * agree / max(counted, 1)
    assert fours > 100  # four voices at consecutive moments: the parallels were counted, not only skipped
    assert chords > 100  # beats that sound a chord and beats that do not, in one candidate


def test_parts_that_would_move_in_parallel_fifths_or_octaves_are_drawn_less():
    """`parallels`: a part's start that would move in parallel fifths or octaves with the melody or another part
    (voices ranked as bench harmonize's figures rank them) loses that many nats: the shipped chorale model, one
    candidate, the same melody and seeds, writes a fraction of the parallels voicing counts without the rule,
    and none with a strong one; the parts are still written in full. The rule is chorale-harmony's own (its
    card), not folk-chords' (block chords move in parallel)."""
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.harmonize import harmonize, parallels_of
    from bridge.music import Score, voicing

    loaded = store.load("chorale-harmony")
    own = parallels_of(loaded)
    assert own == 6.0 and parallels_of(loaded, 0) == 0.0
    assert parallels_of(store.load("folk-chords")) == 0.0
    tune = TUNE * 2
    melody = Score.from_beats([(p, sum(d for _, d in tune[:i]), d, 90) for i, (p, d) in enumerate(tune)], qpm=90.0)
    mel = melody.tracks[0].array
    found = {}
    for rule in (0.0, own, 20.0):
        par = mot = 0
        for seed in range(8):
            parts = harmonize(loaded, melody, Request(seed=seed), parallels=rule, transpositions=1).parts[0]
            assert len(parts) >= 40  # 32 beats of three parts
            p, m, _ = voicing.parallels(mel, parts)
            par, mot = par + p, mot + m
        found[rule] = par / max(mot, 1)
    assert found[0.0] > 0.02  # without the rule the model writes them (4.5 in 100 motions when this was written)
    assert found[own] <= 0.5 * found[0.0] and found[20.0] <= 0.1 * found[0.0]


def test_warm_compiles_what_a_harmonize_request_runs(harmony):
    """`cadenza warm` (the README's install command) runs a harmony model as a request does: the loop, the
    candidates' judging and the parallels rule are compiled (or loaded) before the first request waits on them."""
    import subprocess
    import sys

    code = ("from bridge import store; from bridge.generation.warm import warm; "
            "from bridge.generation import harmonize_kernels as k; "
            f"warm(store.load({str(harmony)!r})); "
            "print(len(k.run.signatures), len(k.judge_row.signatures))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [int(x) for x in out.stdout.split()[-2:]] == [1, 1]


def test_play_along_holds_back_a_start_that_would_take_a_beat_out_of_one_chord():
    """Along's rule on a beat: with C and E sounding (melody and a part), a G, a C, an A or an F# keeps them one
    chord's notes (C major, A minor, F# half-diminished), a D or a C# would not and is held back; where what
    sounds is no chord already (a cluster), no start is singled out."""
    from bridge.generation.along import _breaks_chord

    pitches = np.array([55, 48, 57, 54, 50, 49])  # G, C, A, F#, D, C#
    assert _breaks_chord(pitches, [72], {64: 0}).tolist() == [False, False, False, False, True, True]
    assert not _breaks_chord(pitches, [62], {60: 0, 61: 0}).any()


def test_with_one_candidate_a_start_that_would_take_a_beat_out_of_one_chord_is_drawn_less(monkeypatch):
    """With one candidate nothing judges the beats, so the loop holds back, on a beat, a part's start that would
    take what sounds out of one chord's notes (harmonize_kernels.chordal_starts): the shipped model, the same
    melody and seeds, sounds one chord on more of the beats with the rule than without."""
    from bridge import store
    from bridge.generation import Request, harmonize_kernels
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score, voicing

    loaded = store.load("chorale-harmony")
    tune = TUNE * 2
    melody = Score.from_beats([(p, sum(d for _, d in tune[:i]), d, 90) for i, (p, d) in enumerate(tune)], qpm=90.0)
    mel = melody.tracks[0].array
    share = {}
    for nats in (0.0, harmonize_kernels.CHORDAL_NATS):
        monkeypatch.setattr(harmonize_kernels, "CHORDAL_NATS", nats)
        fit = beats = 0
        for seed in range(8):
            parts = harmonize(loaded, melody, Request(seed=seed), transpositions=1).parts[0]
            a, b = voicing.chordal_share(mel, parts, melody.tpq)
            fit, beats = fit + a, beats + b
        share[nats] = fit / max(beats, 1)
    assert harmonize_kernels.CHORDAL_NATS > 0 and share[harmonize_kernels.CHORDAL_NATS] > share[0.0] + 0.03


def test_harmonize_and_play_along_draw_with_the_models_own_nucleus_and_key_prior_when_left_to_it(harmony):
    """The settings leave top_p and key_prior to the model (-1): harmonize and play along draw with its card's,
    else the shared defaults (0.95, 0.3), never with the -1 itself: the same parts as those values asked."""
    from bridge import store
    from bridge.generation import Request, Sampling
    from bridge.generation.along import Along
    from bridge.generation.harmonize import harmonize
    from bridge.music import Score
    from bridge.settings import Settings, request_of

    loaded = store.load(str(harmony))
    melody = Score.from_beats([(p, sum(d for _, d in TUNE[:i]), d, 90) for i, (p, d) in enumerate(TUNE)], qpm=90.0)
    left = request_of(Settings(seed=6))
    asked = Request(seed=6, qpm=120.0, sampling=Sampling(top_p=0.95), key_prior=0.3, register_prior=1.0)
    assert all((a == b).all() for a, b in zip(harmonize(loaded, melody, left).parts, harmonize(loaded, melody, asked).parts))
    assert Along(loaded, left).req == Along(loaded, asked).req
