"""Fetch upstream Microdot (the parity oracle) from PyPI into .cache/oracle/ and unpack it.

The parity suite (tests/parity) and the benchmark (tools/bench/compare.py) both run upstream
Microdot side by side with ours; this module is the one place that knows which release
that is and how to get it. Upstream only ever runs in its own process: put the returned
directory first on that process's path. Nothing under src/ imports it.

    python -m tools.dev.oracle            # fetch (or reuse) microdot==VERSION, print its directory
    python -m tools.dev.oracle --offline  # use the cached wheel only
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import List, Optional, Tuple

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache" / "oracle"
VERSION = "2.7.0"  # the upstream release our framework is a drop-in for


class OracleError(Exception):
    """Upstream Microdot could not be fetched or unpacked."""


def pip_download_argv(python: str, dest: Path, version: Optional[str] = VERSION) -> List[str]:
    """pip's command line downloading the microdot wheel (``version`` None: the latest);
    one retry and a short timeout, so that an offline run falls back to the cache quickly."""
    spec = "microdot" if not version else "microdot==" + version
    return [python, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
            "--disable-pip-version-check", "--retries", "1", "--timeout", "15", "-q",
            "-d", str(dest), spec]


def wheel_version(wheel: Path) -> str:
    return wheel.name.split("-")[1]


def version_key(v: str):
    return tuple(int(x) if x.isdigit() else 0 for x in v.split("."))


def cached_wheels(cache: Path = CACHE, version: Optional[str] = VERSION) -> List[Path]:
    """The microdot wheels in the cache (only ``version``'s if given), oldest first."""
    wheels = sorted((cache / "dl").glob("microdot-*.whl"), key=lambda p: version_key(wheel_version(p)))
    if version:
        wheels = [w for w in wheels if wheel_version(w) == version]
    return wheels


def unpack(wheel: Path, cache: Path = CACHE) -> Path:
    """Unpack ``wheel`` into cache/upstream-<version>/ (once); return that directory.

    The wheel is extracted into a temporary folder first and only renamed into place when
    it holds microdot/microdot.py, so a bad or interrupted unpack never leaves a half tree.
    """
    dest = cache / ("upstream-" + wheel_version(wheel))
    if is_package_dir(dest):
        return dest
    cache.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=str(cache), prefix=".unpack-"))
    try:
        try:
            with zipfile.ZipFile(str(wheel)) as zf:
                zf.extractall(str(tmp))
        except (zipfile.BadZipFile, OSError) as exc:
            raise OracleError("The wheel '%s' cannot be unpacked (%s); delete it and retry." % (wheel, exc))
        if not is_package_dir(tmp):
            raise OracleError("The wheel '%s' has no microdot/microdot.py; delete it and retry." % wheel)
        if dest.exists():
            shutil.rmtree(str(dest))
        tmp.rename(dest)
    finally:
        if tmp.exists():
            shutil.rmtree(str(tmp), ignore_errors=True)
    return dest


def is_package_dir(path: Path) -> bool:
    return (path / "microdot" / "__init__.py").is_file() and (path / "microdot" / "microdot.py").is_file()


def fetch(version: Optional[str] = VERSION, cache: Path = CACHE, offline: bool = False,
          log=None) -> Tuple[Path, str]:
    """Make upstream microdot ``version`` (None: the latest on PyPI) available; return
    (directory holding the ``microdot`` package, version).

    Downloads the wheel with ``pip download --no-deps`` into cache/dl/ and unpacks it. When
    PyPI cannot be reached (or ``offline``), a wheel already in the cache is used instead.
    """
    dl = cache / "dl"
    dl.mkdir(parents=True, exist_ok=True)
    if version and not offline:
        have = cached_wheels(cache, version)
        if have:  # a pinned release never changes: no need to ask PyPI again
            return unpack(have[-1], cache), version
    detail = "offline"
    if not offline:
        proc = subprocess.run(pip_download_argv(sys.executable, dl, version),
                              capture_output=True, text=True)
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("WARNING")]
        detail = (lines or proc.stderr.strip().splitlines() or ["pip exited %d" % proc.returncode])[-1]
        ok = proc.returncode == 0
    else:
        ok = False
    wheels = cached_wheels(cache, version)
    if not wheels:
        raise OracleError("Could not get microdot%s from PyPI (%s) and none is cached in %s; "
                          "check the network and retry."
                          % ("==" + version if version else "", detail, dl))
    if not ok and not offline and log:
        log("warning: pip could not reach PyPI; using the cached %s" % wheels[-1].name)
    wheel = wheels[-1]
    return unpack(wheel, cache), wheel_version(wheel)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=VERSION,
                        help="upstream release (default %s; 'latest' for the newest on PyPI)" % VERSION)
    parser.add_argument("--offline", action="store_true", help="use a cached wheel only")
    args = parser.parse_args(argv)
    version = None if args.version == "latest" else args.version
    try:
        path, ver = fetch(version, CACHE, offline=args.offline,
                          log=lambda m: print(m, file=sys.stderr))
    except OracleError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    print("microdot %s: %s" % (ver, path))
    return 0


if __name__ == "__main__":
    sys.exit(main())
