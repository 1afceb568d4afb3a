"""Atomic file writes: a temp file in the same folder, fsynced, then renamed over the target.

Every file voxbatch writes (outputs, sidecars, cache, ledger, downloads) gets its temp file from
:func:`create_temp_beside`, so it gets the usual permissions: ``0o666`` less the process umask, as
``open()`` or ``touch`` would give it. ``tempfile.mkstemp`` would make it ``0600`` instead, which the
rename would carry over to the finished file. The kernel applies the umask (and any default ACL of the
folder) when the file is created, so the umask is never read or changed here.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

NEW_FILE_MODE = 0o666  # before the umask: what open(path, "w") asks for
_TEMP_NAME_TRIES = 100
_TEMP_TOKEN_BYTES = 6


def create_temp_beside(target: Path, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a new, empty, hidden temp file next to ``target``; return its open (write-only) fd and path.

    The caller writes, fsyncs and renames it over ``target`` (same folder, so the rename is atomic), or
    unlinks it on failure. Its mode is ``0o666 & ~umask``, like any normally created file.
    """
    for _ in range(_TEMP_NAME_TRIES):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(_TEMP_TOKEN_BYTES)}{suffix}")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), NEW_FILE_MODE)
        except FileExistsError:
            continue
        return fd, tmp
    raise FileExistsError(f"could not create a temp file beside {target}")  # pragma: no cover


def write_atomic(path: Path, write: Callable[[BinaryIO], object], *, durable_folder: bool = False) -> Path:
    """Let ``write`` fill a temp file beside ``path``, fsync it and rename it over ``path``: readers see the old
    file or the whole new one, never a part. ``durable_folder`` also fsyncs the folder, so the rename itself
    survives a power cut (the ledger wants that; outputs that a re-run would rebuild do not pay for it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    if durable_folder:
        fsync_dir(path.parent)
    return path


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    return write_atomic(path, lambda fh: fh.write(data))


def fsync_dir(folder: Path) -> None:
    """Make renames and new files in ``folder`` durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def write_text_atomic(path: Path, text: str) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"))
