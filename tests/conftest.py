"""Shared fixtures: the real corpora in ../shared beside the repository, and MIDI built byte by byte."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
CORPUS = SHARED / "corpus"


def corpus_files(sub: str, pattern: str, count: int, step: int = 1) -> list[Path]:
    files = sorted((CORPUS / sub).rglob(pattern))
    if not files:
        pytest.skip(f"{CORPUS / sub} is not here")
    return files[::step][:count]


def vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def track(*events: bytes, end: bool = True) -> bytes:
    """An MTrk chunk from raw (delta + message) byte strings."""
    body = b"".join(events) + (b"\x00\xff\x2f\x00" if end else b"")
    return b"MTrk" + struct.pack(">I", len(body)) + body


def smf(*tracks: bytes, fmt: int = 1, division: int = 480, ntracks: int | None = None) -> bytes:
    n = len(tracks) if ntracks is None else ntracks
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n, division) + b"".join(tracks)


def ev(delta: int, *data: int) -> bytes:
    return vlq(delta) + bytes(data)


LASTING_THREADS = ("cadenza-part",)  # the one pool every model's split batches share: made once, kept by design
FD_SLACK = 8  # files a module may leave open for good (caches opened once: numba's index, TensorFlow's)


def _our_threads() -> set:
    import threading

    return {t for t in threading.enumerate() if t.name.startswith(("cadenza", "Thread-")) and t.is_alive()
            and not t.name.startswith(LASTING_THREADS)}


def _open_fds() -> int:
    import os

    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: nothing to count
        return 0


@pytest.fixture(scope="module")
def no_leaks():
    """Around a module that starts servers: every thread it started has ended and its sockets and files are
    closed when it is done (a daemon's stop() must leave nothing behind)."""
    import time

    threads, fds = _our_threads(), _open_fds()
    yield
    deadline = time.time() + 15
    while time.time() < deadline and ((_our_threads() - threads) or _open_fds() > fds + FD_SLACK):
        time.sleep(0.1)
    left = sorted(t.name for t in _our_threads() - threads)
    assert not left, f"threads left running: {left}"
    assert _open_fds() <= fds + FD_SLACK, f"{_open_fds() - fds} files or sockets left open"


class Ran:
    """What a command printed and returned, as subprocess.CompletedProcess has it."""

    def __init__(self, returncode: int, stdout: str, stderr: str):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def cadenza(*args, cwd=None) -> Ran:
    """`cadenza ARGS` in this process (bridge.cli.main, its output captured): the same command line and
    output as a subprocess, without importing TensorFlow again for each call. Tests of start-up, signals
    and the entry point itself still run a real process."""
    import contextlib
    import io
    import os

    from bridge.cli import main

    out, err = io.StringIO(), io.StringIO()
    here = os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                code = main([str(a) for a in args])
            except SystemExit as e:  # argparse's refusals
                code = e.code if isinstance(e.code, int) else 2
    finally:
        os.chdir(here)
    return Ran(code, out.getvalue(), err.getvalue())


# ----- tiny models, trained once per test session ---------------------------------------------------------
# What they test is the machinery (training, export, safe loading, the doors), not the music: a few steps on a
# handful of real files. Each is trained the first time a test asks for it and kept in one folder for the
# whole session; pytest-xdist's workers share that folder, and a lock makes a second worker wait for the first
# worker's model instead of training its own.
CHORALES = CORPUS / "kern" / "bach-370-chorales"
GROOVE = CORPUS / "groove"


def _train_notewise(out: Path) -> Path:
    from bridge.training.train import TrainConfig, train

    return train(TrainConfig(data=[CHORALES], name="tiny", codec="notewise",
                             arch_args={"layers": 1, "units": 64, "embed": 16}, seq_len=64, batch=16,
                             steps_per_epoch=60, epochs=5, patience=10, max_files=24, val_fraction=0.2,
                             gen_fraction=0.2, out=out, runs=out / "runs", verbose=0))


def _train_harmony(out: Path) -> Path:
    from bridge.training.train import TrainConfig, train

    return train(TrainConfig(data=[CHORALES], name="harmony", codec="harmony",
                             arch_args={"layers": 1, "units": 64, "embed": 16}, seq_len=64, batch=16,
                             steps_per_epoch=15, epochs=2, patience=10, max_files=24, val_fraction=0.2,
                             gen_fraction=0.2, out=out, runs=out / "runs", verbose=0))


def _train_fim(out: Path) -> Path:
    """An infill model from the shipped chorale model's weights (a few steps)."""
    import json

    from bridge.training.train import TrainConfig, train

    meta = json.loads((ROOT / "models" / "chorale" / "cadenza.json").read_text())
    return train(TrainConfig(data=[CHORALES], name="fim", codec="notewise", arch_args=meta["arch"]["args"],
                             init="chorale", fim=True, seq_len=64, batch=16, steps_per_epoch=8, epochs=1,
                             patience=10, max_files=24, out=out, runs=out / "runs", verbose=0))


def _train_groove(out: Path) -> Path:
    from bridge.training.groove import GrooveConfig, train_groove

    return train_groove(GrooveConfig(data=GROOVE, name="groove", out=out, max_files=12, steps_per_epoch=4, epochs=2,
                                     args={"latent": 8, "enc_units": 16, "dec_units": 32}, verbose=0))


def _train_drums(out: Path) -> Path:
    from bridge.training.train import TrainConfig, train

    return train(TrainConfig(data=[GROOVE], name="drums", codec="drums", arch_args={"layers": 1, "units": 32},
                             transpose=0, seq_len=64, batch=8, steps_per_epoch=5, epochs=1, max_files=40,
                             out=out, runs=out / "runs", verbose=0))


TINY = {  # name: (how it is trained, what it needs)
    "tiny": (_train_notewise, [CHORALES]),
    "harmony": (_train_harmony, [CHORALES]),
    "fim": (_train_fim, [CHORALES, ROOT / "models" / "chorale" / "cadenza.json"]),
    "groove": (_train_groove, [GROOVE]),
    "drums": (_train_drums, [GROOVE]),
}


def tiny_cache(factory) -> Path:
    """The session's model folder: beside the workers' own temporary folders when xdist runs them, so that
    all of them see it; it goes with pytest's temporary folders (nothing is kept between sessions)."""
    import os

    base = factory.getbasetemp()
    return (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "tiny-models"


def tiny_model(factory, name: str) -> Path:
    """The folder of the tiny model `name` (TINY), trained now unless this session already has it."""
    import fcntl
    import shutil

    train, needs = TINY[name]
    missing = [str(p) for p in needs if not p.exists()]
    if missing:
        pytest.skip(f"not here: {', '.join(missing)}")
    cache = tiny_cache(factory)
    cache.mkdir(parents=True, exist_ok=True)
    done = cache / name
    with open(cache / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another worker training it: wait for its model
        if not (done / "cadenza.json").is_file():
            partial = cache / f"{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)  # what a failed attempt left
            train(partial).rename(done)  # whole or not at all: a model folder appears only when complete
            shutil.rmtree(partial)  # its training logs
    return done


def _session_model(fixture: str, name: str, doc: str):
    """A session fixture giving the folder of the tiny model `name`."""
    def folder(tmp_path_factory):
        return tiny_model(tmp_path_factory, name)

    folder.__doc__ = doc
    return pytest.fixture(scope="session", name=fixture)(folder)


tiny = _session_model("tiny", "tiny", "Three hundred steps of a note-wise model on a handful of chorales.")
harmony = _session_model("harmony", "harmony", "A harmony model trained on a few chorales (real, if not musical).")
fim_model = _session_model("fim_model", "fim", "An infill model from the shipped chorale model's weights.")
tiny_groove = _session_model("tiny_groove", "groove", "A groove model: a few steps on a dozen files.")
tiny_drums = _session_model("tiny_drums", "drums", "The drums LSTM: a few steps on the Groove MIDI Dataset.")
