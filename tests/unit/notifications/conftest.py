"""Gateway fixtures for the notification API tests (the API tests' own, with webhooks to 127.0.0.1)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.settings import Settings
from tests.unit.api.builders import Api
from tests.unit.api.conftest import make_client, users_template  # noqa: F401 - fixtures
from tests.unit.notifications.receiver import Receiver


@pytest.fixture
def notify_api(make_client: Callable[..., TestClient], tmp_path: Path) -> Api:  # noqa: F811
    settings = Settings(
        data_dir=tmp_path / "gw",
        token_secret="t" * 32,
        notify_allow_http_hosts=["127.0.0.1"],
        notify_backoff_seconds=0.05,
        notify_backoff_max_seconds=0.2,
        notify_max_attempts=4,
    )
    return Api(make_client(settings))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()
