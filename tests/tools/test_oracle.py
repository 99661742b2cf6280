"""tools/dev/oracle.py: fetching and unpacking upstream Microdot for the parity suite and bench.

PyPI is never contacted here: the wheels are small zip files written by the test, and
fetch() runs offline or with the pinned version already cached.
"""
import zipfile

import pytest

from tools.dev import oracle


def _wheel(dl, version, files):
    dl.mkdir(parents=True, exist_ok=True)
    path = dl / ("microdot-%s-py3-none-any.whl" % version)
    with zipfile.ZipFile(str(path), "w") as zf:
        for name, text in files.items():
            zf.writestr(name, text)
    return path


GOOD = {"microdot/__init__.py": "X = 1\n", "microdot/microdot.py": "Y = 2\n"}


def test_pip_argv_pins_the_version_without_dependencies():
    argv = oracle.pip_download_argv("py", oracle.CACHE / "dl")
    assert argv[:4] == ["py", "-m", "pip", "download"] and "--no-deps" in argv
    assert argv[-1] == "microdot==" + oracle.VERSION
    assert oracle.pip_download_argv("py", oracle.CACHE, None)[-1] == "microdot"


def test_cached_pinned_wheel_is_unpacked_once(tmp_path):
    _wheel(tmp_path / "dl", oracle.VERSION, GOOD)
    _wheel(tmp_path / "dl", "9.9.9", GOOD)
    path, ver = oracle.fetch(oracle.VERSION, tmp_path)  # cached: pip is not run
    assert ver == oracle.VERSION and path == tmp_path / ("upstream-" + oracle.VERSION)
    assert (path / "microdot" / "microdot.py").read_text() == "Y = 2\n"
    (path / "microdot" / "marker").write_text("kept")
    assert oracle.fetch(oracle.VERSION, tmp_path)[0] == path
    assert (path / "microdot" / "marker").exists()  # not unpacked again


def test_offline_uses_the_newest_cached_wheel(tmp_path):
    _wheel(tmp_path / "dl", "2.6.0", GOOD)
    _wheel(tmp_path / "dl", "2.10.1", GOOD)
    path, ver = oracle.fetch(None, tmp_path, offline=True)
    assert ver == "2.10.1" and path.name == "upstream-2.10.1"


def test_nothing_cached_offline_is_one_line_error(tmp_path):
    with pytest.raises(oracle.OracleError) as exc:
        oracle.fetch(oracle.VERSION, tmp_path, offline=True)
    text = str(exc.value)
    assert "\n" not in text and "microdot==" + oracle.VERSION in text and "retry" in text


@pytest.mark.parametrize("files", [{"other/x.py": ""}, None], ids=["no-package", "not-a-zip"])
def test_a_bad_wheel_leaves_nothing_half_unpacked(tmp_path, files):
    if files is None:
        (tmp_path / "dl").mkdir()
        (tmp_path / "dl" / ("microdot-%s-py3-none-any.whl" % oracle.VERSION)).write_bytes(b"junk")
    else:
        _wheel(tmp_path / "dl", oracle.VERSION, files)
    with pytest.raises(oracle.OracleError, match="delete it and retry"):
        oracle.fetch(oracle.VERSION, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dl"]


def test_cli_prints_the_directory_or_fails(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(oracle, "CACHE", tmp_path)
    assert oracle.main(["--offline"]) == 1
    assert capsys.readouterr().err.startswith("error: Could not get microdot")
    _wheel(tmp_path / "dl", oracle.VERSION, GOOD)
    assert oracle.main(["--offline"]) == 0
    assert str(tmp_path / ("upstream-" + oracle.VERSION)) in capsys.readouterr().out
