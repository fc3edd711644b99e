"""The web desks' tests run a gateway per test on the embedded backend, like the API tests."""

from __future__ import annotations

from tests.unit.api.conftest import api, make_client, users_template  # noqa: F401  (fixtures)
