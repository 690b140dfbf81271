"""`cadenza prepare --runner beam`: the same preparation as an Apache Beam pipeline.

    files -> Reshuffle -> encode (the same codecs, with --transpose copies) -> key by shard (a stable hash
    of the path) -> GroupByKey -> each shard's files in path order, written as one .npy -> manifest lines

The shards are byte for byte those of `cadenza prepare` on the same folder (bridge/training/prepare.py
keeps the layout in functions both runners call), and the manifest lists the same files, parts and
failures. A file that cannot be read is counted (the `files_failed` counter) and listed with its reason;
the run completes. The pipeline runs on the DirectRunner by default; `--beam-option` passes any
pipeline option through, so the same command runs on Flink, Spark or Dataflow (docs/cluster.md): the
corpus and the output folder must then be on a filesystem every worker mounts.

Apache Beam is an optional extra (`pip install 'cadenza[beam]'`), imported only here.
"""
from __future__ import annotations

import json
import logging
import os
import time
import uuid
from pathlib import Path

import numpy as np

from ..codecs import get_codec
from ..errors import CadenzaError
from ..music import atomic_write_text
from .layout import (PrepareConfig, encode_with, failure, manifest_of, record_shape, records, shard_header,
                     shard_of, storage_dtype, transposer)
from .split import official_split, part_of

NAMESPACE = "cadenza"


# Beam warns, as it loads, of Google Cloud client libraries that a run off Google Cloud does not need
logging.getLogger().addFilter(lambda record: not str(record.msg).startswith("apitools not found"))

try:  # the DoFns subclass beam.DoFn; without Beam the module still imports, and _beam() says what to install
    import apache_beam as _b
except ImportError:  # pragma: no cover - exercised only where the extra is missing
    _b = None
_DoFn = _b.DoFn if _b is not None else object


def _beam():
    if _b is None:
        raise CadenzaError("--runner beam needs Apache Beam: pip install 'cadenza[beam]'")
    return _b


def pipeline_options(options: list[str], workers: int):
    """The DirectRunner on `workers` processes unless the options name another runner; every option given
    is passed through as Beam reads it (`--runner=FlinkRunner --flink_master=localhost:8081`, ...)."""
    from apache_beam.options.pipeline_options import PipelineOptions

    given = [o for opt in options for o in opt.split()]
    if not any(o.startswith("--runner") for o in given):  # the DirectRunner's own chatter, not the user's options
        for name in ("apache_beam.runners.portability.local_job_service", "apache_beam.options.pipeline_options"):
            logging.getLogger(name).setLevel(logging.ERROR)
    base = ["--runner=DirectRunner", "--default_sdk_harness_log_level=WARNING"]
    if workers > 1:
        base += [f"--direct_num_workers={workers}", "--direct_running_mode=multi_processing"]
    return PipelineOptions(base + given)


def prepare_beam(cfg: PrepareConfig, corpus: Path, codec, files: list[Path], shards: int) -> dict:
    beam = _beam()
    from apache_beam.io.filesystems import FileSystems
    from apache_beam.metrics.metric import MetricsFilter

    transposer(codec, cfg.transpose)  # a codec that cannot transpose is refused before the pipeline starts
    out = Path(cfg.out)
    workers = cfg.workers or 1
    scratch = out / f".beam-{uuid.uuid4().hex[:8]}"
    rels = [p.relative_to(corpus).as_posix() for p in files]
    job = {"corpus": str(corpus.resolve()), "name": corpus.name, "codec": codec.name, "params": codec.params,
           "transpose": cfg.transpose, "shards": shards, "out": str(out.resolve()),
           "official": official_split(corpus)}
    t0 = time.perf_counter()
    try:
        try:
            pipeline = beam.Pipeline(options=pipeline_options(cfg.beam_options, workers))
        except ValueError as e:  # an unknown runner, a malformed option
            raise CadenzaError(f"--beam-option: {e}") from None
        with pipeline as p:
            encoded = (p | "files" >> beam.Create(rels)
                         | "spread" >> beam.Reshuffle()
                         | "encode" >> beam.ParDo(Encode(job)).with_outputs("failed", main="records"))
            (encoded.records
             | "by shard" >> beam.GroupByKey()
             | "write shards" >> beam.ParDo(WriteShard(job))
             | "entries as json" >> beam.Map(json.dumps)
             | "write entries" >> beam.io.WriteToText(str(scratch / "entries"), file_name_suffix=".jsonl"))
            (encoded.failed
             | "failures as json" >> beam.Map(json.dumps)
             | "write failures" >> beam.io.WriteToText(str(scratch / "failed"), file_name_suffix=".jsonl"))
        result = p.result
        entries = _read_lines(FileSystems, str(scratch / "entries*"))
        failed = _read_lines(FileSystems, str(scratch / "failed*"))
        counters = _counters(result, MetricsFilter().with_namespace(NAMESPACE))
    finally:
        import shutil

        shutil.rmtree(scratch, ignore_errors=True)
    for k in range(shards):  # a shard no file hashed to is still written, empty, as prepare does
        path = out / f"shard-{k:05d}.npy"
        if not path.exists():
            path.write_bytes(shard_header(storage_dtype(codec), (0, *record_shape(codec))))
    manifest = manifest_of(corpus, codec, storage_dtype(codec), len(files), entries, failed, shards, cfg.transpose,
                           time.perf_counter() - t0, workers, "beam")
    manifest["totals"]["counters"] = {k: int(v or 0) for k, v in sorted(counters.items())}
    atomic_write_text(out / "manifest.json", json.dumps(manifest, indent=1))
    return manifest


