"""The build options `dockopt verify` and `dockopt bulk --verify` share, defined once
so that both commands spell, default and explain them the same way (as ruff shares
its option definitions between `check` and `format`).

Only click is imported here: both commands are registered at start-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

F = TypeVar("F", bound=Callable[..., Any])

ENGINE_CHOICES = ("auto", "docker", "podman", "buildah")
SCANNER_CHOICES = ("auto", "trivy", "grype", "none")

engine_option = click.option(
    "--engine", type=click.Choice(ENGINE_CHOICES), default="auto", show_default=True,
    help="Container engine; auto takes docker, then podman, then buildah.")

smoke_timeout_option = click.option(
    "--smoke-timeout", type=float, default=30.0, show_default=True, metavar="S",
    help="Seconds the smoke command may run.")

no_rebuild_option = click.option(
    "--no-rebuild", is_flag=True, help="Skip the rebuild measurement.")

no_contents_option = click.option(
    "--no-contents", is_flag=True,
    help="Do not export the images and read their layers (wasted space, contents, "
         "vulnerabilities).")

scanner_option = click.option(
    "--scanner", type=click.Choice(SCANNER_CHOICES), default="auto", show_default=True,
    help="Vulnerability scanner run on both exported images; auto takes the first of "
         "trivy, grype found on PATH, else none (the report says which).")


def build_timeout_option(*decls: str) -> Callable[[F], F]:
    """Seconds one build may take, stored as ``build_timeout``: `verify --timeout`;
    `bulk --build-timeout` (bulk's own ``--timeout`` bounds the fix of one file)."""
    return click.option(*decls, "build_timeout", type=float, default=1800.0,
                        show_default=True, metavar="S",
                        help="Seconds one build may take.")


# The options bulk takes only with --verify, by parameter name (for its usage error).
VERIFY_ONLY = ("engine", "scanner", "smoke_timeout", "build_timeout", "no_rebuild",
               "no_contents")
