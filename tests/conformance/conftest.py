"""Conformance fixtures: one LedgerPort per backend, so one scenario runs on both and is compared.

``ledger`` is parametrised over ``embedded`` (a fresh embedded ledger in a temp dir, hosting the real
Mortgage-Asset contract) and ``fabric`` (the real network from the session fixture
``fabric_network`` of tests/integration/conftest.py, reached through the Fabric adapter with each
org's enrolled users; marked ``fabric``). ``backend`` names the current one. ``callers`` maps
short names to the standard enrolled users (preamble): officer, loan_a, loan_b, underwriter, dealer,
regulator, auditor_ta, admin_ta. ``make_ledger(name)`` builds a ledger for a backend on demand
(used by the cross-backend comparison). The fabric ledger of a session is shared; embedded ledgers
are fresh per test.

Scenarios must use fresh ids per run (the real network keeps its state between runs): use
``run_id`` and ``new_vin()``.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from app.fabric_gateway import Deadlines
from app.ledger.embedded.ledger import EmbeddedLedger, mortgage_chaincode
from app.ledger.fabric import FabricLedger, NetworkProfile, PeerEndpoint, UserCredentials
from app.ledger.port import Caller, LedgerPort
from chaincode.mortgage.vin import with_check_digit
from tests.integration.conftest import fabric_network  # noqa: F401  (the session network fixture)

CALLERS: dict[str, Caller] = {
    "officer": Caller("officer1", "TrafficAuthorityMSP", {"role": "registrar"}),
    "admin_ta": Caller("admin", "TrafficAuthorityMSP", {"role": "admin"}),
    "auditor_ta": Caller("auditor1", "TrafficAuthorityMSP", {"role": "auditor"}),
    "loan_a": Caller("loan1", "BankAMSP", {"role": "loan_officer"}),
    "loan_b": Caller("loan1", "BankBMSP", {"role": "loan_officer"}),
    "models_a": Caller("models1", "BankAMSP", {"role": "model_admin"}),
    "underwriter": Caller("underwriter1", "InsurerMSP", {"role": "underwriter"}),
    "dealer": Caller("dealer1", "DealerMSP", {"role": "dealer"}),
    "regulator": Caller("regulator1", "RegulatorMSP", {"role": "regulator"}),
}


def fabric_ledger(info: object) -> FabricLedger:
    """The Fabric adapter on the test network, signing with the fixture's enrolled identities."""
    peers = {
        org.msp_id: PeerEndpoint(org.peer_endpoint, Path(org.peer_tls_ca))
        for org in info.peers  # type: ignore[attr-defined]
        if org.peer_endpoint
    }
    profile = NetworkProfile(
        channel=info.channel,  # type: ignore[attr-defined]
        chaincode="mortgage",
        peers=peers,
        gateway_org="TrafficAuthorityMSP",
        service_identity=("TrafficAuthorityMSP", "auditor1"),
        # generous: other tests restart orderers and peers of the shared network (raft re-elections)
        deadlines=Deadlines(evaluate=30, endorse=60, submit=60, commit_status=120),
    )

    def resolve(msp_id: str, user: str) -> UserCredentials:
        ident = info.identity(msp_id, user)  # type: ignore[attr-defined]
        return UserCredentials(msp_id, cert_path=Path(ident.cert_path), key_path=Path(ident.key_path))

    return FabricLedger(profile, resolve)


def settle_for(ledger: LedgerPort) -> Callable[[int], Awaitable[None]] | None:
    """After a commit on Fabric, wait for every peer to have the block (None for the embedded ledger)."""
    if isinstance(ledger, FabricLedger):
        return ledger.wait_for_peers
    return None


@pytest.fixture(scope="session")
def run_id() -> str:
    return secrets.token_hex(3).upper()


@pytest.fixture
def new_vin() -> Callable[[], str]:
    def make() -> str:
        body = "LSV" + "".join(secrets.choice("ABCDEFGHJKLMNPRSTUVWXYZ0123456789") for _ in range(14))
        return with_check_digit(body)

    return make


@pytest.fixture
def callers() -> dict[str, Caller]:
    return dict(CALLERS)


@pytest.fixture
async def make_ledger(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Callable[[str], Awaitable[LedgerPort]]]:
    opened: list[LedgerPort] = []

    async def make(backend: str) -> LedgerPort:
        if backend == "embedded":
            ledger: LedgerPort = EmbeddedLedger(
                tmp_path_factory.mktemp("embedded"), chaincodes=[mortgage_chaincode()]
            )
        elif backend == "fabric":
            ledger = fabric_ledger(request.getfixturevalue("fabric_network"))
        else:
            raise ValueError(f"unknown backend {backend}")
        opened.append(ledger)
        return ledger

    yield make
    for ledger in opened:
        await ledger.close()


@pytest.fixture(params=["embedded", pytest.param("fabric", marks=pytest.mark.fabric)])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def ledger(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[LedgerPort]:
    if backend == "embedded":
        led: LedgerPort = EmbeddedLedger(tmp_path / "embedded", chaincodes=[mortgage_chaincode()])
    else:
        led = fabric_ledger(request.getfixturevalue("fabric_network"))
    try:
        yield led
    finally:
        await led.close()
