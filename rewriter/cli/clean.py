"""`dockopt clean`: remove the results cache (ruff's `ruff clean`)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from dockopt.rewriter.cli.options import cache_dir_option


@click.command()
@cache_dir_option
@click.option("-q", "--quiet", is_flag=True, help="Print nothing but errors.")
def clean(cache_dir: Path | None, quiet: bool) -> None:
    """Remove the results cache that `dockopt check` keeps.

    Only a folder that dockopt made (it holds dockopt's CACHEDIR.TAG) is removed.
    Exit codes: 0 removed or nothing to remove, 2 not a dockopt cache or not
    removable.
    """
    from dockopt.rewriter import result_cache

    try:
        where = cache_dir or result_cache.default_dir()
        removed = result_cache.clean(where)
    except (result_cache.CacheError, OSError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    if not quiet:
        click.echo(f"Removed the cache at {where}" if removed
                   else f"No cache at {where}", err=True)
