"""A private kubo (IPFS) node: own swarm key, no bootstrap peers, no DHT/public routing, no MDNS.

RPC API and gateway listen on 127.0.0.1 only (on a multi-host layout: its host's own address, see
network.hosts); the repo lives under <data>/nodes/kubo.
"""

from __future__ import annotations

import json
import logging
import secrets
from pathlib import Path

import httpx

from network.process import ProcessTable, run, wait_until
from network.settings import Settings

log = logging.getLogger(__name__)

NAME = "kubo"


def repo(settings: Settings) -> Path:
    return settings.nodes_dir / NAME


def _env(settings: Settings) -> dict[str, str]:
    return {"IPFS_PATH": str(repo(settings)), "LIBP2P_FORCE_PNET": "1", "IPFS_TELEMETRY": "off"}


def init(settings: Settings) -> None:
    """Create the repo once, then (every time) enforce the private-network configuration."""
    path = repo(settings)
    if not (path / "config").exists():
        path.mkdir(parents=True, exist_ok=True)
        run(
            [str(settings.kubo_bin), "init", "--empty-repo", "--profile", "server"],
            env=_env(settings),
            what="ipfs init",
        )
    key = path / "swarm.key"
    if not key.exists():
        key.write_text(f"/key/swarm/psk/1.0.0/\n/base16/\n{secrets.token_hex(32)}\n")
        key.chmod(0o600)
    cfg_path = path / "config"
    cfg = json.loads(cfg_path.read_text())
    ports = settings.ports
    bind = settings.hosts.bind(NAME)
    cfg["Addresses"]["API"] = f"/ip4/{bind}/tcp/{ports.kubo_api()}"
    cfg["Addresses"]["Gateway"] = f"/ip4/{bind}/tcp/{ports.kubo_gateway()}"
    cfg["Addresses"]["Swarm"] = [f"/ip4/{bind}/tcp/{ports.kubo_swarm()}"]
    cfg["Addresses"]["Announce"] = []
    cfg["Addresses"]["AppendAnnounce"] = []
    cfg["Addresses"]["NoAnnounce"] = []
    cfg["Bootstrap"] = []
    cfg.setdefault("Discovery", {}).setdefault("MDNS", {})["Enabled"] = False
    cfg.setdefault("Routing", {})["Type"] = "none"
    cfg.setdefault("AutoConf", {})["Enabled"] = False
    cfg.setdefault("DNS", {})["Resolvers"] = {}
    cfg.setdefault("Ipns", {})["DelegatedPublishers"] = []
    cfg.setdefault("Routing", {})["DelegatedRouters"] = []
    transports = cfg.setdefault("Swarm", {}).setdefault("Transports", {}).setdefault("Network", {})
    for t in ("QUIC", "WebTransport", "WebRTCDirect", "Websocket"):
        transports[t] = False
    cfg["Swarm"]["RelayClient"] = {"Enabled": False}
    cfg["Swarm"]["RelayService"] = {"Enabled": False}
    cfg["Swarm"]["DisableNatPortMap"] = True
    cfg.setdefault("Provide", {})["Enabled"] = False
    cfg_path.write_text(json.dumps(cfg, indent=2))


def rpc_url(settings: Settings) -> str:
    return f"http://{settings.hosts.dial(NAME)}:{settings.ports.kubo_api()}"


def healthy(settings: Settings) -> bool:
    try:
        return httpx.post(f"{rpc_url(settings)}/api/v0/id", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False


def start(settings: Settings, procs: ProcessTable) -> None:
    ports = settings.ports
    logf = settings.log_file(NAME)
    proc = procs.start(
        NAME,
        [str(settings.kubo_bin), "daemon", "--migrate=false"],
        env=_env(settings),
        log_path=logf,
        ports={"api": ports.kubo_api(), "gateway": ports.kubo_gateway(), "swarm": ports.kubo_swarm()},
    )
    wait_until(
        lambda: healthy(settings),
        timeout=60,
        what="RPC /api/v0/id",
        node=NAME,
        port=ports.kubo_api(),
        log_path=logf,
        proc=proc,
    )
