"""The architecture holds without anyone watching: import-linter's contracts (pyproject.toml) are kept, and
the OSC wire format lives only in the OSC door."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

# where an OSC address may be written: the OSC door and its socket loop, and the clients the tests and the
# benchmarks drive it with
OSC_HOMES = {"bridge/host/oscdoor.py", "bridge/host/osc.py", "bridge/host/protocol.py"}


def test_the_import_contracts_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    r = subprocess.run([str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
    assert "0 broken" in r.stdout


def addresses(path: Path) -> list[str]:
    """String constants (and f-string heads) in a module that are OSC addresses of ours."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            if text.startswith("/cadenza/") and " " not in text:
                found.append(text)
        elif isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
            if str(node.values[0].value).startswith("/cadenza"):
                found.append(str(node.values[0].value) + "...")
    return found


def test_osc_addresses_only_in_the_osc_door():
    stray = {}
    for path in sorted((ROOT / "bridge").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel in OSC_HOMES or rel.startswith(("bridge/bench/", "bridge/harness/")):
            continue
        hits = addresses(path)
        if hits:
            stray[rel] = hits
    assert not stray, f"OSC addresses outside the OSC door: {stray}"


def test_the_daemon_only_wires():
    """No door reaches for a private job body; daemon.py makes and starts the pieces, nothing more."""
    for path in (ROOT / "bridge").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "._generate(" not in text and "def _generate(" not in text, path
    assert len((ROOT / "bridge/host/daemon.py").read_text().splitlines()) < 250


def test_tests_share_the_harness_not_the_benchmarks():
    """What the tests and the benchmarks both need is in bridge/harness/; a test reaches into bridge/bench/ only
    to test a benchmark (tests/bench/), and then through its command where it can."""
    stray = {}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith("tests/bench/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bridge.bench"):
                stray.setdefault(rel, []).append(node.module)
            elif isinstance(node, ast.Import) and any(a.name.startswith("bridge.bench") for a in node.names):
                stray.setdefault(rel, []).append(node.names[0].name)
    assert not stray, f"tests importing from bridge/bench/: {stray}"
