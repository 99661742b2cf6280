"""kitportal - give the board its Wi-Fi network from a phone: a captive set-up portal.

:func:`kitstart.start` (run by the kit's frozen ``main.py``) calls :func:`run` when there are
no stored credentials or joining the stored network failed. The board then

1. opens an open access point ``microdot-XXXX`` (the last two bytes of its MAC address),
2. answers every DNS A query with its own address (:mod:`kitdns`) and the operating systems'
   connectivity checks (``/generate_204``, ``/hotspot-detect.html``, ``/ncsi.txt``, ...) with
   a redirect, so phones and laptops pop up the set-up page,
3. shows the networks it scanned; the form takes SSID, password and an optional OTA token,
4. stores them in ``/wifi.json`` (the file ``make wifi`` writes) - a temporary file renamed
   over the old one, so the file is whole or untouched,
5. joins the network, shows the address it got, and restarts into station mode.

The page is plain HTML (no JavaScript) and every SSID on it is escaped.

The middle layer of the board runtime (src/kit/): it imports :mod:`kitnet` (the bottom) and
:mod:`kitdns`, never :mod:`kitstart`, which calls it.
"""
import asyncio
import json
import os

HTTP_PORT = 80
DNS_PORT = 53
APP_PORT = 5000  # where the app listens after the restart (shown on the last page)
JOIN_TIMEOUT = 20  # seconds to wait for an address after the form was sent
RESTART_DELAY = 8  # seconds the last page shows the address before the restart
RETRY_AFTER = 300  # with stored credentials that failed: restart (retry them) after this long
MAX_NETWORKS = 24
TOKEN_MIN = 12
PREFIX = "microdot-"
PROBES = ("/generate_204", "/gen_204", "/hotspot-detect.html", "/library/test/success.html",
          "/ncsi.txt", "/connecttest.txt", "/redirect", "/canonical.html", "/success.txt")

_state = {"phase": "idle"}  # idle | joining | joined | failed
_networks = []
_token_set = False  # an OTA token is stored: the open portal must not replace it


def escape(text):
    """``text`` safe inside HTML text and quoted attribute values."""
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;").replace("'", "&#39;"))


def ap_name(mac):
    """``microdot-XXXX`` from the last two bytes of ``mac``."""
    return "%s%02X%02X" % (PREFIX, mac[-2], mac[-1])


def check(ssid, password, token=""):
    """Why these settings cannot be used (one short sentence), or None when they can."""
    if not ssid:
        return "Choose a network or type its name."
    if len(ssid.encode()) > 32:
        return "A network name has at most 32 bytes."
    if password:
        raw = len(password) == 64 and not password.strip("0123456789abcdefABCDEF")
        if not raw:
            if not 8 <= len(password) <= 63:
                return "A WPA password has 8 to 63 characters (none for an open network)."
            for c in password:
                if ord(c) < 32 or ord(c) > 126:
                    return "A WPA password has printable ASCII characters only."
    if token:
        if not TOKEN_MIN <= len(token) <= 64:
            return "The OTA token needs %d to 64 characters." % TOKEN_MIN
        for c in token:
            if ord(c) <= 32 or ord(c) > 126:
                return "The OTA token has printable ASCII characters without spaces only."
    return None


def store(ssid, password, token="", path="/wifi.json"):
    """Write ``path`` whole or not at all: other keys kept, an empty ``token`` keeps the old one."""
    data = {}
    try:
        with open(path) as f:
            old = json.load(f)
        if isinstance(old, dict):
            data = old
    except (OSError, ValueError):
        pass
    data["ssid"] = ssid
    data["password"] = password
    if token:
        data["ota_token"] = token
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(json.dumps(data))
        f.write("\n")
    os.rename(tmp, path)  # littlefs and MicroPython's FAT both replace the old file


