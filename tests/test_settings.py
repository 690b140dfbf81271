"""The one settings specification: the docs table, the CLI's flags, OSC and the watch folder's TOML all come
from it, and refuse a bad value with the same words."""
from __future__ import annotations

import pytest

from bridge import settings
from bridge.cli import build_parser, main
from tests.conftest import ROOT


def test_the_docs_table_is_the_specification():
    assert settings.markdown() in (ROOT / "docs" / "osc.md").read_text()


def test_every_setting_is_a_flag_of_generate_and_continue():
    for command in ("generate", "continue"):
        sub = [a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == command][0][1]
        flags = {opt for action in sub._actions for opt in action.option_strings}
        for spec in settings.SPEC:
            assert spec.osc_only or spec.flag in flags, (command, spec.flag)


def test_defaults_are_the_specifications():
    args = build_parser().parse_args(["generate"])
    assert settings.from_args(args) == settings.Settings()
    req = settings.request_of(settings.Settings(seed=3))
    assert (req.beats, req.seed, req.variations, req.qpm, req.sampling.strategy) == (16.0, 3, 1, 120.0, "top_p_notes")
    # the nucleus and the priors are the model's own unless asked (runner.as_drawn: its card's, else the defaults)
    assert (req.sampling.top_p, req.key_prior, req.register_prior) == (-1.0, -1.0, -1.0)


@pytest.mark.parametrize("key,value,words", [
    ("strategy", "beam", "unknown strategy 'beam'"),
    ("strategy", "top-p", "unknown strategy 'top-p' (did you mean 'top_p'?)"),  # a name typed a little wrong
    ("temperature", 50.0, "temperature 50.0 is out of range (0.01-10)"),
    ("scale", "H major", "unknown scale"),
    ("meter", "7/5", "meter '7/5'"),
    ("model", "../piano", "never by a path"),
])
def test_a_bad_value_is_refused_in_the_same_words_by_every_door(tmp_path, capsys, key, value, words):
    with pytest.raises(settings.SettingError) as e:  # OSC (/cadenza/set and request pairs), watch-folder TOML
        settings.apply(settings.Settings(), key, value)
    assert words in str(e.value)
    from bridge.host import protocol

    with pytest.raises(settings.SettingError):
        protocol.apply_pairs(protocol.Settings(), [key, value])
    if key != "model":  # the command line's --model also takes a folder (the operator's own)
        assert main(["generate", f"--{key.replace('_', '-')}", str(value), "--out", str(tmp_path / "x.mid")]) == 1
        assert words in capsys.readouterr().err


def test_seed_minus_one_draws_a_fresh_seed_and_reports_none_twice():
    seeds = {settings.request_of(settings.Settings()).seed for _ in range(20)}
    assert len(seeds) > 15 and all(0 <= s < 2**31 for s in seeds)
