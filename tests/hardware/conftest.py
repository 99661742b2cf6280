"""The hardware suite: real clients against the smoke app on a board or on the virtual board.

``pytest tests/hardware --device http://192.168.1.50:5000`` tests a live board. Without
``--device`` the suite starts the target of ``--hw-board`` itself, through the Target interface
(tools.targets.select.open_target): for UNIX (the default) the virtual board - the MicroPython
unix port with the board's modules compiled by mpy-cross - so plain ``pytest`` includes it.

Each test records its latency (``latency_ms``, the duration of its exchanges with the board) as
a JUnit property; the board's free heap at the start and end of the run is recorded as suite
properties (``heap_free_before``/``heap_free_after``). ``python -m tools.suite.smoke`` prints both.

The OTA tests that need the board's token get it from ``--ota-token`` (default: $OTA_TOKEN) and
sign their requests with it (tests/ota_sign.py; the token itself is never sent); the virtual
board is given one (that token, else a random one) in a wifi.json of its own.

A board serving HTTPS with its own certificate (``make cert``; ``--device https://...``) is
tested through ``--pin`` (``make test-hw CERT=certs/<name>`` or ``PIN=<sha256>``): the suite
first checks that the board presents that certificate and stops with one line when it does not;
every connection after that (requests, raw sockets) is pinned too (tools/device/cert.py).
"""
import json
import os
import secrets
import socket

import pytest
import requests

from tools.device import cert as C
from tools.targets.base import TargetError
from tools.targets.select import open_target, target_class
from tools.targets.virtual import SMOKE_APP, VirtualBoard

_LATENCIES = {}
_HEAP = {}


def pytest_addoption(parser):
    group = parser.getgroup("hardware", "hardware suite (tests/hardware)")
    options = [
        ("--device", dict(default=None, metavar="URL",
                          help="base URL of a board running the smoke app, e.g. "
                               "http://192.168.1.50:5000 (default: start the virtual board)")),
        ("--hw-board", dict(default="UNIX", metavar="BOARD",
                            help="board whose modules the virtual board gets (default UNIX)")),
        ("--hw-micropython", dict(default=None, metavar="BIN",
                                  help="micropython binary for the virtual board")),
        ("--hw-expect", dict(default=None, metavar="EXTS",
                             help="comma-separated extensions the image must hold ('none': core "
                                  "only); the virtual board knows this by itself")),
        ("--ota-token", dict(default=os.environ.get("OTA_TOKEN") or None, metavar="TOKEN",
                             help="the board's OTA token (make wifi OTA_TOKEN=...), for the OTA "
                                  "tests that need it (default: $OTA_TOKEN; the virtual board "
                                  "gets this one or a random one)")),
        ("--pin", dict(default=None, metavar="CERT",
                       help="for an https:// --device: the board's certificate, a make cert folder "
                            "(CERT=) or its sha256 (PIN=); any other is refused")),
    ]
    for name, kwargs in options:
        try:
            group.addoption(name, **kwargs)
        except ValueError:  # already registered by tests/conftest.py
            pass


class Target:
    """Where the smoke app runs and what its image is expected to hold."""

    def __init__(self, url, kind, expected=None, vb=None, ota_token=None, pin=None):
        self.url = url.rstrip("/")
        self.pin = pin  # sha256 of the board's certificate (https:// only)
        self.kind = kind  # "device", or the started target's kind ("virtual", "qemu-esp32")
        self.expected = expected
        self.vb = vb  # the virtual board started here (its files can be looked at), else None
        self.ota_token = ota_token  # the board's OTA token, when known
        rest = self.url.split("://", 1)[-1].split("/", 1)[0]
        host, _, port = rest.rpartition(":")
        self.host = host or rest
        self.port = int(port) if port.isdigit() else 80

    def http(self):
        s = requests.Session()
        s.trust_env = False  # never through a proxy: the board is on the local network
        if self.pin:
            s.verify = False  # no certificate authority: the pin is checked on every connection
            s.mount("https://", _Pinned(self.pin))
        return s


class _Pinned(requests.adapters.HTTPAdapter):
    """Connections whose certificate's SHA-256 must be the pin (urllib3's assert_fingerprint)."""

    def __init__(self, pin):
        self.pin = pin
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["assert_fingerprint"] = self.pin
        super().init_poolmanager(*args, **kwargs)


def _pin(request, device):
    """The pin for an https:// device, checked against the board once (one line when wrong)."""
    spec = request.config.getoption("--pin", default=None)
    https = device.lower().startswith("https://")
    if not (spec or https):
        return None
    if not https:
        pytest.fail("--pin (CERT=/PIN=) pins a certificate but --device is %s: pass its https:// address."
                    % device, pytrace=False)
    if not spec:
        pytest.fail("--device %s is https:// but no certificate is pinned: pass CERT=certs/<name> (make "
                    "cert's folder) or PIN=<sha256>." % device, pytrace=False)
    try:
        pin = C.read_pin(spec)
        t = Target(device, "device")
        C.connect(t.host, t.port, pin).close()
    except C.CertError as exc:
        pytest.fail(str(exc), pytrace=False)
    except OSError as exc:
        pytest.fail("No TLS connection to %s (%s): is the board up and serving HTTPS?" % (device, exc),
                    pytrace=False)
    return pin


