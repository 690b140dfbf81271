"""A real daemon on an ephemeral UDP port of 127.0.0.1, and a real UDP client."""
from __future__ import annotations

import pytest

from bridge.harness.osc import Client
from tests.conftest import ROOT

MODEL = "chorale"  # the smallest shipped model: quick to load in every CI run


@pytest.fixture(scope="module")
def daemon(tmp_path_factory):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("serve")
    extra = root / "scores"
    extra.mkdir()
    cfg = ServeConfig(http_port=0, port=0, model=MODEL, inbox=root / "inbox", outbox=root / "outbox", allowed_dirs=[extra],
                      queue=4, beats=4.0, watch=False)
    d = Daemon(cfg)
    d.start()
    d.wait_ready(120)
    yield d
    d.stop()


@pytest.fixture
def client(daemon):
    c = Client(daemon.server.address[1])
    yield c
    c.close()


@pytest.fixture(scope="module", autouse=True)
def _no_leaks(no_leaks):
    """Every module here starts servers: each must end its threads and close its sockets (tests/conftest.py)."""
    yield
