"""Documents: multipart upload → AES-256-GCM → IPFS → anchored on chain in the same call;
download with hash check and decryption for authorised roles; verify a presented copy."""

from __future__ import annotations

import json
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response

from app.api.deps import CurrentUser, State
from app.api.errors import ApiError
from app.api.models import DocType, TxResponse
from app.api.reads import evaluate
from app.api.state import GatewayState
from app.api.writes import WriteCtx
from app.users.roles import Role
from ipfs.envelope import EnvelopeError, UnknownKey
from ipfs.keyring import KeyringFileError
from ipfs.port import ContentNotFound, ContentStoreError, StoreUnavailable

log = logging.getLogger(__name__)

router = APIRouter(prefix="/documents", tags=["documents"])

DocPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]

# Who may read a document's plaintext (the anchor itself is readable per the chaincode's rules).
DECRYPT_ROLES = frozenset(
    {Role.registrar, Role.loan_officer, Role.underwriter, Role.regulator, Role.auditor, Role.admin}
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


async def fetch_decrypted(state: GatewayState, document_id: str, anchor: dict[str, Any]) -> bytes:
    """Fetch an anchored document from IPFS, check its hash and decrypt it with the key its anchor names.

    Shared by the API and the web pages, so both map each failure to the same status and message.
    """
    service = _service(state)
    key_ref = anchor.get("encryption_key_ref") or None
    try:
        content: bytes = await service.get(document_id, anchor["cid"], anchor["sha256"], key_ref)
    except UnknownKey as exc:
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
    try:
        stored = await service.put(doc_id, content)
    except StoreUnavailable as exc:
        raise ApiError(503, f"IPFS unavailable: {exc}") from exc
    except KeyringFileError as exc:
        raise _keyring_unusable(exc) from exc
    anchor: dict[str, Any] = {
        "document_id": doc_id,
        "doc_type": doc_type,
        "cid": stored.cid,
        "sha256": stored.sha256,
        "size": stored.size,
        "encryption_key_ref": stored.key_ref,
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
    if user.role not in DECRYPT_ROLES:
        raise ApiError(
            403, f"access rule: role {user.role.value!r} may see the anchor but not decrypt documents"
        )
    content = await fetch_decrypted(state, document_id, anchor)
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
