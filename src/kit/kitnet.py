"""kitnet - join the Wi-Fi network stored on the board.

``make wifi SSID=... PASSWORD=...`` writes ``/wifi.json`` to the board's filesystem (never into
the firmware) and adds ``import kitnet; kitnet.connect()`` to ``/boot.py``. At boot
:func:`connect` reads the file, joins the network with retries and exponential back-off, prints
the address and keeps it for the app::

    import kitnet
    print(kitnet.ip())        # '192.168.1.23', or None when not connected
    kitnet.connect()          # (re)connect by hand; returns the address or None

The bottom layer of the board runtime (src/kit/): the settings in ``/wifi.json``, joining,
and :func:`run_file`, which runs ``/boot.py`` and ``/main.py`` as MicroPython does. It imports
no other kit module; :mod:`kitportal` and :mod:`kitota` use it, and :mod:`kitstart` (called by
the kit's frozen ``main.py``) joins with it and opens the set-up portal when there is no
network.

``/wifi.json`` holds ``{"ssid": ..., "password": ...}`` and optionally ``"hostname"``,
``"attempts"`` and ``"timeout"`` (seconds per attempt).

On a firmware built for QEMU (``network.PHY_OPENETH`` exists: board ESP32_C3_QEMU) :func:`connect`
brings up the emulated Ethernet instead, with DHCP from QEMU; no credentials are needed.

HTTPS (opt-in): with ``/cert.der`` and ``/key.der`` on the board (``make cert``, then ``make
deploy CERT=...`` or ``make wifi ... CERT=...``) :func:`tls` gives the TLS context to serve, else
None (plain HTTP), so one line serves either way::

    app.run(port=5000, ssl=kitnet.tls())

``network`` is imported only inside :func:`connect`, so this module imports anywhere. Where
there is no ``network`` module (the unix port, CPython) the host is already online and
:func:`connect` returns ``"127.0.0.1"``.
"""
import time

CONFIG = "/wifi.json"
CERT = "/cert.der"  # the board's own certificate (DER), from make cert; with KEY: HTTPS
KEY = "/key.der"
ATTEMPTS = 4  # connection attempts before giving up
TIMEOUT = 10  # seconds to wait for an address, per attempt
BACKOFF = 1  # seconds before the 2nd attempt; doubles before each later one
BACKOFF_MAX = 16
POLL = 0.25  # seconds between status checks while waiting

_sleep = time.sleep  # replaced by tests
_print = print
_wlan = None
_ip = None
_tried = False  # connect() ran since boot


def delays(attempts=ATTEMPTS, first=BACKOFF, cap=BACKOFF_MAX):
    """The pauses before attempts 2, 3, ...: first, 2*first, 4*first, ... never above cap."""
    out = []
    pause = first
    for _ in range(attempts - 1):
        out.append(pause if pause < cap else cap)
        pause = pause * 2
    return out


def load(path=CONFIG):
    """The settings stored in ``path`` as a dict, or None when there is no such file.

    Raises ValueError when the file is not a JSON object with a non-empty "ssid".
    """
    import json

    try:
        f = open(path)
    except OSError:
        return None
    try:
        data = json.load(f)
    except ValueError:
        raise ValueError(path + " is not valid JSON")
    finally:
        f.close()
    if not isinstance(data, dict) or not isinstance(data.get("ssid"), str) or not data["ssid"]:
        raise ValueError("no ssid in " + path)
    if not isinstance(data.get("password", ""), str):
        raise ValueError("bad password in " + path)
    return data


def _status(network, wlan):
    """(name, over): a short name for the interface's status and whether this attempt failed."""
    try:
        code = wlan.status()
    except OSError:
        return "unknown", False
    for name, over in (
        ("WRONG_PASSWORD", True),
        ("NO_AP_FOUND", True),
        ("CONNECT_FAIL", True),
        ("ASSOC_FAIL", True),
        ("HANDSHAKE_TIMEOUT", True),
        ("BEACON_TIMEOUT", True),
        ("CONNECTING", False),
        ("GOT_IP", False),
        ("IDLE", False),
    ):
        if getattr(network, "STAT_" + name, None) == code:
            return name.lower().replace("_", " "), over
    return "status %s" % (code,), False


def _address(wlan):
    if hasattr(wlan, "ipconfig"):
        return wlan.ipconfig("addr4")[0]
    return wlan.ifconfig()[0]


