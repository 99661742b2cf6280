"""API surface: every public name of upstream Microdot 2.7.0 exists here, under the same
import path, with a signature that accepts the same arguments.

Both packages are described by api_dump.py, each in its own CPython process: upstream by
walking dir() of each module (microdot, microdot.microdot, microdot.test_client and every
extension), ours by looking up exactly those names with getattr(), so names resolved on
first use (module ``__getattr__``) count without being imported up front.
"""
import json
import subprocess
import sys

import pytest

import harness

DUMP = harness.HERE / "api_dump.py"


def dump(libdir, mode, spec_file=None):
    argv = [sys.executable, str(DUMP), str(libdir), mode] + ([str(spec_file)] if spec_file else [])
    proc = subprocess.run(argv, capture_output=True, text=True, env=harness.driver_env(), timeout=120)
    if proc.returncode != 0:
        raise harness.HarnessError("api_dump %s of %s failed: %s" % (mode, libdir, proc.stderr.strip()[-800:]))
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- the acceptance rule (pure) -----------------------------------------------------------

def accepts(up, ours):
    """Why a call valid for signature ``up`` may fail on ``ours`` (None: it cannot).

    Signatures are lists of [name, kind, has_default]. Ours must take the same positional
    parameters in the same order under the same names, the same keyword names, and must
    not require what upstream leaves optional; extra parameters must be optional; *args /
    **kwargs on our side take whatever upstream's named parameters would get.
    """
    if up is None or ours is None:
        return None  # a builtin without introspectable signature: existence is all we check
    o_args = any(k == "args" for _, k, _ in ours)
    o_kwargs = any(k == "kwargs" for _, k, _ in ours)
    o_pos = [p for p in ours if p[1] in ("pos", "poskw")]
    o_by_name = {p[0]: p for p in ours if p[1] in ("poskw", "kw")}
    problems = []
    up_pos = [p for p in up if p[1] in ("pos", "poskw")]
    for i, (name, kind, default) in enumerate(up_pos):
        if i < len(o_pos):
            oname, okind, odefault = o_pos[i]
            if kind == "poskw" and oname != name and not (o_kwargs and okind == "pos"):
                problems.append("parameter %d is %r, upstream %r" % (i + 1, oname, name))
            if kind == "poskw" and okind == "pos" and not o_kwargs:
                problems.append("%r cannot be passed by keyword" % name)
            if default and not odefault:
                problems.append("%r is required, upstream optional" % oname)
        elif not o_args:
            problems.append("takes no parameter %d (%r)" % (i + 1, name))
        elif kind == "poskw" and not o_kwargs and name not in o_by_name:
            problems.append("%r cannot be passed by keyword" % name)
    for name, kind, default in up:
        if kind == "kw":
            mine = o_by_name.get(name)
            if mine is None and not o_kwargs:
                problems.append("no keyword %r" % name)
            elif mine is not None and default and not mine[2]:
                problems.append("keyword %r is required, upstream optional" % name)
        elif kind == "args" and not o_args:
            problems.append("takes no *args")
        elif kind == "kwargs" and not o_kwargs:
            problems.append("takes no **kwargs")
    up_names = {p[0] for p in up}
    for i, (name, kind, default) in enumerate(ours):
        if kind in ("args", "kwargs") or default:
            continue
        if kind in ("pos", "poskw") and o_pos.index([name, kind, default]) < len(up_pos):
            continue
        if name not in up_names:
            problems.append("extra required parameter %r" % name)
    return "; ".join(problems) or None


def fmt_sig(sig):
    if sig is None:
        return "(?)"
    parts = []
    for name, kind, default in sig:
        star = {"args": "*", "kwargs": "**"}.get(kind, "")
        parts.append("%s%s%s" % (star, name, "=" if default else ""))
    return "(%s)" % ", ".join(parts)


def compare_api(up, ours):
    """Problems (one readable line each) and the count of names compared."""
    problems, count = [], 0
    for modname, uentry in up.items():
        if "error" in uentry:
            continue  # upstream itself cannot import it here (a missing optional dependency)
        oentry = ours.get(modname) or {"error": "not probed"}
        if "error" in oentry:
            problems.append("%s: cannot be imported here (%s)" % (modname, oentry["error"]))
            count += len(uentry["names"])
            continue
        for name, udesc in uentry["names"].items():
            count += 1
            where = "%s.%s" % (modname, name)
            odesc = oentry["names"].get(name, {"kind": "missing"})
            problems += _compare_obj(where, udesc, odesc)
            for attr, uattr in (udesc.get("attrs") or {}).items():
                count += 1
                oattr = (odesc.get("attrs") or {}).get(attr, {"kind": "missing"})
                problems += _compare_attr("%s.%s" % (where, attr), uattr, oattr)
    return problems, count


