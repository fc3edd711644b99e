"""The chain: Fabric block hashes, verification on open, tamper detection, restart, the lock."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

import pytest
from fabric_protos.common import common_pb2

from app.ledger.embedded import protocol
from app.ledger.embedded.ledger import ChaincodeSpec, EmbeddedLedger, LedgerLocked
from app.ledger.embedded.verify import LedgerCorrupted

from .conftest import BANK_A, OFFICER


def test_block_header_bytes_are_fabrics_asn1() -> None:
    header = common_pb2.BlockHeader(number=1, previous_hash=b"\x01" * 32, data_hash=b"\x02" * 32)
    der = protocol.block_header_bytes(header)
    # SEQUENCE { INTEGER 1, OCTET STRING prev, OCTET STRING data }
    assert der == b"\x30\x47" + b"\x02\x01\x01" + b"\x04\x20" + b"\x01" * 32 + b"\x04\x20" + b"\x02" * 32
    big = common_pb2.BlockHeader(number=128, previous_hash=b"", data_hash=b"")
    assert protocol.block_header_bytes(big) == b"\x30\x08\x02\x02\x00\x80\x04\x00\x04\x00"
    data = common_pb2.BlockData(data=[b"ab", b"c"])
    assert protocol.block_data_hash(data) == hashlib.sha256(b"abc").digest()


async def test_blocks_chain_by_header_hash(ledger: EmbeddedLedger) -> None:
    for i in range(3):
        await ledger.submit(OFFICER, "Put", [f"c{i}", "v"])
    height = ledger.height()
    assert height == 4  # genesis + 3
    for number in range(1, height):
        block, previous = ledger.block(number), ledger.block(number - 1)
        assert block is not None and previous is not None
        assert block.header.previous_hash == protocol.block_header_hash(previous.header)
        assert block.header.data_hash == protocol.block_data_hash(block.data)
        tx_filter = block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER]
        assert list(tx_filter) == [0] * len(block.data.data)
    assert ledger.verify() == height


async def test_restart_keeps_state_history_status_and_events(tmp_path: Path, spec: ChaincodeSpec) -> None:
    ledger = EmbeddedLedger(tmp_path / "l", chaincodes=[spec])
    put = await ledger.submit(OFFICER, "Put", ["k", "v1"])
    emit = await ledger.submit(BANK_A, "Emit", ["k2", "Saved"])
    await ledger.submit(OFFICER, "PutPrivate", ["taBank", "p"], transient={"value": b"secret"})
    height = ledger.height()
    await ledger.close()

    reopened = EmbeddedLedger(tmp_path / "l", chaincodes=[spec])
    try:
        assert reopened.height_at_open == height
        assert await reopened.evaluate(OFFICER, "Get", ["k"]) == b"v1"
        assert await reopened.evaluate(BANK_A, "GetPrivate", ["taBank", "p"]) == b"secret"
        status = await reopened.transaction_status(put.tx_id)
        assert (
            status is not None
            and status.block_number == put.block_number
            and status.validation_code == "VALID"
        )
        stream = reopened.chaincode_events(start_block=0)
        event = await anext(stream)  # type: ignore[arg-type]
        await stream.aclose()  # type: ignore[attr-defined]
        assert event.tx_id == emit.tx_id and event.event_name == "Saved"
        # same CA and identities after a restart: a new tx by the same user commits
        assert (await reopened.submit(OFFICER, "Put", ["k", "v2"])).validation_code == "VALID"
    finally:
        await reopened.close()


def _tamper(db: Path, sql: str, params: tuple[object, ...] = ()) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


async def _ledger_with_blocks(path: Path, spec: ChaincodeSpec) -> None:
    ledger = EmbeddedLedger(path, chaincodes=[spec])
    for i in range(3):
        await ledger.submit(OFFICER, "Put", [f"t{i}", "honest"])
    await ledger.close()


async def test_tampered_transaction_is_detected_on_open(tmp_path: Path, spec: ChaincodeSpec) -> None:
    await _ledger_with_blocks(tmp_path / "l", spec)
    db = tmp_path / "l" / "ledger.sqlite"
    conn = sqlite3.connect(db)
    raw = conn.execute("SELECT block FROM blocks WHERE number=2").fetchone()[0]
    conn.close()
    assert b"honest" in raw
    _tamper(db, "UPDATE blocks SET block=? WHERE number=2", (raw.replace(b"honest", b"forged"),))
    with pytest.raises(LedgerCorrupted, match="block 2: data hash"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])


async def test_rewritten_header_breaks_the_chain(tmp_path: Path, spec: ChaincodeSpec) -> None:
    await _ledger_with_blocks(tmp_path / "l", spec)
    db = tmp_path / "l" / "ledger.sqlite"
    conn = sqlite3.connect(db)
    block = common_pb2.Block.FromString(conn.execute("SELECT block FROM blocks WHERE number=2").fetchone()[0])
    conn.close()
    # a forger who also fixes the data hash still breaks the orderer signature and the next link
    block.data.data[0] = block.data.data[0].replace(b"honest", b"forged")
    block.header.data_hash = protocol.block_data_hash(block.data)
    _tamper(
        db,
        "UPDATE blocks SET block=?, data_hash=?, header_hash=? WHERE number=2",
        (block.SerializeToString(), block.header.data_hash, protocol.block_header_hash(block.header)),
    )
    with pytest.raises(LedgerCorrupted, match=r"block 2: orderer signature|block 3: previous hash"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])


async def test_tampered_validation_code_is_detected(tmp_path: Path, spec: ChaincodeSpec) -> None:
    await _ledger_with_blocks(tmp_path / "l", spec)
    _tamper(tmp_path / "l" / "ledger.sqlite", "UPDATE txs SET validation_code=11 WHERE block_number=1")
    with pytest.raises(LedgerCorrupted, match="tx index disagrees"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])


async def test_deleted_block_is_detected(tmp_path: Path, spec: ChaincodeSpec) -> None:
    await _ledger_with_blocks(tmp_path / "l", spec)
    _tamper(tmp_path / "l" / "ledger.sqlite", "DELETE FROM blocks WHERE number=1")
    with pytest.raises(LedgerCorrupted, match="blocks missing"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])
    # a failed open holds no lock: the same process can try again and gets the same answer
    with pytest.raises(LedgerCorrupted, match="blocks missing"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])


async def test_a_data_dir_is_opened_once(ledger: EmbeddedLedger, spec: ChaincodeSpec) -> None:
    with pytest.raises(LedgerLocked):
        EmbeddedLedger(ledger.data_dir, chaincodes=[spec])


async def test_edited_world_state_is_detected(tmp_path: Path, spec: ChaincodeSpec) -> None:
    await _ledger_with_blocks(tmp_path / "l", spec)
    _tamper(tmp_path / "l" / "ledger.sqlite", "UPDATE state SET value=? WHERE key=?", (b"forged", b"t1"))
    with pytest.raises(LedgerCorrupted, match="world state differs from the blocks"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])


async def test_edited_private_value_is_detected(tmp_path: Path, spec: ChaincodeSpec) -> None:
    ledger = EmbeddedLedger(tmp_path / "l", chaincodes=[spec])
    await ledger.submit(OFFICER, "PutPrivate", ["taBank", "p"], transient={"value": b"true value"})
    await ledger.submit(OFFICER, "LockToOrgs", ["t0", '["BankAMSP"]'])  # metadata on a missing key: dropped
    assert ledger.verify(deep=True) == ledger.height()
    await ledger.close()
    _tamper(tmp_path / "l" / "ledger.sqlite", "UPDATE pvt_state SET value=?", (b"forged",))
    with pytest.raises(LedgerCorrupted, match="does not match its hash on chain"):
        EmbeddedLedger(tmp_path / "l", chaincodes=[spec])
