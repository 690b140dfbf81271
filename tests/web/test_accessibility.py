"""The page for everyone: axe-core (vendored in tests/web/vendor, MPL-2.0) checks it in Chromium and Firefox ESR
for every task's form; no serious or critical violation."""
from __future__ import annotations

import json

import pytest

from tests.web.test_page import open_page
from tests.web.test_page_tasks import pick_task

AXE = (__import__("pathlib").Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js").read_text()


def violations(driver) -> list[dict]:
    driver.execute_script(AXE + "\nreturn true;")
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then((r) => done(JSON.stringify(r.violations)))"
        ".catch((e) => done(JSON.stringify([{id: 'axe failed', impact: 'critical', help: String(e), nodes: []}])));")
    return json.loads(result)


@pytest.mark.parametrize("task", ["continue", "infill", "harmonize", "groove", "interpolate", "jam"])
def test_no_serious_or_critical_violations(browser, studio, task):
    open_page(browser, studio)
    pick_task(browser, task)
    browser.execute_script("document.getElementById('more').open = true; return true")
    found = violations(browser)
    bad = [(v["id"], v["impact"], v["help"], [n.get("target") for n in v["nodes"]][:3]) for v in found
           if v["impact"] in ("serious", "critical")]
    assert not bad, bad
