"""Regular expressions for URL patterns the segment matcher cannot handle: ``re:``
segments, custom types registered with a pattern, and ``path`` before the last
segment. Imported only when such a route is added."""
import re

_DEFAULTS = {'int': '-?[0-9]+', 'path': '.+'}


def compile_pattern(segments):
    """Compile ``segments`` (literal, name, type, regex) into a regex anchored at both
    ends; return it with the argument names and types in group order."""
    out = '^'
    names = []
    types = []
    for lit, name, type_name, regex in segments:
        if lit is not None:
            piece = ''
            for c in lit:
                piece += '\\' + c if c in '.^$*+?{}[]\\|()' else c
            out += '/' + piece
            continue
        out += '/(' + (regex or _DEFAULTS.get(type_name, '[^/]+')) + ')'
        names.append(name)
        types.append(type_name)
    return re.compile(out + '$'), names, types