def connect(ssid=None, password=None, attempts=None, timeout=None, path=None, hostname=None):
    """Join the Wi-Fi network; return the board's IP address, or None if it did not work.

    Without ``ssid`` the settings come from ``path`` (default :data:`CONFIG`, ``/wifi.json``). Every attempt waits up
    to ``timeout`` seconds; the pauses between attempts follow :func:`delays`. A wrong
    password ends the retries at once (retrying cannot fix it).
    """
    global _wlan, _ip, _tried
    _tried = True
    try:
        import network
    except ImportError:
        _ip = "127.0.0.1"
        _print("kitnet: no network module on this port; the host network is up, IP " + _ip)
        return _ip
    if getattr(network, "PHY_OPENETH", None) is not None:
        return _lan(network, timeout or TIMEOUT)
    if ssid is None:
        path = path or CONFIG
        try:
            conf = load(path)
        except ValueError as exc:
            _print("kitnet: %s; run `make wifi SSID=... PASSWORD=...` again" % exc)
            return None
        if conf is None:
            _print("kitnet: no %s; store one with `make wifi SSID=... PASSWORD=...`" % path)
            return None
        ssid = conf["ssid"]
        password = conf.get("password", "")
        hostname = hostname or conf.get("hostname")
        attempts = attempts or conf.get("attempts")
        timeout = timeout or conf.get("timeout")
    attempts = attempts or ATTEMPTS
    timeout = timeout or TIMEOUT
    if hostname and hasattr(network, "hostname"):
        network.hostname(hostname)
    wlan = network.WLAN(getattr(network, "STA_IF", 0))
    _wlan = wlan
    wlan.active(True)
    if wlan.isconnected():
        wlan.disconnect()
    pauses = delays(attempts)
    for attempt in range(attempts):
        if attempt:
            _print("kitnet: retrying in %s s" % pauses[attempt - 1])
            _sleep(pauses[attempt - 1])
        _print("kitnet: joining '%s' (attempt %d of %d)" % (ssid, attempt + 1, attempts))
        try:
            wlan.connect(ssid, password or "")
        except OSError as exc:
            _print("kitnet: connect failed: %s" % (exc,))
            continue
        waited = 0  # poll until connected (reason None) or failed / timed out (the reason)
        while not wlan.isconnected():
            reason, over = _status(network, wlan)
            if over:
                break
            if waited >= timeout:
                reason = "no address after %s s" % timeout
                break
            _sleep(POLL)
            waited += POLL
        else:
            reason = None
        if reason is None:
            _ip = _address(wlan)
            _print("kitnet: connected to '%s', IP %s" % (ssid, _ip))
            return _ip
        _print("kitnet: no connection (%s)" % reason)
        try:
            wlan.disconnect()
        except OSError:
            pass
        if reason == "wrong password":
            break  # retrying cannot fix it
    _ip = None
    _print("kitnet: could not join '%s'; check SSID=/PASSWORD= and run `make wifi` again" % ssid)
    return None


def _read(path):
    try:
        f = open(path, "rb")
    except OSError:
        return None
    try:
        return f.read()
    finally:
        f.close()


def tls(cert=None, key=None):
    """The ``ssl.SSLContext`` that serves the board's certificate (``CERT``, ``KEY``: DER, an EC
    P-256 key from ``make cert``), for ``app.run(ssl=kitnet.tls())``; None (plain HTTP) when the
    board has no certificate. A certificate it cannot serve (no key, a broken file, no ``ssl``
    module) is printed and also gives None: the board stays reachable, and a client that pins
    the certificate (``make ota CERT=...``) refuses plain HTTP."""
    cert = cert or CERT
    c = _read(cert)
    if c is None:
        return None
    k = _read(key or KEY)
    try:
        if k is None:
            raise ValueError("no " + (key or KEY))
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(c, k)
        return ctx
    except (ImportError, ValueError, OSError) as exc:
        _print("kitnet: cannot serve %s (%s); plain HTTP" % (cert, exc))
        return None


def run_file(path):
    """Run the script ``path`` from the filesystem as MicroPython runs boot.py and main.py:
    compiled under its own name, in ``__main__``'s namespace (so the REPL sees its names after
    it ends or is interrupted). False when there is no such file."""
    try:
        f = open(path)
    except OSError:
        return False
    code = compile(f.read(), path, "exec")  # the text is garbage before the script runs
    f.close()
    import __main__
    space = __main__.__dict__
    space["__file__"] = path
    exec(code, space)
    return True


def _lan(network, timeout):
    """Start QEMU's OpenCores Ethernet (where the firmware has it, Wi-Fi does not exist)."""
    global _wlan, _ip
    lan = network.LAN(phy_type=network.PHY_OPENETH, phy_addr=1)
    _wlan = lan
    lan.active(True)
    waited = 0
    while not lan.isconnected():
        if waited >= timeout:
            _ip = None
            _print("kitnet: the emulated Ethernet got no address after %s s" % timeout)
            return None
        _sleep(POLL)
        waited += POLL
    _ip = _address(lan)
    _print("kitnet: Ethernet (QEMU open_eth) up, IP " + _ip)
    return _ip


def ip():
    """The board's current IP address, or None when it is not connected."""
    global _ip
    if _wlan is not None:
        if not _wlan.isconnected():
            return None
        _ip = _address(_wlan)
    return _ip


def disconnect():
    """Leave the network and switch the station interface off."""
    global _wlan, _ip
    if _wlan is not None:
        try:
            if hasattr(_wlan, "disconnect"):  # network.LAN has none
                _wlan.disconnect()
        except OSError:
            pass
        _wlan.active(False)
    _wlan = None
    _ip = None
