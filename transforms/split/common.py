"""Shared planning for DO101's builder/runtime split: reading the final stage,
rendering a runtime stage from ``templates/stages/*.j2``, and naming the builder.

Each family (``split.go``, ``split.node``, ...) builds a :class:`Plan`; the transform in
``split.single_stage`` turns it into one edit."""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from dataclasses import field
from pathlib import Path
from typing import Any

from dockopt.rewriter.edit import Style
from dockopt.rewriter.lazy_re import lazy
from dockopt.rewriter.records import dataclass
from dockopt.rewriter.shell import SimpleCommand
from dockopt.rewriter.syntax import Dockerfile, Instruction, Stage, parse
from dockopt.transforms.base import Context, Edit
from dockopt.transforms.images import ImageRef, facts_for
from dockopt.transforms.shellfix import RunShell, shell_runs

# The golang image's WORKDIR (docker-library/golang).
GO_WORKDIR = "/go"

ASSET_DIRS = frozenset({"templates", "static", "public", "assets", "views", "web", "www",
                         "migrations", "config", "locales", "i18n", "prisma"})
KEEP = ("ENV", "EXPOSE", "LABEL", "USER", "HEALTHCHECK", "STOPSIGNAL", "VOLUME", "CMD",
         "ENTRYPOINT")
PLAIN_WORD = lazy(r"[A-Za-z0-9_./:=@,+%-]+")


class Blocked(Exception):
    """The split cannot be made with confidence; the message says why."""


@dataclass
class Plan:
    family: str  # "go" | "node"
    builder: str  # the builder stage's name
    from_edit: Edit | None  # names the builder stage (None: it already has a name)
    inserts: dict[int, str] = field(default_factory=dict)
    deletes: list[tuple[int, int]] = field(default_factory=list)  # builder text removed
    # What the runtime copies from the builder (absolute paths): see trim_tail.
    protected: list[str] = field(default_factory=list)
    runtime: str = ""  # the rendered runtime stage (file newline, keyword case)
    moved: list[str] = field(default_factory=list)  # what the runtime gets, and why
    notes: list[str] = field(default_factory=list)



def trim_tail(ctx: Context, stage: Stage, plan: Plan) -> None:
    """Leave out of the builder what follows its last RUN when the runtime stage
    repeats it, word for word: the source COPYs (the runtime copies them again from
    the context) and the image settings (only the final stage's count). Otherwise
    every source change rebuilds the builder's copy for nothing, and the runtime's
    ``COPY --from`` of ``plan.protected`` must be checked again (BuildKit checksums
    the new builder snapshot; buildah even copies the folder again to compare).

    Only for a builder the split named: a stage the user named may be built on its
    own (``--target NAME``, compose ``target:``) and must stay as it was. Nothing is
    trimmed when an instruction after the last RUN is not in the runtime as it is
    (a setting the runtime leaves out or rewrites, a COPY of files the runtime does
    not take), so no line leaves the file. The runtime templates repeat COPYs after
    their ``COPY --from``: whatever a left-out COPY wrote into a protected path in
    the builder, the runtime writes again (COPY merges and overwrites). A WORKDIR
    there that makes a folder in a protected path keeps the tail too. Comments
    above a left-out instruction go with it (the runtime repeats them with it);
    other comments stay."""
    if plan.from_edit is None or not plan.protected:
        return
    runs = [ins for ins in stage.body if ins.keyword == "RUN"]
    if not runs:
        return
    last_run = runs[-1]
    runtime = adapt_newlines_lf(plan.runtime)
    lines = runtime.split("\n")
    here = "/"
    tail: list[Instruction] = []
    for ins in stage.body:
        writes = ins.keyword in ("COPY", "ADD", "WORKDIR")
        if writes and (not ins.value or "$" in ins.value[-1]):
            return
        dest = posixpath.normpath(posixpath.join(here, ins.value[-1])) if writes else ""
        if ins.keyword == "WORKDIR":
            here = dest
        if ins.start <= last_run.start:
            continue
        if ins.keyword not in (*KEEP, "ARG", "COPY", "ADD", "WORKDIR"):
            return
        shown = block(ctx.tree, ins).split("\n")
        if not any(lines[i:i + len(shown)] == shown for i in range(len(lines))):
            return  # not repeated as it is
        if ins.keyword == "WORKDIR" and any((dest + "/").startswith(p.rstrip("/") + "/")
                                            for p in plan.protected):
            return
        tail.append(ins)
    if not tail:
        return
    text = ctx.text
    cuts: list[tuple[int, int]] = []
    for ins in tail:
        comments = ctx.tree.owned_comments(ins)
        cuts.append((comments[0].start if comments else ins.start, ins.end))
    starts = [last_run.end] + [b for _, b in cuts]
    ends = [a for a, _ in cuts] + [len(text)]
    if not "".join(text[a:b] for a, b in zip(starts, ends, strict=True)).strip():
        cuts = [(last_run.end, len(text))]  # only blank lines would be left
    plan.deletes += cuts
    what = ", ".join(dict.fromkeys(ins.keyword for ins in tail))
    plan.notes.append(f"The builder now ends with its last RUN: the {what} after it are "
                      "left out of it (the runtime stage repeats them), so a source change "
                      "does not rebuild the builder.")