def _counters(result, which) -> dict:
    """The pipeline's counters as the runner reports them (committed where it can, else attempted)."""
    try:
        found = result.metrics().query(which)["counters"]
    except Exception:  # noqa: BLE001 - a runner without metrics: the manifest still counts and lists
        return {}
    return {c.key.metric.name: c.committed if c.committed is not None else c.attempted for c in found}


def _read_lines(fs, pattern: str) -> list[dict]:
    rows = []
    for match in fs.match([pattern])[0].metadata_list:
        with fs.open(match.path) as f:
            rows += [json.loads(line) for line in f.read().decode().splitlines() if line.strip()]
    return rows


class Encode(_DoFn):
    """A file's path -> (shard, (path, shift, ids)) for it and its transposed copies; or its failure."""

    def __init__(self, job: dict):
        self.job = job

    def setup(self):
        from apache_beam.metrics import Metrics

        self.codec = get_codec(self.job["codec"], **self.job["params"])
        self.table = transposer(self.codec, self.job["transpose"])
        self.ok = Metrics.counter(NAMESPACE, "files_encoded")
        self.bad = Metrics.counter(NAMESPACE, "files_failed")
        self.tokens = Metrics.counter(NAMESPACE, "tokens")

    def process(self, rel: str):
        from apache_beam import pvalue

        path = os.path.join(self.job["corpus"], rel)
        ids, err = encode_with(self.codec, path)
        why = failure(rel, path, ids, err)
        if why:
            self.bad.inc()
            yield pvalue.TaggedOutput("failed", {"path": rel, "error": why})
            return
        self.ok.inc()
        k = shard_of(rel, self.job["shards"])
        for shift, rec in records(rel, ids, self.table, self.job["transpose"]):
            self.tokens.inc(len(rec))
            yield k, (rel, shift, rec)


class WriteShard(_DoFn):
    """(shard, its records) -> the shard's .npy, its records in path order; yields their manifest entries."""

    def __init__(self, job: dict):
        self.job = job

    def setup(self):
        self.codec = get_codec(self.job["codec"], **self.job["params"])
        self.dtype = storage_dtype(self.codec)

    def process(self, keyed):
        from apache_beam.io.filesystems import FileSystems

        k, recs = keyed
        recs = sorted(recs, key=lambda r: (r[0], r[1]))
        total = sum(len(r[2]) for r in recs)
        final = f"{self.job['out']}/shard-{k:05d}.npy"
        tmp = f"{self.job['out']}/.shard-{k:05d}.npy.{uuid.uuid4().hex[:8]}.tmp"
        with FileSystems.create(tmp) as f:
            f.write(shard_header(self.dtype, (total, *record_shape(self.codec))))
            for _, _, ids in recs:
                f.write(np.ascontiguousarray(ids, dtype=self.dtype).tobytes())
        if FileSystems.exists(final):  # a retried bundle writes its shard again: the newer copy wins
            FileSystems.delete([final])
        FileSystems.rename([tmp], [final])
        offset = 0
        for rel, shift, ids in recs:
            entry = {"path": rel, "tokens": int(len(ids)), "shard": k, "offset": offset,
                     "part": part_of(self.job["name"], rel, self.job["official"])}
            if self.job["transpose"]:
                entry["transpose"] = shift
            offset += len(ids)
            yield entry

