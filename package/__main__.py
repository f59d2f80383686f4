"""`python -m dockopt` runs the dockopt CLI (as the `dockopt` command does).

`dockopt` is a namespace package (see pyproject.toml): this folder holds only its
``__main__``, installed as ``dockopt/__main__.py``; no ``__init__.py``, so the
namespace stays open for ``dockopt.rewriter``, ``dockopt.transforms`` and
``dockopt.templates``.
"""

from dockopt.rewriter.cli.main import main

if __name__ == "__main__":
    main()
