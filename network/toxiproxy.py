"""Toxiproxy between the hosts of a multi-host network: cut links (partitions) and add link latency.

The kernel here has no `tc netem`, so faults are injected by Toxiproxy, a TCP proxy with an HTTP API:
every node-to-node link (source host -> destination node port) is one proxy. Disabling a proxy closes its
connections and refuses new ones, as a firewall cutting the link would; a `latency` toxic delays every
chunk on one direction of the link. The server's API and its proxies listen only on addresses of the bridge
that network.netns created (never routed off the machine).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import httpx

from network.errors import NetworkError
from network.process import ProcessTable, wait_until

log = logging.getLogger(__name__)

NAME = "toxiproxy"
VERSION = "2.12.0"


@dataclass(frozen=True)
class Link:
    """One proxied link: traffic from `source` host to node `target`."""

    source: str
    target: str
    listen: str  # addr:port on the bridge, what `source` resolves the target's name to
    upstream: str  # addr:port of the target node itself

    @property
    def name(self) -> str:
        return f"{self.source}->{self.target}"


def binary(bin_dir: Path) -> Path:
    return bin_dir / f"toxiproxy-{VERSION}" / "toxiproxy-server"


class Toxiproxy:
    """Client of one toxiproxy-server's HTTP API (bounded timeouts, no retries loops without limit)."""

    def __init__(self, api_port: int, host: str = "127.0.0.1") -> None:
        self.url = f"http://{host}:{api_port}"
        self.api_port = api_port
        self._http = httpx.Client(base_url=self.url, timeout=10.0)

    def close(self) -> None:
        self._http.close()

    def healthy(self) -> bool:
        try:
            return self._http.get("/version", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False

    def _check(self, resp: httpx.Response, what: str) -> httpx.Response:
        if resp.status_code >= 300:
            raise NetworkError(
                f"toxiproxy {what}: HTTP {resp.status_code} {resp.text.strip()}",
                node=NAME,
                port=self.api_port,
            )
        return resp

    def populate(self, links: Iterable[Link]) -> None:
        """Create (or update) every link's proxy in one call."""
        body = [
            {"name": link.name, "listen": link.listen, "upstream": link.upstream, "enabled": True}
            for link in links
        ]
        self._check(self._http.post("/populate", json=body), "populate")

    def proxies(self) -> dict[str, dict]:
        return self._check(self._http.get("/proxies"), "list proxies").json()

    def set_enabled(self, names: Iterable[str], enabled: bool) -> None:
        for name in names:
            self._check(
                self._http.post(f"/proxies/{name}", json={"enabled": enabled}),
                f"{'enable' if enabled else 'disable'} {name}",
            )

    def add_latency(self, names: Iterable[str], ms: int, jitter_ms: int = 0) -> None:
        """Delay both directions of each link by `ms` (so a round trip over it gains 2*ms)."""
        for name in names:
            for stream in ("upstream", "downstream"):
                body = {
                    "name": f"latency_{stream}",
                    "type": "latency",
                    "stream": stream,
                    "toxicity": 1.0,
                    "attributes": {"latency": ms, "jitter": jitter_ms},
                }
                self._check(self._http.post(f"/proxies/{name}/toxics", json=body), f"latency on {name}")

    def clear_toxics(self, names: Iterable[str]) -> None:
        for name in names:
            for toxic in self._check(self._http.get(f"/proxies/{name}/toxics"), f"toxics of {name}").json():
                self._check(
                    self._http.delete(f"/proxies/{name}/toxics/{toxic['name']}"),
                    f"remove toxic {toxic['name']} from {name}",
                )

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._check(self._http.post("/reset"), "reset")


def start(procs: ProcessTable, bin_dir: Path, host: str, api_port: int, log_path: Path) -> Toxiproxy:
    """Start toxiproxy-server with its API on host:api_port (reused when already running)."""
    client = Toxiproxy(api_port, host)
    if procs.alive(NAME) and client.healthy():
        return client
    procs.stop(NAME)
    exe = binary(bin_dir)
    if not exe.exists():
        raise NetworkError(f"missing binary {exe} — run scripts/install-binaries toxiproxy", node=NAME)
    proc = procs.start(
        NAME,
        [str(exe), "-host", host, "-port", str(api_port)],
        env={},
        log_path=log_path,
        ports={},  # on the bridge address, not 127.0.0.1 (the loopback port check does not apply)
    )
    # readiness is the API answering: a CI run once judged the server gone (by its PID) while it was
    # serving; if it really exits (e.g. its address is taken) this times out and names its log
    wait_until(
        client.healthy,
        timeout=30,
        what="API /version",
        node=NAME,
        port=api_port,
        log_path=log_path,
    )
    log.debug("toxiproxy pid=%s serving on %s:%s", proc.pid, host, api_port)
    return client
