"""Settings: defaults, then a TOML file, then flags; unknown keys and bad files are named."""
from __future__ import annotations

import pytest

from bridge.errors import CadenzaError
from bridge.host.config import build_config, load_toml


def test_toml_then_flags(tmp_path):
    f = tmp_path / "cadenza.toml"
    f.write_text('port = 9100\nmodel = "chorale"\nallow = ["10.0.0.0/8"]\n[watch]\nbeats = 32\n')
    cfg = build_config(load_toml(f), port=9200, host=None)
    assert (cfg.port, cfg.model, cfg.host, cfg.allow) == (9200, "chorale", "127.0.0.1", ["10.0.0.0/8"])
    assert cfg.watch_defaults == {"beats": 32}


def test_bad_config_is_named(tmp_path):
    f = tmp_path / "bad.toml"
    f.write_text("port = \n")
    with pytest.raises(CadenzaError, match="not valid TOML"):
        load_toml(f)
    with pytest.raises(CadenzaError, match="unknown setting 'colour'"):
        build_config({"colour": "red"})
    with pytest.raises(CadenzaError, match=r"unknown setting 'prot' in the config \(did you mean 'port'\?\)"):
        build_config({"prot": 9001})
    with pytest.raises(CadenzaError, match="not a UDP port"):
        build_config(port=70000)
