"""Documents: anchors (CID, hash, readers) of the off-chain files every legal step refers to."""

from __future__ import annotations

from chaincode.runtime.contract import evaluate, submit
from chaincode.runtime.errors import BadRequestError, ConflictError, NotFoundError

from . import access
from . import store as s
from .args import arg_id
from .context import MortgageContext
from .models import Document, DocumentIn, DocumentQuery
from .support import MortgageSupport


class DocumentTransactions(MortgageSupport):
    """Immutable document anchors, linked to a vehicle or a lien."""

    @submit
    def anchor_document(self, ctx: MortgageContext, document: DocumentIn) -> Document:
        if ctx.store.exists(s.DOC, document.document_id):
            raise ConflictError(
                f"document {document.document_id} is already anchored (documents are immutable)"
            )
        required = {ctx.msp_id, access.TRAFFIC, access.REGULATOR}
        if document.vin is not None:
            required.update(self._vehicle(ctx, document.vin).lienholders)
        if document.lien_id is not None:
            lien = self._lien(ctx, document.lien_id)
            if document.vin is not None and lien.vin != document.vin:
                raise BadRequestError(
                    "invalid argument 'document': field 'lien_id': "
                    f"lien {lien.lien_id} is on vehicle {lien.vin}, "
                    f"not {document.vin}"
                )
            required.add(lien.lienholder)
        if document.parties is not None:
            missing = sorted(required - set(document.parties))
            if missing:
                raise ConflictError(
                    f"invalid argument 'document': field 'parties': must include {', '.join(missing)} "
                    "(the uploader, the vehicle office, the regulator and the vehicle's and lien's "
                    "lienholders read every document of the vehicle)"
                )
        record = Document(
            **document.model_dump(), anchored_by=ctx.msp_id, anchored_at=ctx.at, tx_id=ctx.tx_id
        )
        ctx.store.put(record, s.DOC, record.document_id)
        if record.vin is not None:
            ctx.store.index_put(s.IDX_DOCVIN, record.vin, record.document_id)
        if record.lien_id is not None:
            ctx.store.index_put(s.IDX_DOCLIEN, record.lien_id, record.document_id)
        ctx.emit(
            "DocumentAnchored",
            document_id=record.document_id,
            doc_type=record.doc_type,
            cid=record.cid,
            sha256=record.sha256,
            vin=record.vin,
            lien_id=record.lien_id,
            parties=record.parties,
        )
        return record

    @evaluate
    def get_document(self, ctx: MortgageContext, document_id: str) -> Document:
        doc = ctx.store.get(Document, s.DOC, arg_id(document_id, "document_id"))
        if doc is None:
            raise NotFoundError(f"document {document_id} not found")
        return doc

    @evaluate
    def get_documents(self, ctx: MortgageContext, query: DocumentQuery) -> list[Document]:
        if query.vin is not None:
            ids = ctx.store.index_ids(s.IDX_DOCVIN, query.vin)
        else:
            assert query.lien_id is not None
            ids = ctx.store.index_ids(s.IDX_DOCLIEN, query.lien_id)
        return [doc for doc in (ctx.store.get(Document, s.DOC, i) for i in ids) if doc is not None]


__all__ = ["DocumentTransactions"]
