"""`python -m dockopt.rewriter.server` runs the language server on stdio."""

from dockopt.rewriter.server.server import main

if __name__ == "__main__":
    main()
