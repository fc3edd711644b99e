"""The native network on separate hosts of this machine (network namespaces), with link fault injection.

`MultiHostNetwork.up()` creates one namespace per host (network.netns), starts Toxiproxy with one proxy
per node-to-node link, then runs the ordinary `Network.up()` with the namespaces' host plan: the same
CAs, orderers, peers, channel and chaincode, each node inside its host's namespace, configs and TLS
certificates naming hosts instead of 127.0.0.1. `down()` stops the processes and removes the namespaces.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

from network import ca, channel, netns, peercli, topology, toxiproxy
from network.config import orderer_admin_client, orderer_tls_ca
from network.errors import CommandError
from network.hosts import bind_data_dir
from network.manager import Network, UpReport
from network.process import run
from network.settings import Settings

log = logging.getLogger(__name__)
_STATUS = re.compile(r"invalidated with status \(([A-Z_]+)\)")


def toxiproxy_api_port(settings: Settings) -> int:
    return settings.base_port + 500


@dataclass
class MultiHostNetwork:
    """A Network whose nodes run in one network namespace per host, links through Toxiproxy."""

    settings: Settings
    links: str = "proxy"

    def __post_init__(self) -> None:
        self.layout = netns.Layout.for_settings(self.settings, self.links)
        self.namespaces = netns.Namespaces(self.layout, self.settings.data_dir / netns.STATE_NAME)
        self.network = Network(replace(self.settings, hosts=self.layout.plan()))
        self.proxy: toxiproxy.Toxiproxy | None = None

    def up(self, *, chaincodes: bool = True) -> UpReport:
        """Create the hosts and bring the network up on them; on failure the hosts are removed again."""
        t0 = time.monotonic()
        # before anything is created: a data dir of a loopback network is refused here, so the cleanup
        # below never stops that network's processes
        bind_data_dir(self.network.settings.data_dir, self.network.settings.hosts)
        try:
            self.namespaces.create()
            if self.links == "proxy":
                s = self.network.settings
                self.proxy = toxiproxy.start(
                    self.network.procs,
                    s.bin_dir,
                    self.layout.bridge_address,
                    toxiproxy_api_port(s),
                    s.log_file(toxiproxy.NAME),
                )
                self.proxy.populate(self.layout.links_for(s))
            report = self.network.up(chaincodes=chaincodes, restart_servers=True)
        except BaseException:
            self.down()
            raise
        report.seconds = time.monotonic() - t0
        return report

    def down(self) -> list[str]:
        """Stop every process of this network, then remove the namespaces, bridge and hosts files."""
        try:
            return self.network.down()
        finally:
            if self.proxy is not None:
                self.proxy.close()
                self.proxy = None
            self.namespaces.destroy()

    def connect_proxy(self) -> toxiproxy.Toxiproxy:
        """A client of the running network's Toxiproxy (e.g. from another process than `up`)."""
        self.proxy = toxiproxy.Toxiproxy(toxiproxy_api_port(self.settings), self.layout.bridge_address)
        return self.proxy

    # ------------------------------------------------------------------ clients on a host
    def on_host(self, node: str) -> list[str]:
        """argv prefix that runs a command on the host of `node` (inside its namespace)."""
        return ["ip", "netns", "exec", self.layout.netns(self.layout.host_of(node))]

    def invoke(
        self,
        chaincode: str,
        args: Sequence[str],
        *,
        org: str,
        user: str,
        endorsers: Sequence[str],
        orderer: int = 0,
        timeout: float = 90,
    ) -> peercli.InvokeResult:
        """`peer chaincode invoke` run on `org`'s own host: peers and orderers are dialled by their DNS
        names (so through the links, and TLS checks each server's name), as an org's client would."""
        s = self.network.settings
        o = topology.org(org)
        ident = ca.org_crypto(s, o).user(user)
        home = topology.peer_name(o) if o.peer else topology.peer_name(topology.peer_orgs()[0])
        home_org = o if o.peer else topology.peer_orgs()[0]
        env = {
            "FABRIC_CFG_PATH": str(s.config_dir / "peer"),
            "CORE_PEER_LOCALMSPID": o.msp_id,
            "CORE_PEER_MSPCONFIGPATH": str(ident / "msp"),
            "CORE_PEER_TLS_ENABLED": "true",
            "CORE_PEER_ADDRESS": f"{s.hosts.advertise(home)}:{s.ports.peer(home_org)}",
            "CORE_PEER_TLS_ROOTCERT_FILE": str(ca.org_crypto(s, home_org).tls_ca),
            "FABRIC_LOGGING_SPEC": "WARNING",
        }
        peers: list[str] = []
        for name in endorsers:
            e = topology.org(name)
            peers += [
                "--peerAddresses",
                f"{s.hosts.advertise(topology.peer_name(e))}:{s.ports.peer(e)}",
                "--tlsRootCertFiles",
                str(ca.org_crypto(s, e).tls_ca),
            ]
        oname = topology.orderer_name(orderer)
        argv = [
            *self.on_host(topology.ca_name(o)),
            str(s.binary("peer")),
            "chaincode",
            "invoke",
            "-o",
            f"{s.hosts.advertise(oname)}:{s.ports.orderer(orderer)}",
            "--tls",
            "--cafile",
            str(orderer_tls_ca(s, orderer)),
            "-C",
            topology.CHANNEL,
            "-n",
            chaincode,
            "-c",
            json.dumps({"Args": list(args)}),
            *peers,
            "--waitForEvent",
            "--waitForEventTimeout",
            f"{int(timeout) - 5}s",
        ]
        try:
            out = run(argv, env=env, what=f"invoke {chaincode} from {o.key}'s host", timeout=timeout)
        except CommandError as exc:
            m = _STATUS.search(str(exc))
            return peercli.InvokeResult(False, m.group(1) if m else "ERROR", str(exc))
        return peercli.InvokeResult(True, "VALID", out)

    # ------------------------------------------------------------------ observation
    def peer_height(self, org: str) -> int:
        return channel.height(self.network.settings, topology.org(org))

    def orderer_height(self, i: int) -> int:
        """The channel's block height on orderer `i` (channel participation API, dialled directly)."""
        s = self.network.settings
        cert, key = orderer_admin_client(s, i)  # orderer i's org (BFT: one org per orderer)
        admin = f"{s.hosts.dial(topology.orderer_name(i))}:{s.ports.orderer_admin(i)}"
        out = run(
            [
                str(s.binary("osnadmin")),
                "channel",
                "list",
                "--channelID",
                topology.CHANNEL,
                "-o",
                admin,
                "--ca-file",
                str(orderer_tls_ca(s, i)),
                "--client-cert",
                str(cert),
                "--client-key",
                str(key),
            ],
            what=f"osnadmin channel list on {topology.orderer_name(i)}",
            timeout=20,
        )
        return int(json.loads(out[out.index("{") :])["height"])

    # ------------------------------------------------------------------ faults
    def links_of(self, node: str) -> list[str]:
        """Every proxied link into or out of the host that runs `node`."""
        host = self.layout.host_of(node)
        return [
            link.name
            for link in self.layout.links_for(self.network.settings)
            if link.source == host.key or link.target in host.nodes
        ]

    def _proxy(self) -> toxiproxy.Toxiproxy:
        if self.proxy is None:
            raise RuntimeError("links are not proxied (links='direct'); no fault injection")
        return self.proxy

    def cut(self, node: str) -> list[str]:
        """Partition the host of `node` from every other host (both directions)."""
        names = self.links_of(node)
        self._proxy().set_enabled(names, False)
        log.info("cut %d links of %s", len(names), self.layout.host_of(node).key)
        return names

    def heal(self, node: str) -> None:
        self._proxy().set_enabled(self.links_of(node), True)

    def add_latency(self, ms: int) -> None:
        """Add `ms` to each direction of every node-to-node link."""
        p = self._proxy()
        names = [link.name for link in self.layout.links_for(self.network.settings)]
        p.clear_toxics(names)
        if ms:
            p.add_latency(names, ms)

    def reset_links(self) -> None:
        self._proxy().reset()
