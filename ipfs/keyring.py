"""The consortium document key ring: master keys by id in one file every org's gateway holds.

Why a shared file: a document's data key is wrapped by a master key, and the key reference on
chain (``kid``) names that key. For a bank's or the regulator's gateway to read a court order the
TrafficAuthority anchored, every authorised gateway must hold the same master keys. The file is
distributed out of band (as a KMS would hand out keys); ``current`` names the key new documents are
wrapped with, older keys stay for reading (rotation). File format (JSON, or YAML by suffix)::

    {"format": "mledger-document-keyring/1",
     "current": "mk-<16 hex>",
     "keys": {"mk-<16 hex>": "<standard base64 of 32 bytes>", ...}}

A key id is the fingerprint :meth:`ipfs.envelope.Keyring.key_id` of its key, so an id can only
ever name one key: a gateway with a different key under the same name cannot exist. The file must
be a regular file with no group/other permission bits (0600 or 0400) owned by the gateway's user
(or root). Key material never appears in messages, logs or ``repr``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import fcntl
import json
import logging
import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

import yaml
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ipfs.envelope import KEY_BYTES, Keyring
from ipfs.private_file import write_file_atomically

log = logging.getLogger(__name__)

FORMAT = "mledger-document-keyring/1"
_YAML_SUFFIXES = frozenset({".yaml", ".yml"})


class KeyringFileError(ValueError):
    """The key-ring file is missing, unsafe or malformed (the message names the file and the field)."""


class KeySource(Protocol):
    """Where a vault gets its master keys for one operation (a fixed ring or a file that may change)."""

    def current(self) -> Keyring: ...


def _check_safe(path: Path, st: os.stat_result) -> None:
    if not stat.S_ISREG(st.st_mode):
        raise KeyringFileError(f"document key ring {path}: not a regular file")
    loose = stat.S_IMODE(st.st_mode) & 0o077
    if loose:
        raise KeyringFileError(
            f"document key ring {path}: permissions {stat.S_IMODE(st.st_mode):04o} are too open "
            "(group/other may access it); refused — run `chmod 600` on it"
        )
    if st.st_uid not in (os.geteuid(), 0):
        raise KeyringFileError(
            f"document key ring {path}: owned by uid {st.st_uid}, not by this gateway's user "
            f"({os.geteuid()}) or root; refused"
        )


def _parse(path: Path, raw: bytes) -> Keyring:
    try:
        if path.suffix.lower() in _YAML_SUFFIXES:
            doc: Any = yaml.safe_load(raw)
        else:
            doc = json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        # the parser's message may quote the file's content: keep only its position
        where = getattr(exc, "problem_mark", None) or getattr(exc, "lineno", None)
        raise KeyringFileError(f"document key ring {path}: not valid JSON/YAML (at {where})") from None
    if not isinstance(doc, dict):
        raise KeyringFileError(f"document key ring {path}: must be an object with 'current' and 'keys'")
    if doc.get("format", FORMAT) != FORMAT:
        raise KeyringFileError(f"document key ring {path}: field 'format' must be {FORMAT!r}")
    entries = doc.get("keys")
    if not isinstance(entries, dict) or not entries:
        raise KeyringFileError(f"document key ring {path}: field 'keys' must map key ids to base64 keys")
    keys: dict[str, bytes] = {}
    for kid, value in entries.items():
        field = f"keys.{kid}"
        if not isinstance(kid, str) or not isinstance(value, str):
            raise KeyringFileError(f"document key ring {path}: field {field!r}: id and key must be strings")
        try:
            key = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            reason = "not standard base64"
            raise KeyringFileError(f"document key ring {path}: field {field!r}: {reason}") from None
        if len(key) != KEY_BYTES:
            raise KeyringFileError(
                f"document key ring {path}: field {field!r}: must decode to {KEY_BYTES} bytes, got {len(key)}"
            )
        if Keyring.key_id(key) != kid:
            raise KeyringFileError(
                f"document key ring {path}: field {field!r}: the id is not this key's fingerprint "
                f"({Keyring.key_id(key)}); ids must be made by `mledger doc-keys`"
            )
        keys[kid] = key
    current = doc.get("current")
    if not isinstance(current, str) or current not in keys:
        raise KeyringFileError(f"document key ring {path}: field 'current' must name one of {sorted(keys)}")
    return Keyring(keys, current)


def _signature(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_size, st.st_mode, st.st_uid)


def _read(path: Path) -> tuple[Keyring, tuple[int, ...]]:
    try:
        # O_NONBLOCK: a FIFO in its place must not hang the gateway (no effect on regular files)
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NONBLOCK)
    except FileNotFoundError:
        raise KeyringFileError(f"document key ring {path}: no such file") from None
    except OSError as exc:
        raise KeyringFileError(f"document key ring {path}: cannot open ({exc.strerror})") from None
    try:
        st = os.fstat(fd)  # checks the file actually read, not the name
        _check_safe(path, st)
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read()
    finally:
        os.close(fd)
    return _parse(path, raw), _signature(st)


def load_keyring_file(path: Path | str) -> Keyring:
    """Read and check a key-ring file (raises :class:`KeyringFileError` naming the problem)."""
    return _read(Path(path))[0]


class FileKeySource:
    """The key ring in a file, re-read when the file changes (a rotated ring needs no restart).

    Each operation costs one ``stat``; a file that turns unsafe or malformed after start makes the
    next operation fail with :class:`KeyringFileError` instead of silently keeping old keys.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._keyring, self._sig = _read(self.path)
        ring = self._keyring
        log.info("document key ring %s: keys %s, current %s", self.path, ring.kids, ring.active)

    def current(self) -> Keyring:
        try:
            sig = _signature(os.stat(self.path))
        except OSError as exc:
            raise KeyringFileError(f"document key ring {self.path}: cannot stat ({exc.strerror})") from None
        if sig == self._sig:
            return self._keyring
        with self._lock:
            if sig != self._sig:
                self._keyring, self._sig = _read(self.path)
                log.info("document key ring %s reloaded: current %s", self.path, self._keyring.active)
            return self._keyring


