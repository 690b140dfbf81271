"""A continuation keeps the prime as it was (every track, drums, programs, tempo map, meter), adds the
asked number of the prime's beats, and every model stops at that length (issues 15 and 16)."""
from __future__ import annotations

import pytest

from bridge.cli import main
from bridge.music import CONTINUATION, KeySignature, Score, Tempo, TimeSignature, Track, read_midi, write_midi
from tests.conftest import ROOT


def need(model):
    if not (ROOT / "models" / model / "cadenza.json").is_file():
        pytest.skip(f"no shipped model {model}")


def prime_file(path, tempos, meter, drums=True, pitched=True, tpq=480):
    """Two bars of a melody (program 24, channel 3) over a drum beat (channel 10), in the given meter
    and tempo map."""
    beats_per_bar = meter[0] * 4 / meter[1]
    length = int(2 * beats_per_bar * tpq)
    melody = [(60 + (k * 5) % 12, 90, k * tpq // 2, k * tpq // 2 + tpq // 2) for k in range(length * 2 // tpq)]
    kit = [(36 if k % 2 == 0 else 38, 100, k * tpq // 2, k * tpq // 2 + 60) for k in range(length * 2 // tpq)]
    tracks = []
    if pitched:
        tracks.append(Track(melody, program=24, channel=3, name="guitar"))
    if drums:
        tracks.append(Track(kit, is_drum=True, channel=9, name="kit"))
    score = Score(tpq=tpq, tracks=tuple(tracks), tempos=tuple(Tempo(t, int(6e7 / q)) for t, q in tempos),
                  time_signatures=(TimeSignature(0, *meter),), key_signatures=(KeySignature(0, -2, True),))
    write_midi(score, path)
    return read_midi(path)


@pytest.mark.parametrize("model", ["chorale", "piano"])
@pytest.mark.parametrize("meter,tempos", [
    ((3, 4), [(0, 60.0)]),
    ((6, 8), [(0, 90.0), (960, 120.0)]),
    ((5, 4), [(0, 175.0)]),
])
def test_continuation_keeps_tracks_drums_tempo_map_and_meter(tmp_path, capsys, model, meter, tempos):
    need(model)
    prime = prime_file(tmp_path / "prime.mid", tempos, meter)
    out = tmp_path / "out.mid"
    assert main(["continue", str(tmp_path / "prime.mid"), "--model", model, "--beats", "8", "--seed", "1",
                 "--out", str(out)]) == 0
    said = capsys.readouterr().out
    drums_model = (ROOT / "models" / "drums" / "cadenza.json").is_file()
    assert (f"{model} continues the pitched parts and the drums model the drums" if drums_model else
            f"{model} plays no drums; the drum track is kept as it was") in said
    got = read_midi(out)
    scale = got.tpq / prime.tpq
    assert [(t.tick / got.tpq, round(t.qpm, 3)) for t in got.tempos] == \
        [(t.tick / prime.tpq, round(t.qpm, 3)) for t in prime.tempos]
    assert [(s.numerator, s.denominator) for s in got.time_signatures] == [meter]
    assert [k.name for k in got.key_signatures] == ["g minor"]  # and the key
    for old in prime.tracks:  # every track of the prime, note for note, with its program, channel and drum flag
        same = [t for t in got.tracks if t.is_drum == old.is_drum and t.program == old.program
                and t.channel == old.channel and len(t.array) == len(old.array)
                and (t.array[:, :2] == old.array[:, :2]).all() and (t.array[:, 2:] == old.array[:, 2:] * scale).all()]
        assert same, f"track {old.name} not kept"
    end = prime.end_tick / prime.tpq
    mark = [m.tick / got.tpq for m in got.markers if m.text == CONTINUATION]
    assert mark == [pytest.approx(end)]
    new = [n for t in got.tracks if t.name == "Cadenza continuation" for n in t.notes]
    assert new, "no new notes"
    starts = [n.start / got.tpq for n in new]
    ends = [n.end / got.tpq for n in new]
    assert min(starts) >= end - 1e-6 and max(ends) <= end + 8 + 1e-6  # 8 of the prime's beats
    assert max(ends) >= end + 4  # and it does not stop early (within a note or two)
    kit = [t for t in got.tracks if t.name == "Cadenza drums"]
    if drums_model:  # the drums go on too, alongside, on the prime's 16th-note grid
        (kit,) = kit
        steps = kit.array[:, 2] / got.tpq * 4
        assert kit.is_drum and len(steps) and (abs(steps - steps.round()) < 1e-6).all()
        assert steps.min() / 4 >= end - 0.25 and steps.max() / 4 < end + 8
    else:
        assert not kit


def test_with_drums_0_keeps_the_drum_track_as_it_was(tmp_path, capsys):
    need("chorale")
    prime_file(tmp_path / "prime.mid", [(0, 100.0)], (4, 4))
    out = tmp_path / "out.mid"
    assert main(["continue", str(tmp_path / "prime.mid"), "--model", "chorale", "--beats", "4", "--seed", "1",
                 "--with-drums", "0", "--out", str(out)]) == 0
    assert "chorale plays no drums; the drum track is kept as it was" in capsys.readouterr().out
    assert not [t for t in read_midi(out).tracks if t.name == "Cadenza drums"]


def test_a_drum_only_file_is_refused_with_the_reason(tmp_path, capsys):
    need("chorale")
    prime_file(tmp_path / "beat.mid", [(0, 100.0)], (4, 4), pitched=False)
    assert main(["continue", str(tmp_path / "beat.mid"), "--model", "chorale", "--out", str(tmp_path / "o.mid")]) == 1
    assert "only drums here, and chorale plays no drums" in capsys.readouterr().err
    assert not (tmp_path / "o.mid").exists()


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_kern_model_stops_at_the_asked_beats(tmp_path, capsys, seed):
    need("sonata-kern")
    out = tmp_path / "k.mid"
    assert main(["generate", "--model", "sonata-kern", "--beats", "16", "--seed", str(seed), "--out", str(out)]) == 0
    written = read_midi(out).duration_beats
    assert 15.0 <= written <= 16.0 + 1e-6  # within a note of 16
    assert f"{written:.1f} beats new" in capsys.readouterr().out  # the report measures what was written


def test_key_signatures_round_trip_as_mido_reads_them(tmp_path):
    import mido

    score = Score(tpq=480, tracks=(Track([(60, 90, 0, 480)]),),
                  key_signatures=(KeySignature(0, 3, False), KeySignature(960, -4, True)))
    write_midi(score, tmp_path / "k.mid")
    keys = [m.key for t in mido.MidiFile(tmp_path / "k.mid").tracks for m in t if m.type == "key_signature"]
    assert keys == ["A", "Fm"]
    assert read_midi(tmp_path / "k.mid").key_signatures == score.key_signatures


def test_the_pitched_parts_controls_never_reach_the_drums_continued_alongside(tmp_path, capsys):
    """Controls for pitched notes (polyphony, leaps, no_repeat, rhythm_variety) asked of a mixed file steer the
    pitched continuation; the drums model, which would refuse them, continues the drums without them."""
    need("chorale")
    need("drums")
    prime_file(tmp_path / "prime.mid", [(0, 100.0)], (4, 4))
    out = tmp_path / "out.mid"
    assert main(["continue", str(tmp_path / "prime.mid"), "--model", "chorale", "--beats", "8", "--seed", "1",
                 "--rhythm-variety", "1", "--no-repeat", "3", "--polyphony-max", "3", "--out", str(out)]) == 0
    got = read_midi(out)
    assert [t for t in got.tracks if t.name == "Cadenza drums" and t.is_drum and len(t.array)]
    assert [t for t in got.tracks if t.name == "Cadenza continuation" and len(t.array)]
