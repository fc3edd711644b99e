"""Private data: stored apart from the block, hashes on chain, access by collection membership."""

from __future__ import annotations

import hashlib

import pytest

from app.ledger.embedded.ledger import EmbeddedLedger
from app.ledger.port import ChaincodeRefused

from .conftest import BANK_A, INSURER, OFFICER


async def test_private_value_never_in_the_block_only_its_hash(ledger: EmbeddedLedger) -> None:
    secret = b"owner: Zhang San, ID 110101199001011234"
    result = await ledger.submit(OFFICER, "PutPrivate", ["taBank", "owner1"], transient={"value": secret})
    block = ledger.block(result.block_number)
    assert block is not None
    raw = block.SerializeToString()
    assert secret not in raw
    assert hashlib.sha256(secret).digest() in raw  # the value hash sits in the hashed rwset
    assert await ledger.evaluate(BANK_A, "GetPrivate", ["taBank", "owner1"]) == secret
    assert await ledger.evaluate(INSURER, "GetPrivateHash", ["taBank", "owner1"]) == (
        hashlib.sha256(secret).hexdigest().encode()
    )


async def test_member_only_read_refuses_non_members_with_the_peer_message(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "PutPrivate", ["taBank", "k"], transient={"value": b"v"})
    with pytest.raises(ChaincodeRefused) as info:
        await ledger.evaluate(INSURER, "GetPrivate", ["taBank", "k"])
    assert "tx creator does not have read access permission on privatedata in chaincodeName:ledgertest" in (
        info.value.message
    )
    assert info.value.status == 500


async def test_member_only_write_refuses_non_members(ledger: EmbeddedLedger) -> None:
    with pytest.raises(ChaincodeRefused, match="does not have write access permission"):
        await ledger.submit(INSURER, "PutPrivate", ["taBank", "k"], transient={"value": b"v"})


async def test_unknown_collection_is_refused(ledger: EmbeddedLedger) -> None:
    with pytest.raises(ChaincodeRefused, match=r"collection \[nope\] not defined in the collection config"):
        await ledger.submit(OFFICER, "PutPrivate", ["nope", "k"], transient={"value": b"v"})


async def test_non_member_peer_has_no_private_value(ledger: EmbeddedLedger) -> None:
    """openRead lets anyone read, but only TrafficAuthority's peer holds the data (as on Fabric)."""
    await ledger.submit(OFFICER, "PutPrivate", ["openRead", "k"], transient={"value": b"v"})
    assert await ledger.evaluate(OFFICER, "GetPrivate", ["openRead", "k"]) == b"v"
    assert await ledger.evaluate(INSURER, "GetPrivate", ["openRead", "k"]) == b""


async def test_private_reads_are_mvcc_checked_by_hash(ledger: EmbeddedLedger) -> None:
    await ledger.submit(OFFICER, "PutPrivate", ["taBank", "p"], transient={"value": b"1"})
    stale = await ledger.endorse(OFFICER, "GetPrivate", ["taBank", "p"])
    assert stale.result == b"1"
    await ledger.submit(OFFICER, "PutPrivate", ["taBank", "p"], transient={"value": b"2"})
    from app.ledger.port import TransactionInvalidated

    with pytest.raises(TransactionInvalidated) as info:
        await ledger.submit_prepared(stale)
    assert info.value.validation_code == "MVCC_READ_CONFLICT"


async def test_a_query_runs_on_the_callers_own_peer(ledger: EmbeddedLedger) -> None:
    """The regulator's committing peer holds regulatorOnly data; TrafficAuthority's peer holds hashes only."""
    from .conftest import REGULATOR

    await ledger.submit(
        OFFICER, "PutPrivate", ["regulatorOnly", "r"], transient={"value": b"for the regulator"}
    )
    assert await ledger.evaluate(REGULATOR, "GetPrivate", ["regulatorOnly", "r"]) == b"for the regulator"
    assert await ledger.evaluate(OFFICER, "GetPrivate", ["regulatorOnly", "r"]) == b""
