"""``once``: ``functools.cached_property`` without the lock, for the syntax tree.

On Python 3.11 ``cached_property.__get__`` takes an ``RLock`` around every first read
of an attribute (CPython 3.12 removed it: the lock was shared by all instances and
serialised unrelated ones). The tree's nodes read theirs once each, but there are
many: ``check`` over the official images' 451 files made 31,000 first reads
(``keyword``, ``known``, ``passthrough`` and the interpretation of every instruction),
at about twice the cost of the descriptor below.

The value is a pure function of the instance (the nodes are immutable), so two
threads reading it at once compute it twice and store equal values: harmless, which
is why no lock is needed. As with ``cached_property``, the value is stored in the
instance's ``__dict__`` under the attribute's name, and later reads find it there
without calling the descriptor (a non-data descriptor).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

_T = TypeVar("_T")


class once(Generic[_T]):  # lower case: a decorator, like cached_property
    """A read-once attribute: ``func(instance)`` computed on first read, then kept."""

    def __init__(self, func: Callable[[Any], _T]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> once[_T]: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> _T: ...

    def __get__(self, instance: object, owner: type | None = None) -> _T | once[_T]:
        if instance is None:
            return self
        value = self.func(instance)
        instance.__dict__[self.name] = value
        return value
