"""The `dockopt` command line: one module per command group (front end; the library
never imports it)."""
