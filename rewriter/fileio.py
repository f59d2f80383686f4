"""Writing files so that a reader sees the old version or the new one, never a mix."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from typing import BinaryIO


def atomic_write(path: str, data: bytes, *, durable: bool = True) -> None:
    """Temp file in the same folder + fsync + os.replace, as `dockopt fix` writes: the
    file is the old version or the new one, never a mix.  The mode is kept (0644 for
    a new file); a symlink stays a symlink (its target is replaced).  ``durable=False``
    skips the fsync, for files whose loss in a crash costs only time (a cache)."""
    with atomic_writer(path, durable=durable) as handle:
        handle.write(data)


@contextlib.contextmanager
def atomic_writer(path: str, *, durable: bool = True) -> Iterator[BinaryIO]:
    """:func:`atomic_write` for output written piece by piece: a temp file in the same
    folder to write into, which replaces ``path`` (fsynced, the mode kept) when the
    block ends without an exception, and is removed when it raises."""
    target = os.path.realpath(path)
    try:
        mode = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = 0o644
    folder = os.path.dirname(target)
    os.makedirs(folder, exist_ok=True)
    # Imported here: tempfile brings shutil, random, bz2 and lzma (about 5 ms), which a
    # run that writes nothing (a check answered from the results cache) need not pay.
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.",
                               suffix=".dockopt")
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
