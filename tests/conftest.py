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
