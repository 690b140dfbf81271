"""The folk-tune collections music21 ships (ABC), as MIDI files a corpus folder can hold.

music21's corpus bundles Essen folksongs (`essenFolksong`), O'Neill's Music of Ireland, 1850
(`oneills1850`) and Ryan's Mammoth Collection (`ryansMammoth`) as ABC files of many tunes each. ABC
takes music21 ~30 ms a tune, so the tunes are read once and written as one MIDI file each,
`OUT/<collection>/<abc file>-<n>.mid` (a tune that music21 cannot read is listed, not fatal), with a
LICENSE.md that names the source and quotes music21's corpus licence statement (`cadenza train` records
it with the model, as it does every corpus's licence file).

    cadenza export-music21 essenFolksong oneills1850 ryansMammoth --out data/folk
"""
from __future__ import annotations

import gc
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from ..errors import CadenzaError

COLLECTIONS = ("essenFolksong", "oneills1850", "ryansMammoth")


def _corpus_dir() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def _export_file(job: tuple[str, str]) -> tuple[int, list[str]]:
    """One ABC file -> one MIDI file per tune; (tunes written, problems)."""
    import music21

    from ..music import write_midi
    from ..music.notation import stream_to_score

    src, out = job
    problems = []
    try:
        parsed = music21.converter.parse(src, format="abc")
    except Exception as e:  # noqa: BLE001 - a library failing on one file must not stop the export
        return 0, [f"{Path(src).name}: music21 cannot read it: {type(e).__name__}: {e}"]
    tunes = list(parsed.scores) if isinstance(parsed, music21.stream.Opus) else [parsed]
    written = 0
    stem = Path(src).stem
    for i, tune in enumerate(tunes):
        try:
            score = stream_to_score(tune)
            if not score.note_count:
                continue
            write_midi(score, Path(out) / f"{stem}-{i:04d}.mid")
            written += 1
        except Exception as e:  # noqa: BLE001
            problems.append(f"{stem} tune {i}: {type(e).__name__}: {e}")
    return written, problems


def export(collections, out: str | os.PathLike, workers: int = 0, max_files: int = 0,
           progress: bool = True) -> dict:
    base = _corpus_dir()
    out = Path(out)
    jobs = []
    for name in collections:
        folder = base / name
        if name not in COLLECTIONS or not folder.is_dir():
            raise CadenzaError(f"no music21 collection {name!r} (folk collections: {', '.join(COLLECTIONS)})")
        (out / name).mkdir(parents=True, exist_ok=True)
        files = sorted(folder.glob("*.abc"))[:max_files or None]
        jobs += [(str(f), str(out / name)) for f in files]
    counts = {"files": len(jobs), "tunes": 0, "problems": []}
    workers = workers or os.cpu_count() or 1
    with ProcessPoolExecutor(workers, initializer=gc.freeze) as pool:  # (why: training.prepare._init_child)
        for (src, _), (n, problems) in zip(jobs, pool.map(_export_file, jobs)):
            counts["tunes"] += n
            counts["problems"] += problems
            if progress:
                print(f"{Path(src).parent.name}/{Path(src).name}: {n} tunes", file=sys.stderr)
    import music21

    licence = (base / "license.txt").read_text(errors="replace")
    (out / "LICENSE.md").write_text(
        f"# Folk tunes from music21 {music21.__version__}'s corpus\n\n"
        f"Collections: {', '.join(collections)} (ABC), written as MIDI by `cadenza export-music21`, one file a "
        f"tune: {counts['tunes']} tunes from {counts['files']} ABC files.\n\n"
        "Licence, as music21 states it for its corpus (music21 itself is BSD-licensed):\n\n" + licence)
    return counts
