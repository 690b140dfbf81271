"""MIDI reading copes with files from the wild; what cannot be read fails with a named reason."""
from __future__ import annotations

import random
import struct

import mido
import numpy as np
import pytest

from bridge.errors import MusicFileError
from bridge.music import Note, Score, Tempo, TimeSignature, Track, parse_midi, read_midi, write_midi
from bridge.music.midi import midi_bytes
from tests.conftest import corpus_files, ev, smf, track

NOTE_C = [ev(0, 0x90, 60, 100), ev(480, 0x80, 60, 0)]


def notes(score: Score) -> list[tuple]:
    return sorted(tuple(n) for n in score.notes())


def test_format_0_single_track():
    s = parse_midi(smf(track(ev(0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20), *NOTE_C), fmt=0))
    assert notes(s) == [(60, 100, 0, 480)]
    assert s.tempos == (Tempo(0, 500_000),)


def test_format_1_tempo_track_and_changes():
    tempo = track(ev(0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20),  # 120 qpm
                  ev(960, 0xFF, 0x51, 3, 0x0F, 0x42, 0x40))  # 60 qpm from beat 2
    music = track(ev(0, 0x90, 60, 90), ev(1920, 0x80, 60, 0))
    s = parse_midi(smf(tempo, music))
    assert notes(s) == [(60, 90, 0, 1920)]
    # two beats at 120 qpm (1 s) then two at 60 qpm (2 s)
    assert s.seconds([0, 960, 1920]).tolist() == pytest.approx([0.0, 1.0, 3.0])
    assert s.duration_seconds == pytest.approx(3.0)


def test_format_2_tracks_are_read():
    s = parse_midi(smf(track(*NOTE_C), track(ev(0, 0x91, 64, 80), ev(240, 0x81, 64, 0)), fmt=2))
    assert notes(s) == [(60, 100, 0, 480), (64, 80, 0, 240)]


def test_running_status_and_velocity_zero_note_off():
    # one status byte, then bare data bytes; the note-offs are note-ons with velocity 0
    t = track(ev(0, 0x90, 60, 100), ev(0, 64, 90), ev(480, 60, 0), ev(0, 64, 0))
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 480), (64, 90, 0, 480)]


def test_running_status_across_a_meta_event():
    t = track(ev(0, 0x90, 60, 100), ev(10, 0xFF, 0x01, 2, 65, 66), ev(470, 60, 0))
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 480)]


@pytest.mark.parametrize("division", [24, 96, 384, 480, 960, 1000, 32767])
def test_any_ticks_per_beat(division):
    t = track(ev(0, 0x90, 60, 100), ev(division, 0x80, 60, 0))
    s = parse_midi(smf(t, division=division))
    assert s.tpq == division
    assert s.duration_beats == pytest.approx(1.0)
    assert s.duration_seconds == pytest.approx(0.5)


def test_smpte_division_reads_as_real_time():
    division = ((256 - 25) << 8) | 40  # 25 fps, 40 ticks per frame: 1000 ticks per second
    s = parse_midi(smf(track(ev(0, 0x90, 60, 100), ev(1500, 0x80, 60, 0)), division=division))
    assert s.duration_seconds == pytest.approx(1.5)


def test_sysex_and_unknown_chunks_are_skipped():
    sysex = ev(0, 0xF0, 5, 0x7E, 0x7F, 0x09, 0x01, 0xF7)
    escape = ev(0, 0xF7, 2, 0xF3, 0x01)
    alien = b"XFIH" + struct.pack(">I", 4) + b"\x00\x01\x02\x03"
    data = smf(track(sysex, escape, *NOTE_C), ntracks=1)
    data = data[:14] + alien + data[14:]
    assert notes(parse_midi(data)) == [(60, 100, 0, 480)]


def test_zero_length_notes_are_dropped_as_pretty_midi_does():
    t = track(ev(0, 0x90, 62, 100), ev(0, 0x80, 62, 0), *NOTE_C)
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 480)]


def test_overlapping_notes_of_one_pitch():
    # two strikes of C before one release: the release ends both, as pretty_midi (and note-seq) read it
    t = track(ev(0, 0x90, 60, 100), ev(100, 0x90, 60, 80), ev(380, 0x80, 60, 0))
    assert notes(parse_midi(smf(t))) == [(60, 80, 100, 480), (60, 100, 0, 480)]


