"""The example clients against real daemons."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module", autouse=True)
def _no_leaks(no_leaks):
    """Every module here starts servers: each must end its threads and close its sockets (tests/conftest.py)."""
    yield
