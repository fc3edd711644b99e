"""Bring the whole native network up, report its status, and take it down.

`up` is idempotent: processes already running and healthy are kept, finished bootstrap steps (crypto,
channel, anchors, chaincode definitions) are detected and skipped. If any step fails, every process this
call started is stopped again and the error names the node, the port and its log file.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from network import ca, chaincode, channel, config, connection_profile, gossip_view, kubo, orgset, topology
from network.errors import NetworkError
from network.hosts import bind_data_dir
from network.process import ProcessTable, wait_until
from network.settings import Settings
from network.topology import HOST, Node, Org

log = logging.getLogger(__name__)

# how long `up` waits for every peer's discovery to derive endorsers for the chaincodes it deployed
ENDORSERS_TIMEOUT = 60.0


@dataclass
class UpReport:
    started: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    chaincodes: dict[str, str] = field(default_factory=dict)  # name -> package id / skip reason
    profiles: list[Path] = field(default_factory=list)  # the connection profiles written for gateways
    seconds: float = 0.0


def healthz(url: str | None) -> bool:
    if url is None:
        return False
    try:
        return httpx.get(f"{url}/healthz", timeout=1.5).status_code == 200
    except httpx.HTTPError:
        return False


def node_version(url: str) -> str | None:
    """The version a peer or orderer reports on its operations endpoint (GET /version)."""
    try:
        r = httpx.get(f"{url}/version", timeout=1.5)
        return str(r.json().get("Version")) if r.status_code == 200 else None
    except (httpx.HTTPError, ValueError):
        return None


class Network:
    """The native network described by network.topology, run from the binaries in the cache."""

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.procs = ProcessTable(self.settings.pids_file, netns=self.settings.hosts.netns)

    # ------------------------------------------------------------------ nodes
    def nodes(self) -> list[Node]:
        return topology.nodes(self.settings.ports, self.settings.ordering, self.orgs())

    def orgs(self) -> tuple[Org, ...]:
        """This network's org set (the consortium's and any `org add` admitted: network.orgset)."""
        return orgset.orgs(self.settings)

    def node(self, name: str) -> Node:
        for n in self.nodes():
            if n.name == name:
                return n
        raise KeyError(f"unknown node {name!r}; known: {', '.join(n.name for n in self.nodes())}")

    def operations_url(self, node: Node) -> str | None:
        """The node's operations endpoint as a client on this host reaches it (see network.hosts)."""
        port = node.ports.get("operations")
        return f"http://{self.settings.hosts.dial(node.name)}:{port}" if port else None

    def node_healthy(self, node: Node) -> bool:
        if not self.procs.alive(node.name):
            return False
        if node.kind == "kubo":
            return kubo.healthy(self.settings)
        return healthz(self.operations_url(node))

    def start_node(self, name: str) -> None:
        """Start one node (CA, orderer, peer or kubo) and wait until it is healthy."""
        node = self.node(name)
        if self.procs.alive(name):
            return
        self.procs.stop(name)  # forget a dead record
        s = self.settings
        if node.kind == "ca":
            assert node.org is not None
            ca.start_ca(s, self.procs, node.org)
            return
        if node.kind == "kubo":
            kubo.start(s, self.procs)
            return
        argv, env = self._argv_env(node)
        logf = s.log_file(name)
        proc = self.procs.start(
            name,
            argv,
            env=env,
            log_path=logf,
            ports=node.ports,
            meta={"config": self._config_fingerprint(node)},
        )
        wait_until(
            lambda: healthz(self.operations_url(node)),
            timeout=60,
            what="operations /healthz",
            node=name,
            port=node.main_port,
            log_path=logf,
            proc=proc,
        )

    def _argv_env(self, node: Node) -> tuple[list[str], dict[str, str]]:
        s = self.settings
        if node.kind == "orderer":
            i = int(node.name.removeprefix("orderer"))
            return [str(s.binary("orderer"))], config.orderer_env(s, i)
        if node.kind == "peer":
            assert node.org is not None
            return [str(s.binary("peer")), "node", "start"], config.peer_env(s, node.org)
        raise NetworkError(f"cannot start node kind {node.kind}", node=node.name)

    def _config_fingerprint(self, node: Node) -> str:
        """Hash of a peer's/orderer's argv, environment and config file: what it was started with."""
        argv, env = self._argv_env(node)
        h = hashlib.sha256(json.dumps([argv, sorted(env.items())]).encode())
        cfg = Path(env.get("FABRIC_CFG_PATH", "")) / ("core.yaml" if node.kind == "peer" else "orderer.yaml")
        if cfg.is_file():
            h.update(cfg.read_bytes())
        return h.hexdigest()[:16]

    def _outdated(self, name: str) -> bool:
        """A running peer/orderer started with another configuration (e.g. before an upgrade)."""
        node = self.node(name)
        if node.kind not in ("peer", "orderer"):
            return False
        p = self.procs.get(name)
        return p is not None and p.meta.get("config") != self._config_fingerprint(node)

    def stop_node(self, name: str) -> bool:
        return self.procs.stop(name)

    # ------------------------------------------------------------------ up
    def check_binaries(self) -> None:
        problem = self.settings.release_problem() or self.settings.ordering_problem()
        if problem:
            raise NetworkError(problem, log=None)
        missing = self.settings.missing_binaries()
        if missing:
            raise NetworkError(
                "missing binaries: "
                + ", ".join(str(m) for m in missing)
                + " — run scripts/install-binaries (FABRIC_VERSION="
                + self.settings.fabric_version
                + ")"
            )

    @contextlib.contextmanager
    def lock(self, timeout: float = 600):  # type: ignore[no-untyped-def]
        """Serialise `up`/`down` across processes (several test sessions may share one network)."""
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.settings.data_dir / ".lock", "w") as fh:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise NetworkError("another `network up/down` holds the lock", log=None) from None
                    time.sleep(0.5)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def up(self, *, chaincodes: bool = True, restart_servers: bool = False) -> UpReport:
        """Bring everything up; `restart_servers` restarts chaincode servers whose source changed."""
        self.check_binaries()
        with self.lock():
            return self._locked_up(chaincodes=chaincodes, restart_servers=restart_servers)

    def _locked_up(self, *, chaincodes: bool, restart_servers: bool) -> UpReport:
        t0 = time.monotonic()
        report = UpReport()
        before = {n for n in self.procs.load() if self.procs.alive(n)}
        try:
            self._up(report, chaincodes=chaincodes, restart_servers=restart_servers)
        except BaseException:
            started_now = [n for n in self.procs.load() if n not in before]
            log.error("up failed; stopping the %d processes it started", len(started_now))
            self.procs.stop_all(list(reversed(started_now)))
            raise
        report.seconds = time.monotonic() - t0
        return report

    def _start_many(self, names: list[str], report: UpReport) -> None:
        todo = []
        for n in names:
            if self.procs.alive(n) and self._outdated(n):
                log.info("restarting %s: its configuration changed since it started", n)
                self.procs.stop(n)
            if self.procs.alive(n):
                report.reused.append(n)
            else:
                todo.append(n)
        if not todo:
            return
        with ThreadPoolExecutor(max_workers=len(todo)) as pool:
            futures = {n: pool.submit(self.start_node, n) for n in todo}
            errors = []
            for n, fut in futures.items():
                try:
                    fut.result()
                    report.started.append(n)
                except Exception as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]

    def _up(self, report: UpReport, *, chaincodes: bool, restart_servers: bool) -> None:
        s = self.settings
        bind_data_dir(s.data_dir, s.hosts)
        for d in (s.data_dir, s.logs_dir, s.nodes_dir, s.crypto_dir):
            d.mkdir(parents=True, exist_ok=True)
        self._claim_fabric_version()
        self._claim_ordering()
        nodes = self.nodes()
        self._start_many([n.name for n in nodes if n.kind == "ca"], report)
        orgs = self.orgs()
        orgset.write(s)
        with ThreadPoolExecutor(max_workers=len(orgs)) as pool:
            list(pool.map(lambda o: ca.Enroller(s, o).enroll_all(), orgs))
        config.write_configs(s)
        kubo.init(s)
        self._start_many([n.name for n in nodes if n.kind in ("orderer", "peer", "kubo")], report)
        block = channel.genesis_block(s)
        channel.join_orderers(s, block)
        peer_orgs = topology.peer_orgs(orgs)
        with ThreadPoolExecutor(max_workers=len(peer_orgs)) as pool:
            list(pool.map(lambda o: channel.join_peer(s, o, block), peer_orgs))
        with ThreadPoolExecutor(max_workers=len(peer_orgs)) as pool:
            list(pool.map(lambda o: channel.set_anchor_peer(s, o), peer_orgs))
        report.profiles = connection_profile.write_profiles(s)
        if chaincodes:
            self.deploy_chaincodes(report, restart_servers=restart_servers)

    def _claim_fabric_version(self) -> None:
        """Record the Fabric release that made this network's ledgers; refuse to run another one on them."""
        s = self.settings
        path = s.data_dir / "fabric-version"
        made_by = path.read_text().strip() if path.exists() else None
        if made_by is None:  # a new network (or one made before the version was recorded)
            path.write_text(s.fabric_version + "\n")
            return
        if made_by != s.fabric_version:
            raise NetworkError(
                f"the network in {s.data_dir} was created by {made_by}, not Fabric "
                f"{s.fabric_version}: set FABRIC_VERSION={made_by} or start afresh with "
                f"`python -m network clean --yes`",
                log=None,
            )

    def _claim_ordering(self) -> None:
        """Record the ordering profile the channel was made with; refuse to run the other one on it."""
        s = self.settings
        path = s.data_dir / "ordering"
        made_with = path.read_text().strip() if path.exists() else topology.RAFT
        if not path.exists() and not (s.data_dir / "channel").exists():
            made_with = s.ordering
        if made_with != s.ordering:
            raise NetworkError(
                f"the network in {s.data_dir} orders with {made_with}, not {s.ordering}: set "
                f"MLEDGER_ORDERING={made_with} or use another MLEDGER_NETWORK_DIR",
                log=None,
            )
        path.write_text(s.ordering + "\n")

    def deploy_chaincodes(self, report: UpReport | None = None, *, restart_servers: bool = False) -> None:
        """Commit every declared chaincode whose contract exists and run its server."""
        report = report or UpReport()
        s = self.settings
        ready: list[chaincode.Deployment] = []
        for spec in chaincode.load_specs(default_policy=orgset.endorsement_policy(s)):
            missing = spec.missing_modules()
            if missing:
                msg = f"skipped: contract module {', '.join(missing)} does not exist yet"
                log.warning("chaincode %s %s", spec.name, msg)
                report.chaincodes[spec.name] = msg
                continue
            ready.append(chaincode.prepare(s, spec))
        if ready:
            with ThreadPoolExecutor(max_workers=len(ready)) as pool:
                list(pool.map(lambda d: chaincode.deploy(s, d), ready))
        for dep in ready:
            spec = dep.spec
            if not chaincode.server_available():
                msg = f"committed; server not started: {chaincode.SERVER_MODULE} does not exist yet"
                log.warning("chaincode %s %s", spec.name, msg)
                report.chaincodes[spec.name] = msg
                continue
            name = spec.server_name()
            stale = restart_servers and self._server_source(name) != chaincode.source_fingerprint()
            if stale or not self.procs.alive(name) or self._server_package(name) != dep.package_id:
                chaincode.start_server(s, self.procs, dep)
                report.started.append(name)
            else:
                report.reused.append(name)
            report.chaincodes[spec.name] = dep.package_id
        running = [dep.spec.name for dep in ready if report.chaincodes.get(dep.spec.name) == dep.package_id]
        if running:
            # committed is not yet usable: a client's first submit needs its peer's gossip to know enough
            # peers that have the chaincode (tests/integration/bft met this on a loaded CI machine)
            # the peers clients submit through: the endorsing orgs' (the regulator's peer only reads)
            peers = [
                o for o in topology.peer_orgs(self.orgs()) if o.endorsing and not orgset.is_suspended(s, o)
            ]
            try:
                waited = gossip_view.wait_for_endorsers(s, peers, running, timeout=ENDORSERS_TIMEOUT)
                log.info("every peer derives endorsers for %s after %.1f s", ", ".join(running), waited)
            except NetworkError as exc:  # not fatal: seen on a 3.1.1 BFT network whose Gateway submits work
                log.warning("network up: %s", exc)

    def _server_source(self, name: str) -> str | None:
        p = self.procs.get(name)
        return p.meta.get("source") if p else None

    def _server_package(self, name: str) -> str | None:
        p = self.procs.get(name)
        return p.meta.get("package_id") if p else None

    # ------------------------------------------------------------------ down / status
    def down(self) -> list[str]:
        with self.lock():
            return self.procs.stop_all()

    def status(self) -> dict[str, Any]:
        s = self.settings
        nodes = []
        for n in self.nodes():
            p = self.procs.get(n.name)
            nodes.append(
                {
                    "name": n.name,
                    "kind": n.kind,
                    "org": n.org.msp_id if n.org else None,
                    "pid": p.pid if p and self.procs.alive(n.name) else None,
                    "healthy": self.node_healthy(n),
                    "ports": n.ports,
                    "log": str(s.log_file(n.name)),
                }
            )
        for spec in chaincode.load_specs():
            name = spec.server_name()
            p = self.procs.get(name)
            nodes.append(
                {
                    "name": name,
                    "kind": "chaincode",
                    "org": None,
                    "pid": p.pid if p and self.procs.alive(name) else None,
                    "healthy": self.procs.alive(name),
                    "ports": {"listen": s.ports.chaincode(spec.slot)},
                    "log": str(s.log_file(name)),
                }
            )
        heights: dict[str, int | None] = {}
        for org in topology.peer_orgs(self.orgs()):
            heights[topology.peer_name(org)] = _safe(functools.partial(channel.height, s, org))
        definitions = _safe(lambda: chaincode.query_all_committed(s, _healthy_peer_org(self)))
        return {
            "channel": topology.CHANNEL,
            "fabric": self.fabric_running(),
            "ordering": s.ordering,
            "nodes": nodes,
            "heights": heights,
            "chaincodes": definitions or [],
        }

    def fabric_running(self) -> dict[str, Any]:
        """The Fabric release configured and the version each running peer/orderer reports (/version)."""
        s = self.settings
        running: dict[str, str | None] = {}
        for n in self.nodes():
            url = self.operations_url(n) if n.kind in ("peer", "orderer") else None
            if url and self.procs.alive(n.name):
                running[n.name] = node_version(url)
        return {
            "version": s.fabric_version,
            "module": s.fabric_stamp,
            "release": s.release_problem() is None,
            "running": running,
        }


def _healthy_peer_org(net: Network) -> Org:
    peer_orgs = topology.peer_orgs(net.orgs())
    for org in peer_orgs:
        if net.procs.alive(topology.peer_name(org)):
            return org
    return peer_orgs[0]


def _safe(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception as exc:  # status must report, not fail
        log.debug("status probe failed: %s", exc)
        return None


__all__ = ["HOST", "Network", "UpReport"]
