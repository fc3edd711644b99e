"""Lien-law writes the API and the pages both make: each act's chaincode function and arguments from
the contract's own request models (``chaincode.mortgage.law_models``), so both edges send exactly
what the chaincode validates, and who may make each act, read from the contract's access table.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from chaincode.mortgage.access import ACCESS
from chaincode.mortgage.law_models import OwnerContactIn, RegistrationChangeIn


def may(function: str, msp_id: str, role: str) -> bool:
    """Whether the contract's access table lets this org and role call ``function`` at all (object
    rules, such as "the caller holds the lien", are the contract's to check)."""
    rule = ACCESS.get(function)
    return rule is not None and rule.allows(msp_id, role)


@dataclass(frozen=True, slots=True)
class ChaincodeCall:
    function: str
    args: list[str]
    transient: dict[str, bytes] | None = None


def registration_change(
    vin: str, change: RegistrationChangeIn, contact: OwnerContactIn | None
) -> ChaincodeCall:
    """变更登记: the public changes as the argument; the owner's new contact only in the transient map
    (it goes to the private collection, never into the transaction)."""
    public = change.model_dump(mode="json", exclude_none=True, exclude={"owner_contact"})
    transient = None
    if contact is not None:
        public["owner_contact"] = True
        transient = {"owner_contact": contact.model_dump_json(exclude_none=True).encode()}
    return ChaincodeCall("ChangeRegistration", [vin, json.dumps(public)], transient)
