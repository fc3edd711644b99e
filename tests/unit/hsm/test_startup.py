"""A missing or locked HSM key stops the gateway at start, naming the key label and the slot, never
the PIN; with no HSM configured the gateway keeps its file keys (the embedded default)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from app.hsm.keys import generate_signing_key
from app.hsm.startup import HsmStartupError, open_configured
from app.hsm.token import Token
from app.main import create_app
from app.settings import Settings
from tests.hsm_token import SoftToken


def _settings(tmp_path: Path, test_token: SoftToken, pin: str, **hsm: object) -> Settings:
    pin_file = tmp_path / "hsm.pin"
    pin_file.write_text(pin + "\n")
    pin_file.chmod(0o600)
    values: dict[str, object] = {
        "data_dir": tmp_path / "gw",
        "token_secret": secrets.token_hex(16),
        "hsm_module": test_token.config.module,
        "hsm_token_label": test_token.config.token_label,
        "hsm_pin_file": pin_file,
    }
    values.update(hsm)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture()
def signing_label(token: Token) -> str:
    label = f"gateway/{secrets.token_hex(4)}"
    generate_signing_key(token, label)
    return label


def test_configured_key_present_opens(tmp_path: Path, test_token: SoftToken, signing_label: str) -> None:
    settings = _settings(tmp_path, test_token, test_token.config.pin, hsm_signing_key_label=signing_label)
    token = open_configured(settings)
    assert token is not None and token.where.startswith(f"token {test_token.config.token_label!r} in slot ")
    assert create_app(settings) is not None


def test_wrong_label_refuses_to_start(tmp_path: Path, test_token: SoftToken, signing_label: str) -> None:
    settings = _settings(tmp_path, test_token, test_token.config.pin, hsm_signing_key_label="gateway/absent")
    with pytest.raises(HsmStartupError) as info:
        create_app(settings)
    message = str(info.value)
    assert "refuses to start" in message and "'gateway/absent'" in message and "in slot " in message
    assert test_token.config.pin not in message


def test_wrong_pin_refuses_to_start(tmp_path: Path, test_token: SoftToken, signing_label: str) -> None:
    """In a fresh process (this one is logged in already), as `mledger serve` would start."""
    wrong = secrets.token_hex(8)
    env = {
        **os.environ,
        "MLEDGER_DATA_DIR": str(tmp_path / "gw"),
        "MLEDGER_TOKEN_SECRET": secrets.token_hex(16),
        "MLEDGER_HSM_MODULE": str(test_token.config.module),
        "MLEDGER_HSM_TOKEN_LABEL": str(test_token.config.token_label),
        "MLEDGER_HSM_SIGNING_KEY_LABEL": signing_label,
        "MLEDGER_HSM_PIN": wrong,
    }
    result = subprocess.run(
        [sys.executable, "-c", "from app.main import create_app; create_app()"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=Path(__file__).resolve().parents[3],
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert "HsmStartupError" in last and "refuses to start" in last, result.stderr[-2000:]
    assert f"{signing_label!r}" in last and "in slot " in last and "PinIncorrect" in last
    assert wrong not in result.stderr and wrong not in result.stdout
    assert test_token.config.pin not in result.stderr


def test_unknown_token_refuses_to_start(tmp_path: Path, test_token: SoftToken, signing_label: str) -> None:
    settings = _settings(
        tmp_path,
        test_token,
        test_token.config.pin,
        hsm_token_label="no-such-token",
        hsm_signing_key_label=signing_label,
    )
    with pytest.raises(HsmStartupError, match=f"{signing_label!r}.*no token 'no-such-token'"):
        open_configured(settings)


def test_pin_file_readable_by_others_is_refused(tmp_path: Path, test_token: SoftToken) -> None:
    settings = _settings(tmp_path, test_token, test_token.config.pin)
    assert settings.hsm_pin_file is not None
    settings.hsm_pin_file.chmod(0o644)
    with pytest.raises(HsmStartupError, match="chmod 600"):
        open_configured(settings)


def test_no_hsm_configured_keeps_file_keys(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "gw", token_secret=secrets.token_hex(16))
    assert open_configured(settings) is None
