"""kitsafe - starts that fail are counted, app updates roll back, an optional watchdog.

The bottom layer of the board runtime (src/kit/), with :mod:`kitnet` (its settings file) and
:mod:`kitlog` (the crash log, imported only when something went wrong). :mod:`kitstart` (the
kit's frozen main.py) calls :func:`boot` before the app and :func:`watch` / :func:`failed`
around it; :mod:`kitota` swaps an update in with :func:`swap_in` and tells :func:`answered`
about every answered request.

- Start counter: consecutive starts that were not counted good, in RTC memory where the port
  has it (``machine.RTC().memory()``: survives resets, not power loss; its first 4 bytes are
  the kit's) or else in ``.kit/starts``. A start is good once the app's server answered a
  request (after :data:`SETTLE` s) or ran :data:`PROBATION` s without failing. After
  ``safe_after`` failed starts in a row the board starts in safe mode: network (or set-up
  portal) and the OTA routes only, with a page saying why.
- App updates: :func:`swap_in` keeps the previous version of every file it replaces in
  ``.kit/prev/`` (files the update adds are listed, to be removed) and puts the app on
  probation. It is confirmed by an answered request within ``probation`` s; an exception at
  start, no answer in time or a reset before it (watchdog, power) puts the previous app back
  and restarts into it (:func:`rollback`), with the reason in the crash log and in
  ``.kit/app.json`` (``GET /ota/info``, ``make ota``).
- Watchdog (``"watchdog": seconds`` in the settings, ``make wifi WATCHDOG=30``): a task on the
  app's event loop feeds ``machine.WDT``; a handler blocking the loop longer resets the board.

Settings (``/wifi.json``, :data:`kitnet.CONFIG`): ``safe_after`` (default 3, 0: never),
``probation`` (60), ``settle`` (5), ``watchdog`` (0: off).
"""
import json
import os

import kitnet

KIT = ".kit"  # the kit's own files (dot-files: an OTA update never writes them)
STAGE = ".ota"  # kitota's staging folder: same filesystem as the app, so rename() works
BACKUP = KIT + "/prev"
PREV = KIT + "/prev.json"  # [[name, its backup or None (the update added it)], ...]
STATE = KIT + "/app.json"  # {"id", "state": probation|confirmed|rolling back|rolled back, "why", "boots"}
COUNT = KIT + "/starts"
SAFE_AFTER = 3  # failed starts in a row before safe mode
PROBATION = 60  # seconds a new app has to answer a request
SETTLE = 5  # seconds after the start before an answer counts (an app crashing at 2 s is caught)
WATCHDOG = 0  # seconds; 0: no watchdog
_TAG = b"kit"

_conf = None  # (safe_after, probation, settle, watchdog)
_t0 = None  # ticks_ms at watch(); None: nobody watches the start, the first answer confirms
_good = False
_mode = None  # "app" under watch(), "safe" in safe mode
_boot = 0  # this start's number in the count


def _exists(path):
    try:
        os.stat(path)
        return True
    except OSError:
        return False


def _remove(path):
    try:
        os.remove(path)
    except OSError:
        pass


def _makedirs(name):
    path = ""
    for p in name.split("/")[:-1]:
        path = path + "/" + p if path else p
        if not _exists(path):
            os.mkdir(path)


def _save(path, obj):
    _makedirs(path)
    with open(path + ".new", "w") as f:
        f.write(obj if isinstance(obj, str) else json.dumps(obj))
    os.rename(path + ".new", path)


def _load(path, empty):
    try:
        with open(path) as f:
            out = json.load(f)
    except (OSError, ValueError):
        return empty
    return out if type(out) is type(empty) else empty


def settings():
    """(safe_after, probation, settle, watchdog) from the settings file, defaults for the rest."""
    global _conf
    if _conf is None:
        conf = _load(kitnet.CONFIG, {})
        out = []
        for key, default in (("safe_after", SAFE_AFTER), ("probation", PROBATION),
                             ("settle", SETTLE), ("watchdog", WATCHDOG)):
            v = conf.get(key, default)
            out.append(v if isinstance(v, (int, float)) and v >= 0 else default)
        _conf = tuple(out)
    return _conf


