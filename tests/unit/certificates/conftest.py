"""The API tests' gateway fixtures (an embedded ledger with every org), shared with tests/unit/api."""

from tests.unit.api.conftest import api, make_client, settings, users_template

__all__ = ["api", "make_client", "settings", "users_template"]
