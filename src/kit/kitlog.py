"""kitlog - the board's crash log: the last few tracebacks and reset causes, kept across resets.

The bottom layer of the board runtime (src/kit/), next to :mod:`kitnet`; it imports no kit
module. :mod:`kitsafe` writes to it when an app fails to start, stops answering or was reset by
the watchdog; :mod:`kitota` reads it for ``GET /ota/log`` (``make logs DEVICE=... OTA_TOKEN=...``)::

    import kitlog
    kitlog.add("crash", kitlog.trace(exc))   # one entry, with this boot's reset cause
    kitlog.read()                            # [{"kind", "text", "cause", "boot"}, ...] oldest first

Bounded: :data:`KEEP` entries of at most :data:`TEXT` characters each (the end of a traceback
is kept: its last lines say what and where). Every write is whole: the list goes to a temp
file that is then renamed over the log, so a reset mid-write leaves the old log.
Imported only when something is written or read, so the start-up heap does not carry it.
"""
import json
import os

PATH = ".kit/log.json"  # relative to the filesystem root the board runs in; OTA never writes dot-files
KEEP = 5  # entries kept
TEXT = 600  # characters kept of each entry's text

_cause = None  # this boot's reset cause, asked once


def cause():
    """This boot's reset cause as a short name ("pwron", "wdt", "soft", ...), or None off a board."""
    global _cause
    if _cause is None:
        try:
            import machine
        except ImportError:
            return None
        code = machine.reset_cause()
        _cause = code
        for name in ("PWRON", "HARD", "WDT", "DEEPSLEEP", "SOFT"):
            if getattr(machine, name + "_RESET", None) == code:
                _cause = name.lower()
    return _cause


def read(path=None):
    """The entries, oldest first; [] when there is no log or it is unreadable."""
    try:
        with open(path or PATH) as f:
            out = json.load(f)
    except (OSError, ValueError):
        return []
    return out if isinstance(out, list) else []


def _folder(path):
    cut = path.rfind("/")
    if cut > 0:
        try:
            os.mkdir(path[:cut])
        except OSError:
            pass  # there already


def add(kind, text, path=None, boot=None):
    """Append one entry (``kind``: "crash", "watchdog", "probation", "rollback"...), drop the oldest."""
    path = path or PATH
    rows = read(path)
    rows.append({"kind": kind, "text": text[-TEXT:], "cause": cause(), "boot": boot})
    del rows[:-KEEP]
    _folder(path)
    with open(path + ".new", "w") as f:
        json.dump(rows, f)
    os.rename(path + ".new", path)


def trace(exc):
    """The traceback of ``exc`` as MicroPython prints it."""
    import io
    import sys

    buf = io.StringIO()
    sys.print_exception(exc, buf)
    return buf.getvalue()


def summary(text):
    """The last line of a traceback and where it was raised: "ValueError: x (main.py line 3)"."""
    lines = [l for l in text.strip().split("\n") if l.strip()]
    if not lines:
        return "no details"
    last = lines[-1].strip()
    for line in reversed(lines):
        line = line.strip()
        if line.startswith('File "'):
            parts = line[6:].split('", line ')
            if len(parts) == 2:
                return "%s (%s line %s)" % (last, parts[0], parts[1].split(",")[0])
    return last
