"""Opening the configured PKCS#11 token and finding keys in it, with errors fit for a startup check.

Configuration (settings, see docs/hsm.md): the module (the vendor's ``.so``), the token label or
the slot number, and the user PIN from a file (``hsm_pin_file``, mode 0600) or the environment
(``MLEDGER_HSM_PIN``) — never from a command line. Error messages name the token, the slot and the
key label; they never carry the PIN (the library's own exception text is reduced to its class name,
which is PKCS#11's return code such as ``PinIncorrect``).
"""

from __future__ import annotations

import os
import stat
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pkcs11
from pkcs11 import Attribute, KeyType, ObjectClass

DEFAULT_MODULE = Path("/usr/lib/softhsm/libsofthsm2.so")


class HsmError(RuntimeError):
    """The token, or a key in it, cannot be used (the message names what and where, never the PIN)."""


@dataclass(frozen=True, slots=True)
class HsmConfig:
    """Where the keys are: ``module`` + (``token_label`` or ``slot``) + the user PIN."""

    module: Path
    token_label: str | None
    slot: int | None
    pin: str

    def __repr__(self) -> str:  # never show the PIN
        return f"HsmConfig(module={self.module}, token_label={self.token_label!r}, slot={self.slot})"

    @property
    def where(self) -> str:
        token = f"token {self.token_label!r}" if self.token_label else "token"
        return f"{token} in slot {self.slot}" if self.slot is not None else token


def read_pin(pin_file: Path | None, env_pin: str | None) -> str:
    """The PIN from its file (no group/other permission bits) or from MLEDGER_HSM_PIN."""
    if pin_file is not None:
        try:
            st = pin_file.stat()
        except OSError as exc:
            raise HsmError(f"hsm_pin_file {pin_file}: cannot be read ({exc.strerror})") from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise HsmError(f"hsm_pin_file {pin_file}: group/other may read it; refused (chmod 600)")
        pin = pin_file.read_text().strip()
    else:
        pin = (env_pin or "").strip()
    if not pin:
        raise HsmError("HSM PIN: not configured (hsm_pin_file or MLEDGER_HSM_PIN)")
    return pin


def config_from_settings(settings: Any) -> HsmConfig | None:
    """The token settings, or None when no HSM is configured (file keys: the embedded default)."""
    module = getattr(settings, "hsm_module", None)
    label = getattr(settings, "hsm_token_label", None)
    slot = getattr(settings, "hsm_slot", None)
    if module is None and label is None and slot is None:
        return None
    secret = getattr(settings, "hsm_pin", None)
    env_pin = secret.get_secret_value() if secret is not None else os.environ.get("MLEDGER_HSM_PIN")
    pin = read_pin(getattr(settings, "hsm_pin_file", None), env_pin)
    return HsmConfig(Path(module) if module else DEFAULT_MODULE, label, slot, pin)


_LIBS: dict[str, Any] = {}
_LIBS_LOCK = threading.Lock()


def _lib(module: Path) -> Any:
    """One loaded library per module path (PKCS#11 C_Initialize is process-wide)."""
    with _LIBS_LOCK:
        lib = _LIBS.get(str(module))
        if lib is None:
            if not module.is_file():
                raise HsmError(f"PKCS#11 module {module}: not found")
            lib = pkcs11.lib(str(module))
            _LIBS[str(module)] = lib
        return lib


def reinitialize(module: Path) -> None:
    """Forget the loaded module so the next open re-reads the token list (tests that create tokens)."""
    with _LIBS_LOCK:
        lib = _LIBS.pop(str(module), None)
    if lib is not None:
        lib.reinitialize()


def _token(config: HsmConfig) -> Any:
    lib = _lib(config.module)
    try:
        if config.slot is not None:
            slots = [s for s in lib.get_slots(token_present=True) if s.slot_id == config.slot]
            if not slots:
                raise HsmError(f"HSM: no token in slot {config.slot}")
            token = slots[0].get_token()
            if config.token_label and token.label != config.token_label:
                raise HsmError(
                    f"HSM: slot {config.slot} holds token {token.label!r}, not {config.token_label!r}"
                )
            return token
        return lib.get_token(token_label=config.token_label)
    except HsmError:
        raise
    except pkcs11.exceptions.NoSuchToken:
        raise HsmError(f"HSM: no {config.where}") from None
    except pkcs11.exceptions.PKCS11Error as exc:
        raise HsmError(f"HSM: {config.where}: {type(exc).__name__}") from None


class Token:
    """A logged-in read/write session on the token, shared by the gateway's signers and key ring."""

    def __init__(self, config: HsmConfig) -> None:
        self.config = config
        token = _token(config)
        self.where = f"token {token.label!r} in slot {token.slot.slot_id}"
        try:
            self.session = token.open(user_pin=config.pin, rw=True)
        except pkcs11.exceptions.PKCS11Error as exc:  # PinIncorrect, PinLocked, ...
            raise HsmError(f"HSM: cannot log in to {self.where}: {type(exc).__name__}") from None
        self.lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    def private_key(self, label: str) -> Any:
        """The EC private key labelled ``label`` (HsmError naming label and token when absent)."""
        return self._one(label, ObjectClass.PRIVATE_KEY, KeyType.EC)

    def public_key(self, label: str) -> Any:
        return self._one(label, ObjectClass.PUBLIC_KEY, KeyType.EC)

    def secret_key(self, label: str) -> Any:
        return self._one(label, ObjectClass.SECRET_KEY, KeyType.AES)

    def _one(self, label: str, object_class: Any, key_type: Any) -> Any:
        with self.lock:
            try:
                found = list(
                    self.session.get_objects(
                        {Attribute.LABEL: label, Attribute.CLASS: object_class, Attribute.KEY_TYPE: key_type}
                    )
                )
            except pkcs11.exceptions.PKCS11Error as exc:
                raise HsmError(f"HSM key {label!r} ({self.where}): {type(exc).__name__}") from None
        kind = {ObjectClass.PRIVATE_KEY: "private", ObjectClass.PUBLIC_KEY: "public"}.get(
            object_class, "secret"
        )
        if not found:
            raise HsmError(f"HSM key {label!r}: no {kind} key with that label in {self.where}")
        if len(found) > 1:
            raise HsmError(f"HSM key {label!r}: {len(found)} {kind} keys share that label in {self.where}")
        return found[0]


_TOKENS: dict[HsmConfig, Token] = {}


def open_token(config: HsmConfig) -> Token:
    """One session per configuration for the process (sessions are cheap to share, costly to open)."""
    with _LIBS_LOCK:
        token = _TOKENS.get(config)
    if token is None:
        token = Token(config)
        with _LIBS_LOCK:
            token = _TOKENS.setdefault(config, token)
    return token


def close_tokens() -> None:
    with _LIBS_LOCK:
        tokens = list(_TOKENS.values())
        _TOKENS.clear()
    for token in tokens:
        token.close()
