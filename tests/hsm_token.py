"""One SoftHSM2 token per test process, initialised by the tests in a temp folder (SOFTHSM2_CONF).

SoftHSM2 reads SOFTHSM2_CONF once per process (at C_Initialize), so every test that needs a token
shares this one: keys get unique labels. Used by tests/unit/hsm and tests/integration/test_hsm_network.
"""

from __future__ import annotations

import atexit
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.hsm.softhsm import init_token, write_config
from app.hsm.token import DEFAULT_MODULE, HsmConfig


@dataclass(frozen=True)
class SoftToken:
    config: HsmConfig
    directory: Path
    so_pin: str


_TOKEN: SoftToken | None = None


def session_token() -> SoftToken:
    global _TOKEN
    if _TOKEN is None:
        directory = Path(tempfile.mkdtemp(prefix="mledger-softhsm-"))
        atexit.register(shutil.rmtree, directory, True)
        conf = write_config(directory)
        label = f"mledger-{secrets.token_hex(3)}"
        so_pin, user_pin = secrets.token_hex(8), secrets.token_hex(8)
        init_token(conf, label, so_pin, user_pin)
        os.environ["SOFTHSM2_CONF"] = str(conf)  # before the library is first loaded in this process
        _TOKEN = SoftToken(HsmConfig(DEFAULT_MODULE, label, None, user_pin), directory, so_pin)
    return _TOKEN
