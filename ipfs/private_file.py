"""Crash-safe writes of key files: readers see the old file or the new one, never a part.

Shared by the document key stores here and by the gateway's QR signing keys (``app/qr``), so it
imports nothing from ``app/``.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path


def write_file_atomically(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data``, created with ``mode`` (owner-only by default).

    The temporary file is created beside ``path`` under a unique name with ``O_EXCL`` (never
    following or reusing another file) and ``O_CLOEXEC`` (no leak into child processes), fsynced,
    renamed over ``path`` and removed on failure; the directory is then fsynced so the rename
    itself survives a crash.
    """
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
