"""Remove build outputs under firmware/ (keeping its README) and test caches."""
import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def clean(root: Path = ROOT) -> list:
    """Delete generated files; return the paths removed."""
    removed = []
    firmware = root / "firmware"
    for entry in sorted(firmware.iterdir()) if firmware.is_dir() else []:
        if entry.name == "README.md":
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
        removed.append(entry)
    for cache in (root / ".pytest_cache", root / "reports"):
        if cache.exists():
            shutil.rmtree(cache)
            removed.append(cache)
    for pyc in root.glob("src/**/*.mpy"):
        pyc.unlink()
        removed.append(pyc)
    return removed


def main(argv=None) -> int:
    argparse.ArgumentParser(description=__doc__).parse_args(argv)
    removed = clean()
    for path in removed:
        print("removed %s" % path.relative_to(ROOT))
    print("clean: %d item(s) removed" % len(removed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
