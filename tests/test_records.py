"""dockopt's record decorator (rewriter/records.py): frozen for mypy, plain at run time."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

from dockopt.rewriter.records import dataclass
from dockopt.rewriter.syntax import parse

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True, slots=True)
class Point:
    x: int
    y: int = 0


@dataclass(frozen=True)
class OwnHash:
    name: str

    def __hash__(self) -> int:
        return 7


def test_a_frozen_record_hashes_and_compares_by_its_fields() -> None:
    assert Point(1, 2) == Point(1, 2) and Point(1, 2) != Point(2, 1)
    assert hash(Point(1, 2)) == hash(Point(1, 2)) == hash((1, 2))  # the field tuple's hash
    assert {Point(1): "a"}[Point(1)] == "a"
    assert dataclasses.replace(Point(1, 2), y=5) == Point(1, 5)
    assert repr(Point(1, 2)) == "Point(x=1, y=2)"
    assert Point.__slots__ == ("x", "y") and not hasattr(Point(1), "__dict__")


def test_a_class_that_writes_its_own_hash_keeps_it() -> None:
    assert hash(OwnHash("a")) == 7


def test_records_of_the_package_stay_hashable() -> None:
    # Parsed trees are used as cache keys: frozen records must keep a field hash.
    text = "FROM debian:12\nRUN echo hi\n"
    assert hash(parse(text).instructions[0]) == hash(parse(text).instructions[0])


def test_mypy_still_rejects_assigning_to_a_frozen_record(tmp_path: Path) -> None:
    # The run-time guard is gone; the type checker is what keeps records frozen.
    shim = tmp_path / "src" / "dockopt"
    shim.mkdir(parents=True)
    (shim / "rewriter").symlink_to(REPO / "rewriter")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        "from dockopt.rewriter.records import dataclass\n\n\n"
        "@dataclass(frozen=True, slots=True)\nclass P:\n    x: int\n\n\n"
        "p = P(1)\np.x = 2\n")
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         str(snippet)], cwd=tmp_path, capture_output=True, text=True, check=False,
        env={"MYPYPATH": str(tmp_path / "src"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'snippet.py:10: error: Property "x" defined in "P" is read-only' in done.stdout, \
        done.stdout


def _twins(options: dict[str, bool], body: dict[str, object],
           annotations: dict[str, str]) -> tuple[type, type]:
    """The same class made by dockopt's decorator and by the standard one."""
    made = []
    for decorator in (dataclass, dataclasses.dataclass):
        namespace = {"__annotations__": dict(annotations), "__module__": __name__,
                     "__qualname__": "Twin", **body}
        made.append(decorator(type("Twin", (), namespace), **options))  # type: ignore[call-overload]
    return made[0], made[1]


SHAPES: list[tuple[dict[str, bool], dict[str, object], dict[str, str]]] = [
    ({"frozen": True}, {}, {"a": "int", "b": "str"}),
    ({"frozen": True, "slots": True}, {}, {"a": "int"}),
    ({"frozen": True}, {}, {}),
    ({}, {"b": dataclasses.field(default="x", compare=False, repr=False)},
     {"a": "int", "b": "str"}),
    ({"frozen": True}, {"b": dataclasses.field(default=0, hash=False)},
     {"a": "int", "b": "int"}),
    ({"frozen": True, "slots": True},
     {"b": dataclasses.field(default_factory=list, compare=False)}, {"a": "int", "b": "list"}),
]


def test_eq_hash_and_repr_match_the_standard_decorators() -> None:
    for options, body, fields in SHAPES:
        ours, theirs = _twins(options, body, fields)
        args = [(1, "y") if len(fields) == 2 else (1,), (2, "z") if fields else ()]
        for values in args:
            values = values[:len(fields)] if fields else ()
            a, b = ours(*values), theirs(*values)
            assert repr(a) == repr(b), (options, fields)
            assert (a == ours(*values)) == (b == theirs(*values))
            assert a.__eq__(b) is NotImplemented  # another class: as the standard one
            if ours.__hash__ is None:
                assert theirs.__hash__ is None, options
            else:
                assert hash(a) == hash(b), (options, fields)
        if len(fields) == 2 and "b" not in body:
            assert (ours(1, "y") == ours(1, "z")) == (theirs(1, "y") == theirs(1, "z"))


def test_fields_left_out_of_compare_and_hash_are_left_out() -> None:
    ours, theirs = _twins(*SHAPES[4])
    assert ours(1, 2) != ours(1, 3) and hash(ours(1, 2)) == hash(ours(1, 3)) == hash(theirs(1, 9))
    mutable, _ = _twins(*SHAPES[3])
    assert mutable(1, "p") == mutable(1, "q") and repr(mutable(1, "p")) == "Twin(a=1)"


def test_a_record_that_contains_itself_repr_as_the_standard_one() -> None:
    ours, theirs = _twins({}, {}, {"a": "object"})
    a, b = ours(None), theirs(None)
    a.a, b.a = [a], [b]
    assert repr(a) == repr(b) == "Twin(a=[...])"


def test_options_dockopt_does_not_use_are_refused() -> None:
    try:
        dataclass(order=True)  # type: ignore[call-overload]
    except TypeError as exc:
        assert "order" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("order=True was accepted")


def test_every_module_uses_dockopts_record_decorator() -> None:
    # One decorator across the package: it keeps start-up cheap, and mixing it with
    # the standard one in a class hierarchy fails (frozen/non-frozen inheritance).
    offenders = []
    for folder in ("rewriter", "transforms", "templates"):
        for path in sorted((REPO / folder).rglob("*.py")):
            if path.name == "records.py":
                continue
            for number, line in enumerate(path.read_text().splitlines(), 1):
                stripped = line.strip()
                if stripped.startswith("from dataclasses import") and \
                        "dataclass" in stripped.replace("dataclasses", "").split("import")[1] \
                        .replace(" ", "").split(","):
                    offenders.append(f"{path.relative_to(REPO)}:{number}")
                if stripped.startswith(("@dataclasses.dataclass", "dataclasses.dataclass(")):
                    offenders.append(f"{path.relative_to(REPO)}:{number}")
    assert offenders == [], offenders


def test_one_decorator_call_may_decorate_several_classes() -> None:
    frozen = dataclass(frozen=True)

    @frozen
    class A:
        x: int

    @frozen
    class B:
        x: int

    assert hash(A(1)) == hash(B(1)) == hash((1,))  # both kept frozen's field hash
