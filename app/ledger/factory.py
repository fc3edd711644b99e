"""Choose and build the ledger backend from settings.

``backend = "embedded"`` (the default, also whenever no network profile is configured) opens the
embedded SQLite ledger under ``settings.embedded_ledger_dir``; ``backend = "fabric"`` connects to
the real network described by ``settings.network_profile`` — the org's Fabric connection profile the
network writes (read by app/ledger/profile.py; the gateway never asks the network tooling) — with the
users' enrolled identities from the profile's users and ``settings.wallet_dir``. Settings are read by
attribute, so any object with those fields works.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any

from app.ledger.port import LedgerError, LedgerPort

logger = logging.getLogger(__name__)


def create_ledger(settings: Any) -> LedgerPort:
    """The LedgerPort the settings ask for (raises LedgerError naming what is missing)."""
    backend = getattr(settings, "backend", "embedded") or "embedded"
    profile = getattr(settings, "network_profile", None)
    channel = getattr(settings, "channel", "vehicles")
    chaincode = getattr(settings, "chaincode", "mortgage")
    if backend == "fabric":
        if profile is None:
            raise LedgerError(
                "backend 'fabric' needs a network profile (settings.network_profile)", status=503
            )
        from app.ledger.fabric import FabricLedger

        wallet = Path(settings.wallet_dir)
        ledger = FabricLedger.from_profile(Path(profile), wallet=wallet, channel=channel, chaincode=chaincode)
        from app.hsm.enrol import load_token_identity
        from app.hsm.startup import open_configured

        token = open_configured(settings)  # None: file keys; HsmStartupError: the gateway must not start
        if token is not None:
            ledger.token_identities = partial(load_token_identity, token)
        return ledger
    if backend != "embedded":
        raise LedgerError(f"unknown ledger backend {backend!r}: use 'embedded' or 'fabric'", status=500)
    from app.ledger.embedded.ledger import EmbeddedLedger, mortgage_chaincode

    data_dir = getattr(settings, "embedded_ledger_dir", None) or Path(".data") / "embedded"
    spec = replace(mortgage_chaincode(), name=chaincode)
    return EmbeddedLedger(Path(data_dir), chaincodes=[spec], channel=channel)
