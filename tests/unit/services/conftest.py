"""The service tests run against a gateway on its own embedded ledger, as the API tests do."""

from __future__ import annotations

from tests.unit.api.conftest import api, make_client, settings, users_template

__all__ = ["api", "make_client", "settings", "users_template"]
