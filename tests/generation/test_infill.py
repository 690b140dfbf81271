"""Infill: a model trained in fill-in-the-middle order writes a region between what comes before and after;
every note outside the region stays; a continuation model is refused; bad regions are named."""
from __future__ import annotations

import pytest

from bridge.errors import CadenzaError
from tests.conftest import CHORALES, ROOT

PIECE = CHORALES / "chor012.krn"


def test_the_region_is_new_and_everything_else_is_as_it_was(fim_model, tmp_path):
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.infill import INFILL_END, INFILL_START, infill
    from bridge.music import load_score

    loaded = store.load(str(fim_model))
    assert loaded.codec.describe()["fim"]
    score = load_score(PIECE)
    wholes, regions, result = infill(loaded, score, 8.0, 12.0, Request(seed=3, variations=2))
    s, e = 8 * score.tpq, 12 * score.tpq
    for whole, region in zip(wholes, regions):
        assert region and all(8 <= st < 12 and st + d <= 12 + 1e-9 for _, st, d, _ in region)
        for old, new in zip(score.tracks, whole.tracks):  # outside the region: the very same notes
            keep = (old.array[:, 2] < s) | (old.array[:, 2] >= e)
            assert (new.array == old.array[keep]).all()
        assert [m.text for m in whole.markers if m.text.startswith("infill")] == [INFILL_START, INFILL_END]
    assert regions[0] != regions[1]


def test_a_continuation_model_and_bad_regions_are_refused(fim_model):
    from bridge import store
    from bridge.generation import Request
    from bridge.generation.infill import infill
    from bridge.music import load_score

    score = load_score(PIECE)
    with pytest.raises(CadenzaError, match="chorale is not an infill model"):
        infill(store.load("chorale"), score, 8, 12, Request())
    loaded = store.load(str(fim_model))
    for start, end, words in ((12, 8, "not after its start"), (500, 504, "past the end of the piece"),
                              (0, 40, "at most 32 beats")):
        with pytest.raises(CadenzaError, match=words):
            infill(loaded, score, start, end, Request())


def test_the_cli_and_osc_doors(fim_model, tmp_path, monkeypatch):
    import shutil

    from bridge.cli import main
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon
    from bridge.music import load_score, read_midi
    from bridge.harness.osc import Client

    out = tmp_path / "filled.mid"
    assert main(["infill", str(PIECE), "--start-beat", "4", "--end-beat", "8", "--model", str(fim_model),
                 "--seed", "2", "--out", str(out)]) == 0
    filled = read_midi(out)
    assert any(t.name == "Cadenza infill" and len(t.array) for t in filled.tracks)
    # OSC: the piece as notes, the region's notes back, streamed; a name in the store (not a path)
    monkeypatch.setenv("CADENZA_MODELS", str(tmp_path / "store"))
    shutil.copytree(fim_model, tmp_path / "store" / "fim")
    d = Daemon(ServeConfig(http_port=0, port=0, model="chorale", inbox=tmp_path / "in", outbox=tmp_path / "out", watch=False))
    d.start()
    d.wait_ready(120)
    c = Client(d.server.address[1])
    try:
        score = load_score(PIECE)
        flat = []
        for n in score.notes()[:60]:
            flat += [n.pitch, n.start / score.tpq, (n.end - n.start) / score.tpq, n.velocity]
        c.send("/cadenza/infill", 5, 4.0, 8.0, *flat, "model", "fim", "seed", 2)
        got = c.receive(rid=5, timeout=120)
        assert got[-1][0] == "/cadenza/done", got[-1]
        notes = [p[i:i + 4] for a, p in got if a == "/cadenza/notes" for p in [p[1:]] for i in range(0, len(p), 4)]
        assert notes and len(notes) == got[-1][1][1] and all(4 <= n[1] < 8 for n in notes)
        c.send("/cadenza/infill", 6, 8.0, 4.0, *flat, "model", "fim")
        assert "0 <= start < end" in c.receive(rid=6, until=("/cadenza/error",), timeout=10)[-1][1][1]
        c.send("/cadenza/infill", 7, 4.0, 8.0, *flat, "model", "chorale")
        assert "not an infill model" in c.receive(rid=7, timeout=60)[-1][1][1]
    finally:
        c.close()
        d.stop()


def test_the_watch_folder_infills_with_a_sidecar(fim_model, tmp_path, monkeypatch):
    import shutil
    import time

    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon
    from bridge.music import read_midi

    monkeypatch.setenv("CADENZA_MODELS", str(tmp_path / "store"))
    shutil.copytree(fim_model, tmp_path / "store" / "fim")
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    shutil.copy(PIECE, inbox / "piece.krn")
    (inbox / "piece.toml").write_text('task = "infill"\nstart = 4\nend = 8\nmodel = "fim"\nseed = 1\n')
    shutil.copy(PIECE, inbox / "bad.krn")
    (inbox / "bad.toml").write_text('task = "infill"\nstart = 8\nmodel = "fim"\n')
    d = Daemon(ServeConfig(http_port=0, port=0, model="chorale", inbox=inbox, outbox=tmp_path / "outbox"))
    d.start()
    try:
        out, err = tmp_path / "outbox" / "piece.cadenza.mid", inbox / "failed" / "bad.error.txt"
        deadline = time.time() + 120
        while not (out.exists() and err.exists()) and time.time() < deadline:
            time.sleep(0.1)
    finally:
        d.stop()
    assert any(t.name == "Cadenza infill" and len(t.array) for t in read_midi(out).tracks)
    assert "needs start and end" in err.read_text()


