"""The `cadenza` command as a person runs it: in a subprocess, reading its output and exit code."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import CORPUS, corpus_files


def cadenza(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "bridge", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


def test_help_does_not_import_tensorflow_or_music21():
    code = ("import sys; from bridge.cli import main\n"
            "try: main(['--help'])\nexcept SystemExit: pass\n"
            "heavy = [m for m in ('tensorflow', 'tensorflow_io', 'music21', 'note_seq', 'numba', 'keras') if m in sys.modules]\n"
            "print('HEAVY', heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60).stdout
    assert "HEAVY []" in out
    assert "prepare" in out and "bench" in out


def test_prepare_command_reports_and_writes(tmp_path):
    corpus = tmp_path / "in"
    corpus.mkdir()
    for p in corpus_files("nottingham", "*.mid", 3, step=100):
        (corpus / p.name).write_bytes(p.read_bytes())
    (corpus / "broken.mid").write_bytes(b"MThd\x00")
    r = cadenza("prepare", corpus, "--codec", "notewise", "--out", tmp_path / "out", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "3 of 4 files encoded" in r.stdout and "broken.mid: truncated MIDI header" in r.stdout
    m = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert m["codec"]["params"]["steps_per_quarter"] == 12


def test_codec_parameters_from_the_command_line(tmp_path):
    corpus = corpus_files("nottingham", "*.mid", 1)[0].parent
    r = cadenza("prepare", corpus, "--codec", "performance", "--param", "num_velocity_bins=0",
                "--param", "nonsense=1", "--out", tmp_path / "o", "--quiet")
    assert r.returncode == 1 and "has no parameter(s) nonsense" in r.stderr


def test_errors_are_one_line_and_exit_non_zero(tmp_path):
    r = cadenza("prepare", tmp_path / "missing", "--out", tmp_path / "o")
    assert r.returncode == 1
    assert r.stderr.strip() == f"cadenza: error: {tmp_path / 'missing'}: no such folder"
    r = cadenza("prepare", CORPUS, "--codec", "wavenet", "--out", tmp_path / "o")
    assert r.returncode == 1 and "unknown codec 'wavenet'" in r.stderr
    r = cadenza("inspect", tmp_path / "x.mid")
    assert r.returncode == 1 and "cannot read file" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("args, said", [
    (("generat",), "invalid choice: 'generat'"),
    (("generate", "--temprature", "0.9"), "cadenza generate: error: unrecognized arguments: --temprature 0.9"),
    (("bench", "generate", "--modle", "piano"), "cadenza bench generate: error: unrecognized arguments: --modle"),
    (("serve", "--prot=9000"), "cadenza serve: error: unrecognized arguments: --prot=9000"),
])
def test_a_command_or_option_typed_a_little_wrong_is_refused_with_the_fix(args, said):
    """argparse names what it did not know; Cadenza adds the one it was near, from the command's own options."""
    fix = {"generat": "'generate'", "--temprature": "'--temperature'", "--modle": "'--model'", "--prot=9000": "'--port'"}
    r = cadenza(*args)
    assert r.returncode == 2 and said in r.stderr
    assert r.stderr.rstrip().endswith(f"(did you mean {fix[next(a for a in args if a in fix)]}?)"), r.stderr