def _dump(keyring: Keyring) -> bytes:
    doc = {
        "format": FORMAT,
        "current": keyring.active,
        "keys": {kid: base64.b64encode(keyring.get(kid)).decode("ascii") for kid in keyring.kids},
    }
    return (json.dumps(doc, indent=2) + "\n").encode("ascii")


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """Serialises writers of one key-ring file (two rotations at once must not lose a key)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _check_writable_format(path: Path) -> None:
    if path.suffix.lower() in _YAML_SUFFIXES:
        raise KeyringFileError(f"document key ring {path}: written as JSON only; use a .json name")


def create_keyring_file(path: Path | str) -> Keyring:
    """A new key ring with one fresh key (refuses to overwrite an existing file)."""
    path = Path(path)
    _check_writable_format(path)
    with _file_lock(path):
        if path.exists():
            raise KeyringFileError(f"document key ring {path}: already exists; rotate it instead")
        key = AESGCM.generate_key(bit_length=256)
        keyring = Keyring({Keyring.key_id(key): key}, Keyring.key_id(key))
        write_file_atomically(path, _dump(keyring))
    log.info("document key ring %s created: current %s", path, keyring.active)
    return keyring


def rotate_keyring_file(path: Path | str) -> Keyring:
    """Add a fresh key and make it current; every older key stays for reading old documents."""
    path = Path(path)
    _check_writable_format(path)
    with _file_lock(path):
        keyring = load_keyring_file(path)
        keyring.add(AESGCM.generate_key(bit_length=256), make_active=True)
        write_file_atomically(path, _dump(keyring))
    log.info("document key ring %s rotated: current %s", path, keyring.active)
    return keyring
