"""The build context as the editor sees it: files on disk, with open documents'
unsaved text laid over them (an edited, unsaved ``package.json`` counts).

``BuildContext`` reads single files through ``read_text``/``is_file``/``exists``
and lists the folder once (``_walk``); the subclass answers those from the open
documents first.  The folder listing is the slow part of a big context, so it is
kept per folder for a few seconds and dropped whenever the editor says files
changed (save, open, close, watched-file events).
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path

from dockopt.rewriter.context import BuildContext, IgnoreFile

# How long a folder listing is trusted without any file event from the editor.
LISTING_TTL = 5.0
_listings: dict[str, tuple[float, dict[str, int], set[str]]] = {}


def forget_listings() -> None:
    """Files were created, deleted or saved: list the folders again."""
    _listings.clear()


class OverlayContext(BuildContext):
    """A ``BuildContext`` whose files are the open documents' text where one is open.

    ``documents`` maps resolved absolute paths to text.
    """

    def __init__(self, root: Path, *, dockerfile: str | None,
                 documents: Mapping[str, str]) -> None:
        super().__init__(root, dockerfile=dockerfile)
        prefix = str(self.root) + os.sep
        self.all_documents = documents
        self.documents = {p: t for p, t in documents.items() if p.startswith(prefix)}

    def _open(self, rel: str) -> str | None:
        if not self.documents:
            return None
        p = self.resolve(rel)
        return None if p is None else self.documents.get(str(p))

    def exists(self, rel: str) -> bool:
        return self._open(rel) is not None or super().exists(rel)

    def is_file(self, rel: str) -> bool:
        return self._open(rel) is not None or super().is_file(rel)

    def read_text(self, rel: str) -> str | None:
        text = self._open(rel)
        return text if text is not None else super().read_text(rel)

    def _walk(self) -> None:
        key = str(self.root)
        cached = _listings.get(key)
        if cached is None or time.monotonic() - cached[0] > LISTING_TTL:
            super()._walk()
            assert self._files is not None and self._dirs is not None
            _listings[key] = (time.monotonic(), dict(self._files), set(self._dirs))
            cached = _listings[key]
        files, dirs = dict(cached[1]), set(cached[2])
        for path, text in self.documents.items():
            rel = os.path.relpath(path, key).replace(os.sep, "/")
            files[rel] = len(text.encode("utf-8", "surrogateescape"))
            parts = rel.split("/")[:-1]
            dirs.update("/".join(parts[:i]) for i in range(1, len(parts) + 1))
        self._files, self._dirs = files, dirs

    def ignore_file(self) -> IgnoreFile:
        if self.dockerfile:
            specific = Path(self.dockerfile)
            specific = specific.parent / (specific.name + ".dockerignore")
            text = self.all_documents.get(str(specific.resolve()))
            if text is not None:
                try:
                    rel: str | None = specific.resolve().relative_to(self.root).as_posix()
                except ValueError:
                    rel = None
                return IgnoreFile(rel, text, True)
        return super().ignore_file()
