"""Issue a user's embedded-mode identity ahead of use (the gateway's user admin calls this).

The embedded ledger keeps its org CAs under ``<ledger dir>/msp``; this helper issues into the same
place, so the certificate a user gets at enrolment is the one the ledger signs with later.
"""

from __future__ import annotations

from pathlib import Path

from app.ledger.embedded.ca import IdentityIssuer, IssuedIdentity


def issuer_for(ledger_dir: Path) -> IdentityIssuer:
    return IdentityIssuer(Path(ledger_dir) / "msp")


def issue_user_identity(
    ledger_dir: Path, msp_id: str, username: str, attributes: dict[str, str] | None = None
) -> IssuedIdentity:
    """The user's certificate and key (issued on first call, re-issued when attributes change)."""
    return issuer_for(ledger_dir).issue(msp_id, username, attributes or {})