def state():
    return _load(STATE, {})


def _rtc():
    try:
        import machine
    except ImportError:
        return None
    rtc = getattr(machine, "RTC", None)
    rtc = rtc() if rtc is not None else None
    return rtc if hasattr(rtc, "memory") else None


def count(n=None):
    """Starts in a row not counted good (this one included); with ``n``, store that instead."""
    rtc = _rtc()
    if n is None:
        if rtc is not None:
            m = rtc.memory()
            return m[3] if len(m) >= 4 and m[:3] == _TAG else 0
        try:
            with open(COUNT) as f:
                return int(f.read())
        except (OSError, ValueError):
            return 0
    if rtc is not None:
        m = rtc.memory()
        rtc.memory(_TAG + bytes([n if n < 255 else 255]) + m[4:])
    else:
        _save(COUNT, str(n))


def _reset_by_watchdog():
    try:
        import machine
    except ImportError:
        return False
    return machine.reset_cause() == getattr(machine, "WDT_RESET", None)


# --------------------------------------------------------------------------------------------
# Swapping an update in, and back out


def _swap(pairs):
    """Rename each staged file over its target, the target first to BACKUP/<i>; the names that failed."""
    failed = []
    for i in range(len(pairs)):
        src, dst = pairs[i]
        if _exists(src):
            try:
                back = "%s/%d" % (BACKUP, i)
                if _exists(dst) and not _exists(back):
                    _makedirs(back)
                    os.rename(dst, back)
                _makedirs(dst)
                os.rename(src, dst)
            except OSError:
                failed.append(dst)
    return failed


def _probation():
    st = state()
    st = {"id": st.get("id", 0) + 1, "state": "probation", "boots": 0}
    _save(STATE, st)
    count(0)
    return st


def _clear_backup():
    try:
        names = os.listdir(BACKUP)
    except OSError:
        names = ()
    for n in names:
        _remove(BACKUP + "/" + n)
    _remove(PREV)


def swap_in(pairs):
    """Swap staged files in: ``pairs`` [[staged, name], ...]. The old files go to BACKUP, a
    journal lets the next boot finish a swap a reset cut, and the app starts on probation.
    Returns (names that failed, the update's id)."""
    _clear_backup()
    _save(PREV, [[dst, "%s/%d" % (BACKUP, i) if _exists(dst) else None] for i, (src, dst) in enumerate(pairs)])
    journal = STAGE + "/swap.json"
    _save(journal, pairs)  # from here on, a reset finishes the swap
    failed = _swap(pairs)
    st = _probation()
    _remove(journal)
    return failed, st["id"]


def recover():
    """At start-up: finish a swap that a reset interrupted (kitota drops a half-made upload)."""
    pairs = _load(STAGE + "/swap.json", [])
    if pairs:
        try:
            _swap(pairs)
        except (TypeError, ValueError):
            pass  # not a journal this kit wrote
        if _exists(PREV) and state().get("state") != "probation":
            _probation()
        _remove(STAGE + "/swap.json")


def rollback(why):
    """Put the previous app back (what the update replaced; what it added goes) and log why."""
    import kitlog

    st = state()
    st["state"] = "rolling back"  # a reset from here on rolls back again at the next boot
    st["why"] = why
    _save(STATE, st)
    for row in _load(PREV, []):
        try:
            dst, back = row
        except (TypeError, ValueError):
            continue
        if back is None:
            _remove(dst)
        elif _exists(back):
            _remove(dst)
            os.rename(back, dst)
    _remove(PREV)
    st["state"] = "rolled back"
    _save(STATE, st)
    count(0)
    kitlog.add("rollback", "update %s rolled back: %s" % (st.get("id"), why), boot=_boot)
    print("kitsafe: update rolled back: " + why)


# --------------------------------------------------------------------------------------------
# Around the app's start