def _ssids(scan):
    """Unique SSIDs by signal strength: [(ssid, rssi, open)]."""
    best = {}
    for row in scan:
        try:
            name = row[0].decode()
        except (UnicodeError, AttributeError):
            continue
        if not name:
            continue  # hidden networks
        rssi = row[3]
        if name not in best or rssi > best[name][0]:
            best[name] = (rssi, row[4] == 0)
    out = [(n, v[0], v[1]) for n, v in best.items()]
    out.sort(key=lambda r: -r[1])
    return out[:MAX_NETWORKS]


_HEAD = ('<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" '
         'content="width=device-width,initial-scale=1">%s<title>%s</title><style>body{font:16px '
         'sans-serif;max-width:30em;margin:1em auto;padding:0 1em}label{display:block;margin:.5em 0}'
         'input[type=text],input[type=password]{width:100%%;box-sizing:border-box;padding:.4em}'
         '.err{color:#b00}</style></head><body>')


def page(name, networks, error=None, ssid=""):
    """The set-up form."""
    out = [_HEAD % ("", "Wi-Fi for " + escape(name)), "<h1>Wi-Fi for ", escape(name), "</h1>"]
    if error:
        out.append('<p class="err">%s</p>' % escape(error))
    out.append('<form method="post" action="/save"><fieldset><legend>Network</legend>')
    for n, rssi, is_open in networks:
        e = escape(n)
        out.append('<label><input type="radio" name="ssid" value="%s"%s> %s <small>(%d dBm%s)'
                   '</small></label>' % (e, " checked" if n == ssid else "", e, rssi,
                                         ", open" if is_open else ""))
    if not networks:
        out.append("<p>No networks found.</p>")
    if _token_set:
        token = ('<p>An OTA token is set; change it over USB with <code>make wifi OTA_TOKEN=...'
                 '</code>.</p>')
    else:
        token = ('<label>OTA token (optional, %d+ characters, for <code>make ota</code>) '
                 '<input type="password" name="token" maxlength="64"></label>' % TOKEN_MIN)
    out.append('<label>Other network <input type="text" name="other" maxlength="32"></label>'
               '</fieldset><label>Password <input type="password" name="password" '
               'maxlength="64"></label>')
    out.append(token)
    out.append('<p><button type="submit">Join</button></p></form><p><a href="/scan">'
               'Scan again</a></p></body></html>')
    return "".join(out)


def status_page(name):
    st = _state
    phase = st["phase"]
    if phase == "joining":
        body = "<p>Joining <b>%s</b>&hellip;</p>" % escape(st["ssid"])
        return _HEAD % ('<meta http-equiv="refresh" content="2">', "Joining") + body + "</body></html>"
    if phase == "joined":
        url = "http://%s:%d/" % (st["ip"], APP_PORT)
        body = ("<h1>Connected</h1><p>%s joined <b>%s</b> with the address <b id=\"ip\">%s</b>.</p>"
                "<p>It restarts in %d s; then open <a href=\"%s\">%s</a> from that network.</p>"
                % (escape(name), escape(st["ssid"]), st["ip"], RESTART_DELAY, url, url))
        return _HEAD % ("", "Connected") + body + "</body></html>"
    if phase == "failed":
        return page(name, _networks, "Could not join %s: %s." % (st["ssid"], st["reason"]), st["ssid"])
    return page(name, _networks)


def _html(text, status=200):
    from microdot import Response
    return Response(text, status, {"Content-Type": "text/html; charset=UTF-8",
                                   "Cache-Control": "no-store"})


def _restart():
    try:
        import machine
    except ImportError:
        raise SystemExit
    machine.reset()


async def _join(network, ssid, password, timeout=JOIN_TIMEOUT):
    import kitnet
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    try:
        sta.connect(ssid, password)
    except OSError as exc:
        _state.update(phase="failed", reason="connect failed (%s)" % (exc,))
        return
    waited = 0
    while not sta.isconnected():
        reason, over = kitnet._status(network, sta)
        if over or waited >= timeout:
            try:
                sta.disconnect()
            except OSError:
                pass
            _state.update(phase="failed", reason=reason if over else "no address after %d s" % timeout)
            return
        await asyncio.sleep(0.25)
        waited += 0.25
    _state.update(phase="joined", ip=kitnet._address(sta))
    await asyncio.sleep(RESTART_DELAY)
    _restart()


