"""A throw-away copy of the kit (boards/, manifests/) with a small, complete fake framework.

The real framework modules land in src/microdot/ one by one; tests of the board tooling build
this tree in a tmp dir so they can exercise every fragment now. Nothing here is committed to src/.
"""
import shutil
from pathlib import Path

from tools.selection import boards as B

#: The framework modules CONTRACTS.md promises, by the fragment that freezes them.
CONTRACT = {
    "core": ["__init__.py", "microdot.py", "base.py", "helpers.py", "streams.py", "sendfile.py", "chunked.py",
             "cookies.py", "multidict.py", "urlregex.py", "aliases.py"],
    "websocket": ["websocket.py"],
    "sse": ["sse.py"],
    "multipart": ["multipart.py"],
    "session": ["session.py"],
    "auth": ["auth.py"],
    "login": ["login.py"],
    "cors": ["cors.py"],
    "csrf": ["csrf.py"],
    "utemplate": ["utemplate.py"],
    "pubsub": ["pubsub.py"],
    "static": ["static.py"],
    "test_client": ["test_client.py", "test_wire.py"],
}
UTEMPLATE = ["__init__.py", "compiled.py", "recompile.py", "source.py"]


def make_tree(tmp: Path, cpython_only: bool = True) -> Path:
    """Copy boards/ and manifests/ into ``tmp`` and add one tiny valid module per contract file."""
    root = Path(tmp) / "kit"
    shutil.copytree(str(B.BOARDS_DIR), str(root / "boards"))
    shutil.copytree(str(B.MANIFESTS_DIR), str(root / "manifests"))
    pkg = root / "src" / "microdot"
    pkg.mkdir(parents=True)
    for name, files in CONTRACT.items():
        for f in files:
            (pkg / f).write_text("# fake %s for the %s fragment\nNAME = %r\n" % (f, name, f))
    if cpython_only:
        for f in B.NEVER_FROZEN:
            (pkg / f).write_text("import sys  # CPython only\n")
    kit = root / "src" / "kit"  # the board runtime
    (kit / "kitboot").mkdir(parents=True)
    (kit / "kitnet.py").write_text("def connect():\n    import network\n    return network\n")
    for name in ("kitportal.py", "kitdns.py", "kitstart.py", "kitsafe.py", "kitlog.py", "kitota.py",
                 "kitboot/boot.py", "kitboot/main.py"):  # wifi, ota
        (kit / name).write_text("X = 1\n")
    vendor = root / ".cache" / "vendor" / "utemplate"
    vendor.mkdir(parents=True)
    for f in UTEMPLATE:
        (vendor / f).write_text("X = 1\n")
    return root
