from __future__ import annotations

import pytest

from app.hsm.token import Token, open_token
from tests.hsm_token import SoftToken, session_token


@pytest.fixture(scope="session")
def test_token() -> SoftToken:
    return session_token()


@pytest.fixture(scope="session")
def token(test_token: SoftToken) -> Token:
    return open_token(test_token.config)
