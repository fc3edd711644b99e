"""In-memory and file checkpointers: Go-compatible JSON, atomic writes, resume positions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.fabric_gateway import ChaincodeEvent, FileCheckpointer, InMemoryCheckpointer


def test_in_memory_checkpointer() -> None:
    checkpointer = InMemoryCheckpointer()
    assert (checkpointer.block_number, checkpointer.transaction_id) == (None, "")
    checkpointer.checkpoint_chaincode_event(ChaincodeEvent(4, "tx1", "cc", "E", b""))
    assert (checkpointer.block_number, checkpointer.transaction_id) == (4, "tx1")
    checkpointer.checkpoint_block(4)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (5, "")
    with pytest.raises(ValueError, match="block_number"):
        checkpointer.checkpoint_transaction(-1, "x")


def test_file_checkpointer_persists_and_resumes(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "events.json"
    first = FileCheckpointer(path)
    assert first.block_number is None
    first.checkpoint_transaction(11, "txB")
    assert json.loads(path.read_text()) == {"blockNumber": 11, "transactionId": "txB"}
    second = FileCheckpointer(path)
    assert (second.block_number, second.transaction_id) == (11, "txB")
    second.checkpoint_block(11)
    assert (FileCheckpointer(path).block_number, FileCheckpointer(path).transaction_id) == (12, "")
    assert [p.name for p in path.parent.iterdir()] == ["events.json"]  # no temp files left


def test_file_checkpointer_reads_go_client_file(tmp_path: Path) -> None:
    path = tmp_path / "go.json"
    path.write_text('{"blockNumber":3,"transactionId":"abc"}')
    checkpointer = FileCheckpointer(path)
    assert (checkpointer.block_number, checkpointer.transaction_id) == (3, "abc")


@pytest.mark.parametrize(
    "content", ["not json", '{"blockNumber": -2}', '{"blockNumber": 1, "transactionId": 5}']
)
def test_file_checkpointer_refuses_corrupt_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=r"checkpoint file|block_number"):
        FileCheckpointer(path)