def test_note_off_before_any_note_on_is_ignored():
    t = track(ev(0, 0x80, 61, 0), *NOTE_C)
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 480)]


def test_out_of_range_data_bytes_are_clipped():
    # a velocity byte of 0xC8 (200) is clipped to 127, like mido's clip=True
    data = smf(track(ev(0, 0x90, 60, 0xC8), ev(480, 0x80, 60, 0)))
    assert notes(parse_midi(data)) == [(60, 127, 0, 480)]


def test_missing_end_of_track_and_unreleased_notes():
    # no end-of-track meta; C is released, E never is, so E ends where its track does
    t = track(ev(0, 0x90, 60, 100), ev(480, 0x90, 64, 100), ev(480, 0x80, 60, 0), end=False)
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 960), (64, 100, 480, 960)]
    # a track cut in the middle of an event keeps what came before it
    t = track(ev(0, 0x90, 60, 100), ev(480, 0x80, 60, 0), ev(0, 0x90, 62), end=False)
    assert notes(parse_midi(smf(t))) == [(60, 100, 0, 480)]


def test_program_channel_and_drums_make_tracks():
    t = track(ev(0, 0xC0, 40), ev(0, 0x90, 60, 100), ev(0, 0x99, 36, 100), ev(240, 0x89, 36, 0),
              ev(240, 0x80, 60, 0))
    s = parse_midi(smf(t))
    by_drum = {tr.is_drum: tr for tr in s.tracks}
    assert by_drum[False].program == 40 and by_drum[False].notes == (Note(60, 100, 0, 480),)
    assert by_drum[True].channel == 9 and by_drum[True].notes == (Note(36, 100, 0, 240),)


def test_riff_rmi_is_unwrapped():
    inner = smf(track(*NOTE_C))
    data_chunk = b"data" + struct.pack("<I", len(inner)) + inner
    rmi = b"RIFF" + struct.pack("<I", 4 + len(data_chunk)) + b"RMID" + data_chunk
    assert notes(parse_midi(rmi)) == [(60, 100, 0, 480)]


