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


def test_every_listening_example_is_there_and_described():
    """docs/listen/README.md names each set of examples (`name-1..4`): each one's audio and picture are there,
    and no example is there that it does not describe."""
    import re

    folder = ROOT / "docs" / "listen"
    sets = re.findall(r"^\| `([a-z-]+)-1\.\.4` \|", (folder / "README.md").read_text(), re.M)
    assert {"piano", "chorale", "melody", "messages", "sonata-kern", "drums"} <= set(sets)
    named = {f"{s}-{k}.{ext}" for s in sets for k in range(1, 5) for ext in ("flac", "png")}
    there = {p.name for p in folder.iterdir() if p.suffix in (".flac", ".png")}
    assert named == there, (named ^ there)
