"""The real browsers the page is tried in (its tests, `cadenza bench web`), behind one small interface (what
the tests use of Selenium's): Debian's Chromium through chromedriver (Selenium), and Debian's Firefox ESR
through Marionette (Mozilla's marionette-driver; geckodriver is not packaged there).

    driver.get(url); driver.execute_script("return ..."); el = driver.find_element("id", "go")
    el.click(); el.send_keys(text or a file path); el.text; el.get_attribute(name); el.size
    driver.drag(element, (x0, y0), (x1, y1))   # a real pointer drag, offsets from the element's centre
    driver.save_screenshot(path); driver.quit()
"""
from __future__ import annotations

import shutil

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
CHROMEDRIVER = shutil.which("chromedriver")
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox")
ENTER = "\ue007"  # the WebDriver key code both protocols take


def chromium():
    from selenium import webdriver
    from selenium.webdriver.common.action_chains import ActionChains

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1400,900", "--autoplay-policy=no-user-gesture-required"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(options=opts, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))

    def drag(element, start, end):
        ActionChains(driver).move_to_element_with_offset(element, *start).click_and_hold() \
            .move_to_element_with_offset(element, *end).release().perform()

    driver.drag = drag
    driver.kind = "chromium"
    return driver


class _Element:
    def __init__(self, el):
        self.el = el

    def click(self):
        self.el.click()

    def send_keys(self, text: str):
        self.el.send_keys(text)

    def clear(self):
        self.el.clear()

    def get_attribute(self, name: str):
        return self.el.get_attribute(name)

    @property
    def text(self) -> str:
        return self.el.text

    @property
    def size(self) -> dict:
        r = self.el.rect
        return {"width": r["width"], "height": r["height"]}

    def find_elements(self, by: str, value: str):
        return [_Element(e) for e in self.el.find_elements(_by(by), value)]


def _by(by: str):
    from marionette_driver.by import By

    return {"id": By.ID, "css selector": By.CSS_SELECTOR}[by]


class Firefox:
    """Firefox ESR, headless, through Marionette."""

    kind = "firefox"

    def __init__(self):
        from marionette_driver.marionette import Marionette

        import os
        import tempfile

        # port 0: a free port of its own (the default, 2828, is one per machine: two test workers would collide);
        # Firefox's own log goes to the temporary folder, not to gecko.log in the working directory
        self.m = Marionette(bin=FIREFOX, headless=True, port=0,
                            gecko_log=os.path.join(tempfile.gettempdir(), f"cadenza-gecko-{os.getpid()}.log"))
        self.m.start_session()
        self.m.set_window_rect(width=1400, height=900)

    def get(self, url: str):
        self.m.navigate(url)

    def execute_script(self, script: str):
        # in the page's own scope (Marionette's default sandbox does not see what the page sets on window)
        return self.m.execute_script(script, sandbox=None)

    def execute_async_script(self, script: str):
        return self.m.execute_async_script(script, sandbox=None, script_timeout=60000)

    def find_element(self, by: str, value: str):
        return _Element(self.m.find_element(_by(by), value))

    def find_elements(self, by: str, value: str):
        return [_Element(e) for e in self.m.find_elements(_by(by), value)]

    def drag(self, element, start, end):
        """A pointer drag through WebDriver actions, offsets from the element's centre."""
        r = element.el.rect
        cx, cy = r["x"] + r["width"] / 2, r["y"] + r["height"] / 2
        pointer = {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
            {"type": "pointerMove", "x": int(cx + start[0]), "y": int(cy + start[1]), "duration": 0},
            {"type": "pointerDown", "button": 0},
            {"type": "pointerMove", "x": int(cx + end[0]), "y": int(cy + end[1]), "duration": 100},
            {"type": "pointerUp", "button": 0}]}
        self.m._send_message("WebDriver:PerformActions", {"actions": [pointer]})
        self.m._send_message("WebDriver:ReleaseActions")

    def save_screenshot(self, path):
        with open(path, "wb") as f:
            f.write(self.m.screenshot(format="binary"))

    def quit(self):
        self.m.delete_session()
        self.m.cleanup()
