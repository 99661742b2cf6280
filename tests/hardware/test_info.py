"""The board reports itself: /__smoke/info, the modules it runs, its heap."""
CORE = ("microdot", "microdot.microdot", "microdot.helpers")


def test_info_describes_the_board(info):
    assert info["implementation"] == "micropython"
    assert info["micropython"][0].isdigit()
    assert info["board"]
    assert info["uptime_ms"] >= 0
    heap = info["heap"]
    assert heap["free"] > 0 and heap["alloc"] > 0
    assert heap["boot_free"] >= heap["free"] - heap["alloc"]


def test_framework_is_compiled_or_frozen_not_source(info, target):
    # the framework must come from the image (frozen) or the staged .mpy files, never from .py
    for name in CORE:
        assert info["modules"][name] in ("frozen", "mpy"), (name, info["modules"][name])
    if target.vb is not None:
        expected = "frozen" if target.vb.frozen else "mpy"
        assert [info["modules"][n] for n in CORE] == [expected] * len(CORE)


def test_image_has_the_expected_extensions(info, target):
    if target.expected is None:
        import pytest
        pytest.skip("no expected extension list (pass --hw-expect)")
    present = sorted(e for e, here in info["extensions"].items() if here)
    expected = sorted(e for e in target.expected if e in info["extensions"])
    assert present == expected


def test_uptime_and_request_count_advance(http, url, info):
    first = http.get(url + "/__smoke/info", timeout=10).json()
    second = http.get(url + "/__smoke/info", timeout=10).json()
    assert second["uptime_ms"] >= first["uptime_ms"]
    assert second["requests"] == first["requests"] + 1
