"""Document use cases: store a file for anchoring, fetch and decrypt one, check a copy or an anchor.

Each document names its parties (the uploader, the vehicle office, the regulator, the vehicle's and
the lien's lienholders); its data key is wrapped for each party org's own key, and a download opens it
with the caller's org key only, so neither this gateway nor another org's can read what its org may not.
The API and the web pages both call these; failures are domain errors (``app.services.errors``) the
edges translate, the same status and message on either.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.documents.service import DocumentService
from app.ledger.port import Caller, ChaincodeRefused
from app.services.errors import (
    IntegrityFailed,
    NotFound,
    NotPermitted,
    ServiceError,
    TooLarge,
    Unavailable,
    field_error,
)
from app.services.reads import Reader
from app.users.roles import Role
from chaincode.mortgage.access import REGULATOR, TRAFFIC
from ipfs.envelope import EnvelopeError, UnknownKey
from ipfs.keyring import KeyringFileError
from ipfs.orgkeys import OrgKeyError
from ipfs.party_envelope import KEY_REF as PARTY_KEY_REF
from ipfs.party_envelope import NotAParty
from ipfs.port import ContentNotFound, ContentStoreError, StoreUnavailable

log = logging.getLogger(__name__)

# Roles that may read a document's plaintext — of a party org only (the anchor itself is readable per
# the chaincode's rules). An org's auditor or admin reads what its org may read, nothing more.
DECRYPT_ROLES = frozenset(
    {
        Role.registrar,
        Role.loan_officer,
        Role.underwriter,
        Role.dealer,
        Role.regulator,
        Role.auditor,
        Role.admin,
    }
)


def configured(store: DocumentService | None) -> DocumentService:
    if store is None:
        raise Unavailable("document store not configured on this gateway")
    return store


def check_size(content: bytes, limit: int, field: str = "file") -> bytes:
    """TooLarge (413) naming ``field`` when ``content`` (read up to ``limit + 1`` bytes) is over it."""
    if len(content) > limit:
        raise field_error(TooLarge, field, f"larger than the {limit} byte limit")
    return content


def _lienholders(vehicle: Any) -> set[str]:
    liens = vehicle.get("liens") if isinstance(vehicle, dict) else None
    return {str(ref["lienholder"]) for ref in liens or [] if isinstance(ref, dict) and ref.get("lienholder")}


async def document_parties(read: Reader, caller: Caller, vin: str | None, lien_id: str | None) -> list[str]:
    """The orgs a new document is wrapped for: the uploader, the vehicle office, the regulator, the
    vehicle's lienholders and the lien's holder (the chaincode refuses an anchor that omits one)."""
    parties = {caller.msp_id, TRAFFIC, REGULATOR}
    if vin:
        try:
            parties |= _lienholders(await read(caller, "GetVehicle", vin))
        except ChaincodeRefused as exc:  # a role that may not read vehicles (appraiser): the chaincode
            if exc.status != 403:  # still refuses an anchor that leaves out a lienholder (409)
                raise
    if lien_id:
        try:
            lien = await read(caller, "GetLien", lien_id)
        except ChaincodeRefused as exc:  # a caller who may not read liens (dealer, insurer)
            if exc.status != 403:
                raise
        else:
            parties.add(str(lien["lienholder"]))
    return sorted(parties)


async def document_readers(read: Reader, caller: Caller, anchor: dict[str, Any]) -> set[str]:
    """The orgs that may read an anchored document: its recorded parties, or for a legacy anchor (made
    before documents named their parties) the same rule applied to the vehicle's and lien's state now."""
    if anchor.get("parties"):
        return {str(p) for p in anchor["parties"]}
    readers = {str(anchor.get("anchored_by", "")), TRAFFIC, REGULATOR}
    for function, key in (("GetVehicle", "vin"), ("GetLien", "lien_id")):
        if not anchor.get(key):
            continue
        try:
            record = await read(caller, function, str(anchor[key]))
        except ChaincodeRefused:
            continue
        readers |= _lienholders(record) if function == "GetVehicle" else {str(record.get("lienholder"))}
    return readers


async def check_may_decrypt(
    read: Reader, caller: Caller, role: Role, document_id: str, anchor: dict[str, Any]
) -> None:
    """NotPermitted unless the role decrypts and the caller's org is one of the document's readers."""
    if role not in DECRYPT_ROLES:
        raise NotPermitted(f"access rule: role {role.value!r} may see the anchor but not decrypt documents")
    msp = caller.msp_id
    if msp == REGULATOR:
        return
    readers = await document_readers(read, caller, anchor)
    if msp not in readers:
        raise NotPermitted(
            f"access rule document_parties: {msp} is not a party of document {document_id} "
            f"(its readers are {', '.join(sorted(readers))})"
        )


def _keyring_unusable(exc: KeyringFileError) -> Unavailable:
    """The file's path and problem go to the log; clients learn the gateway cannot use its keys."""
    log.error("%s", exc)
    return Unavailable("document key ring: unusable on this gateway (see the gateway log)")


