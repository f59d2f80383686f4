"""`dockopt server`: the language server (front end; needs the `lsp` extra: pygls).

Modules: ``positions`` (offsets <-> LSP positions), ``overlay`` (the build context
with unsaved documents), ``settings`` (the editor's settings over config files),
``analysis`` (one document's findings and fixes), ``server`` (the pygls wiring),
``client`` (a small synchronous LSP client for tests, benchmarks and scripts).
"""
