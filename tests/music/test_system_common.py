"""System common and real-time status bytes inside a track (files in the wild hold them): each is skipped
with exactly its data bytes (MIDI 1.0: F1 and F3 one, F2 two, F4-F6 and F8-FE none), as mido reads them."""
from __future__ import annotations

import io

import mido
import pytest

from bridge.music import parse_midi
from tests.conftest import ev, smf, track

SCALE = [60, 62, 64, 65, 67, 69, 71, 72]


def scale_file(junk: bytes, running: bool) -> bytes:
    """A C major scale, eighth notes at 96 ticks a beat, with `junk` before every note-on; with `running`
    the note-offs ride on running status (a note-on of velocity 0), as many writers do."""
    events = [ev(0, 0xFF, 0x51, 3, 0x07, 0xA1, 0x20)]  # 120 qpm
    for p in SCALE:
        events.append(ev(0) + junk)
        events.append(ev(0, 0x90, p, 100))
        events.append(ev(48, p, 0) if running else ev(48, 0x80, p, 0))
    return smf(track(*events), fmt=0, division=96)


def mido_notes(data: bytes) -> list[tuple[int, int]]:
    mf = mido.MidiFile(file=io.BytesIO(data))
    t, out = 0, []
    for m in mf.tracks[0]:
        t += m.time
        if m.type == "note_on" and m.velocity:
            out.append((m.note, t))
    return out


@pytest.mark.parametrize("junk", [b"\xf1\x10", b"\xf2\x10\x20", b"\xf3\x05", b"\xf6", b"\xf8", b"\xfa", b"\xfb",
                                  b"\xfc", b"\xfe"], ids=lambda b: b.hex())
@pytest.mark.parametrize("running", [False, True], ids=["explicit", "running-status"])
def test_each_status_byte_is_skipped_with_its_data_as_mido_does(junk, running):
    data = scale_file(junk, running)
    score = parse_midi(data)
    got = [(n.pitch, n.start) for n in score.notes()]
    if not running:
        assert got == mido_notes(data)
    assert got == [(p, 48 * k) for k, p in enumerate(SCALE)]
    assert score.duration_seconds == pytest.approx(2.0)  # 8 eighths at 120 qpm


@pytest.mark.parametrize("junk", [b"\xf4", b"\xf5"], ids=lambda b: b.hex())
def test_undefined_status_bytes_carry_no_data(junk):
    """mido refuses F4/F5 outright; the spec gives them no data bytes, so the scale stays whole."""
    score = parse_midi(scale_file(junk, running=False))
    assert [n.pitch for n in score.notes()] == SCALE and score.duration_beats == pytest.approx(4.0)
