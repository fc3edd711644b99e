"""The start-up check: with an HSM configured, the gateway starts only if every configured key is there.

A missing token, a wrong or locked PIN, or a missing key label stops the gateway with a message
naming the key label and the slot/token (never the PIN), instead of a gateway that answers 503 or
401 on every signed call later.
"""

from __future__ import annotations

import logging
from typing import Any

from app.hsm.token import HsmConfig, HsmError, Token, config_from_settings, open_token

log = logging.getLogger(__name__)


class HsmStartupError(HsmError):
    """The gateway refuses to start: the configured HSM or one of its keys cannot be used."""


def _where(config: HsmConfig | None) -> str:
    return config.where if config is not None else "token"


def open_configured(settings: Any) -> Token | None:
    """The logged-in token the settings name (None for file keys), with its configured keys checked."""
    config: HsmConfig | None = None
    labels = [
        label
        for label in (
            getattr(settings, "hsm_signing_key_label", None),
            getattr(settings, "hsm_wrap_key_label", None),
        )
        if label
    ]
    named = f"key {labels[0]!r}" if labels else "its keys"
    try:
        config = config_from_settings(settings)
        if config is None:
            return None
        token = open_token(config)
        signing = getattr(settings, "hsm_signing_key_label", None)
        if signing:
            token.private_key(signing)
            token.public_key(signing)
        wrapping = getattr(settings, "hsm_wrap_key_label", None)
        if wrapping:
            token.secret_key(wrapping)
    except HsmError as exc:
        raise HsmStartupError(
            f"gateway refuses to start: HSM {named} in {_where(config)} cannot be used: {exc}"
        ) from None
    log.info("HSM: logged in to %s; keys checked: %s", token.where, labels or "none configured")
    return token
