"""The `dockopt` command line: the command group and its commands.

Start-up cost matters (editors run `dockopt` often), so the command modules import
only click at load time; the parser, the engine and the transforms are imported
inside the commands that need them.

Conventions follow ruff, hadolint and shellcheck.  Exit codes: 0 = clean or
everything fixed; 1 = findings or diffs remain; 2 = a usage, config or parse error
(`--exit-zero` turns 1 into 0, as in ruff).
Machine output (diffs, the fixed text in stdin mode, json/sarif/github reports) goes
to stdout; messages, summaries and errors go to stderr.
"""

from __future__ import annotations

import click

from dockopt.rewriter.cli.bulk import bulk
from dockopt.rewriter.cli.check import check
from dockopt.rewriter.cli.debug import debug
from dockopt.rewriter.cli.fix import fix
from dockopt.rewriter.cli.rules import rule_command, rules_command
from dockopt.rewriter.cli.server import server
from dockopt.rewriter.cli.verify import verify


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    None, "--version", "-V", package_name="dockopt", prog_name="dockopt",
    message="%(prog)s %(version)s"
)
def main() -> None:
    """dockopt: rewrite Dockerfiles for faster, smaller, safer images."""


for _command in (bulk, check, debug, fix, rule_command, rules_command, server, verify):
    main.add_command(_command)
