"""app.services.valuation: one valuation service per model registry, kept for the process."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.services.valuation import valuation_service


def test_one_service_per_registry_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLEDGER_MODELS_DIR", str(tmp_path / "a"))
    first = valuation_service()
    assert valuation_service() is first
    monkeypatch.setenv("MLEDGER_MODELS_DIR", str(tmp_path / "b"))
    assert valuation_service() is not first