def _key_missing(document_id: str, msp: str, key_ref: str | None, exc: UnknownKey) -> ServiceError:
    if key_ref == PARTY_KEY_REF:  # the org's key pair was replaced after the document was wrapped
        log.error("%s", exc)
        return Unavailable(
            f"document {document_id}: wrapped for {msp} key {exc.kid}, which this gateway does not hold"
        )
    reason = f"key {exc.kid or key_ref} is not in this gateway's document key ring"
    return Unavailable(
        f"document {document_id}: cannot decrypt: {reason}; the gateway needs the consortium key ring "
        "that holds it",
        details=[{"field": "encryption_key_ref", "reason": reason}],
    )


async def fetch_decrypted(
    store: DocumentService | None, read: Reader, caller: Caller, role: Role, document_id: str,
    anchor: dict[str, Any],
) -> bytes:  # fmt: skip
    """Check the caller may read the document, fetch it from IPFS, decrypt it with the caller's org key
    (or, for a legacy document, the master key its anchor names) and check its hash."""
    await check_may_decrypt(read, caller, role, document_id, anchor)
    service = configured(store)
    key_ref = anchor.get("encryption_key_ref") or None
    msp = caller.msp_id
    try:
        content: bytes = await service.get(document_id, anchor["cid"], anchor["sha256"], key_ref, reader=msp)
    except NotAParty as exc:
        raise NotPermitted(f"access rule document_parties: {exc}") from exc
    except OrgKeyError as exc:
        log.error("%s", exc)
        raise Unavailable(f"document {document_id}: this gateway holds no document key of {msp}") from exc
    except UnknownKey as exc:
        raise _key_missing(document_id, msp, key_ref, exc) from exc
    except KeyringFileError as exc:
        raise _keyring_unusable(exc) from exc
    except ContentNotFound as exc:
        raise NotFound(f"document {document_id}: content {anchor['cid']} not in IPFS") from exc
    except StoreUnavailable as exc:
        raise Unavailable(f"IPFS unavailable: {exc}") from exc
    except (EnvelopeError, ContentStoreError) as exc:
        raise IntegrityFailed(f"document {document_id}: integrity check failed: {exc}") from exc
    return content


async def store_for_anchor(
    store: DocumentService | None, read: Reader, caller: Caller, document_id: str, doc_type: str,
    content: bytes, vin: str | None = None, lien_id: str | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Encrypt ``content`` for the document's parties and add it to IPFS; the anchor to record on chain
    (``AnchorDocument`` with :func:`anchor_args`) in the same request."""
    service = configured(store)
    parties = await document_parties(read, caller, vin, lien_id)
    try:
        stored = await service.put(document_id, content, parties)
    except StoreUnavailable as exc:
        raise Unavailable(f"IPFS unavailable: {exc}") from exc
    except KeyringFileError as exc:
        raise _keyring_unusable(exc) from exc
    except OrgKeyError as exc:
        log.error("%s", exc)
        raise Unavailable(f"document parties: {exc}") from exc
    anchor: dict[str, Any] = {
        "document_id": document_id,
        "doc_type": doc_type,
        "cid": stored.cid,
        "sha256": stored.sha256,
        "size": stored.size,
        "encryption_key_ref": stored.key_ref,
        "parties": parties,
    }
    if vin:
        anchor["vin"] = vin
    if lien_id:
        anchor["lien_id"] = lien_id
    return anchor


def anchor_args(anchor: dict[str, Any]) -> list[str]:
    """The arguments of ``AnchorDocument`` for an anchor made by :func:`store_for_anchor`."""
    return [json.dumps(anchor, separators=(",", ":"))]


def download_headers(document_id: str, anchor: dict[str, Any]) -> dict[str, str]:
    """A decrypted download's headers: an attachment named after the document, its anchored hash."""
    return {
        "Content-Disposition": f'attachment; filename="{document_id}"',
        "X-Document-SHA256": anchor["sha256"],
    }


def verify_copy(
    store: DocumentService | None, document_id: str, anchor: dict[str, Any], content: bytes
) -> dict[str, Any]:
    """Re-hash a presented copy against the anchor (no decryption: anyone who may read the anchor)."""
    result = configured(store).verify(document_id, anchor, content)
    return {
        "document_id": result.document_id,
        "matches": result.matches,
        "anchored_sha256": result.anchored_sha256,
        "presented_sha256": result.presented_sha256,
        "anchored_size": result.anchored_size,
        "presented_size": result.presented_size,
        "cid": anchor.get("cid"),
    }


async def check_anchored(
    store: DocumentService | None, anchor: dict[str, Any], reader: str
) -> dict[str, Any]:
    """The anchor with ``verified`` and ``reason``: fetched from IPFS and compared with the anchored
    SHA-256, opened with ``reader``'s org key (a document the org is no party of stays unchecked)."""
    result = dict(anchor)
    if store is None:
        result.update(verified=None, reason="document store not configured")
        return result
    parties = anchor.get("parties")
    if parties and reader not in parties:
        result.update(verified=None, reason=f"{reader} is not a party of this document")
        return result
    try:
        content = await store.get(
            anchor["document_id"], anchor["cid"], anchor["sha256"], anchor.get("encryption_key_ref") or None,
            reader=reader,
        )  # fmt: skip
    except Exception as exc:  # any failure is this document's verdict, shown on the timeline
        result.update(verified=False, reason=str(exc) or type(exc).__name__)
        return result
    result.update(verified=True, reason=f"{len(content)} bytes, SHA-256 matches the anchor")
    return result
