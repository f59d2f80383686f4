"""Module-level regular expressions compiled on first use, not at import.

dockopt's modules hold about 90 module-level patterns; a ``dockopt fix -`` on an
ordinary file uses about a fifth of them, yet compiling all of them at import cost
about 6% of a cold start (measured with callgrind: 38 M of 643 M instructions).
``lazy(source)`` defers the compile to the first call of one of the pattern's
methods. After that call the compiled pattern's bound methods sit in the object's
slots, so later calls cost what calls on a real ``re.Pattern`` cost: an attribute
read and a C call, no Python frame in between.

The object is typed as ``re.Pattern[str]`` for its users. It is not one for
``isinstance`` or for the ``re`` module's functions (``re.sub(pattern, ...)``): pass
it to neither; call its methods. ``tests/test_lazy_re.py`` checks every lazy pattern
of the package against its compiled twin.
"""

from __future__ import annotations

import re
from typing import Any, cast

# The methods and attributes a lazy pattern forwards, kept in slots after the compile.
_FORWARDED = ("match", "search", "fullmatch", "finditer", "findall", "sub", "subn",
              "split", "pattern", "flags", "groups", "groupindex")


class LazyPattern:
    """A pattern compiled by its first method call; see the module's doc."""

    __slots__ = ("_flags", "_source", *_FORWARDED)

    def __init__(self, source: str, flags: int = 0) -> None:
        self._source = source
        self._flags = flags

    def __getattr__(self, name: str) -> Any:
        # Reached only while a slot is still empty, i.e. before the first compile.
        if name not in _FORWARDED:
            raise AttributeError(name)
        compiled = re.compile(self._source, self._flags)
        for attr in _FORWARDED:
            object.__setattr__(self, attr, getattr(compiled, attr))
        return getattr(compiled, name)

    def __repr__(self) -> str:
        return f"lazy({self._source!r})"

    def compiled(self) -> re.Pattern[str]:
        return re.compile(self._source, self._flags)


def lazy(source: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(source, flags)``, compiled when first used."""
    return cast("re.Pattern[str]", LazyPattern(source, flags))

