"""World-state keys of the lien-law records (beside :mod:`chaincode.mortgage.store`'s own)."""

from __future__ import annotations

LAWCONFIG = "LAWCONFIG"
CONSENT = "CONSENT"  # (foreclosing lien, consenting lien)
SALEORDER = "SALEORDER"  # (vin)
SURPLUS = "SURPLUS"  # (vin, tx id)
BALANCE = "BALANCE"  # (lien)
PAYOFFREQ = "PAYOFFREQ"  # (lien, request)
PAYOFFQUOTE = "PAYOFFQUOTE"  # (lien, quote)
NOTICE = "NOTICE"  # (lien, days): maturity notice already sent
REGCHANGE = "REGCHANGE"  # (vin, change)
REGCONTACT = "REGCONTACT"  # private: (vin, change) before/after owner contact
BRANDACK = "BRANDACK"  # (lien)
MODEL = "MODEL"  # (model id, version)
ALERT = "ALERT"  # (alert)
IDX_ALERTLIEN = "IDX_ALERTLIEN"  # (lien, alert)
IDX_ALERTHOLDER = "IDX_ALERTHOLDER"  # (lienholder, alert)
