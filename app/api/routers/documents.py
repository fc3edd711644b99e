"""Documents: multipart upload → AES-256-GCM → IPFS → anchored on chain in the same call;
download with hash check and decryption for authorised roles of the document's party orgs; verify a
presented copy.

Each document names its parties (the uploader, the vehicle office, the regulator, the vehicle's and
the lien's lienholders); its data key is wrapped for each party org's own key, and a download opens it
with the caller's org key only, so neither this gateway nor another org's can read what its org may not.
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response

from app.api.deps import AuthUser, CurrentUser, State
from app.api.errors import ApiError
from app.api.models import DocType, TxResponse
from app.api.reads import evaluate
from app.api.state import GatewayState
from app.api.writes import WriteCtx
from app.ledger.port import Caller, ChaincodeRefused
from app.users.roles import Role
from chaincode.mortgage.access import REGULATOR, TRAFFIC
from ipfs.envelope import EnvelopeError, UnknownKey
from ipfs.keyring import KeyringFileError
from ipfs.orgkeys import OrgKeyError
from ipfs.party_envelope import KEY_REF as PARTY_KEY_REF
from ipfs.party_envelope import NotAParty
from ipfs.port import ContentNotFound, ContentStoreError, StoreUnavailable

log = logging.getLogger(__name__)

router = APIRouter(prefix="/documents", tags=["documents"])

DocPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]

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


def _lienholders(vehicle: Any) -> set[str]:
    liens = vehicle.get("liens") if isinstance(vehicle, dict) else None
    return {str(ref["lienholder"]) for ref in liens or [] if isinstance(ref, dict) and ref.get("lienholder")}


async def document_parties(
    state: GatewayState, caller: Caller, vin: str | None, lien_id: str | None
) -> list[str]:
    """The orgs a new document is wrapped for: the uploader, the vehicle office, the regulator, the
    vehicle's lienholders and the lien's holder (the chaincode refuses an anchor that omits one)."""
    parties = {caller.msp_id, TRAFFIC, REGULATOR}
    if vin:
        try:
            parties |= _lienholders(await evaluate(state, caller, "GetVehicle", vin))
        except ChaincodeRefused as exc:  # a role that may not read vehicles (appraiser): the chaincode
            if exc.status != 403:  # still refuses an anchor that leaves out a lienholder (409)
                raise
    if lien_id:
        try:
            lien = await evaluate(state, caller, "GetLien", lien_id)
        except ChaincodeRefused as exc:  # a caller who may not read liens (dealer, insurer)
            if exc.status != 403:
                raise
        else:
            parties.add(str(lien["lienholder"]))
    return sorted(parties)


async def document_readers(state: GatewayState, caller: Caller, anchor: dict[str, Any]) -> set[str]:
    """The orgs that may read an anchored document: its recorded parties, or for a legacy anchor (made
    before documents named their parties) the same rule applied to the vehicle's and lien's state now."""
    if anchor.get("parties"):
        return {str(p) for p in anchor["parties"]}
    readers = {str(anchor.get("anchored_by", "")), TRAFFIC, REGULATOR}
    for function, key in (("GetVehicle", "vin"), ("GetLien", "lien_id")):
        if not anchor.get(key):
            continue
        try:
            record = await evaluate(state, caller, function, str(anchor[key]))
        except ChaincodeRefused:
            continue
        readers |= _lienholders(record) if function == "GetVehicle" else {str(record.get("lienholder"))}
    return readers


async def check_may_decrypt(
    state: GatewayState, user: AuthUser, document_id: str, anchor: dict[str, Any]
) -> None:
    """403 unless the user's role decrypts and the user's org is one of the document's readers."""
    if user.role not in DECRYPT_ROLES:
        raise ApiError(
            403, f"access rule: role {user.role.value!r} may see the anchor but not decrypt documents"
        )
    msp = user.user.msp_id
    if msp == REGULATOR:
        return
    readers = await document_readers(state, user.caller, anchor)
    if msp not in readers:
        raise ApiError(
            403,
            f"access rule document_parties: {msp} is not a party of document {document_id} "
            f"(its readers are {', '.join(sorted(readers))})",
        )


def _keyring_unusable(exc: KeyringFileError) -> ApiError:
    """The file's path and problem go to the log; clients learn the gateway cannot use its keys."""
    log.error("%s", exc)
    return ApiError(503, "document key ring: unusable on this gateway (see the gateway log)")


def _missing_key(document_id: str, kid: str) -> ApiError:
    reason = f"key {kid} is not in this gateway's document key ring"
    return ApiError(
        503,
        f"document {document_id}: cannot decrypt: {reason}; the gateway needs the consortium key ring "
        "that holds it",
        details=[{"field": "encryption_key_ref", "reason": reason}],
    )


def _service(state: GatewayState):  # type: ignore[no-untyped-def]
    if state.documents is None:
        raise ApiError(503, "document store not configured on this gateway")
    return state.documents


