"""Suite-wide isolation: tests never write into the repo's own data folders."""

from __future__ import annotations

import os
import tempfile

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # The valuation model registry defaults to <repo>/.data/models; API tests (schemathesis among them)
    # train models through the gateway, so point the registry at a throw-away folder for the whole run.
    if "MLEDGER_MODELS_DIR" not in os.environ:
        os.environ["MLEDGER_MODELS_DIR"] = tempfile.mkdtemp(prefix="mledger-models-")
    # The fixtures log in as the demo users (public passwords), which a gateway accepts only in demo
    # mode; tests of the production rules pass demo_mode=False explicitly.
    os.environ.setdefault("MLEDGER_DEMO_MODE", "true")
