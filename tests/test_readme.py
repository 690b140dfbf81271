"""The README's two commands are the ones CI and a newcomer run."""
from __future__ import annotations

import re

from tests.conftest import ROOT


def commands():
    text = (ROOT / "README.md").read_text()
    return re.findall(r"^    (python3 -m venv .+)$", text, flags=re.M)


def test_readme_starts_with_exactly_two_commands():
    install, test = commands()[:2]
    assert "cadenza " in install and "-m tests" in test
    assert len(commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text()
    assert commands()[1] in ci.splitlines()
