"""`python -m dockopt.rewriter` runs the dockopt CLI."""

from dockopt.rewriter.cli.main import main

if __name__ == "__main__":
    main()
