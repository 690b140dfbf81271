"""Notation read once per machine (what music21 reads; plain **kern is read in milliseconds and never kept):
the second read of a **kern file gives the same Score without music21, an
edited file is read afresh, a damaged or foreign cache file is read around, a refused file is never kept,
the folder stays bounded, and CADENZA_NO_READ_CACHE=1 keeps nothing."""
from __future__ import annotations

import pytest

from tests.conftest import CORPUS

CHORALE = CORPUS / "kern" / "bach-370-chorales" / "chor001.krn"


def music21_only(tmp_path, name: str = "chorale.krn", copy: str = ""):
    """chor001 with an interpretation Cadenza's own **kern reader leaves to music21 (`*tremolo`, which
    changes no note): a file the read cache is for. A plain chorale never reaches the cache."""
    from bridge.music.humdrum import read_kern_file

    text = CHORALE.read_text()
    at = text.index("*M3/4")
    p = tmp_path / name
    p.write_text(copy + text[:at] + "\t".join(["*tremolo"] * 4) + "\n" + text[at:])
    assert read_kern_file(p) is None  # the premise: music21 reads it
    return p


@pytest.fixture
def cache(tmp_path, monkeypatch):
    from bridge.music import readcache

    monkeypatch.setenv("CADENZA_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("CADENZA_NO_READ_CACHE", raising=False)
    monkeypatch.setattr(readcache, "_memory", type(readcache._memory)())
    return tmp_path / "cache" / "notation"


@pytest.mark.skipif(not CHORALE.is_file(), reason="corpus not here")
def test_a_file_read_again_gives_the_same_score_without_music21(cache, tmp_path, monkeypatch):
    from bridge.music import bounded, load_score, readcache

    piece = music21_only(tmp_path)
    first = load_score(piece)
    assert len(list(cache.glob("*.npz"))) == 1
    readcache._memory.clear()  # a new process: only the disk has it
    monkeypatch.setattr(bounded, "read_notation_bounded",
                        lambda *a, **k: pytest.fail("music21 read a file the cache holds"))
    again = load_score(piece)
    assert again == first and again.tracks and again.key_signatures == first.key_signatures
    # edited: other bytes, another key, read afresh (here: refused, as music21 is not allowed)
    piece.write_bytes(piece.read_bytes().replace(b"4GG", b"4AA", 1))
    with pytest.raises(pytest.fail.Exception):
        load_score(piece)


@pytest.mark.skipif(not CHORALE.is_file(), reason="corpus not here")
def test_a_changed_reader_reads_the_file_afresh(cache, tmp_path, monkeypatch):
    """An upgrade that changed how music21's reading becomes a Score (notation.py, bounded.py) never gets
    the old reader's Score from the cache."""
    from bridge.music import bounded, load_score, readcache

    piece = music21_only(tmp_path)
    load_score(piece)
    readcache._memory.clear()
    monkeypatch.setattr(readcache, "reader_digest", lambda: "another reader")
    asked = []
    real = bounded.read_notation_bounded
    monkeypatch.setattr(bounded, "read_notation_bounded", lambda *a, **k: asked.append(1) or real(*a, **k))
    load_score(piece)
    assert asked and len(list(cache.glob("*.npz"))) == 2


@pytest.mark.skipif(not CHORALE.is_file(), reason="corpus not here")
def test_a_damaged_cache_file_is_read_around_and_replaced(cache, tmp_path):
    from bridge.music import load_score, readcache

    piece = music21_only(tmp_path)
    first = load_score(piece)
    (kept,) = cache.glob("*.npz")
    kept.write_bytes(b"PK\x03\x04 not an npz at all")
    readcache._memory.clear()
    assert load_score(piece) == first  # read by music21 again
    readcache._memory.clear()
    assert readcache.get(kept.stem) == first  # and kept again, whole


def test_a_refused_file_is_never_kept(cache, tmp_path):
    from bridge.errors import MusicFileError
    from bridge.music import load_score

    bad = tmp_path / "bad.krn"
    bad.write_text("**kern\n4c\n4q*z!\n*-\n" + "garbage\n" * 3)
    with pytest.raises(MusicFileError):
        load_score(bad)
    assert not cache.exists() or not list(cache.glob("*.npz"))


@pytest.mark.skipif(not CHORALE.is_file(), reason="corpus not here")
def test_the_folder_keeps_at_most_max_files_the_least_recently_used_go(cache, tmp_path, monkeypatch):
    import os
    import time

    from bridge.music import load_score, readcache

    monkeypatch.setattr(readcache, "MAX_FILES", 2)
    paths = [music21_only(tmp_path, f"c{i}.krn", copy=f"!! copy {i}\n") for i in range(3)]
    load_score(paths[0])
    oldest = readcache.key_of(paths[0])
    os.utime(cache / f"{oldest}.npz", (time.time() - 100, time.time() - 100))
    load_score(paths[1])
    load_score(paths[2])
    names = {f.stem for f in cache.glob("*.npz")}
    assert len(names) == 2 and oldest not in names


@pytest.mark.skipif(not CHORALE.is_file(), reason="corpus not here")
def test_no_read_cache_keeps_nothing(cache, tmp_path, monkeypatch):
    from bridge.music import load_score

    monkeypatch.setenv("CADENZA_NO_READ_CACHE", "1")
    assert load_score(music21_only(tmp_path)).tracks
    assert not cache.exists()
