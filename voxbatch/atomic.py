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
from pathlib import Path

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


def write_bytes_atomic(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` so readers see the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def write_text_atomic(path: Path, text: str) -> Path:
    """:func:`write_bytes_atomic` for UTF-8 text."""
    return write_bytes_atomic(path, text.encode("utf-8"))
