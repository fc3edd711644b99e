"""What tests get from the `fabric_network` fixture: endpoints, TLS CAs and identities of the live network.

Kept in the `network` package (not in conftest) so benchmarks and other tools can use the same view.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from network import ca, connection_profile, kubo, topology
from network.config import orderer_tls_ca
from network.manager import Network
from network.topology import CHANNEL


@dataclass(frozen=True)
class Identity:
    """An enrolled user's signing identity (PEM cert, PEM PKCS#8 private key, MSP id)."""

    cert_path: Path
    key_path: Path
    msp_id: str

    @property
    def cert_pem(self) -> bytes:
        return self.cert_path.read_bytes()

    @property
    def key_pem(self) -> bytes:
        return self.key_path.read_bytes()


@dataclass(frozen=True)
class OrgInfo:
    """One org as a client sees it. `peer_endpoint` is None for the client-only Dealer org."""

    name: str
    msp_id: str
    peer_name: str | None
    peer_endpoint: str | None
    peer_tls_ca: Path
    endorsing: bool
    users: tuple[str, ...]


@dataclass
class FabricNetworkInfo:
    """The live network handed to tests (see tests/integration/conftest.py for the contract)."""

    network: Network
    channel: str = CHANNEL
    chaincodes: dict[str, str] = field(default_factory=dict)  # chaincode name -> package id or skip reason

    @property
    def orgs(self) -> dict[str, OrgInfo]:
        """Every application org by MSP id (orderer org excluded)."""
        return {o.msp_id: self.org(o.msp_id) for o in self.network.orgs() if not o.orderer_org}

    def org(self, name: str) -> OrgInfo:
        """Look up an org by MSP id, name or key: 'BankAMSP', 'BankA', 'banka'."""
        o = topology.org(name, self.network.orgs())
        s = self.network.settings
        return OrgInfo(
            o.name,
            o.msp_id,
            topology.peer_name(o) if o.peer else None,
            f"{s.hosts.dial(topology.peer_name(o))}:{s.ports.peer(o)}" if o.peer else None,
            ca.org_crypto(s, o).tls_ca,
            o.endorsing,
            tuple(u.name for u in o.users),
        )

    def connection_profile(self, org: str = connection_profile.CONSORTIUM_PROFILE) -> Path:
        """The connection profile `up` wrote for an org's gateway (key, name or MSP id), or the
        development profile of one gateway serving every org (``consortium``)."""
        key = (
            org
            if org == connection_profile.CONSORTIUM_PROFILE
            else topology.org(org, self.network.orgs()).key
        )
        return connection_profile.profile_path(self.network.settings, key)

    @property
    def peers(self) -> list[OrgInfo]:
        return [self.org(o.msp_id) for o in topology.peer_orgs(self.network.orgs())]

    def identity(self, org: str, user: str) -> Identity:
        o = topology.org(org, self.network.orgs())
        if user not in {u.name for u in o.users}:
            raise KeyError(f"{o.name} has no enrolled user {user!r}; users: {[u.name for u in o.users]}")
        msp = ca.org_crypto(self.network.settings, o).user(user) / "msp"
        return Identity(msp / "signcerts" / "cert.pem", ca.key_file(msp), o.msp_id)

    def identities(self, org: str, users: tuple[str, ...]) -> dict[str, tuple[bytes, bytes]]:
        """The named enrolled users of an org as {user: (cert PEM, key PEM)}, e.g. for a gateway's wallet."""
        return {u: (self.identity(org, u).cert_pem, self.identity(org, u).key_pem) for u in users}

    @property
    def orderer_endpoints(self) -> list[str]:
        p = self.network.settings.ports
        hosts = self.network.settings.hosts
        return [
            f"{hosts.dial(name)}:{p.orderer(i)}"
            for i, (name, _) in enumerate(topology.orderers(self.network.settings.ordering))
        ]

    @property
    def orderer_tls_ca(self) -> Path:
        return orderer_tls_ca(self.network.settings)

    @property
    def kubo_rpc_url(self) -> str:
        return kubo.rpc_url(self.network.settings)

    @property
    def operations_urls(self) -> dict[str, str]:
        urls = {n.name: self.network.operations_url(n) for n in self.network.nodes()}
        return {k: v for k, v in urls.items() if v}

    def stop_node(self, name: str) -> None:
        """Stop one node (e.g. 'orderer1', 'peer0.banka') as a crash would."""
        self.network.stop_node(name)

    def start_node(self, name: str) -> None:
        """Start a stopped node again and wait until it is healthy."""
        self.network.start_node(name)

    def height(self, org: str) -> int:
        from network import channel

        return channel.height(self.network.settings, topology.org(org, self.network.orgs()))


def open_for_tests() -> tuple[FabricNetworkInfo, bool]:
    """Bring the network up (or reuse it) for a test session; returns (info, was_already_running).

    The body of the `fabric_network` fixture, importable so other test trees (e.g. tests/conformance)
    can define the same fixture: `info, was_running = open_for_tests()` ... `close_for_tests(info, ...)`.
    Raises NetworkError with the reason when the network cannot start.
    """
    net = Network()
    was_running = all(net.node_healthy(n) for n in net.nodes())
    report = net.up(chaincodes=True, restart_servers=True)
    return FabricNetworkInfo(network=net, chaincodes=dict(report.chaincodes)), was_running


def close_for_tests(info: FabricNetworkInfo, was_running: bool) -> None:
    """Restart nodes a crash test left stopped; under CI (or MLEDGER_NETWORK_STOP_AFTER_TESTS=1) stop
    the network again if this session started it."""
    import logging
    import os

    from network.errors import NetworkError

    net = info.network
    for n in net.nodes():
        if not net.procs.alive(n.name):
            try:
                net.start_node(n.name)
            except NetworkError as exc:
                logging.getLogger(__name__).warning("could not restart %s after tests: %s", n.name, exc)
    stop = os.environ.get("CI") or os.environ.get("MLEDGER_NETWORK_STOP_AFTER_TESTS") == "1"
    if stop and not was_running:
        net.down()