def make_app(network, name, ap_ip, path):
    """The portal's web app (a Microdot app; exposed for tests)."""
    from microdot import Microdot, Response
    global _token_set
    try:
        with open(path) as f:
            _token_set = bool(json.load(f).get("ota_token"))
    except (OSError, ValueError, AttributeError):
        _token_set = False

    app = Microdot()
    home = "http://%s/" % ap_ip
    if HTTP_PORT != 80:
        home = "http://%s:%d/" % (ap_ip, HTTP_PORT)

    @app.get("/")
    async def index(request):
        return _html(status_page(name))

    @app.get("/scan")
    async def rescan(request):
        scan(network)
        return Response.redirect("/", 303)

    @app.post("/save")
    async def save(request):
        if _state["phase"] in ("joining", "joined"):
            return Response.redirect("/status", 303)
        form = request.form or {}
        ssid = (form.get("other") or "").strip() or form.get("ssid") or ""
        password = form.get("password") or ""
        token = "" if _token_set else form.get("token") or ""
        error = check(ssid, password, token)
        if error:
            return _html(page(name, _networks, error, ssid), 400)
        try:
            store(ssid, password, token, path)
        except OSError as exc:
            return _html(page(name, _networks, "Cannot store the settings (%s)." % (exc,), ssid), 500)
        _state.clear()
        _state.update(phase="joining", ssid=ssid)
        asyncio.create_task(_join(network, ssid, password))
        return Response.redirect("/status", 303)

    @app.get("/status")
    async def status(request):
        return _html(status_page(name))

    for probe in PROBES:
        app.get(probe)(lambda request: Response.redirect(home))

    @app.errorhandler(404)
    async def elsewhere(request):
        return Response.redirect(home)

    return app


def scan(network):
    """Scan with the station interface; keep the result for the page."""
    global _networks
    sta = network.WLAN(network.STA_IF)
    sta.active(True)
    try:
        _networks = _ssids(sta.scan())
    except OSError:
        _networks = []
    return _networks


def _ap_config(ap, name):
    for kwargs in ({"essid": name, "authmode": 0}, {"ssid": name, "security": 0}, {"essid": name}):
        try:
            ap.config(**kwargs)
            return
        except (OSError, ValueError, TypeError):
            pass
    raise OSError("cannot configure the access point")


async def _main(network, retry, path):
    import kitdns
    import kitnet
    scan(network)
    ap = network.WLAN(network.AP_IF)
    ap.active(True)
    name = ap_name(ap.config("mac"))
    _ap_config(ap, name)
    ip = kitnet._address(ap)
    where = ip if HTTP_PORT == 80 else "%s:%d" % (ip, HTTP_PORT)
    print("kitportal: join the Wi-Fi network '%s' and open http://%s/ to set up the board" % (name, where))
    dns = kitdns.start(ip, DNS_PORT)
    app = make_app(network, name, ip, path)
    server = asyncio.create_task(app.start_server(port=HTTP_PORT))
    try:
        waited = 0
        while True:
            await asyncio.sleep(1)
            waited += 1
            if retry and waited >= RETRY_AFTER and _state["phase"] in ("idle", "failed"):
                print("kitportal: no new settings; restarting to try the stored network again")
                _restart()
            if server.done():
                break
    finally:
        kitdns.stop(dns)
        app.shutdown()
        ap.active(False)


def run(retry=False, path="/wifi.json"):
    """Run the portal until it restarts the board (see the module docstring)."""
    import network
    _state.clear()
    _state["phase"] = "idle"
    asyncio.run(_main(network, retry, path))