def apply_edits(text: str, edits: Sequence[Edit]) -> str:
    """``text`` with the (non-overlapping) ``edits`` applied."""
    out: list[str] = []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end)):
        out += [text[pos:e.start], e.content]
        pos = e.end
    return "".join(out) + text[pos:]


def growth(edits: Sequence[Edit]) -> int:
    return sum(len(e.content) - (e.end - e.start) for e in edits)


def cmd_words(cmd: SimpleCommand) -> list[str]:
    """The resolved program's name and its arguments (None words as '')."""
    if cmd.resolved_index is None:
        return []
    return [cmd.resolved_name or ""] + [w.value or "" for w in cmd.resolved_args]



# --- shared planning --------------------------------------------------------------


@dataclass
class Walk:
    """The final stage read in order, up to and after the build RUN."""

    build: RunShell
    workdir: str | None  # absolute WORKDIR at the build (None: the image's default)
    runs_before: list[RunShell]
    after: list[Instruction]  # instructions after the build RUN
    keep: list[Instruction]  # instructions preserved into the runtime, in order
    args: list[Instruction]  # the stage's ARGs


def walk_stage(ctx: Context, stage: Stage, is_build: Any, base_workdir: str) -> Walk:
    runs = {r.ins.start: r for r in shell_runs(ctx, stage)}
    workdir: str | None = None
    build: RunShell | None = None
    before: list[RunShell] = []
    after: list[Instruction] = []
    keep: list[Instruction] = []
    args: list[Instruction] = []
    for ins in stage.body:
        kw = ins.keyword
        if kw == "ONBUILD" or kw == "SHELL":
            raise Blocked(f"the stage has {kw}, which a generated runtime cannot reproduce")
        if kw == "ARG":
            args.append(ins)
        if kw in KEEP:
            keep.append(ins)
        if kw == "WORKDIR" and ins.value:
            value = ins.value[0]
            if "$" in value:
                raise Blocked("WORKDIR comes from a variable")
            workdir = posixpath.normpath(posixpath.join(workdir or base_workdir, value))
        if kw in ("COPY", "ADD") and build is None and len(ins.value) >= 2:
            check_copy(ins, workdir or base_workdir, base_workdir == GO_WORKDIR)
        if build is not None:
            if kw in ("RUN", "COPY", "ADD"):
                after.append(ins)
            continue
        if kw == "RUN":
            run = runs.get(ins.start)
            if run is None:
                raise Blocked(f"line {ins.start_line}: a RUN that cannot be read (exec form, "
                              "heredoc or a shell parse error)")
            if is_build(run):
                build = run
            else:
                before.append(run)
    if build is None:
        raise Blocked("the build command was not found in a plain shell-form RUN")
    if after:
        ins = after[0]
        raise Blocked(f"line {ins.start_line}: a {ins.keyword} after the build may make "
                      "something the app needs at run time")
    return Walk(build, workdir, before, after, keep, args)


_GO_SOURCE_FILES = lazy(r".*\.go|go\.(mod|sum|work|work\.sum)|\.dockerignore|Makefile")


def check_copy(ins: Instruction, here: str, go: bool) -> None:
    """Raise when a COPY/ADD before the build brings in files the app may read at run
    time (they would not reach the runtime stage)."""
    *sources, dest = ins.value
    for src in sources:
        name = posixpath.basename(src.rstrip("/"))
        if "://" in src or src.startswith("git@"):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} downloads {src}")
        if name.startswith(".env"):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} copies {src}, which the app "
                          "reads at run time")
        if go and "." in name.strip(".") and not _GO_SOURCE_FILES.fullmatch(name):
            raise Blocked(f"line {ins.start_line}: {ins.keyword} copies {src}, which the app "
                          "may read at run time")
    if go:
        return  # Go sources may go anywhere: only the binary reaches the runtime
    full = posixpath.normpath(posixpath.join(here, dest))
    if "$" in dest or not (full + "/").startswith(here.rstrip("/") + "/"):
        raise Blocked(f"line {ins.start_line}: {ins.keyword} puts files in {dest}, outside "
                      "the app's folder: the app may need them at run time")


