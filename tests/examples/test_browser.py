"""The pages people look at (gpio, weather, sse) in a real headless browser (Debian's chromium):
they render their live values with the page's own JavaScript, without console errors.

The browser is driven over the DevTools protocol (websocket-client): console calls, uncaught
exceptions and browser log entries (failed requests, CSP, ...) are all collected, and a
screenshot of each page is written to reports/examples-<name>.png.
"""
import base64
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest
import requests
import websocket

from examples_support import ROOT, chromium, running

CHROMIUM = chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
REPORTS = ROOT / "reports"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--hide-scrollbars", "--window-size=900,700"]


class Browser:
    """One headless chromium with a fresh profile, talking DevTools protocol to its page."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        self.ws = None
        self.next_id = 0
        self.events = []
        try:
            self._connect()
        except BaseException:
            self.close()
            raise

    def _connect(self):
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 20
        port = None
        while port is None:
            if self.proc.poll() is not None:
                raise RuntimeError("chromium exited with status %d" % self.proc.returncode)
            if time.monotonic() > deadline:
                raise RuntimeError("chromium did not open its DevTools port within 20 s")
            try:
                with open(port_file) as f:
                    port = int(f.readline().strip())
            except (OSError, ValueError):
                time.sleep(0.1)
        while True:
            pages = requests.get("http://127.0.0.1:%d/json/list" % port, timeout=5).json()
            pages = [p for p in pages if p.get("type") == "page"]
            if pages:
                break
            time.sleep(0.1)
        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=10,
                                              suppress_origin=True)
        for domain in ("Runtime", "Log", "Page"):
            self.call(domain + ".enable")

    def call(self, method, **params):
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def evaluate(self, expression):
        res = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return res.get("result", {}).get("value")

    def wait_for(self, expression, timeout=10.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.evaluate(expression):
                return True
            time.sleep(0.2)
        return False

    def errors(self):
        """Every console error, uncaught exception and error log entry seen so far."""
        out = []
        for ev in self.events:
            method, p = ev["method"], ev.get("params", {})
            if method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append("console.%s: %s" % (p["type"], " ".join(
                    str(a.get("value", a.get("description", ""))) for a in p.get("args", []))))
            elif method == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: %s %s" % (d.get("text", ""),
                                                 d.get("exception", {}).get("description", "")))
            elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append("log: %s %s" % (e.get("text", ""), e.get("url", "")))
        return out

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(base64.b64decode(data))
        os.replace(str(tmp), str(path))

    def close(self):
        if self.ws is not None:
            try:
                self.ws.close()
            except Exception:
                pass
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 15)
            except OSError:
                self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait(5)
        shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture
def browser():
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def open_page(browser, vb, ready):
    """Load the example's main page and wait until ``ready`` (a JS expression) is true."""
    browser.call("Page.navigate", url=vb.url + "/")
    assert browser.wait_for(ready), "page did not render its live values; DOM:\n%s\nerrors: %s" % (
        browser.evaluate("document.body ? document.body.innerText : ''"), browser.errors())


def check_clean(browser, name):
    time.sleep(0.5)                       # late errors (a failing poll) still get counted
    browser.evaluate("1")                 # drain events that arrived meanwhile
    browser.screenshot(REPORTS / ("examples-%s.png" % name))
    assert browser.errors() == []


def test_gpio_page(browser):
    with running("gpio") as vb:
        open_page(browser, vb, "document.querySelectorAll('#outputs .card').length == 2 && "
                               "document.querySelectorAll('#inputs .card').length == 2")
        text = browser.evaluate("document.querySelector('#pin-led .pin').textContent")
        assert text == "GPIO 2 = 0"
        # clicking the button goes through the page's fetch() to the board and back
        browser.evaluate("document.querySelector('#pin-led button').click()")
        assert browser.wait_for("document.querySelector('#pin-led .pin').textContent == 'GPIO 2 = 1'")
        assert requests.get(vb.url + "/api/pins", timeout=5).json()["outputs"][0]["value"] == 1
        check_clean(browser, "gpio")


def test_weather_page(browser):
    with running("weather") as vb:
        open_page(browser, vb, "/^\\d+\\.\\d$/.test(document.getElementById('temperature').textContent)"
                               " && /^\\d+\\.\\d$/.test(document.getElementById('humidity').textContent)")
        temp = float(browser.evaluate("document.getElementById('temperature').textContent"))
        assert 10 < temp < 35
        assert browser.wait_for("document.getElementById('footer').textContent.indexOf('dBm') > 0")
        assert browser.wait_for(
            "(document.querySelector('#tchart polyline').getAttribute('points') || '').length > 0")
        check_clean(browser, "weather")


def test_sse_page(browser):
    with running("sse") as vb:
        # two events: the one sent on connect and the next from the background task
        open_page(browser, vb, "parseInt(document.getElementById('count').textContent) >= 2")
        light = float(browser.evaluate("document.getElementById('light').textContent"))
        assert 0 <= light <= 100
        assert browser.evaluate("document.getElementById('state').textContent") == "live"
        assert browser.evaluate("document.getElementById('fill').style.width").endswith("%")
        check_clean(browser, "sse")
