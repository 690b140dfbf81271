"""Every task on the page, in a real headless Chromium against a real daemon: the form shows only what the task
and model take; infill over a dragged or typed region, harmonize, groove and drumify draw their notes as they
stream; bad input for each is one readable line and nothing is lost from the roll. With CADENZA_SCREENSHOTS=1
the tests also take the pictures in docs/ (studio-TASK.png, in Chromium)."""
from __future__ import annotations

import os

import pytest

from tests.conftest import ROOT
from tests.test_continuation import prime_file
from bridge.harness.browsers import ENTER
from tests.web.test_page import choose, open_page, wait

SHOTS = os.environ.get("CADENZA_SCREENSHOTS") == "1"


def shipped(name: str) -> bool:
    return (ROOT / "models" / name / "cadenza.json").is_file()


def pick_task(driver, task):
    driver.find_element("css selector", f"#task option[value={task}]").click()


def hidden(driver, id_) -> bool:
    return driver.execute_script(f"return document.getElementById('{id_}').hidden")


def visible(driver, name) -> bool:
    return driver.execute_script(f"const c = document.getElementById('cell-{name}'); return !!c && !c.hidden")


def models(driver) -> list[str]:
    return driver.execute_script("return [...document.getElementById('model').options].map((o) => o.value)")


def upload(driver, path):
    choose(driver, "upload")
    driver.find_element("id", "file").send_keys(str(path))
    wait(driver, f"document.getElementById('upload-name').textContent.includes('{path.name}')")


def run(driver):
    driver.find_element("id", "go").click()
    wait(driver, "window.cadenza.done", timeout=120)


def shot(driver, task):
    if SHOTS and driver.kind == "chromium":
        driver.save_screenshot(str(ROOT / "docs" / f"studio-{task}.png"))


def tune_file(path):
    from tests.generation.test_harmonize import tune_file as write

    return write(path)


def test_the_form_fits_the_task_and_the_model(browser, studio):
    open_page(browser, studio)
    assert visible(browser, "beats") and visible(browser, "temperature") and not visible(browser, "voices")
    assert not visible(browser, "humanize") and not visible(browser, "steps")
    assert not browser.execute_script("return document.getElementById('more').open")  # the rest waits under More
    assert "groove" not in models(browser)  # a groove model does not continue
    pick_task(browser, "groove")
    assert models(browser) == [m for m in ("groove",) if shipped(m)]
    assert visible(browser, "humanize") and visible(browser, "swing") and not visible(browser, "top_k")
    assert visible(browser, "temperature")  # how far the feel strays from the model's likeliest performance
    assert not visible(browser, "beats") and hidden(browser, "region-box")
    assert browser.execute_script("return document.querySelector('input[name=prime][value=none]').disabled")
    pick_task(browser, "infill")
    assert set(models(browser)) >= {m for m in ("chorale-infill", "piano-infill", "melody") if shipped(m)}
    assert not hidden(browser, "region-box") and not visible(browser, "beats")
    if shipped("chorale-harmony"):
        pick_task(browser, "harmonize")
        assert "chorale-harmony" in models(browser) and "chorale" not in models(browser)
        assert visible(browser, "voices") and not visible(browser, "beats") and not visible(browser, "density")
    # the model card: a line, its figures as a table, the licence in one line
    pick_task(browser, "continue")
    card = browser.find_element("id", "card")
    assert card.find_elements("css selector", "table tr") and "Licence:" in card.text
    assert "A digital edition" not in card.text  # not the raw licence text


@pytest.mark.skipif(not shipped("chorale-infill"), reason="no shipped infill model")
def test_infill_a_region_dragged_on_the_roll(browser, studio):
    open_page(browser, studio)
    pick_task(browser, "infill")
    source = ROOT.parent / "shared" / "corpus" / "kern" / "bach-370-chorales" / "chor012.krn"
    if not source.is_file():
        pytest.skip("corpus not here")
    upload(browser, source)
    before = browser.execute_script("return window.cadenza.prime.notes.length")
    roll = browser.find_element("id", "roll")
    width = roll.size["width"]
    end = browser.execute_script("return window.cadenza.prime.end")
    # drag from beat 4 to beat 8 of the piece
    x0, x1 = width * 4 / end - width / 2, width * 8 / end - width / 2
    browser.drag(roll, (x0, 0), (x1, 0))
    start, stop = browser.execute_script(
        "return [Number(document.getElementById('region-start').value), Number(document.getElementById('region-end').value)]")
    assert abs(start - 4) <= 0.5 and abs(stop - 8) <= 0.5
    run(browser)
    assert browser.execute_script("return window.cadenza.error") is None
    new = browser.execute_script("return window.cadenza.variations[1] || []")
    assert new and all(start - 1e-6 <= n[1] < stop for n in new)
    assert browser.execute_script("return window.cadenza.prime.notes.length") == before  # nothing lost
    assert browser.execute_script("return window.cadenza.drawnNotes") == len(new)
    shot(browser, "infill")
    # a region outside the piece: one line, the roll as it was
    browser.execute_script("document.getElementById('region-start').value = 900; "
                           "document.getElementById('region-end').value = 904;")
    run(browser)
    message = browser.find_element("id", "message").text
    assert message and "\n" not in message and browser.execute_script("return window.cadenza.error")
    assert browser.execute_script("return window.cadenza.prime.notes.length") == before


