"""Owner-only permissions for the gateway's data: folders 0700, files 0600.

The data dir holds owner personal data (the ledger's private-data tables), password hashes, signing
keys and the document key ring, so no other local user may read any of it. New folders and files
are created owner-only; existing ones (data dirs from earlier versions) are tightened at start.
SQLite gives its ``-wal``/``-shm``/``-journal`` files the mode of the database file, so a database
pre-created 0600 keeps its sidecars 0600 too.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600
_SQLITE_SIDECARS = ("-wal", "-shm", "-journal")


def secure_dir(path: Path) -> Path:
    """Create ``path`` and its missing parents 0700 (``mkdir -p`` would give parents the umask's
    mode); tighten ``path`` itself when it exists."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for folder in reversed(missing):
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        _chmod(folder, DIR_MODE)
    _chmod(path, DIR_MODE)
    return path


def secure_file(path: Path) -> Path:
    """Create an empty ``path`` 0600 unless it exists (then tighten it and its SQLite sidecars)."""
    secure_dir(path.parent)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    os.close(fd)
    _chmod(path, FILE_MODE)
    for suffix in _SQLITE_SIDECARS:
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            _chmod(sidecar, FILE_MODE)
    return path


def tighten_tree(root: Path) -> int:
    """Make every folder under ``root`` 0700 and every file 0600 (symlinks are left alone).

    Returns how many modes were changed, so start-up can say it fixed an older data dir.
    """
    if not root.exists():
        return 0
    changed = 0
    for current, dirs, files in os.walk(root):
        here = Path(current)
        changed += _chmod(here, DIR_MODE)
        for name in files:
            changed += _chmod(here / name, FILE_MODE, keep_owner_exec=True)
        dirs[:] = [d for d in dirs if not (here / d).is_symlink()]
    if changed:
        log.info("data dir %s: tightened %d file/folder mode(s) to owner-only", root, changed)
    return changed


def _chmod(path: Path, mode: int, *, keep_owner_exec: bool = False) -> int:
    """Set ``mode`` (an executable stays executable for its owner with ``keep_owner_exec``: a data dir
    that happens to hold scripts, such as chaincode builders, keeps working)."""
    try:
        info = path.lstat()
    except FileNotFoundError:
        return 0
    if keep_owner_exec:
        mode |= info.st_mode & stat.S_IXUSR
    if stat.S_ISLNK(info.st_mode) or stat.S_IMODE(info.st_mode) == mode:
        return 0
    os.chmod(path, mode)
    return 1
