"""A real daemon serving the page on a free port of 127.0.0.1, and a real headless Chromium."""
from __future__ import annotations

import pytest

from bridge.harness.net import free_tcp_port
from tests.conftest import ROOT

MODEL = "chorale"


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


@pytest.fixture(scope="module", params=["chromium", "firefox"])
def browser(request):
    """Each page test runs in Chromium and again in Firefox ESR (bridge/harness/browsers.py)."""
    from bridge.harness import browsers

    if request.param == "chromium":
        if not browsers.CHROMIUM or not browsers.CHROMEDRIVER:
            pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)")
        driver = browsers.chromium()
    else:
        if not browsers.FIREFOX:
            pytest.skip("Firefox ESR is not installed (apt-get install firefox-esr)")
        pytest.importorskip("marionette_driver")
        driver = browsers.Firefox()
    yield driver
    driver.quit()


@pytest.fixture(scope="module", autouse=True)
def _no_leaks(no_leaks):
    """Every module here starts servers: each must end its threads and close its sockets (tests/conftest.py)."""
    yield