@pytest.mark.skipif(not shipped("chorale-harmony"), reason="no shipped harmony model")
def test_harmonize_a_melody_on_the_page(browser, studio, tmp_path):
    open_page(browser, studio)
    pick_task(browser, "harmonize")
    upload(browser, tune_file(tmp_path / "tune.mid"))
    browser.find_element("id", "go").send_keys(ENTER)  # Enter on the button runs it
    wait(browser, "window.cadenza.done", timeout=120)
    assert browser.execute_script("return window.cadenza.error") is None
    parts = browser.execute_script("return window.cadenza.variations[1] || []")
    melody = browser.execute_script("return window.cadenza.prime.notes")
    assert parts and browser.execute_script("return window.cadenza.drawnNotes") == len(parts)
    for p, s, d, v in parts:  # under the melody note sounding then
        top = [m[0] for m in melody if m[1] <= s + 1e-6]
        assert p < top[-1]
    shot(browser, "harmonize")
    # chords are not a melody: named on the page
    prime_file(tmp_path / "chords.mid", [(0, 100.0)], (4, 4), drums=False)
    chords = tmp_path / "chords.mid"
    from bridge.music import Score, write_midi

    write_midi(Score.from_beats([(p, b, 1, 90) for b in range(8) for p in (60, 64, 67)], qpm=100), chords)
    upload(browser, chords)
    run(browser)
    assert "one note at a time" in browser.find_element("id", "message").text


@pytest.mark.skipif(not shipped("groove"), reason="no shipped groove model")
def test_groove_and_drumify_on_the_page(browser, studio, tmp_path):
    open_page(browser, studio)
    pick_task(browser, "groove")
    prime_file(tmp_path / "beat.mid", [(0, 100.0)], (4, 4), pitched=False)
    upload(browser, tmp_path / "beat.mid")
    run(browser)
    assert browser.execute_script("return window.cadenza.error") is None
    hits = browser.execute_script("return window.cadenza.variations[1] || []")
    assert hits and all(35 <= h[0] <= 59 for h in hits)
    # drawn on the drum grid: nine rows, the kit's, each hit in its piece's row
    grid = browser.execute_script("return window.cadenza.grid")
    assert grid["rows"][:3] == ["kick", "snare", "closed hi-hat"] and len(grid["rows"]) == 9
    assert sum(grid["hits"].values()) == len(hits) and grid["hits"].get("kick", 0) > 0
    shot(browser, "groove")
    # a file with no drums: groove says so, on one line
    prime_file(tmp_path / "tune.mid", [(0, 100.0)], (4, 4), drums=False)
    upload(browser, tmp_path / "tune.mid")
    run(browser)
    assert "no drums" in browser.find_element("id", "message").text
    # drumify plays a kit for the same tune's rhythm
    pick_task(browser, "drumify")
    run(browser)
    assert browser.execute_script("return window.cadenza.error") is None
    assert browser.execute_script("return (window.cadenza.variations[1] || []).length") > 0
    assert browser.execute_script("return window.cadenza.grid.rows.length") == 9  # the kit, and the tune's rhythm
    shot(browser, "drumify")


@pytest.mark.skipif(not shipped("groove"), reason="no shipped groove model")
def test_interpolate_from_one_beat_to_another_on_the_page(browser, studio, tmp_path):
    """Interpolate: the prime is the first beat, a second file the beat to end on; the steps come back on the
    drum grid. Without the second beat the page says what is missing and sends nothing."""
    from mido import MidiFile

    open_page(browser, studio)
    pick_task(browser, "interpolate")
    assert not hidden(browser, "second-box") and visible(browser, "steps")
    prime_file(tmp_path / "a.mid", [(0, 100.0)], (4, 4), pitched=False)
    upload(browser, tmp_path / "a.mid")
    browser.find_element("id", "go").click()
    wait(browser, "document.getElementById('message').textContent.includes('beat to end on')")
    # the second beat: the same kit a half-bar later in each bar (kick and snare swapped)
    mid = MidiFile(tmp_path / "a.mid")
    for track in mid.tracks:
        for msg in track:
            if msg.type in ("note_on", "note_off") and msg.note in (36, 38):
                msg.note = 74 - msg.note
    mid.save(tmp_path / "b.mid")
    browser.find_element("id", "file2").send_keys(str(tmp_path / "b.mid"))
    wait(browser, "document.getElementById('second-name').textContent.includes('b.mid')")
    run(browser)
    assert browser.execute_script("return window.cadenza.error") is None
    steps = browser.execute_script("return window.cadenza.variations")
    assert sorted(steps) == ["1", "2", "3", "4", "5"] and all(steps.values())  # five steps (the default), each a beat
    grid = browser.execute_script("return window.cadenza.grid")
    assert len(grid["rows"]) == 9 and sum(grid["hits"].values()) == sum(len(v) for v in steps.values())
    shot(browser, "interpolate")


