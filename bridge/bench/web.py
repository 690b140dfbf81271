"""`cadenza bench web`: the page as a person and as scripts use it, against the OSC door in the same run.

A daemon serves OSC and the page on free ports of 127.0.0.1; a headless Chromium (Debian's `chromium`
and `chromedriver`, through Selenium) opens the page:
- page load to interactive: navigation start to the page's script having its models and settings;
- click -> first note drawn: the page continues an 8-note prime (the same notes and settings as the
  OSC request) `--requests` times; p50 and p99, next to the OSC door's request -> first notes measured
  in the same run with the same prime;
- 8 browser-less HTTP clients x 50 requests (POST a request, read its events to the end): none lost.
"""
from __future__ import annotations

import http.client
import json
import shutil
import tempfile
import threading
import time
from pathlib import Path

from ..harness.browsers import CHROMEDRIVER, CHROMIUM, chromium
from ..harness.net import free_tcp_port
from .osc import PRIME, pct


def _wait(driver, script: str, timeout: float = 60.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = driver.execute_script(f"return {script}")
        if v:
            return v
        time.sleep(0.01)
    raise TimeoutError(script)


def _http_client(addr, token: str, n: int, beats: float, out: dict):
    host, port = addr
    for i in range(n):
        try:
            c = http.client.HTTPConnection(host, port, timeout=60)
            body = json.dumps({"settings": {"beats": beats, "seed": i}, "prime": {"kind": "notes", "notes":
                               [PRIME[j:j + 4] for j in range(0, len(PRIME), 4)]}})
            c.request("POST", "/api/jobs", body=body, headers={"Content-Type": "application/json",
                                                               "X-Cadenza-Token": token,
                                                               "Origin": f"http://{host}:{port}"})
            r = c.getresponse()
            data = r.read().decode()  # the request's events, to its end
            if r.status != 200:
                out["refused"] += 1
                continue
            last = None
            for line in data.splitlines():
                if line.startswith("data: "):
                    last = json.loads(line[6:])["type"]
            out["done" if last == "done" else "lost"] += 1
            c.close()
        except (OSError, ValueError):
            out["lost"] += 1


def run_web(model: str = "piano", requests: int = 20, beats: float = 16.0, clients: int = 8, per_client: int = 50,
            screenshot: str | None = None) -> dict:
    from ..host.config import ServeConfig
    from ..host.daemon import Daemon
    from .osc import _client

    tmp = Path(tempfile.mkdtemp(prefix="cadenza-bench-web-"))
    d = Daemon(ServeConfig(port=0, http_port=free_tcp_port(), model=model, inbox=tmp / "in", outbox=tmp / "out",
                           watch=False, queue=64))
    d.start()
    d.wait_ready(300)
    r: dict = {"model": model, "beats": beats}
    if not CHROMIUM or not CHROMEDRIVER:
        raise RuntimeError("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    driver = chromium()
    try:
        # the OSC door, the same prime and length, in this run
        osc: list = []
        lost: list = []
        _client(d.server.address[1], requests, beats, 60.0, osc, lost, 0)
        firsts = [f * 1000 for f, _ in osc if f is not None]
        r["osc_first_notes_ms"] = {"p50": pct(firsts, 50), "p99": pct(firsts, 99)}
        # the page
        t = time.perf_counter()
        driver.get(d.web.url)
        _wait(driver, "window.cadenza && window.cadenza.ready")
        r["page_load_to_interactive_ms"] = round(driver.execute_script("return window.cadenza.readyAt"), 1)
        r["page_load_wall_ms"] = round((time.perf_counter() - t) * 1000, 1)
        driver.find_element("css selector", 'input[name="prime"][value="notes"]').click()
        driver.execute_script("window.cadenza.played.push(...arguments[0])",
                              [PRIME[j:j + 4] for j in range(0, len(PRIME), 4)])
        beats_box = driver.find_element("id", "set-beats")
        beats_box.clear()
        beats_box.send_keys(str(beats))
        page = []
        for _ in range(requests):
            driver.find_element("id", "go").click()
            _wait(driver, "window.cadenza.done")
            page.append(driver.execute_script("return window.cadenza.firstNoteAt - window.cadenza.clickedAt"))
        r["page_click_to_first_note_ms"] = {"p50": round(pct(page, 50), 1), "p99": round(pct(page, 99), 1),
                                            "all": [round(x, 1) for x in page]}
        r["page_minus_osc_p50_ms"] = round(r["page_click_to_first_note_ms"]["p50"] - r["osc_first_notes_ms"]["p50"], 1)
        if screenshot:
            driver.execute_script("document.getElementById('set-beats').value = 32;"
                                  "document.getElementById('set-variations').value = 2")
            driver.find_element("id", "go").click()
            _wait(driver, "window.cadenza.done")
            driver.execute_script("window.scrollTo(0, 0)")
            driver.save_screenshot(screenshot)
            r["screenshot"] = screenshot
        r["tasks"] = _task_figures(driver, d, requests, tmp)  # infill and groove, as a person asks them
        # scripts over HTTP, 8 at once
        counts = {"done": 0, "lost": 0, "refused": 0}
        threads = [threading.Thread(target=_http_client, args=(d.web.address, d.web.token, per_client, 4.0, counts))
                   for _ in range(clients)]
        t = time.perf_counter()
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        r["http_clients"] = {"clients": clients, "requests_each": per_client, "done": counts["done"],
                             "lost": counts["lost"], "refused_busy": counts["refused"],
                             "seconds": round(time.perf_counter() - t, 2)}
    finally:
        driver.quit()
        d.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return r


def _pick(driver, select_id: str, value: str) -> bool:
    """Choose `value` in a select as a person would (its change event fires); False when it is not offered."""
    return driver.execute_script(
        "const s = document.getElementById(arguments[0]);"
        "if (![...s.options].some((o) => o.value === arguments[1])) return false;"
        "s.value = arguments[1]; s.dispatchEvent(new Event('change')); return true", select_id, value)


def _task_figures(driver, d, requests: int, tmp: Path) -> dict:
    """Click -> first note drawn for infill (a held-out chorale, a 4-beat region) and groove (a drum beat), as
    a person asks them on the page; a task whose model is not in the store is left out, and said."""
    from ..music import Score, Track, write_midi

    beat = tmp / "beat.mid"  # two bars of kick, snare and hi-hat on the grid: what groove plays with feel
    kit = [(36 if k % 4 == 0 else 38 if k % 4 == 2 else 42, 100, k * 240, k * 240 + 60) for k in range(32)]
    write_midi(Score(tpq=480, tracks=(Track(kit, is_drum=True, channel=9, name="kit"),)), beat)
    out = {}
    for task, model in (("infill", "chorale-infill"), ("groove", "groove")):
        if not _pick(driver, "task", task) or not _pick(driver, "model", model):
            out[task] = {"skipped": f"no {model} model in the store"}
            continue
        if task == "infill":  # a held-out piece of the model, beats 8-12 written anew
            driver.find_element("css selector", 'input[name="prime"][value="piece"]').click()
            _wait(driver, "document.getElementById('piece').options.length > 0")
            driver.execute_script("document.getElementById('region-start').value = 8;"
                                  "document.getElementById('region-end').value = 12")
        else:
            driver.find_element("css selector", 'input[name="prime"][value="upload"]').click()
            driver.find_element("id", "file").send_keys(str(beat))
            _wait(driver, "document.getElementById('upload-name').textContent.includes('beat.mid')")
        times = []
        for _ in range(requests):
            driver.find_element("id", "go").click()
            _wait(driver, "window.cadenza.done")
            if driver.execute_script("return window.cadenza.error"):
                raise RuntimeError(f"{task} on the page: {driver.execute_script('return window.cadenza.error')}")
            times.append(driver.execute_script("return window.cadenza.firstNoteAt - window.cadenza.clickedAt"))
        out[task] = {"model": model, "p50": round(pct(times, 50), 1), "p99": round(pct(times, 99), 1)}
    return out


def table_web(r: dict) -> str:
    h = r["http_clients"]
    tasks = [f"{t}: {f['skipped']}" if "skipped" in f else
             f"{t} ({f['model']}): click -> first note drawn p50 {f['p50']} ms, p99 {f['p99']} ms"
             for t, f in r.get("tasks", {}).items()]
    return "\n".join([
        f"page load to interactive {r['page_load_to_interactive_ms']} ms (wall {r['page_load_wall_ms']} ms)",
        f"continue: click -> first note drawn p50 {r['page_click_to_first_note_ms']['p50']} ms, p99 "
        f"{r['page_click_to_first_note_ms']['p99']} ms; OSC request -> first notes p50 {r['osc_first_notes_ms']['p50']:.1f}"
        f" ms, p99 {r['osc_first_notes_ms']['p99']:.1f} ms (page - OSC at p50: {r['page_minus_osc_p50_ms']} ms; goal <= 50)"]
        + tasks + [f"{h['clients']} HTTP clients x {h['requests_each']} requests: {h['done']} done, {h['lost']} lost, "
        f"{h['refused_busy']} refused busy, in {h['seconds']} s"])
