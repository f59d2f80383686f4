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

import importlib

import click

# Each command's module is imported only when that command runs (or for --help): an
# editor or pre-commit starts `dockopt fix` per file and should not pay for the other
# commands' modules.
_COMMANDS = {
    "bulk": ("dockopt.rewriter.cli.bulk", "bulk"),
    "check": ("dockopt.rewriter.cli.check", "check"),
    "clean": ("dockopt.rewriter.cli.clean", "clean"),
    "debug": ("dockopt.rewriter.cli.debug", "debug"),
    "fix": ("dockopt.rewriter.cli.fix", "fix"),
    "rule": ("dockopt.rewriter.cli.rules", "rule_command"),
    "rules": ("dockopt.rewriter.cli.rules", "rules_command"),
    "server": ("dockopt.rewriter.cli.server", "server"),
    "verify": ("dockopt.rewriter.cli.verify", "verify"),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in _COMMANDS:
            return None
        module, attr = _COMMANDS[cmd_name]
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(
    None, "--version", "-V", package_name="dockopt", prog_name="dockopt",
    message="%(prog)s %(version)s"
)
def main() -> None:
    """dockopt: rewrite Dockerfiles for faster, smaller, safer images."""
