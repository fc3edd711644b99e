"""The model registry's metadata and champion pointer in the off-chain store, on SQLite and PostgreSQL:
shared by replicas (a champion promoted on one is served by the other), version numbers allocated once
across them, and a registry folder of the earlier layout adopted with its champion."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from app.store.database import Database
from app.store.migrations import applied
from app.valuation.errors import ModelNotFoundError, ValuationError
from app.valuation.registry import ModelRegistry

NAME = "residual-value"


def _register(registry: ModelRegistry, n: int) -> int:
    return registry.register(NAME, "model.json", b'{"n": %d}' % n, {"kind": "test", "n": n}).version


def test_a_champion_promoted_on_one_replica_is_served_by_the_other(
    replicas: tuple[Database, Database], tmp_path: Path
) -> None:
    root = tmp_path / "models"  # the artefacts on a volume both replicas mount
    one, two = ModelRegistry(root, replicas[0]), ModelRegistry(root, replicas[1])
    assert applied(replicas[0], "models") == 1
    assert _register(one, 1) == 1 and _register(two, 2) == 2
    assert one.versions(NAME) == two.versions(NAME) == [1, 2]
    assert two.get(NAME, 1).artefact() == b'{"n": 1}' and two.get(NAME).meta["n"] == 2
    one.promote(NAME, 1, "admin@BankAMSP", "first")
    assert two.champion(NAME) is not None and two.champion(NAME)["version"] == 1  # type: ignore[index]
    record = two.promote(NAME, 2, "admin@BankAMSP", "better")
    assert record["previous"] == 1
    assert one.champion(NAME) == record
    with pytest.raises(ModelNotFoundError):
        one.get(NAME, 7)
    with pytest.raises(ModelNotFoundError):
        one.promote(NAME, 7, "x")
    assert one.champion(NAME) == record  # a refused promotion changes nothing


def test_replicas_registering_at_once_get_distinct_versions(
    replicas: tuple[Database, Database], tmp_path: Path
) -> None:
    registries = [ModelRegistry(tmp_path, replicas[0]), ModelRegistry(tmp_path, replicas[1])]
    got: list[int] = []
    barrier = threading.Barrier(6)

    def train(i: int) -> None:
        barrier.wait()
        got.append(_register(registries[i % 2], i))

    threads = [threading.Thread(target=train, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == [1, 2, 3, 4, 5, 6]
    assert registries[1].versions(NAME) == [1, 2, 3, 4, 5, 6]
    assert sorted(registries[0].get(NAME, v).meta["n"] for v in range(1, 7)) == list(range(6))


def test_a_registry_folder_from_before_the_store_is_adopted(database: Database, tmp_path: Path) -> None:
    files = ModelRegistry(tmp_path, files_only=True)  # the earlier layout: meta.json, champion.json
    _register(files, 1)
    _register(files, 2)
    files.promote(NAME, 1, "admin", "first version")
    stored = ModelRegistry(tmp_path, database)
    assert stored.versions(NAME) == [1, 2]
    assert stored.champion(NAME) == files.champion(NAME)
    assert stored.get(NAME, 2).meta == files.get(NAME, 2).meta
    assert _register(stored, 3) == 3
    assert stored.promote(NAME, 3, "admin")["previous"] == 1
    assert ModelRegistry(tmp_path, database).champion(NAME)["version"] == 3  # type: ignore[index]
    (tmp_path / NAME / "v2" / "model.json").write_bytes(b'{"n": 99}')  # the artefact altered on disk
    with pytest.raises(ValuationError, match="does not match its metadata"):
        stored.get(NAME, 2).artefact()
