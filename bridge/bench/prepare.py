"""`cadenza bench prepare CORPUS`: files per second, Cadenza's path against note-seq's, in one run.

Both paths do the same work on the same files with the same settings, the performance codec's
defaults: read the MIDI file, apply the sustain pedal, quantise to 10 ms, extract performance
events with 32 velocity bins, one-hot ids. note-seq's path is
midi_file_to_note_sequence -> apply_sustain_control_changes -> quantize_note_sequence_absolute ->
Performance -> PerformanceOneHotEncoding. Both run on one core, so the ratio compares
implementations; Cadenza on every core (what `cadenza prepare` does) is reported beside them.
The ids of the two paths are compared file by file.
"""
from __future__ import annotations

import os
import time
import warnings
from pathlib import Path

from ..errors import CadenzaError
from ..harness.reference import note_seq_ids
from ..training.prepare import _context, encode_files, find_files

MIDI = (".mid", ".midi")


def run(corpus: str, files: int = 0, workers: int = 0, progress: bool = False) -> dict:
    from ..codecs import get_codec
    from ..music import read_midi

    paths = [str(p) for p in find_files(Path(corpus), MIDI)]
    if not paths:
        raise CadenzaError(f"{corpus}: no MIDI files to benchmark")
    if files:
        paths = paths[:files]
    codec = get_codec("performance")
    codec.encode(read_midi(paths[0]))  # compile the kernels before the clock starts
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        note_seq_ids(paths[0])  # import note-seq before the clock starts

    ours: dict[str, list[int] | None] = {}
    t = time.perf_counter()
    for p in paths:
        try:
            ours[p] = codec.encode(read_midi(p)).tolist()
        except CadenzaError:
            ours[p] = None
    t_cadenza = time.perf_counter() - t

    workers = workers or os.cpu_count() or 1
    t = time.perf_counter()
    encode_files(paths, "performance", codec.params, workers, progress=False)
    t_parallel = time.perf_counter() - t

    theirs: dict[str, list[int] | None] = {}
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p in paths:
            try:
                theirs[p] = note_seq_ids(p)
            except Exception:  # noqa: BLE001 - note-seq's own failure on a file counts as a failure
                theirs[p] = None
    t_noteseq = time.perf_counter() - t

    both = [p for p in paths if ours[p] is not None and theirs[p] is not None]
    same = sum(ours[p] == theirs[p] for p in both)
    n = len(paths)
    return {
        "corpus": str(Path(corpus).resolve()),
        "files": n,
        "tokens": sum(len(v) for v in ours.values() if v),
        "cadenza_files_per_s": n / t_cadenza,
        "cadenza_all_cores_files_per_s": n / t_parallel,
        "note_seq_files_per_s": n / t_noteseq,
        "speedup_one_core": t_noteseq / t_cadenza,
        "speedup_all_cores": t_noteseq / t_parallel,
        "workers": workers,
        "identical_ids": same,
        "compared": len(both),
        "cpu_count": os.cpu_count(),
        "start_method": _context().get_start_method(),
    }


def table(r: dict) -> str:
    rows = [
        ("path", "files/s", "vs note-seq"),
        ("note-seq (1 core)", f"{r['note_seq_files_per_s']:.1f}", "1.0x"),
        ("cadenza (1 core)", f"{r['cadenza_files_per_s']:.1f}", f"{r['speedup_one_core']:.1f}x"),
        (f"cadenza ({r['workers']} workers)", f"{r['cadenza_all_cores_files_per_s']:.1f}",
         f"{r['speedup_all_cores']:.1f}x"),
    ]
    w = [max(len(row[i]) for row in rows) for i in range(3)]
    lines = [f"bench prepare: {r['files']} MIDI files, {r['tokens']} performance tokens, {r['corpus']}"]
    for k, row in enumerate(rows):
        lines.append(f"  {row[0]:<{w[0]}}  {row[1]:>{w[1]}}  {row[2]:>{w[2]}}")
        if k == 0:
            lines.append("  " + "-" * (sum(w) + 4))
    lines.append(f"  identical ids: {r['identical_ids']} of {r['compared']} files both paths read")
    return "\n".join(lines)
