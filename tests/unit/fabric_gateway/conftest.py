"""Fixtures: the fake Gateway service, test identities, connected gateways (blocking and asyncio)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from app.fabric_gateway import (
    AsyncGateway,
    Gateway,
    Identity,
    PrivateKeySigner,
    ReconnectPolicy,
    connect,
    connect_async,
    create_async_channel,
    create_channel,
    load_msp_folder,
)

from .fake_gateway import FakeServer
from .keys import write_msp


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    server = FakeServer()
    yield server
    server.stop()


@pytest.fixture
def msp_dir(tmp_path: Path) -> Path:
    return write_msp(tmp_path / "msp", ec.generate_private_key(ec.SECP256R1()), "loan1")


@pytest.fixture
def credentials(msp_dir: Path) -> tuple[Identity, PrivateKeySigner]:
    return load_msp_folder(msp_dir, "BankAMSP")


FAST_RECONNECT = ReconnectPolicy(initial_backoff=0.05, max_backoff=0.2, max_attempts=20)


@pytest.fixture
def gateway(fake: FakeServer, credentials: tuple[Identity, PrivateKeySigner]) -> Iterator[Gateway]:
    identity, signer = credentials
    with create_channel(fake.address) as channel:
        yield connect(identity, signer, channel, reconnect=FAST_RECONNECT)


@pytest.fixture
async def async_gateway(
    fake: FakeServer, credentials: tuple[Identity, PrivateKeySigner]
) -> AsyncIterator[AsyncGateway]:
    identity, signer = credentials
    async with create_async_channel(fake.address) as channel:
        yield connect_async(identity, signer, channel, reconnect=FAST_RECONNECT)
