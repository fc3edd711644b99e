"""The consortium document key ring file: create, rotate, reload, and refusal of unsafe files."""

from __future__ import annotations

import base64
import json
import logging
import os
from pathlib import Path

import pytest

from ipfs.documents import DocumentVault
from ipfs.embedded import EmbeddedContentStore
from ipfs.envelope import IntegrityError, Keyring, UnknownKey
from ipfs.keyring import (
    FileKeySource,
    KeyringFileError,
    create_keyring_file,
    load_keyring_file,
    rotate_keyring_file,
)


def _secrets(path: Path) -> list[str]:
    return list(json.loads(path.read_text())["keys"].values())


def test_create_rotate_keeps_old_keys_and_file_is_private(tmp_path: Path) -> None:
    path = tmp_path / "ring" / "keyring.json"
    first = create_keyring_file(path)
    assert os.stat(path).st_mode & 0o777 == 0o600
    assert load_keyring_file(path).kids == [first.active]
    with pytest.raises(KeyringFileError, match="already exists"):
        create_keyring_file(path)

    second = rotate_keyring_file(path)
    assert second.active != first.active and set(second.kids) == {first.active, second.active}
    loaded = load_keyring_file(path)
    assert loaded.active == second.active
    assert loaded.get(first.active) == first.get(first.active)  # the old key is kept byte for byte
    assert os.stat(path).st_mode & 0o777 == 0o600
    # key material never shows in repr
    for secret in _secrets(path):
        assert secret not in repr(loaded)


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_loose_permissions_are_refused_with_a_clear_message(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keyring.json"
    create_keyring_file(path)
    os.chmod(path, mode)
    with pytest.raises(KeyringFileError, match=rf"permissions {mode:04o} are too open.*chmod 600"):
        load_keyring_file(path)
    with pytest.raises(KeyringFileError, match="too open"):
        FileKeySource(path)
    os.chmod(path, 0o400)  # read-only for the owner is fine
    assert load_keyring_file(path).kids


def _write(path: Path, doc: object, mode: int = 0o600) -> Path:
    path.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    os.chmod(path, mode)
    return path


def test_malformed_files_name_the_field_and_never_the_key(tmp_path: Path) -> None:
    key = os.urandom(32)
    kid = Keyring.key_id(key)
    b64 = base64.b64encode(key).decode()
    cases = {
        "missing": (None, "no such file"),
        "notjson": ("{not json", "not valid JSON/YAML"),
        "nokeys": ({"current": kid}, "field 'keys'"),
        "badb64": ({"current": kid, "keys": {kid: "!!notbase64!!"}}, rf"'keys.{kid}': not standard base64"),
        "short": ({"current": kid, "keys": {kid: base64.b64encode(key[:16]).decode()}}, "must decode to 32"),
        "wrongid": ({"current": "mk-0000000000000000", "keys": {"mk-0000000000000000": b64}}, "fingerprint"),
        "nocurrent": ({"current": "mk-1", "keys": {kid: b64}}, "field 'current'"),
        "format": ({"format": "other/9", "current": kid, "keys": {kid: b64}}, "field 'format'"),
    }
    for name, (doc, message) in cases.items():
        path = tmp_path / f"{name}.json"
        if doc is not None:
            _write(path, doc)
        with pytest.raises(KeyringFileError, match=message) as info:
            load_keyring_file(path)
        assert str(path) in str(info.value)
        assert b64 not in str(info.value)
    directory = tmp_path / "dir.json"
    directory.mkdir(mode=0o700)
    with pytest.raises(KeyringFileError, match="not a regular file"):
        load_keyring_file(directory)


def test_yaml_key_ring_is_read(tmp_path: Path) -> None:
    key = os.urandom(32)
    kid = Keyring.key_id(key)
    text = f"current: {kid}\nkeys:\n  {kid}: {base64.b64encode(key).decode()}\n"
    path = _write(tmp_path / "ring.yaml", text)
    ring = load_keyring_file(path)
    assert ring.active == kid and ring.get(kid) == key


def test_vault_over_a_rotated_file_reads_old_documents_and_writes_with_the_new_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    path = tmp_path / "keyring.json"
    first = create_keyring_file(path).active
    store = EmbeddedContentStore(tmp_path / "ipfs")
    writer = DocumentVault(store, FileKeySource(path))
    reader = DocumentVault(store, FileKeySource(path))  # another gateway with a copy of the file
    old = writer.put("DOC-1", b"old contract")
    assert old.key_ref == first

    rotated = rotate_keyring_file(path).active  # both sources pick the change up without a restart
    new = writer.put("DOC-2", b"new contract")
    assert new.key_ref == rotated != first
    assert reader.get("DOC-1", old.cid, sha256=old.sha256, key_ref=first) == b"old contract"
    assert reader.get("DOC-2", new.cid, sha256=new.sha256, key_ref=rotated) == b"new contract"
    # the anchored key reference must be the envelope's own
    with pytest.raises(IntegrityError, match="anchored key"):
        reader.get("DOC-1", old.cid, key_ref=rotated)
    for secret in _secrets(path):
        assert secret not in caplog.text


def test_missing_key_names_the_key_id_before_fetching(tmp_path: Path) -> None:
    store = EmbeddedContentStore(tmp_path / "ipfs")
    stored = DocumentVault(store, Keyring.generate()).put("DOC-1", b"x")
    other = DocumentVault(EmbeddedContentStore(tmp_path / "empty"), Keyring.generate())
    with pytest.raises(UnknownKey) as info:  # the empty store is never asked
        other.get("DOC-1", stored.cid, key_ref=stored.key_ref)
    assert info.value.kid == stored.key_ref and stored.key_ref in str(info.value)
    with pytest.raises(UnknownKey) as info:  # without the anchored ref, the envelope's kid is named
        DocumentVault(store, Keyring.generate()).get("DOC-1", stored.cid)
    assert info.value.kid == stored.key_ref


def test_a_file_that_turns_unsafe_after_start_stops_being_used(tmp_path: Path) -> None:
    path = tmp_path / "keyring.json"
    create_keyring_file(path)
    source = FileKeySource(path)
    assert source.current().kids
    os.chmod(path, 0o644)
    with pytest.raises(KeyringFileError, match="too open"):
        source.current()
    os.chmod(path, 0o600)
    assert source.current().kids
