"""Valuation use cases the edges share: the valuation service over the gateway's model registry.

One service per registry folder, kept for the process (loading a model costs seconds); the valuation
and risk routers both value collateral through it.
"""

from __future__ import annotations

from functools import lru_cache

from app.valuation.registry import ModelRegistry, default_root, open_registry
from app.valuation.service import ValuationService


@lru_cache(maxsize=4)
def registry_for(root: str) -> ModelRegistry:
    """One registry per folder and process, its metadata in the off-chain store (shared by replicas)."""
    return open_registry(root)


@lru_cache(maxsize=4)
def _service_for(root: str) -> ValuationService:
    return ValuationService(registry_for(root))


def valuation_service() -> ValuationService:
    """The valuation service over the registry at ``default_root()`` (``$MLEDGER_MODELS_DIR``)."""
    return _service_for(str(default_root()))
