"""Drive src/kit/kitnet.py against a stand-in ``network`` module; runs on CPython and MicroPython.

Usage: <python or micropython> tests/tools/kitnet_scenarios.py KIT_DIR TMP_DIR (KIT_DIR: src/kit)
Prints one JSON object per scenario: {"name": ..., "result": ..., "log": [...], "sleeps": [...],
"calls": [...]}. tests/tools/test_wifi.py runs it under both runtimes and checks the output.
"""
import json
import sys

SRC, TMP = sys.argv[1], sys.argv[2]
sys.path.insert(0, SRC)


class FakeNetwork:
    """Just enough of MicroPython's ``network`` module (esp32 status codes)."""

    STA_IF = 0
    STAT_IDLE = 1000
    STAT_CONNECTING = 1001
    STAT_GOT_IP = 1010
    STAT_NO_AP_FOUND = 201
    STAT_WRONG_PASSWORD = 202
    STAT_CONNECT_FAIL = 203

    def __init__(self, attempts):
        # attempts: one list per wlan.connect() call, the statuses the interface reports on
        # successive polls; the last one repeats. "raise" makes connect() fail with OSError.
        self.attempts = attempts
        self.calls = []
        self.wlan = None
        self.host = None

    def WLAN(self, interface):
        self.calls.append("WLAN(%d)" % interface)
        if self.wlan is None:
            self.wlan = FakeWLAN(self)
        return self.wlan

    def hostname(self, name):
        self.calls.append("hostname(%s)" % name)
        self.host = name


class FakeWLAN:
    def __init__(self, net):
        self.net = net
        self.script = None
        self.up = False
        self.count = 0

    def active(self, on):
        self.net.calls.append("active(%s)" % on)
        self.up = on

    def connect(self, ssid, password):
        self.net.calls.append("connect(%s,%s)" % (ssid, password))
        plan = self.net.attempts[self.count] if self.count < len(self.net.attempts) else ["idle"]
        self.count += 1
        if plan == "raise":
            raise OSError(5)
        self.script = list(plan)

    def _now(self):
        if not self.script:
            return "idle"
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def status(self):
        state = self._now()
        return {
            "idle": FakeNetwork.STAT_IDLE,
            "connecting": FakeNetwork.STAT_CONNECTING,
            "up": FakeNetwork.STAT_GOT_IP,
            "no_ap": FakeNetwork.STAT_NO_AP_FOUND,
            "wrong": FakeNetwork.STAT_WRONG_PASSWORD,
            "fail": FakeNetwork.STAT_CONNECT_FAIL,
        }[state]

    def isconnected(self):
        if self.script and self.script[0] == "up":
            return True
        return False

    def disconnect(self):
        self.net.calls.append("disconnect()")
        self.script = None

    def ipconfig(self, key):
        return ("10.0.0.%d" % (6 + self.count), "255.255.255.0")


def run(name, attempts, call, use_network=True):
    import kitnet

    log = []
    sleeps = []
    kitnet._print = log.append
    kitnet._sleep = sleeps.append
    kitnet._wlan = None
    kitnet._ip = None
    net = FakeNetwork(attempts)
    if use_network:
        sys.modules["network"] = net
    elif "network" in sys.modules:
        del sys.modules["network"]
    try:
        result = call(kitnet)
    except Exception as exc:  # reported, so the test shows what went wrong
        result = "raised %s: %s" % (type(exc).__name__, exc)
    print(json.dumps({"name": name, "result": result, "log": log, "sleeps": sleeps, "calls": net.calls}))


def write(name, text):
    path = TMP + "/" + name
    f = open(path, "w")
    f.write(text)
    f.close()
    return path


good = write("wifi.json", json.dumps({"ssid": "Home", "password": "secret123", "hostname": "kitboard"}))
bad = write("bad.json", "{not json")
nossid = write("nossid.json", json.dumps({"password": "x"}))

# Connects on the second attempt (the first reports a failure after two polls).
run("retry", [["connecting", "connecting", "fail"], ["connecting", "connecting", "up"]],
    lambda k: k.connect(path=good, timeout=5))
# A wrong password ends the retries at once.
run("wrong_password", [["connecting", "wrong"]], lambda k: k.connect("Home", "nope", attempts=4))
# Never connects: every attempt times out; back-off between attempts doubles.
run("timeout", [["connecting"]] * 3, lambda k: k.connect("Home", "pw", attempts=3, timeout=1))
# connect() raising OSError counts as a failed attempt.
run("oserror", ["raise", ["up"]], lambda k: k.connect("Home", "pw", attempts=2))
# No credentials file / a broken one.
run("missing", [], lambda k: k.connect(path=TMP + "/absent.json"))
run("bad_json", [], lambda k: k.connect(path=bad))
run("no_ssid", [], lambda k: k.connect(path=nossid))
# ip() follows the interface; disconnect() forgets it.
run("ip_follows", [["up"]],
    lambda k: [k.connect("Home", "pw"), k.ip(), k._wlan.disconnect(), k.ip(), k.disconnect(), k.ip()])
# No network module at all (unix port): the host is online.
run("no_network", [], lambda k: [k.connect(), k.ip()], use_network=False)
# load() and delays().
run("load", [], lambda k: [k.load(good), k.load(TMP + "/absent.json")])
run("delays", [], lambda k: [k.delays(5, 1, 4), k.delays(1), k.delays(3, 2, 16)])