def render(family: str, style: Style, params: dict[str, Any]) -> str:
    """Render ``templates/stages/<family>.j2``, parse it, and adapt it to the file."""
    import jinja2

    import dockopt.templates as templates

    folder = Path(templates.__file__).parent / "stages"
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)),
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, autoescape=False)
    kw = {k: style.keyword(k) for k in ("FROM", "WORKDIR", "COPY", "ARG", "ENV", "RUN")}
    text = env.get_template(f"{family}.j2").render(kw=kw, **params)
    fragment = parse(text)
    if fragment.has_errors or len(fragment.stages) != 1:
        raise Blocked("the generated runtime stage does not parse")
    return text.replace("\n", style.newline) if style.newline != "\n" else text


def block(tree: Dockerfile, ins: Instruction) -> str:
    """The instruction with the comment lines above it, LF-separated, no final newline."""
    parts = [c.text for c in tree.owned_comments(ins)] + [ins.text]
    return adapt_newlines_lf("".join(parts)).rstrip("\n")


def adapt_newlines_lf(text: str) -> str:
    return text.replace("\r\n", "\n")


def builder_name(stages: Sequence[Stage], final: Stage, style: Style) -> tuple[str, Edit | None]:
    if final.name:
        return final.name, None
    taken = {s.name for s in stages if s.name}
    name = next(n for n in ("build", "builder", "build-stage", "dockopt-build")
                if n not in taken)
    frm = final.from_instruction
    logical = frm.logical
    pos = logical.to_physical_end(len(logical.text.rstrip()))
    return name, Edit(pos, pos, f" {'AS' if style.upper_keywords else 'as'} {name}")


def arg_lines(tree: Dockerfile, walk: Walk, keep: list[str]) -> list[str]:
    if any("$" in line for line in keep):
        return [block(tree, a) for a in walk.args]
    return []


def command_argv(ins: Instruction) -> list[str]:
    """CMD/ENTRYPOINT as argv: exec form, or shell form made of plain words only."""
    if ins.is_json:
        return list(ins.value)
    text = ins.args.text.strip()
    words = text.split()
    if not words or not all(PLAIN_WORD.fullmatch(w) for w in words):
        raise Blocked(f"line {ins.start_line}: the shell-form {ins.keyword} is not plain words "
                      "(it needs a shell)")
    return words


def last(keep: list[Instruction], kw: str) -> Instruction | None:
    found = [i for i in keep if i.keyword == kw]
    return found[-1] if found else None



def slim_variant(ref: ImageRef) -> str | None:
    """The -slim variant of ``ref`` (same repository and version), or None when the
    images table knows none or the reference pins a digest (the digest names the
    full image: a slim tag beside it would be ignored)."""
    facts = facts_for(ref)
    if facts is None or facts.slim_tag is None or ref.digest:
        return None
    if ref.tag_start is not None:
        return ref.text[:ref.tag_start] + facts.slim_tag
    return ref.text + ":" + facts.slim_tag


def settings_lines(tree: Dockerfile, keep: list[Instruction]) -> tuple[list[str], list[str]]:
    """The preserved instructions as text blocks (with their comments): the ENV lines,
    and the others, in file order; only the last CMD and the last ENTRYPOINT count."""
    env_lines: list[str] = []
    keep_lines: list[str] = []
    for ins in keep:
        if ins.keyword in ("CMD", "ENTRYPOINT") and ins is not last(keep, ins.keyword):
            continue
        (env_lines if ins.keyword == "ENV" else keep_lines).append(block(tree, ins))
    return env_lines, keep_lines


def image_command(keep: list[Instruction],
                  missing: str = "no CMD or ENTRYPOINT") -> tuple[Instruction, list[str]]:
    """The instruction that decides what the image runs (the last ENTRYPOINT, else the
    last CMD) and the argv it runs: an exec-form ENTRYPOINT gets CMD's words appended,
    a shell-form one ignores CMD (as Docker does). Raises Blocked(``missing``)."""
    entry, cmd = last(keep, "ENTRYPOINT"), last(keep, "CMD")
    head = entry if entry is not None else cmd
    if head is None:
        raise Blocked(missing)
    argv = command_argv(head)
    if entry is not None and cmd is not None and entry.is_json:
        argv = argv + command_argv(cmd)
    return head, argv
