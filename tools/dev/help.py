"""Print the Makefile's targets with their ``## help`` text."""
import argparse
import re
import sys

_TARGET = re.compile(r"^([A-Za-z0-9_.-]+):[^#]*##\s*(.+)$")


def targets(text: str) -> list:
    """Return (target, help) pairs in the order they appear."""
    found = []
    for line in text.splitlines():
        match = _TARGET.match(line)
        if match:
            found.append((match.group(1), match.group(2).strip()))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("makefile", nargs="?", default="Makefile")
    args = parser.parse_args(argv)
    with open(args.makefile, encoding="utf-8") as f:
        rows = targets(f.read())
    width = max(len(name) for name, _ in rows)
    print("Usage: make <target> [BOARD=ESP32_GENERIC] [EXTENSIONS=\"websocket sse\"] ...\n")
    for name, text in rows:
        print("  %-*s  %s" % (width, name, text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