def _value_text(desc):
    value = desc.get("value")
    return repr(value["v"]) if value is not None else "a %s" % desc.get("type", desc["kind"])


def _compare_obj(where, u, o):
    if o["kind"] == "missing":
        return ["%s: missing (upstream: %s)" % (where, u["kind"])]
    if u["kind"] == "value" and u.get("value") is not None and o.get("value") != u["value"]:
        return ["%s: is %s, upstream %s" % (where, _value_text(o), _value_text(u))]
    if u["kind"] in ("class", "function"):
        if o["kind"] not in ("class", "function"):
            return ["%s: is a %s, upstream a callable %s" % (where, o.get("type", o["kind"]), u["kind"])]
        if u["kind"] == "class" and o["kind"] != "class":
            return ["%s: is a function, upstream a class (isinstance/subclassing breaks)" % where]
        why = accepts(u.get("sig"), o.get("sig"))
        if why:
            return ["%s%s: %s (upstream %s)" % (where, fmt_sig(o.get("sig")), why, fmt_sig(u.get("sig")))]
    return []


_CALLABLE = ("method", "staticmethod", "classmethod", "class")


def _compare_attr(where, u, o):
    uk, ok = u["kind"], o["kind"]
    if ok == "missing":
        return ["%s: missing (upstream: %s)" % (where, uk)]
    if uk in ("staticmethod", "classmethod") and ok not in ("staticmethod", "classmethod", "class"):
        return ["%s: is a %s, upstream a %s (calling it on the class breaks)" % (where, ok, uk)]
    if uk in _CALLABLE and ok not in _CALLABLE and ok != "descriptor":
        return ["%s: is a %s, upstream a %s" % (where, o.get("type", ok), uk)]
    if uk == "property" and u.get("settable") and ok == "property" and not o.get("settable"):
        return ["%s: read-only property, upstream's can be assigned" % where]
    if uk == "value" and u.get("value") is not None and o.get("value") != u["value"]:
        return ["%s: default %s, upstream %s" % (where, _value_text(o), _value_text(u))]
    if uk in _CALLABLE and ok in _CALLABLE:
        why = accepts(u.get("sig"), o.get("sig"))
        if why:
            return ["%s%s: %s (upstream %s)" % (where, fmt_sig(o.get("sig")), why, fmt_sig(u.get("sig")))]
    return []


# -- the check ------------------------------------------------------------------------

_WALK = {}


def upstream_walk(upstream_dir):
    if "up" not in _WALK:
        _WALK["up"] = dump(upstream_dir, "walk")
    return _WALK["up"]


def test_api_surface(upstream_dir, tmp_path):
    up = upstream_walk(upstream_dir)
    assert up["file"].startswith(str(upstream_dir))
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(up["modules"]))
    ours = dump(harness.SRC, "probe", spec)
    assert ours["file"].startswith(str(harness.SRC))
    problems, count = compare_api(up["modules"], ours["modules"])
    assert count > 250  # every module walked: a broken walk must not pass as "no problems"
    harness.STATS["api_names"] = count
    if problems:
        pytest.fail("%d of %d upstream API names differ:\n%s" % (len(problems), count, "\n".join(problems)),
                    pytrace=False)


CPYTHON_ONLY = ("microdot.asgi", "microdot.wsgi", "microdot.jinja")