def test_a_first_run_without_warm_says_why_it_waits(tmp_path):
    """On a new machine or path (nothing compiled: a new NUMBA_CACHE_DIR) a command that makes music first says
    that it compiles, on stderr, before the minute it takes (stopped once it has said so)."""
    import os

    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "numba")}
    p = subprocess.Popen([sys.executable, "-m", "bridge", "generate", "--model", "chorale", "--beats", "2", "--out",
                          str(tmp_path / "x.mid")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = p.stderr.readline()
    finally:
        p.kill()
        p.communicate()
    assert said.startswith("cadenza: compiling Cadenza for this machine, once") and "cadenza warm" in said
    r = cadenza("generate", "--model", "chorale", "--beats", "2", "--out", tmp_path / "y.mid")  # compiled: nothing said
    assert r.returncode == 0 and "compiling" not in r.stderr


def test_inspect_shows_tracks_and_tokens():
    path = corpus_files("piano-midi", "*.mid", 1)[0]
    r = cadenza("inspect", path, "--codec", "performance", "--tokens", "5")
    assert r.returncode == 0, r.stderr
    assert "track 0:" in r.stdout and "performance:" in r.stdout and "NOTE_ON_" in r.stdout


def test_codecs_lists_all_six():
    out = cadenza("codecs").stdout
    for name in ("performance", "notewise", "messages", "kern", "midibytes", "pianoroll"):
        assert name in out


def test_warm_compiles_ahead_and_names_a_model_it_cannot_find():
    """`cadenza warm` (the README's install command runs it before `cadenza serve`) runs each model it is given
    once and says how long each took; a name not in the store is named, and the exit status says so."""
    from tests.conftest import ROOT, cadenza

    if not (ROOT / "models" / "chorale" / "cadenza.json").is_file():
        import pytest

        pytest.skip("no shipped model")
    # the attention-LSTM's own kernels, and the harmony model's own loop, each in a second process meanwhile
    r = cadenza("warm", "chorale", "messages", "chorale-harmony")
    assert r.returncode == 0, r.stderr
    said = [line.split(":")[0] for line in r.stdout.splitlines()]
    assert sorted(said[:-1]) == ["MIDI reading and writing", "chorale", "chorale-harmony", "messages"], r.stdout
    assert said[-1].startswith("warm in")
    r = cadenza("warm", "no-such-model")
    assert r.returncode == 1 and "no-such-model" in r.stderr
    install = (ROOT / "README.md").read_text().split("\n    python3 -m venv")[1].splitlines()[0]
    assert install.index("cadenza warm") < install.index("cadenza serve")


def test_warm_compiles_what_an_infill_request_and_a_pedalled_piano_prime_run():
    """The warm-up runs an infill model's candidates as a request does (judged by the bits of the music after
    the gap: a first infill waited ~6 s for them to compile before) and encodes a prime with a sustain pedal as
    the piano model reads it: a request then adds no compiled version of either."""
    import subprocess
    import sys

    from tests.conftest import CORPUS, ROOT

    if not all((ROOT / "models" / m / "cadenza.json").is_file() for m in ("chorale-infill", "piano")):
        import pytest

        pytest.skip("no shipped model")
    code = ("from bridge import store; from bridge.generation.warm import warm; "
            "from bridge.generation import Request, kernels; from bridge.generation.infill import infill; "
            "from bridge.music import Score, _fast, read_midi; "
            "fill, piano = store.load('chorale-infill'), store.load('piano'); warm(fill); warm(piano); "
            "before = len(kernels.walk_bits.signatures), len(_fast.sustain_ends.signatures); "
            "infill(fill, Score.from_beats([(67 - i % 7, i * 0.5, 0.5, 90) for i in range(32)]), 4.0, 8.0, "
            "Request(seed=3), candidates=4); "
            f"piano.codec.encode(read_midi({str(CORPUS / 'piano-midi' / 'midis' / 'Chopin' / 'chpn-p7.mid')!r})); "
            "print(*before, len(kernels.walk_bits.signatures), len(_fast.sustain_ends.signatures))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert [int(x) for x in out.stdout.split()[-4:]] == [1, 1, 1, 1]


def test_warm_loads_what_a_kern_models_decode_reads_with():
    """A **kern model's text often splits its spines, which music21 reads (a second to import): the warm-up
    loads and runs it, so the sonata model's first request after a restart is not a second slower than the
    next (it was 1.2-1.3 s against 0.12 s, `cadenza bench serve`)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    if not (ROOT / "models" / "sonata-kern" / "cadenza.json").is_file():
        import pytest

        pytest.skip("no shipped **kern model")
    code = ("import sys; from bridge import store; from bridge.generation.warm import warm; "
            "loaded = store.load('sonata-kern'); print('music21' in sys.modules); warm(loaded); "
            "print('music21' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split()[-2:] == ["False", "True"]
