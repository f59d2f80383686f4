"""``dataclass`` for dockopt's records: frozen for mypy, without the run-time guard.

Every record type in dockopt is a dataclass, most of them ``frozen=True``. On the
Pythons dockopt supports (3.11, 3.12), the standard decorator writes each generated
method as source text and compiles it: about 0.4 ms per frozen class, 64 classes on
the path of a single ``dockopt fix -``, so a quarter of a cold start's import time
(measured: 28 ms of about 110 ms). ``frozen=True`` alone adds three of those methods
(``__setattr__``, ``__delattr__``, ``__hash__``), and its ``__init__`` sets every field
through ``object.__setattr__``, which makes each instance slower to create.

This decorator keeps the frozen contract where it is enforced today, by the type
checker: under ``TYPE_CHECKING`` it *is* ``dataclasses.dataclass``, so mypy --strict
(CI runs it on every package) rejects any assignment to a field of a frozen record.
At run time a frozen record is built as a plain dataclass with the same ``__hash__``
(``unsafe_hash=True`` generates exactly the hash ``frozen=True, eq=True`` would), the
same ``__eq__``, ``__repr__``, ``__init__`` and slots; only the run-time guard against
assignment is left out. Hashes stay stable because nothing assigns to a field.

Use it exactly as ``dataclasses.dataclass``; ``field``, ``replace`` and ``fields``
still come from ``dataclasses``. Mixing this decorator and the standard one in one
class hierarchy is an error (``dataclasses`` refuses frozen/non-frozen inheritance),
which the test suite would show at import.

Beyond that, ``__eq__``, ``__hash__`` and ``__repr__`` are not written as source and
compiled per class (three of the four compiles the standard decorator does for a
frozen class) but made once from the class's field names, with ``operator.attrgetter``
reading the fields in C. They behave as the generated ones: ``__eq__`` compares the
``compare`` fields of two instances of exactly the same class and returns
``NotImplemented`` otherwise; ``__hash__`` is ``hash()`` of the tuple of the hashed
fields, the very value the generated one returns, and ``None`` (unhashable) for a
mutable class with ``eq``; ``__repr__`` is ``Name(field=value, ...)`` over the
``repr`` fields, ``...`` on recursion. A class that writes one of them keeps its own.
Only the options dockopt uses are accepted (``frozen``, ``slots``, ``eq``, ``repr``,
``kw_only``, ``init``); ``tests/test_records.py`` compares the results with the
standard decorator's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dataclasses import dataclass as dataclass
else:
    import dataclasses as _dataclasses
    import reprlib
    from operator import attrgetter

    _ACCEPTED = frozenset({"frozen", "slots", "eq", "repr", "kw_only", "init"})

    def dataclass(cls=None, /, **options):
        """``dataclasses.dataclass`` with ``frozen=True`` checked statically only."""
        unknown = set(options) - _ACCEPTED
        if unknown:
            raise TypeError(f"dockopt's dataclass does not take {sorted(unknown)}")

        def wrap(klass):
            # A copy: one `dataclass(frozen=True)` may decorate several classes.
            rest = dict(options)
            frozen = rest.pop("frozen", False)
            want_eq = rest.pop("eq", True)
            want_repr = rest.pop("repr", True)
            own = klass.__dict__
            explicit_hash = "__hash__" in own and not (
                own["__hash__"] is None and "__eq__" in own)
            has_eq, has_repr = "__eq__" in own, "__repr__" in own
            made = _dataclasses.dataclass(klass, eq=False, repr=False, **rest)
            fields = _dataclasses.fields(made)
            if want_repr and not has_repr:
                made.__repr__ = _repr_of(f.name for f in fields if f.repr)
            if want_eq:
                if not has_eq:
                    made.__eq__ = _eq_of(f.name for f in fields if f.compare)
                if not explicit_hash:
                    made.__hash__ = _hash_of(
                        f.name for f in fields
                        if (f.compare if f.hash is None else f.hash)) if frozen else None
            return made

        return wrap if cls is None else wrap(cls)

    def _values(names):
        """A function returning the tuple of the named fields of an instance."""
        names = tuple(names)
        if len(names) == 1:  # attrgetter returns the bare value for one name
            one = attrgetter(names[0])
            return lambda obj: (one(obj),)
        if not names:
            return lambda obj: ()
        return attrgetter(*names)

    def _eq_of(names):
        values = _values(names)

        def __eq__(self, other):
            if other.__class__ is self.__class__:
                return values(self) == values(other)
            return NotImplemented

        return __eq__

    def _hash_of(names):
        values = _values(names)

        def __hash__(self):
            return hash(values(self))

        return __hash__

    def _repr_of(names):
        names = tuple(names)
        values = _values(names)

        @reprlib.recursive_repr()
        def __repr__(self):
            shown = ", ".join(f"{n}={v!r}" for n, v in zip(names, values(self), strict=True))
            return f"{self.__class__.__qualname__}({shown})"

        return __repr__