def test_api_names_resolve_on_micropython(upstream_dir, need_runtime, tmp_path):
    """The same names on MicroPython (existence only: it has no inspect): every name
    upstream provides there, ours provides too, lazily resolved ones included."""
    need_runtime("micropython")
    from tools.dev.mptest import find_micropython
    up = upstream_walk(upstream_dir)["modules"]
    spec = {m: sorted(e["names"]) for m, e in up.items() if "names" in e and m not in CPYTHON_ONLY}
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))

    def probe(libdir):
        proc = subprocess.run([find_micropython(), str(harness.HERE / "api_probe_mp.py"), str(libdir),
                               str(spec_file), str(harness.ROOT)], capture_output=True, text=True,
                              cwd=str(tmp_path), env=harness.driver_env(), timeout=60)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout.strip().splitlines()[-1])

    theirs, ours = probe(upstream_dir), probe(harness.SRC)
    problems, count = [], 0
    for mod, missing_up in theirs.items():
        if isinstance(missing_up, str):
            continue  # upstream itself cannot import it on MicroPython (e.g. session needs PyJWT)
        have = [n for n in spec[mod] if n not in missing_up]
        count += len(have)
        mine = ours.get(mod)
        if isinstance(mine, str):
            problems.append("%s: cannot be imported on MicroPython (%s)" % (mod, mine))
        else:
            problems += ["%s.%s: missing on MicroPython" % (mod, n) for n in have if n in mine]
    assert count > 50  # every module probed
    harness.STATS["api_names_mp"] = count
    if problems:
        pytest.fail("%d of %d names upstream has on MicroPython are missing here:\n%s"
                    % (len(problems), count, "\n".join(problems)), pytrace=False)


def test_lazy_names_stay_out_of_the_import():
    """Importing microdot must not import the modules behind its lazily resolved names."""
    code = ("import sys; sys.path.insert(0, %r); import microdot; "
            "print(sorted(m for m in sys.modules if m.startswith('microdot')))" % str(harness.SRC))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=harness.driver_env(), check=True).stdout
    loaded = set(eval(out))  # a list literal printed by the child
    assert loaded and not loaded & {"microdot.multidict", "microdot.streams", "microdot.test_client",
                                    "microdot.websocket", "microdot.sse", "microdot.session"}


# -- the rule's own tests ---------------------------------------------------------------

S = lambda *ps: [list(p) for p in ps]  # noqa: E731


def test_accepts_rules():
    up = S(("a", "poskw", False), ("b", "poskw", True), ("c", "kw", True))
    assert accepts(up, up) is None
    assert accepts(up, S(("a", "poskw", False), ("b", "poskw", True), ("c", "kw", True),
                         ("d", "kw", True))) is None          # extra optional keyword
    assert accepts(up, S(("a", "poskw", False), ("b", "poskw", True), ("c", "poskw", True))) is None
    assert accepts(up, S(("args", "args", False), ("kwargs", "kwargs", False))) is None
    assert "parameter 2 is 'x'" in accepts(up, S(("a", "poskw", False), ("x", "poskw", True),
                                                  ("c", "kw", True)))
    assert "'b' is required" in accepts(up, S(("a", "poskw", False), ("b", "poskw", False),
                                              ("c", "kw", True)))
    assert "no keyword 'c'" in accepts(up, S(("a", "poskw", False), ("b", "poskw", True)))
    assert "takes no parameter 2" in accepts(up, S(("a", "poskw", False), ("c", "kw", True)))
    assert "extra required parameter 'z'" in accepts(up, up + S(("z", "kw", False)))
    assert "takes no **kwargs" in accepts(S(("kw", "kwargs", False)), S())
    assert accepts(None, S()) is None


def test_compare_api_reports_missing_and_wrong_kinds():
    up = {"m": {"names": {"F": {"kind": "function", "sig": S(("x", "poskw", False))},
                          "C": {"kind": "class", "sig": S(),
                                "attrs": {"meth": {"kind": "method", "sig": S()},
                                          "make": {"kind": "classmethod", "sig": S()},
                                          "limit": {"kind": "value", "type": "int"},
                                          "size": {"kind": "value", "type": "int", "value": {"v": 256}},
                                          "obj": {"kind": "value", "type": "Foo", "value": None}}}}},
          "gone": {"names": {"X": {"kind": "value"}}}}
    ours = {"m": {"names": {"F": {"kind": "missing"},
                            "C": {"kind": "class", "sig": S(),
                                  "attrs": {"meth": {"kind": "method", "sig": S()},
                                            "make": {"kind": "method", "sig": S()},
                                            "limit": {"kind": "missing"},
                                            "size": {"kind": "value", "type": "int", "value": {"v": 512}},
                                            "obj": {"kind": "value", "type": "Bar", "value": None}}}}},
            "gone": {"error": "ImportError: no module"}}
    problems, count = compare_api(up, ours)
    assert count == 8
    assert problems == ["m.F: missing (upstream: function)",
                        "m.C.make: is a method, upstream a classmethod (calling it on the class breaks)",
                        "m.C.limit: missing (upstream: value)",
                        "m.C.size: default 512, upstream 256",
                        "gone: cannot be imported here (ImportError: no module)"]