PLAY_PHRASE = """
const j = window.cadenza.jam, keys = [...document.querySelectorAll('#keys button')];
const b0 = Math.ceil((performance.now() / 1000 - j.t0) * j.qpm / 60) + 0.25;  // a quarter past the next beat
const ms = (beat) => Math.max(0, (j.t0 + beat * 60 / j.qpm) * 1000 - performance.now());
[0, 4, 7, 12].forEach((k, i) => {  // C E G C, a note every half beat, each held 0.4 of a beat
  setTimeout(() => keys[k].dispatchEvent(new PointerEvent('pointerdown')), ms(b0 + i / 2));
  setTimeout(() => keys[k].dispatchEvent(new PointerEvent('pointerup')), ms(b0 + i / 2 + 0.4));
});
return b0;
"""


def test_jam_on_the_page_answers_on_the_next_bar_line_and_lets_the_player_lead(browser, studio):
    """Jam: the page's clock at its tempo; a phrase played on the keys is answered from the first bar line after
    the wait, each note at its beat; a note played before the answer sounds drops it; a bad tempo is one line."""
    open_page(browser, studio)
    pick_task(browser, "jam")
    assert not hidden(browser, "jam-box") and hidden(browser, "region-box")
    assert browser.execute_script("return document.querySelector('input[name=prime][value=notes]').checked")
    assert browser.execute_script("return document.querySelector('input[name=prime][value=upload]').disabled")
    assert visible(browser, "temperature") and not visible(browser, "beats") and not visible(browser, "variations")
    assert "chorale" in models(browser) and "groove" not in models(browser)
    browser.execute_script("document.getElementById('set-qpm').value = 120; document.getElementById('jam-wait').value = 1;"
                           "document.getElementById('jam-bars').value = 1; return true")
    go = browser.find_element("id", "go")
    assert go.text == "Start jamming"
    go.click()
    assert browser.execute_script("return window.cadenza.jam.on") and go.text == "Stop jamming"
    b0 = browser.execute_script(PLAY_PHRASE)
    wait(browser, "window.cadenza.jam.log.length && window.cadenza.jam.log[0].first !== null", timeout=60)
    entry = browser.execute_script("return window.cadenza.jam.log[0]")
    assert entry["phrase"] == 4 and entry["error"] is None, entry
    assert entry["lastOff"] >= b0 + 1.9 - 0.01  # the phrase ended when its last note did
    assert entry["asked"] >= entry["lastOff"] + 1 - 0.05  # after one beat of silence
    assert entry["downbeat"] % 4 == 0 and entry["downbeat"] >= entry["asked"]  # a bar line: 4/4 at the page's clock
    assert entry["downbeat"] > entry["arrived"]  # the answer was there before its bar line (else the next one)
    assert entry["downbeat"] <= entry["first"] < entry["downbeat"] + 4 and entry["notes"] > 0
    # the whole answer drawn on the roll (the page draws on its next animation frame: waited for, as a player
    # would see it, not read at once: a busy headless browser may draw a frame late)
    wait(browser, "(!window.cadenza.jam.answer || window.cadenza.jam.answer.done)"
                  " && window.cadenza.drawnNotes === window.cadenza.jam.log[0].notes", timeout=60)
    assert browser.execute_script("return window.cadenza.prime.notes.length") == 4
    shot(browser, "jam")
    # the player leads: a note played while the answer is still due drops what has not sounded
    before = browser.execute_script(
        "const j = window.cadenza.jam, e = j.log[0], k = document.querySelectorAll('#keys button')[2];"
        "const now = (performance.now() / 1000 - j.t0) * j.qpm / 60;"
        "k.dispatchEvent(new PointerEvent('pointerdown')); k.dispatchEvent(new PointerEvent('pointerup'));"
        "return now < e.first")
    entry = browser.execute_script("return window.cadenza.jam.log[0]")
    if before:
        assert entry["dropped"] == entry["notes"], entry
    assert browser.execute_script("return window.cadenza.jam.answer") is None
    go.click()
    assert not browser.execute_script("return window.cadenza.jam.on") and go.text == "Start jamming"
    # a tempo the clock cannot keep: one line, the field marked, no jam
    browser.execute_script("document.getElementById('set-qpm').value = 1000; return true")
    go.click()
    message = browser.find_element("id", "message").text
    assert "tempo" in message and "\n" not in message and not browser.execute_script("return window.cadenza.jam.on")
    assert browser.execute_script("return document.getElementById('set-qpm').classList.contains('field-error')")