def test_the_fim_order_and_the_prefix_it_gives_the_grammar():
    import numpy as np

    from bridge.codecs import from_description, get_codec
    from bridge.codecs.fim import FimCodec

    base = get_codec("notewise")
    fim = FimCodec(base, reminder=3)
    prefix, suffix = np.arange(10, 15), np.arange(20, 30)
    prime = fim.infill_prime(prefix, suffix, 2.5)
    V = base.vocab_size
    assert prime.tolist() == [V] + list(range(20, 30)) + [V + 1] + list(range(10, 15)) + [V, 20, 21, 22] + \
        [fim.middle_id(3)]
    assert fim.context(prime).tolist() == list(range(10, 15))  # the prefix: the music right before the middle
    assert fim.context(np.concatenate([prime, [40, 41]])).tolist() == list(range(10, 15)) + [40, 41]
    again = from_description(fim.describe())
    assert isinstance(again, FimCodec) and again.reminder == 3 and again.vocab_size == fim.vocab_size
    assert set(fim.never_sampled()) >= set(fim.sentinels())
    with pytest.raises(ValueError, match="durations"):
        FimCodec(get_codec("kern"))


def test_of_four_candidates_the_one_the_music_after_follows_best_is_kept(fim_model):
    """Four middles drawn in one batch (candidate j is row j: the same rows four variations give), each judged
    by the bits of the real music after the region read after it: the kept region is the best one's."""
    import numpy as np

    from bridge import store
    from bridge.generation import Request, generator_for
    from bridge.generation.infill import SCORED_TOKENS, infill, split
    from bridge.music import load_score

    loaded = store.load(str(fim_model))
    score = load_score(PIECE)
    _, best, _ = infill(loaded, score, 8.0, 12.0, Request(seed=5), candidates=4)
    _, four, result = infill(loaded, score, 8.0, 12.0, Request(seed=5, variations=4), candidates=1)
    before, after = split(score, 8.0, 12.0)
    base = loaded.codec.base
    bits = generator_for(loaded).suffix_bits(base.encode(before), result.new, base.encode(after)[:SCORED_TOKENS])
    assert len(set(np.round(bits, 3))) > 1  # the candidates differ, and so do their scores
    assert best[0] == four[min(range(4), key=lambda i: (not four[i], bits[i]))]  # one with notes first


def test_a_silent_middle_is_kept_only_when_every_candidate_is_silent():
    """Asked to fill four beats of a running eighth-note line, the shipped chorale-infill model once drew these
    four candidates (seed 158), the last four beats of rest, and the music after the gap costs the fewest bits
    after the rest: the kept middle is the best one with notes (Live's device had written back an empty loop
    region). Only when every candidate of a variation is silent is a silent one kept."""
    import numpy as np

    from bridge import store
    from bridge.generation import generator_for
    from bridge.generation.infill import SCORED_TOKENS, chosen, split
    from bridge.music import Score

    if not (ROOT / "models" / "chorale-infill" / "cadenza.json").is_file():
        pytest.skip("no shipped chorale-infill model")
    loaded = store.load("chorale-infill")
    line = [60, 62, 64, 65, 67, 65, 64, 62]
    score = Score.from_beats([(line[i % 8] + 12 * (i // 8 == 2), i * 0.5, 0.5, 80) for i in range(32)], qpm=110.0)
    before, after = split(score, 4.0, 8.0)
    base = loaded.codec.base
    prefix, suffix = base.encode(before), base.encode(after)[:SCORED_TOKENS]
    drawn = [[43, 187, 131, 41, 187, 129, 40, 187, 128, 44, 199], [43, 199, 131, 41, 187, 129, 39, 187],
             [41, 181, 129, 43, 181, 131, 41, 187, 129, 39, 187, 127, 41, 187], [199, 199]]  # 199: two beats' wait
    middles = [np.array(m, np.int64) for m in drawn]
    assert [len(base.decode(m).notes()) > 0 for m in middles] == [True, True, True, False]
    bits = generator_for(loaded).suffix_bits(prefix, middles, suffix)
    assert int(np.argmin(bits)) == 3  # the case: the rest is what the bits alone would keep
    with_notes = min(range(3), key=lambda i: bits[i])
    assert chosen(loaded, prefix, middles, suffix, 4) == [with_notes]
    assert chosen(loaded, prefix, middles[::-1] + middles, suffix, 4) == [3 - with_notes, 4 + with_notes]
    assert chosen(loaded, prefix, [middles[3]] * 2, suffix, 2) == [0]  # all silent: the rest is kept


def test_the_music_after_a_gap_follows_the_real_middle_better_than_a_wrong_one():
    """What candidates are judged by, on the shipped chorale-infill model and held-out chorales: the real music
    after a gap costs fewer bits after the real middle than after the same middle a tritone away."""
    import numpy as np

    from bridge import store
    from bridge.evaluate import resolve_split
    from bridge.generation import generator_for
    from bridge.generation.infill import SCORED_TOKENS
    from bridge.music import load_score
    from bridge.music.transforms import transpose

    if not (ROOT / "models" / "chorale-infill" / "cadenza.json").is_file():
        pytest.skip("no shipped chorale-infill model")
    loaded = store.load("chorale-infill")
    gen, base = generator_for(loaded), loaded.codec.base
    wins = trials = 0
    for path in resolve_split(loaded.meta, None)["validation"][:6]:
        score = load_score(path)
        ids, moved = base.encode(score), base.encode(transpose(score, 6))
        cum = np.cumsum(base.token_beats()[ids])
        a, b = int(np.searchsorted(cum, 8.0)) + 1, int(np.searchsorted(cum, 12.0)) + 1
        if len(moved) != len(ids) or b >= len(ids):
            continue
        real, wrong = gen.suffix_bits(ids[:a], [ids[a:b], moved[a:b]], ids[b:b + SCORED_TOKENS])
        wins += real < wrong
        trials += 1
    assert trials >= 4 and wins >= trials - 1, (wins, trials)
