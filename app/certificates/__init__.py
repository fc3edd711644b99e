"""Search certificates: signed JSON, PDF rendering and offline verification (issue 16)."""

from app.certificates.document import CertificateError, SigningIdentity, Verdict, sign, verify

__all__ = ["CertificateError", "SigningIdentity", "Verdict", "sign", "verify"]
