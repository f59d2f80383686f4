"""`dockopt server`: run the language server (LSP over stdio).

Only click is imported here: pygls and the server are imported when the command
runs, so the other commands' start-up does not pay for them.
"""

from __future__ import annotations

import click

from dockopt.rewriter.cli.common import fail

INSTALL_HINT = ("the language server needs the `lsp` extra: "
                "pip install 'dockopt[lsp]' (pygls and lsprotocol)")


@click.command("server")
@click.option("--stdio", is_flag=True, hidden=True,
              help="Talk over stdin/stdout (the only transport; accepted for clients "
                   "that always pass it).")
def server(stdio: bool) -> None:
    """Run the language server (LSP 3.17) on stdin/stdout, for editors.

    Diagnostics, quick fixes, fix-all, hover docs. Settings come from the
    editor (initializationOptions, workspace/didChangeConfiguration) over the
    config files; see docs/editors.md.
    """
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        fail(INSTALL_HINT, 2)
    from dockopt.rewriter.server.server import main

    main()
