"""The API fixtures (a gateway per test on its own embedded ledger) for the operations tests."""

from tests.unit.api.conftest import api, make_client, settings, users_template  # noqa: F401
