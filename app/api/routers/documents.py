"""Documents: multipart upload → AES-256-GCM → IPFS → anchored on chain in the same call;
download with hash check and decryption for authorised roles of the document's party orgs; verify a
presented copy. The use cases live in :mod:`app.services.documents`; this router only translates.
"""

from __future__ import annotations

import secrets
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, UploadFile
from fastapi.responses import Response

from app.api.deps import CurrentUser, State
from app.api.models import DocType, TxResponse
from app.api.reads import evaluate, reader
from app.api.state import GatewayState
from app.api.writes import WriteCtx
from app.services import documents

router = APIRouter(prefix="/documents", tags=["documents"])

DocPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$")]


async def _read_upload(state: GatewayState, file: UploadFile) -> bytes:
    limit = state.settings.max_upload_bytes
    return documents.check_size(await file.read(limit + 1), limit)


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
    content = await _read_upload(state, file)
    doc_id = document_id or f"DOC-{secrets.token_hex(8)}"
    anchor = await documents.store_for_anchor(
        state.documents, reader(state), w.user.caller, doc_id, doc_type, content, vin, lien_id
    )
    return await w.submit(
        "AnchorDocument",
        documents.anchor_args(anchor),
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
    content = await documents.fetch_decrypted(
        state.documents, reader(state), user.caller, user.role, document_id, anchor
    )
    return Response(
        content,
        media_type="application/octet-stream",
        headers=documents.download_headers(document_id, anchor),
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
    return documents.verify_copy(state.documents, document_id, anchor, content)