@pytest.fixture(scope="session")
def target(request, tmp_path_factory):
    device = request.config.getoption("--device", default=None)
    token = request.config.getoption("--ota-token", default=None) or None
    expect = request.config.getoption("--hw-expect", default=None)
    expected = None
    if expect is not None:
        expected = [] if expect.strip().lower() in ("", "none") else \
            [e for e in expect.replace(" ", ",").split(",") if e]
    if device:
        yield Target(device, "device", expected, ota_token=token, pin=_pin(request, device))
        return
    board = request.config.getoption("--hw-board", default="UNIX") or "UNIX"
    binary = request.config.getoption("--hw-micropython", default=None)
    token = token or secrets.token_hex(16)
    try:
        if target_class(board) is VirtualBoard:
            # the board's /wifi.json holds its OTA token; the smoke app reads this file instead (SMOKE_WIFI)
            wifi = tmp_path_factory.mktemp("virtual-board") / "wifi.json"
            wifi.write_text(json.dumps({"ota_token": token}), encoding="utf-8")
            opts = dict(micropython=binary, quiet=True, env={"SMOKE_WIFI": str(wifi)})
        else:  # an emulated board: the token goes into its stored network set-up
            opts = dict(ota_token=token)
        board_target = open_target(board, app=SMOKE_APP, **opts)
        board_target.start()
    except TargetError as exc:
        pytest.fail("The %s board did not start: %s" % (board, exc), pytrace=False)
    try:
        facts = board_target.facts()
        yield Target(board_target.url, board_target.kind, expected if expected is not None else facts.extensions,
                     board_target if board_target.kind == "virtual" else None, ota_token=token)
    finally:
        board_target.stop()


def _info(target):
    with target.http() as s:
        r = s.get(target.url + "/__smoke/info", timeout=10)
    r.raise_for_status()
    return r.json()


@pytest.fixture(scope="session")
def info(target, record_testsuite_property):
    """/__smoke/info at the start of the run; the heap is read again at the end."""
    try:
        first = _info(target)
    except (requests.RequestException, ValueError) as exc:
        pytest.fail("The smoke app at %s does not answer /__smoke/info: %s" % (target.url, exc),
                    pytrace=False)
    _HEAP.update(url=target.url, board=first.get("board"), micropython=first.get("micropython"),
                 before=first["heap"]["free"])
    record_testsuite_property("device", target.url)
    record_testsuite_property("board", first.get("board"))
    record_testsuite_property("micropython", first.get("micropython"))
    record_testsuite_property("heap_free_before", first["heap"]["free"])
    yield first
    try:
        last = _info(target)
    except (requests.RequestException, ValueError):
        return
    _HEAP["after"] = last["heap"]["free"]
    _HEAP["requests"] = last.get("requests")
    record_testsuite_property("heap_free_after", last["heap"]["free"])
    record_testsuite_property("heap_alloc_after", last["heap"]["alloc"])
    record_testsuite_property("requests_served", last.get("requests"))


@pytest.fixture
def http(target, info):
    """A requests session for one test (own cookies, own connections)."""
    with target.http() as s:
        yield s


@pytest.fixture
def url(target, info):
    return target.url


@pytest.fixture
def need(target, info, http):
    """``need("websocket", "/ws"[, method])``: skip unless the image has the extension; when it does not,
    the route must answer 501."""
    def _need(extension, path, method="GET"):
        if info["extensions"].get(extension):
            return
        r = http.request(method, target.url + path, timeout=10)
        assert r.status_code == 501, "%s is missing, so %s must answer 501" % (extension, path)
        pytest.skip("%s is not in this image" % extension)
    return _need


class Raw:
    """Raw HTTP over a plain socket, for what HTTP clients will not send."""

    def __init__(self, target):
        self.target = target

    def connect(self, timeout=10):
        sock = socket.create_connection((self.target.host, self.target.port), timeout=timeout)
        if self.target.pin:
            return C.wrap(sock, self.target.pin, "%s:%d" % (self.target.host, self.target.port))
        return sock

    def exchange(self, data, timeout=10):
        """Send ``data``; return everything the board sends until it closes the connection."""
        with self.connect(timeout) as s:
            s.sendall(data)
            out = b""
            while True:
                try:
                    chunk = s.recv(4096)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
            return out

    @staticmethod
    def status(response):
        line = response.split(b"\r\n", 1)[0]
        parts = line.split(b" ")
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


@pytest.fixture
def raw(target, info):
    return Raw(target)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.when == "call" and "target" in getattr(item, "fixturenames", ()):
        ms = round(call.duration * 1000, 1)
        item.user_properties.append(("latency_ms", ms))
        _LATENCIES[item.nodeid] = ms


def pytest_terminal_summary(terminalreporter):
    if "before" not in _HEAP:
        return
    line = "hardware suite on %s (board %s, MicroPython %s): heap free %s -> %s bytes" % (
        _HEAP["url"], _HEAP.get("board"), _HEAP.get("micropython"), _HEAP["before"],
        _HEAP.get("after", "?"))
    if _LATENCIES:
        line += ", %d tests, %.0f ms in all" % (len(_LATENCIES), sum(_LATENCIES.values()))
    terminalreporter.write_line(line)