async def fetch_decrypted(
    state: GatewayState, user: AuthUser, document_id: str, anchor: dict[str, Any]
) -> bytes:
    """Check the user may read the document, fetch it from IPFS, decrypt it with the user's org key (or,
    for a legacy document, the master key its anchor names) and check its hash.

    Shared by the API and the web pages, so both map each failure to the same status and message.
    """
    await check_may_decrypt(state, user, document_id, anchor)
    service = _service(state)
    key_ref = anchor.get("encryption_key_ref") or None
    msp = user.user.msp_id
    try:
        content: bytes = await service.get(document_id, anchor["cid"], anchor["sha256"], key_ref, reader=msp)
    except NotAParty as exc:
        raise ApiError(403, f"access rule document_parties: {exc}") from exc
    except OrgKeyError as exc:
        log.error("%s", exc)
        raise ApiError(503, f"document {document_id}: this gateway holds no document key of {msp}") from exc
    except UnknownKey as exc:
        if key_ref == PARTY_KEY_REF:  # the org's key pair was replaced after the document was wrapped
            log.error("%s", exc)
            raise ApiError(
                503,
                f"document {document_id}: wrapped for {msp} key {exc.kid}, which this gateway does not hold",
            ) from exc
        raise _missing_key(document_id, exc.kid or str(key_ref)) from exc
    except KeyringFileError as exc:
        raise _keyring_unusable(exc) from exc
    except ContentNotFound as exc:
        raise ApiError(404, f"document {document_id}: content {anchor['cid']} not in IPFS") from exc
    except StoreUnavailable as exc:
        raise ApiError(503, f"IPFS unavailable: {exc}") from exc
    except (EnvelopeError, ContentStoreError) as exc:
        raise ApiError(502, f"document {document_id}: integrity check failed: {exc}") from exc
    return content


async def _read_upload(state: GatewayState, file: UploadFile) -> bytes:
    limit = state.settings.max_upload_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        reason = f"larger than the {limit} byte limit"
        raise ApiError(413, f"file: {reason}", details=[{"field": "file", "reason": reason}])
    return content


@router.post(
    "",
    status_code=201,
    response_model=TxResponse,
    summary="Upload a document: encrypted, added to IPFS and anchored (CID, SHA-256, size) in one call",
)
async def upload_document(
    state: State,
    w: WriteCtx,
    file: Annotated[UploadFile, File(description="The document (any type)")],
    doc_type: Annotated[DocType, Form()],
    vin: Annotated[str | None, Form(min_length=17, max_length=17)] = None,
    lien_id: Annotated[str | None, Form(min_length=1, max_length=64)] = None,
    document_id: Annotated[
        str | None, Form(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")
    ] = None,
):  # type: ignore[no-untyped-def]
    service = _service(state)
    content = await _read_upload(state, file)
    doc_id = document_id or f"DOC-{secrets.token_hex(8)}"
    parties = await document_parties(state, w.user.caller, vin, lien_id)
    try:
        stored = await service.put(doc_id, content, parties)
    except StoreUnavailable as exc:
        raise ApiError(503, f"IPFS unavailable: {exc}") from exc
    except KeyringFileError as exc:
        raise _keyring_unusable(exc) from exc
    except OrgKeyError as exc:
        log.error("%s", exc)
        raise ApiError(503, f"document parties: {exc}") from exc
    anchor: dict[str, Any] = {
        "document_id": doc_id,
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
    return await w.submit(
        "AnchorDocument",
        [json.dumps(anchor, separators=(",", ":"))],
        status_code=201,
        extra={"document": anchor},
    )


@router.get("/{document_id}", summary="The document's anchor (CID, SHA-256, size, links)")
async def get_document(state: State, user: CurrentUser, document_id: DocPath) -> Any:
    return await evaluate(state, user.caller, "GetDocument", document_id)


@router.get(
    "/{document_id}/content",
    summary="Download: fetch from IPFS, decrypt and check against the anchored SHA-256",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
async def download_document(state: State, user: CurrentUser, document_id: DocPath) -> Response:
    anchor = await evaluate(state, user.caller, "GetDocument", document_id)
    content = await fetch_decrypted(state, user, document_id, anchor)
    return Response(
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Disposition": f'attachment; filename="{document_id}"',
            "X-Document-SHA256": anchor["sha256"],
        },
    )


@router.post("/{document_id}/verify", summary="Re-hash a presented file against the anchor")
async def verify_document(
    state: State,
    user: CurrentUser,
    document_id: DocPath,
    file: Annotated[UploadFile, File(description="The copy to check")],
) -> dict[str, Any]:
    anchor = await evaluate(state, user.caller, "GetDocument", document_id)
    content = await _read_upload(state, file)
    result = _service(state).verify(document_id, anchor, content)
    return {
        "document_id": result.document_id,
        "matches": result.matches,
        "anchored_sha256": result.anchored_sha256,
        "presented_sha256": result.presented_sha256,
        "anchored_size": result.anchored_size,
        "presented_size": result.presented_size,
        "cid": anchor.get("cid"),
    }