@pytest.mark.parametrize("data, problem", [
    (b"", "empty file"),
    (b"hello, this is a text file\n", "not a MIDI file"),
    (b"RIFF\x10\x00\x00\x00WAVEfmt ", "not RIFF MIDI"),
    (b"MThd\x00\x00", "truncated MIDI header"),
    (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0", "no track data"),
    (smf(track(*NOTE_C))[:-6], "truncated"),
    (b"MThd\x00\x00\x00\x06\x00\x07\x00\x01\x01\xe0" + track(*NOTE_C), "unknown MIDI format 7"),
    (smf(track(*NOTE_C), division=0), "ticks per beat is 0"),
])
def test_unreadable_files_raise_one_error_that_names_the_problem(data, problem):
    with pytest.raises(MusicFileError, match=problem):
        parse_midi(data, "bad.mid")


def test_missing_file_is_a_music_file_error(tmp_path):
    with pytest.raises(MusicFileError, match="cannot read file"):
        read_midi(tmp_path / "nope.mid")


def test_random_damage_never_escapes_as_anything_but_music_file_error():
    """Truncations, bit flips and splices of real files: each reads or fails with MusicFileError."""
    files = corpus_files("piano-midi", "*.mid", 6, step=50) + corpus_files("nottingham", "*.mid", 4, step=200)
    rng = random.Random(7)
    for path in files:
        good = path.read_bytes()
        for _ in range(40):
            data = bytearray(good)
            kind = rng.randrange(4)
            if kind == 0:
                data = data[:rng.randrange(len(data))]
            elif kind == 1:
                for _ in range(rng.randrange(1, 50)):
                    data[rng.randrange(14, len(data))] = rng.randrange(256)
            elif kind == 2:
                a = rng.randrange(14, len(data))
                data[a:a] = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            else:
                data[rng.randrange(14, len(data)):] = b""
                data += bytes(rng.randrange(256) for _ in range(100))
            try:
                score = parse_midi(bytes(data), path.name)
            except MusicFileError:
                continue
            arr = score.note_array(include_drums=True)
            assert (arr[:, 3] >= arr[:, 2]).all()
            assert ((arr[:, 0] >= 0) & (arr[:, 0] <= 127)).all()


def test_real_files_agree_with_mido():
    """Note counts and tick positions agree with mido's reading of the same real files."""
    for path in corpus_files("piano-midi", "*.mid", 5, step=60):
        ours = read_midi(path)
        theirs = mido.MidiFile(path)
        assert ours.tpq == theirs.ticks_per_beat
        ons = 0
        for t in theirs.tracks:
            ons += sum(1 for m in t if m.type == "note_on" and m.velocity > 0)
        assert ours.note_count <= ons and ours.note_count >= ons * 0.98


def test_write_then_read_is_exact(tmp_path):
    score = Score(tpq=480, tracks=(
        Track(notes=(Note(60, 100, 0, 480), Note(64, 90, 240, 960), Note(60, 80, 480, 720)), program=5,
              name="right", controls=((0, 64, 127), (900, 64, 0))),
        Track(notes=(Note(36, 110, 0, 120),), is_drum=True, channel=9)),
        tempos=(Tempo(0, 500_000), Tempo(960, 400_000)), time_signatures=(TimeSignature(0, 3, 4),))
    path = write_midi(score, tmp_path / "out.mid")
    back = read_midi(path)
    assert back.tempos == score.tempos and back.time_signatures == score.time_signatures
    assert notes(back) == notes(score)
    right = next(t for t in back.tracks if not t.is_drum)
    assert right.program == 5 and right.name == "right"
    assert right.controls.tolist() == [[0, 64, 127], [900, 64, 0]]
    assert mido.MidiFile(path).type == 1  # and a third-party reader accepts it


def test_written_events_are_in_time_order_with_note_offs_first_and_long_delta_times():
    """What mido reads back, message by message: a note ending where another of its pitch starts is let go
    first; notes starting together keep the track's order (by pitch); delta times of one to four bytes; the end of track."""
    score = Score(tpq=480, tracks=(Track(notes=(Note(64, 90, 0, 480), Note(60, 100, 0, 480), Note(60, 70, 480, 600),
                                                Note(67, 80, 200_000, 200_100), Note(72, 60, 30_000_000, 30_000_001))),))
    m = mido.MidiFile(file=__import__("io").BytesIO(midi_bytes(score, single_track=True)))
    got = [(msg.time, msg.type, getattr(msg, "note", None), getattr(msg, "velocity", None)) for msg in m.tracks[0]
           if msg.type in ("note_on", "note_off", "end_of_track")]
    assert got == [(0, "note_on", 60, 100), (0, "note_on", 64, 90), (480, "note_off", 60, 0), (0, "note_off", 64, 0),
                   (0, "note_on", 60, 70), (120, "note_off", 60, 0), (200_000 - 600, "note_on", 67, 80),
                   (100, "note_off", 67, 0), (30_000_000 - 200_100, "note_on", 72, 60), (1, "note_off", 72, 0),
                   (0, "end_of_track", None, None)]


def test_write_is_atomic_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    target = tmp_path / "song.mid"
    target.write_bytes(b"old contents")
    score = Score.from_beats([(60, 0, 1, 100)])

    import bridge.music.atomic as atomic

    def fail(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(atomic.os, "replace", fail)
    with pytest.raises(OSError):
        write_midi(score, target)
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.mid"]


def test_written_files_are_as_readable_as_any_other(tmp_path):
    """An atomic write goes through a private temporary file; the result gets the usual mode (umask applied),
    so another user or a web server can read the outbox and a model folder, as with a plain open()."""
    import os
    import stat

    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    out = write_midi(Score.from_beats([(60, 0, 1, 100)]), tmp_path / "song.mid")
    assert stat.S_IMODE(os.stat(out).st_mode) == stat.S_IMODE(os.stat(plain).st_mode)


def test_round_trip_of_real_files_through_the_writer(tmp_path):
    for path in corpus_files("piano-midi", "*.mid", 4, step=80):
        score = read_midi(path)
        back = read_midi(write_midi(score, tmp_path / path.name))
        assert notes(back) == notes(score)
        assert back.tempos == score.tempos
        np.testing.assert_allclose(back.seconds([score.end_tick]), score.seconds([score.end_tick]))
