"""The certificate as a PDF: a readable page, a QR code to verify it online, and the signed JSON inside.

The signed JSON is embedded as a PDF file attachment (``search-certificate.json``), so the PDF itself
verifies offline (``mledger certificate verify file.pdf``): the page is for people, the attachment is
what is checked. Rendered with fpdf2, read back with pypdf.
"""

from __future__ import annotations

import io
import json
from typing import Any

import qrcode
from fpdf import FPDF

from app.certificates.document import CertificateError

ATTACHMENT = "search-certificate.json"


def _text(value: Any) -> str:
    """The core PDF fonts are Latin-1: anything else is shown as '?' (the JSON inside keeps it exact)."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _qr_png(url: str) -> io.BytesIO:
    image = qrcode.make(url, border=2)
    out = io.BytesIO()
    image.save(out, format="PNG")
    out.seek(0)
    return out


def _lines(cert: dict[str, Any]) -> list[tuple[str, str]]:
    facts = cert["facts"]
    rows: list[tuple[str, str]] = [
        ("Certificate number", cert["certificate_number"]),
        ("VIN", cert["vin"]),
        (
            "Vehicle",
            f"{facts.get('make', '')} {facts.get('model', '')} {facts.get('year', '')} - plate "
            f"{facts.get('plate', '')}",
        ),
        (
            "As of",
            f"block {cert['as_of']['block']} (height {cert['as_of']['height']}), {cert['as_of']['time']}",
        ),
        ("Issued by", f"{cert['issuer']['name']} ({cert['issuer']['msp_id']}) at {cert['issued_at']}"),
        ("Requested by", f"{cert['requested_by']['org_name']} ({cert['requested_by']['basis']})"),
        ("Status", str(facts.get("status"))),
    ]
    liens = facts.get("liens") or []
    if not liens:
        rows.append(("Liens", "none recorded"))
    for lien in liens:
        rows.append(
            (
                f"Lien priority {lien['priority']}",
                f"{lien['lienholder_name']} ({lien['lienholder']}) - {lien['status']}, "
                f"lien {lien['lien_id']}, "
                f"registered {lien.get('registered_at') or '-'}, matures {lien.get('maturity_date') or '-'}",
            )
        )
    holds = facts.get("holds") or []
    rows.append(
        (
            "Holds",
            "; ".join(f"{h['kind']} ({h['authority']}, since {h['since'][:10]})" for h in holds) or "none",
        )
    )
    brands = facts.get("brands") or []
    rows.append(
        (
            "Brands",
            "; ".join(f"{b['kind']} (by {b['insurer_name']}, since {b['since'][:10]})" for b in brands)
            or "none",
        )
    )
    anomaly = (
        "YES - a reading lower than an earlier one is recorded" if facts.get("odometer_anomaly") else "no"
    )
    rows.append(("Odometer", f"{facts.get('odometer_km') or '-'} km; rollback anomaly: {anomaly}"))
    insurance = facts.get("insurance") or {}
    rows.append(
        (
            "Insurance",
            f"{insurance.get('state')}"
            + (f" (to {insurance['valid_to']})" if insurance.get("valid_to") else ""),
        )
    )
    band = facts.get("valuation_band")
    rows.append(
        (
            "Valuation band",
            "no valuation"
            if not band
            else f"{band['low']}-{band['high']} {band['currency']} (valued {band['valued_at'][:10]}"
            f"{', stale' if band.get('stale') else ''})",
        )
    )
    return rows


def verify_link(document: dict[str, Any]) -> str:
    """What the QR code holds: the gateway's check page with the certificate number and its hash."""
    return f"{document['certificate']['verify_url']}?sha256={document['sha256']}"


def render_pdf(document: dict[str, Any]) -> bytes:
    """The PDF of a signed certificate document (see :func:`app.certificates.document.sign`)."""
    cert = document["certificate"]
    pdf = FPDF(format="A4")
    pdf.set_title(_text(f"Search certificate {cert['certificate_number']}"))
    pdf.set_subject(_text(f"VIN {cert['vin']} sha256 {document['sha256']}"))
    pdf.set_author(_text(cert["issuer"]["name"]))
    pdf.set_creator("mledger")
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(0, 10, "Vehicle search certificate", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        _text(
            "What the vehicle-collateral ledger records for this vehicle as of the block below: status, "
            "every "
            "recorded lien with its holder and priority, holds, brands, odometer anomaly, insurance and the "
            "latest valuation band. No amounts and no personal data."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    for label, value in _lines(cert):
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(45, 6, _text(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.multi_cell(0, 6, _text(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    top = pdf.get_y()
    online = verify_link(document)
    pdf.image(_qr_png(online), x=pdf.l_margin, y=top, w=40, h=40)
    pdf.set_xy(pdf.l_margin + 45, top)
    pdf.set_font("Helvetica", "", 8)
    pdf.multi_cell(
        0,
        4,
        _text(
            f"Verify online: scan the code or open {online}\n"
            f"SHA-256 of the certificate: {document['sha256']}\n"
            f"Signed by {document['signature']['signer_msp_id']} ({document['signature']['algorithm']}). "
            "Verify offline with the org's CA certificate: "
            "mledger certificate verify <this file> --ca <ca.pem>. "
            f"The signed JSON is attached to this PDF as {ATTACHMENT}."
        ),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.embed_file(
        bytes=json.dumps(document, sort_keys=True, indent=1, ensure_ascii=False).encode(),
        basename=ATTACHMENT,
        desc="the signed search certificate (JSON)",
    )
    return bytes(pdf.output())


def extract_document(pdf_bytes: bytes) -> dict[str, Any]:
    """The signed JSON attached to a certificate PDF."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        attachments = PdfReader(io.BytesIO(pdf_bytes)).attachments
    except (PdfReadError, ValueError, KeyError) as exc:
        raise CertificateError(f"pdf: cannot read ({exc})") from None
    found = attachments.get(ATTACHMENT)
    if not found:
        raise CertificateError(f"pdf: no {ATTACHMENT} attachment (not a search certificate PDF)")
    try:
        document = json.loads(found[0])
    except ValueError as exc:
        raise CertificateError(f"pdf: attachment {ATTACHMENT} is not JSON ({exc})") from None
    if not isinstance(document, dict):
        raise CertificateError(f"pdf: attachment {ATTACHMENT} is not a certificate object")
    return document


def load_document(data: bytes) -> dict[str, Any]:
    """A certificate from a file's bytes: a PDF (its attachment) or the JSON itself."""
    if data.startswith(b"%PDF"):
        return extract_document(data)
    try:
        document = json.loads(data)
    except ValueError as exc:
        raise CertificateError(f"file: neither a PDF nor JSON ({exc})") from None
    if not isinstance(document, dict):
        raise CertificateError("file: not a certificate object")
    return document


__all__ = ["ATTACHMENT", "extract_document", "load_document", "render_pdf", "verify_link"]
