"""The native network on separate hosts of this machine (network namespaces), with link fault injection.

`MultiHostNetwork.up()` creates one namespace per host (network.netns), starts Toxiproxy with one proxy
per node-to-node link, then runs the ordinary `Network.up()` with the namespaces' host plan: the same
CAs, orderers, peers, channel and chaincode, each node inside its host's namespace, configs and TLS
certificates naming hosts instead of 127.0.0.1. `down()` stops the processes and removes the namespaces.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace

from network import netns, toxiproxy
from network.manager import Network, UpReport
from network.settings import Settings

log = logging.getLogger(__name__)


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
        try:
            self.namespaces.create()
            netns.settings_for(self.settings, self.layout)  # writes <data>/hosts.json for other tools
            if self.links == "proxy":
                s = self.network.settings
                self.proxy = toxiproxy.start(
                    self.network.procs, s.bin_dir, toxiproxy_api_port(s), s.log_file(toxiproxy.NAME)
                )
                self.proxy.populate(self.layout.links_for(s))
            report = self.network.up(chaincodes=chaincodes, restart_servers=True)
        except BaseException:
            self.down()
            raise
        report.seconds = time.monotonic() - t0
        return report

    def down(self) -> list[str]:
        stopped = self.network.down()
        if self.proxy is not None:
            self.proxy.close()
        self.namespaces.destroy()
        return stopped

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
