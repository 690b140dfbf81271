"""Cadenza Studio in a real headless Chromium against a real daemon: upload, continue, notes drawn as they
stream, audio that plays, a download mido reads; bad input named on the page; rebinding and cross-origin
requests refused."""
from __future__ import annotations

import http.client
import io
import json
import time
import urllib.request

import mido

from tests.test_continuation import prime_file


def wait(driver, script, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(f"return {script}")
        if value:
            return value
        time.sleep(0.05)
    message = driver.execute_script("return document.getElementById('message').textContent")
    raise AssertionError(f"{script} never true; the page says: {message}")


def open_page(driver, studio):
    driver.get(studio.web.url)
    wait(driver, "window.cadenza && window.cadenza.ready")


def choose(driver, kind):
    driver.find_element("css selector", f'input[name="prime"][value="{kind}"]').click()


def test_upload_continue_draw_listen_and_download(browser, studio, tmp_path):
    prime_file(tmp_path / "waltz.mid", [(0, 90.0)], (3, 4))
    open_page(browser, studio)
    choose(browser, "upload")
    browser.find_element("id", "file").send_keys(str(tmp_path / "waltz.mid"))
    wait(browser, "document.getElementById('upload-name').textContent.includes('waltz.mid')")
    assert browser.execute_script("return window.cadenza.prime.notes.length") > 10
    browser.find_element("id", "go").click()
    wait(browser, "window.cadenza.done")
    assert browser.execute_script("return window.cadenza.error") is None
    assert browser.execute_script("return window.cadenza.drawnNotes") > 0
    assert browser.execute_script("return window.cadenza.firstNoteAt") is not None
    # the daemon's rendering plays on the page
    browser.execute_script("document.getElementById('audio').load()")  # rendered when asked for
    wait(browser, "document.getElementById('audio').duration > 0", timeout=120)
    # the MIDI download is the file continued: mido reads it, prime and new music in it
    href = browser.execute_script("return document.querySelector('#downloads a').href")
    data = urllib.request.urlopen(href, timeout=30).read()
    mid = mido.MidiFile(file=io.BytesIO(data))
    ons = [m for t in mid.tracks for m in t if m.type == "note_on" and m.velocity]
    assert len(ons) > 12
    assert any(m.type == "time_signature" and (m.numerator, m.denominator) == (3, 4) for t in mid.tracks for m in t)
    # the history lists it
    wait(browser, "document.querySelectorAll('#history li').length > 0", timeout=10)


def test_a_piece_from_the_generation_set_and_notes_played_on_the_keys(browser, studio):
    open_page(browser, studio)
    choose(browser, "notes")
    keys = browser.find_elements("css selector", "#keys button")
    for k in keys[:8:2]:
        k.click()
    assert browser.execute_script("return window.cadenza.played.length") >= 4
    browser.find_element("id", "go").click()
    wait(browser, "window.cadenza.done")
    assert browser.execute_script("return window.cadenza.error") is None
    pieces = json.loads(urllib.request.urlopen(studio.web.url + "api/pieces?model=chorale", timeout=10).read())
    if pieces["pieces"]:
        choose(browser, "piece")
        browser.find_element("id", "go").click()
        wait(browser, "window.cadenza.done")
        assert browser.execute_script("return window.cadenza.error") is None
        assert browser.execute_script("return window.cadenza.prime.notes.length") > 0


def test_bad_input_is_named_on_the_page(browser, studio, tmp_path):
    open_page(browser, studio)
    temp = browser.find_element("id", "set-temperature")
    temp.clear()
    temp.send_keys("50")
    browser.find_element("id", "go").click()
    wait(browser, "document.getElementById('message').textContent.includes('temperature')")
    assert "field-error" in temp.get_attribute("class")
    temp.clear()
    temp.send_keys("1")
    choose(browser, "upload")
    (tmp_path / "notes.mid").write_text("these are my notes, not a MIDI file")
    browser.find_element("id", "file").send_keys(str(tmp_path / "notes.mid"))
    wait(browser, "document.getElementById('message').textContent.includes('not a music file')")
    old = studio.cfg.max_upload_mb
    studio.cfg.max_upload_mb = 0.0001  # 105 bytes
    try:
        prime_file(tmp_path / "big.mid", [(0, 120.0)], (4, 4))
        browser.find_element("id", "file").send_keys(str(tmp_path / "big.mid"))
        wait(browser, "document.getElementById('message').textContent.includes('larger than')")
    finally:
        studio.cfg.max_upload_mb = old
    # and it serves on
    browser.find_element("css selector", 'input[name="prime"][value="none"]').click()
    browser.find_element("id", "go").click()
    wait(browser, "window.cadenza.done")
    assert browser.execute_script("return window.cadenza.error") is None


def sse(data: bytes) -> list[dict]:
    return [json.loads(line[6:]) for line in data.decode().splitlines() if line.startswith("data: ")]


def request(studio, method, path, headers, body=None):
    host, port = studio.web.address
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request(method, path, body=body, headers=headers)
    r = c.getresponse()
    out = r.status, r.read()
    c.close()
    return out


def test_rebinding_and_cross_origin_requests_are_refused(studio):
    port = studio.web.address[1]
    status, _ = request(studio, "GET", "/", {"Host": f"evil.example:{port}"})
    assert status == 421
    status, _ = request(studio, "GET", "/api/models", {"Host": "evil.example"})
    assert status == 421
    token = studio.web.token
    body = json.dumps({"settings": {}, "prime": {"kind": "none"}})
    for path in ("/api/jobs", "/api/upload", "/api/jobs/x/cancel"):
        status, _ = request(studio, "POST", path, {"Host": f"127.0.0.1:{port}", "Origin": "http://evil.example",
                                                   "X-Cadenza-Token": token, "Content-Type": "application/json"}, body)
        assert status == 403, path
        status, _ = request(studio, "POST", path, {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}",
                                                   "Content-Type": "application/json"}, body)
        assert status == 403, path  # no token
    status, out = request(studio, "POST", "/api/jobs", {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}",
                                                       "X-Cadenza-Token": token, "Content-Type": "application/json"}, body)
    events = sse(out)
    assert status == 200 and events[0]["type"] == "job" and events[-1]["type"] == "done"
    status, _ = request(studio, "GET", "/api/files/../../etc/passwd", {"Host": f"127.0.0.1:{port}"})
    assert status == 404


def test_over_the_cost_limit_is_refused_on_the_page_too(studio):
    port = studio.web.address[1]
    body = json.dumps({"settings": {"beats": 1024, "variations": 16}, "prime": {"kind": "none"}})
    status, out = request(studio, "POST", "/api/jobs", {"Host": f"127.0.0.1:{port}", "Origin": f"http://127.0.0.1:{port}",
                                                       "X-Cadenza-Token": studio.web.token,
                                                       "Content-Type": "application/json"}, body)
    assert status == 200
    events = sse(out)  # the answer is the request's event stream
    assert events[-1]["type"] == "error" and "--max-tokens" in events[-1]["message"]
    status, out = request(studio, "GET", f"/api/jobs/{events[0]['id']}/events", {"Host": f"127.0.0.1:{port}"})
    assert sse(out) == events[1:]  # and it can be read again by its id
