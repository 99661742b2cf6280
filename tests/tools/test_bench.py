"""tools/bench/compare.py: the pure helpers, and one tiny real run (floor + ours on MicroPython).

No timing is asserted: speed targets live in `make bench`, not in tests.
"""
import json
import shutil
import sys
from pathlib import Path

import pytest

from tools.bench import compare as bench

VENV_BIN = Path(sys.executable).parent


def _have(tool):
    return (VENV_BIN / tool).exists() or shutil.which(tool)


def test_request_bytes_keep_alive_and_close():
    ka = bench.request_bytes("/json", True)
    close = bench.request_bytes("/", False)
    assert ka.startswith(b"GET /json HTTP/1.1\r\n") and ka.endswith(b"\r\n\r\n")
    assert b"Connection" not in ka
    assert b"Connection: close\r\n" in close


def test_argv_builders_use_lists():
    argv = bench.server_argv("mp", "ours", 1, 2, Path("/x"))
    assert argv == ["mp", str(bench.SERVER), "ours", "1", "2", "/x"]
    assert bench.server_argv("mp", "floor", 1, 2, None)[-1] == "2"
    pip = bench.pip_download_argv("py", Path("/d"), "2.7.0")
    assert pip[:3] == ["py", "-m", "pip"] and pip[-1] == "microdot==2.7.0" and "--no-deps" in pip
    assert bench.pip_download_argv("py", Path("/d"))[-1] == "microdot"


def test_bytecode_totals_split_core_and_freezable():
    sizes = {"__init__.py": 1, "microdot.py": 10, "helpers.py": 100, "sse.py": 1000,
             "asgi.py": 10000, "jinja.py": 10000}
    assert bench.bytecode_totals(sizes) == {"core": 111, "full": 1111}


def test_ratio_and_targets():
    assert bench.ratio(3, 2) == 1.5
    assert bench.ratio(None, 2) is None and bench.ratio(1, 0) is None
    row = lambda cpu, rps, ka: {"cpu_us_per_request": cpu, "requests_per_s": rps,  # noqa: E731
                                "keep_alive": ka}
    res = {"throughput": {"micropython": {
        "floor": [row(100, 1000, True)], "ours": [row(120, 900, True)],
        "upstream": [row(240, 250, True)]}},
        "memory": {"import_mpy": {"ours": 70, "upstream": 100},
                   "alloc_close": {"ours": 60, "upstream": 100}}}
    met = {t: m for t, m, _ in bench.check_targets(res)}
    assert met["CPU per request <= 1.25x floor (every configuration)"] is True
    assert met["CPU per request >= 1.6x lower than upstream"] is True
    assert met["keep-alive requests/s >= 3x upstream"] is True
    assert met["heap for importing the core from .mpy <= 1.0x upstream"] is True
    assert met["heap allocated per GET <= 0.5x upstream"] is False


def test_update_doc_replaces_only_the_marked_block(tmp_path):
    doc = tmp_path / "b.md"
    doc.write_text("intro\n%s\nold table\n%s\noutro\n" % (bench.DOC_START, bench.DOC_END))
    res = {"date": "d", "machine": "m", "cpus": 2, "micropython_version": "1", "cpython_version": "3",
           "upstream_version": "2.7.0", "rounds": 1, "requests": 1, "throughput": {},
           "memory": {"bytecode_core": {"ours": 5, "upstream": 10}}}
    bench.update_doc(doc, res)
    text = doc.read_text()
    assert text.startswith("intro\n") and text.endswith("outro\n") and "old table" not in text
    assert "| bytecode (.mpy) of the core (bytes) | n/a | n/a | 10 | 5 | n/a | 0.50x |" in text
    (tmp_path / "c.md").write_text("no markers")
    with pytest.raises(bench.BenchError):
        bench.update_doc(tmp_path / "c.md", res)


@pytest.mark.skipif(not (_have("micropython") and _have("mpy-cross")),
                    reason="needs the micropython and mpy-cross binaries (make setup)")
def test_quick_run_measures_floor_and_ours(tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "ours/floor" in printed and "CPU us/req" in printed
    res = json.loads(out.read_text())
    tp = res["throughput"]["micropython"]
    assert set(tp) == {"floor", "ours"}
    for kind in ("floor", "ours"):
        for row in tp[kind]:
            assert row["errors"] == 0
            assert row["requests"] == res["rounds"] * res["requests"]
            assert row["cpu_us_per_request"] > 0 and row["requests_per_s"] > 0
    mem = res["memory"]
    assert mem["alloc_close"]["ours"] > 0 and mem["import_mpy"]["ours"] > 0
    assert mem["bytecode_core"]["ours"] < mem["bytecode_full"]["ours"]


def test_bad_arguments_exit_non_zero(capsys):
    assert bench.main(["--quick", "--rounds", "-1"]) == 2
    assert capsys.readouterr().err.startswith("error: ")


def test_our_core_counts_every_module_the_core_fragment_freezes():
    core = bench.our_core_files()
    assert core[:2] == ("__init__.py", "microdot.py")
    assert "streams.py" in core and "sendfile.py" in core
    sizes = {name: 1 for name in core}
    sizes.update({"sse.py": 10, "compat.py": 100})
    from tools.selection.boards import NEVER_FROZEN
    assert bench.bytecode_totals(sizes, core, NEVER_FROZEN) == {"core": len(core), "full": len(core) + 10}


def test_update_doc_without_markers_fails_before_measuring(tmp_path, capsys):
    doc = tmp_path / "plain.md"
    doc.write_text("# no markers here\n")
    assert bench.main(["--update-doc", str(doc), "--json", str(tmp_path / "b.json")]) == 2
    assert "has no" in capsys.readouterr().err
    assert not (tmp_path / "b.json").exists()
