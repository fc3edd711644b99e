"""app.services.documents: the use cases raise domain errors (no HTTP), the same for API and pages."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from app.documents.service import DocumentService
from app.ledger.port import Caller, ChaincodeRefused
from app.services import documents
from app.services.errors import NotFound, NotPermitted, TooLarge, Unavailable
from app.users.roles import Role

ORGS = ["TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP", "RegulatorMSP"]
BANK_A = Caller(user_id="loan1", msp_id="BankAMSP", attributes={"role": "loan_officer"})
BANK_B = Caller(user_id="loan1", msp_id="BankBMSP", attributes={"role": "loan_officer"})
VIN = "LSVAU2180N2183294"


class Ledger:
    """A reader answering the two reads the use cases make; a vehicle with BankB's lien on it."""

    async def __call__(self, caller: Caller, function: str, *args: str) -> Any:
        if function == "GetVehicle":
            return {"vin": args[0], "liens": [{"lien_id": "L1", "lienholder": "BankBMSP"}]}
        raise ChaincodeRefused(f"no {function} here", status=404)


@pytest.fixture
def store(tmp_path: Path) -> DocumentService:
    return DocumentService.embedded(tmp_path / "docs", orgs=ORGS)


def test_stored_for_its_parties_and_read_back_by_a_party(store: DocumentService) -> None:
    anchor = asyncio.run(
        documents.store_for_anchor(store, Ledger(), BANK_A, "DOC-1", "owner_consent", b"consent", VIN)
    )
    assert anchor["parties"] == ["BankAMSP", "BankBMSP", "RegulatorMSP", "TrafficAuthorityMSP"]
    assert anchor["vin"] == VIN and anchor["size"] == 7
    content = asyncio.run(
        documents.fetch_decrypted(store, Ledger(), BANK_B, Role.loan_officer, "DOC-1", anchor)
    )
    assert content == b"consent"
    assert documents.verify_copy(store, "DOC-1", anchor, b"consent")["matches"] is True
    assert documents.verify_copy(store, "DOC-1", anchor, b"forged")["matches"] is False


def test_refusals_are_domain_errors_naming_the_rule(store: DocumentService) -> None:
    anchor = asyncio.run(documents.store_for_anchor(store, Ledger(), BANK_A, "DOC-2", "owner_consent", b"x"))
    insurer = Caller(user_id="uw1", msp_id="InsurerMSP", attributes={"role": "underwriter"})
    with pytest.raises(NotPermitted, match="document_parties: InsurerMSP is not a party"):
        asyncio.run(documents.fetch_decrypted(store, Ledger(), insurer, Role.underwriter, "DOC-2", anchor))
    with pytest.raises(NotPermitted, match="role 'scanner'"):
        asyncio.run(documents.fetch_decrypted(store, Ledger(), BANK_A, Role.scanner, "DOC-2", anchor))
    missing = {**anchor, "cid": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"}
    with pytest.raises(NotFound):
        asyncio.run(documents.fetch_decrypted(store, Ledger(), BANK_A, Role.loan_officer, "DOC-2", missing))


def test_no_store_is_unavailable_and_an_oversized_upload_names_its_field() -> None:
    with pytest.raises(Unavailable) as down:
        asyncio.run(documents.store_for_anchor(None, Ledger(), BANK_A, "DOC-3", "owner_consent", b"x"))
    assert down.value.status == 503
    with pytest.raises(TooLarge) as big:
        documents.check_size(b"x" * 11, 10)
    assert big.value.status == 413 and big.value.details == [
        {"field": "file", "reason": "larger than the 10 byte limit"}
    ]
    assert documents.check_size(b"x" * 10, 10) == b"x" * 10