def restart():
    try:
        import machine
    except ImportError:
        raise SystemExit(1)
    machine.reset()


def boot(main="main.py"):
    """At start-up, before the network and the app: finish a swap, roll back an update that
    started and never confirmed itself. None: run the app; else why the board starts in safe
    mode. Only :func:`watch` counts a start: a boot into the set-up portal (no network) or
    into the wait for a first app is no failed start."""
    global _mode
    recover()
    wdt = _reset_by_watchdog()
    if wdt:
        import kitlog

        kitlog.add("watchdog", "reset by the watchdog: the event loop was blocked longer than %s s" % settings()[3],
                   boot=count())
    st = state()
    if st.get("state") == "rolling back" or (st.get("state") == "probation" and st.get("boots")):
        rollback(st.get("why") or ("watchdog reset (the event loop was blocked)" if wdt
                                   else "restarted before its server answered a request"))
        st = state()
    n = count()  # starts in a row that failed
    why = None
    if st.get("state") == "rolled back" and not _exists(main):
        why = "the first app failed and was taken off: " + st.get("why", "")
    elif settings()[0] and n >= settings()[0]:
        import kitlog

        last = kitlog.read()
        why = "%d starts failed in a row; the last: %s" % (n, kitlog.summary(last[-1]["text"]) if last else "no log")
    if why:
        _mode = "safe"
        print("kitsafe: safe mode: " + why)
    return why


def watch():
    """Just before the app runs: count the start (an update on probation has now started),
    start the watchdog (when set) and the task that feeds it and ends the probation window
    (it runs once the app's event loop does)."""
    global _t0, _mode, _boot
    import asyncio
    import time

    _boot = count() + 1
    count(_boot)
    st = state()
    if st.get("state") == "probation" and not st.get("boots"):
        st["boots"] = 1  # a restart before the confirmation rolls it back
        _save(STATE, st)
    dog = settings()[3]
    wdt = None
    if dog:
        import machine

        wdt = machine.WDT(timeout=int(dog * 1000))
    _t0 = time.ticks_ms()
    _mode = "app"
    asyncio.create_task(_watch(wdt))


async def _watch(wdt):
    import asyncio
    import time

    window, dog = settings()[1], settings()[3]
    step = dog / 4 if dog and dog < 4 else 1
    while True:
        if wdt is not None:
            wdt.feed()
        if not _good and time.ticks_diff(time.ticks_ms(), _t0) > window * 1000:
            if state().get("state") == "probation":
                _fail("no answer within %s s of the start" % window, "probation")
            good()  # ran the window through without failing
        if _good and wdt is None:
            return
        await asyncio.sleep(step)


def good():
    """This start is good: clear the count; an update on probation is confirmed."""
    global _good
    _good = True
    count(0)
    st = state()
    if st.get("state") == "probation":
        st["state"] = "confirmed"
        st.pop("boots", None)
        _save(STATE, st)
        _clear_backup()
        print("kitsafe: update %s confirmed" % st.get("id"))


def answered():
    """kitota calls this after every answered request: after SETTLE s the start is good."""
    if _good or _mode == "safe":
        return
    if _t0 is not None:
        import time

        if time.ticks_diff(time.ticks_ms(), _t0) < settings()[2] * 1000:
            return
    good()


def _fail(why, kind, text=None):
    import kitlog

    kitlog.add(kind, text or why, boot=_boot)
    if state().get("state") == "probation":
        rollback(why)
    restart()


def failed(exc):
    """The app raised (at start, or its event loop ended with it): log it; an update on
    probation is rolled back; restart (this start stays counted as failed)."""
    import gc
    import kitlog

    gc.collect()
    text = kitlog.trace(exc)
    print(text)
    _fail(kitlog.summary(text), "crash", text)


def status():
    """For GET /ota/info and /ota/log: the last update's outcome, the count, the mode."""
    st = state()
    return {"update": st.get("id"), "state": st.get("state"), "why": st.get("why"),
            "starts": count(), "mode": _mode, "good": _good}
