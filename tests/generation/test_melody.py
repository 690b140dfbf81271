"""The melody model's pieces: the top line of a tune, music21's folk collections as a corpus, the psm
infill order with the prefix's end read again, and one note at a time by default."""
from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import CORPUS, ROOT

TUNE = CORPUS / "nottingham" / "ashover1.mid"


def test_the_top_line_of_a_tune_with_chords():
    from bridge.music import load_score
    from bridge.music.transforms import top_line

    tune = load_score(TUNE)
    assert len([t for t in tune.tracks if len(t.array)]) == 2  # melody and chords
    line = top_line(tune)
    (track,) = line.tracks
    a = track.array
    assert (a[1:, 2] >= a[:-1, 3]).all()  # one note at a time
    melody = max((t for t in tune.tracks if len(t.array)), key=lambda t: t.array[:, 0].mean())
    assert set(a[:, 0].tolist()) <= set(melody.array[:, 0].tolist())  # from the melody, not the chords
    from bridge.codecs import get_codec

    codec = get_codec("notewise", melody=True, low=48, high=96)
    assert codec.monophonic and not get_codec("notewise").monophonic
    back = codec.decode(codec.encode(tune)).tracks[0].array
    assert len(back) == len(a)


def test_export_music21_writes_one_midi_file_a_tune(tmp_path):
    from tests.conftest import cadenza

    r = cadenza("export-music21", "oneills1850", "--out", tmp_path, "--max-files", "1", "--quiet")  # in this process
    assert r.returncode == 0, r.stderr
    files = sorted((tmp_path / "oneills1850").glob("*.mid"))
    assert len(files) >= 40 and "tunes from 1 ABC files" in r.stdout
    assert "music21" in (tmp_path / "LICENSE.md").read_text()
    from bridge.music import load_score

    assert load_score(files[0]).note_count > 10
    r = cadenza("export-music21", "beethoven", "--out", tmp_path)
    assert r.returncode != 0 and "no music21 collection 'beethoven'" in r.stderr


def test_psm_with_the_prefix_end_again():
    from bridge.codecs import get_codec
    from bridge.codecs.fim import FimCodec, wrap

    base = get_codec("notewise")
    codec = FimCodec(base, order="psm", suffix_tokens=4, again=3)
    assert wrap(base, codec.describe()).again == 3
    prefix, suffix = np.arange(10, dtype=np.int32), np.arange(100, 110, dtype=np.int32)
    prime = codec.infill_prime(prefix, suffix, 2.0)
    p, s, m = codec.prefix_id, codec.suffix_id, codec.middle_id(2.0)
    assert prime.tolist() == [p, *range(10), s, 100, 101, 102, 103, p, 7, 8, 9, m]
    written = np.array([200, 201], np.int32)
    assert codec.context(np.concatenate([prime, written])).tolist() == list(range(10)) + [200, 201]


def test_the_melody_model_plays_one_note_at_a_time():
    from bridge import settings as S
    from bridge import store
    from bridge.errors import CadenzaError
    from bridge.generation import continue_ids, decode_continuation

    if not (ROOT / "models" / "melody" / "cadenza.json").is_file():
        pytest.skip("no melody model")
    loaded = store.load("melody")
    req = S.request_of(S.apply(S.apply(S.apply(S.Settings(), "seed", 3), "beats", 32), "variations", 4))
    for new in continue_ids(loaded, loaded.codec.empty(), req).new:
        a = decode_continuation(loaded.codec, loaded.codec.empty(), new, include_prime=False).tracks[0].array
        assert len(a) > 8 and (a[1:, 2] >= a[:-1, 3]).all()
    with pytest.raises(CadenzaError, match="polyphony_min 2: melody is a melody model"):
        continue_ids(loaded, loaded.codec.empty(), S.request_of(S.apply(S.Settings(), "polyphony_min", 2)))
