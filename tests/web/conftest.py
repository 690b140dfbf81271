"""A real daemon serving the page on a free port of 127.0.0.1, and a real headless Chromium."""
from __future__ import annotations

import shutil
import socket

import pytest

from tests.conftest import ROOT

MODEL = "chorale"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
DRIVER = shutil.which("chromedriver")


def free_tcp_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    if not (ROOT / "models" / MODEL / "cadenza.json").is_file():
        pytest.skip("no shipped model")
    from bridge.host.config import ServeConfig
    from bridge.host.daemon import Daemon

    root = tmp_path_factory.mktemp("studio")
    d = Daemon(ServeConfig(port=0, http_port=free_tcp_port(), model=MODEL, inbox=root / "inbox",
                           outbox=root / "outbox", watch=False, beats=8.0))
    d.start()
    d.wait_ready(120)
    yield d
    d.stop()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM or not DRIVER:
        pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
    from bridge.bench.web import browser as headless_chromium

    driver = headless_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module", autouse=True)
def _no_leaks(no_leaks):
    """Every module here starts servers: each must end its threads and close its sockets (tests/conftest.py)."""
    yield
