"""Channel `vehicles` through the channel participation API, and anchor peers by config update."""

from __future__ import annotations

import copy
import json
import logging
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from network import topology
from network.config import PROFILE, admin_cli_env, orderer_admin_client, orderer_tls_ca
from network.errors import CommandError, NetworkError
from network.process import run
from network.settings import Settings
from network.topology import CHANNEL, Org

log = logging.getLogger(__name__)


def genesis_block(settings: Settings) -> Path:
    block = settings.data_dir / "channel" / f"{CHANNEL}.block"
    if block.exists():
        return block
    block.parent.mkdir(parents=True, exist_ok=True)
    run(
        [
            str(settings.binary("configtxgen")),
            "-profile",
            PROFILE,
            "-outputBlock",
            str(block),
            "-channelID",
            CHANNEL,
            "-configPath",
            str(settings.config_dir / "configtx"),
        ],
        env={"FABRIC_CFG_PATH": str(settings.config_dir / "configtx")},
        what="configtxgen genesis block",
    )
    return block


def _osnadmin(settings: Settings, i: int, *args: str) -> str:
    cert, key = orderer_admin_client(settings, i)
    admin = f"{settings.hosts.dial(topology.orderer_name(i))}:{settings.ports.orderer_admin(i)}"
    return run(
        [
            str(settings.binary("osnadmin")),
            "channel",
            *args,
            "-o",
            admin,
            "--ca-file",
            str(orderer_tls_ca(settings, i)),
            "--client-cert",
            str(cert),
            "--client-key",
            str(key),
        ],
        what=f"osnadmin channel {args[0]} on {topology.orderer_name(i)}",
    )


def orderer_joined(settings: Settings, i: int) -> bool:
    out = _osnadmin(settings, i, "list")
    return f'"name": "{CHANNEL}"' in out or f'"name":"{CHANNEL}"' in out


def join_orderers(settings: Settings, block: Path) -> None:
    for i in range(len(topology.orderers(settings.ordering))):
        if orderer_joined(settings, i):
            continue
        _osnadmin(settings, i, "join", "--channelID", CHANNEL, "--config-block", str(block))
        log.info("orderer%s joined %s", i, CHANNEL)


def peer_joined(settings: Settings, org: Org) -> bool:
    out = run(
        [str(settings.binary("peer")), "channel", "list"],
        env=admin_cli_env(settings, org),
        what=f"peer channel list on {topology.peer_name(org)}",
    )
    return any(line.strip() == CHANNEL for line in out.splitlines())


def join_peer(settings: Settings, org: Org, block: Path) -> None:
    if peer_joined(settings, org):
        return
    deadline = time.monotonic() + 60
    while True:
        try:
            run(
                [str(settings.binary("peer")), "channel", "join", "-b", str(block)],
                env=admin_cli_env(settings, org),
                what=f"peer channel join on {topology.peer_name(org)}",
            )
            return
        except CommandError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def height(settings: Settings, org: Org) -> int:
    out = run(
        [str(settings.binary("peer")), "channel", "getinfo", "-c", CHANNEL],
        env=admin_cli_env(settings, org),
        what=f"peer channel getinfo on {topology.peer_name(org)}",
        timeout=20,
    )
    return int(json.loads(out[out.index("{") :])["height"])


def _lator(settings: Settings, *args: str, input_bytes: bytes | None = None) -> str:
    return run(
        [str(settings.binary("configtxlator")), *args],
        what=f"configtxlator {args[0]}",
        input_bytes=input_bytes,
    )


def orderer_args(settings: Settings, i: int = 0) -> list[str]:
    """`peer` CLI flags to reach orderer i over TLS (its org's TLS CA)."""
    host = settings.hosts.dial(topology.orderer_name(i))
    return [
        "-o",
        f"{host}:{settings.ports.orderer(i)}",
        "--tls",
        "--cafile",
        str(orderer_tls_ca(settings, i)),
    ]


def fetch_config(settings: Settings, org: Org, workdir: Path, timeout: float = 60) -> dict[str, Any]:
    """The channel's current configuration (JSON as configtxlator decodes it), fetched as `org`'s admin.

    Retries for `timeout` seconds: right after the channel is created the orderer may not serve it yet.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            run(
                [
                    str(settings.binary("peer")),
                    "channel",
                    "fetch",
                    "config",
                    str(workdir / "config_block.pb"),
                    "-c",
                    CHANNEL,
                    *orderer_args(settings),
                ],
                env=admin_cli_env(settings, org),
                what=f"fetch config as {org.msp_id}",
            )
            break
        except CommandError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    block = json.loads(
        _lator(
            settings, "proto_decode", "--type", "common.Block", "--input", str(workdir / "config_block.pb")
        )
    )
    return dict(block["data"]["data"][0]["payload"]["data"]["config"])


def config_update_envelope(
    settings: Settings, original: dict[str, Any], modified: dict[str, Any], workdir: Path
) -> Path:
    """The config update taking `original` to `modified`, as an unsigned envelope file (common.Envelope)
    ready for `peer channel signconfigtx` / `peer channel update`."""
    t = workdir
    for n, doc in (("original", original), ("modified", modified)):
        (t / f"{n}.json").write_text(json.dumps(doc))
        _lator(
            settings,
            "proto_encode",
            "--type",
            "common.Config",
            "--input",
            str(t / f"{n}.json"),
            "--output",
            str(t / f"{n}.pb"),
        )
    _lator(
        settings,
        "compute_update",
        "--channel_id",
        CHANNEL,
        "--original",
        str(t / "original.pb"),
        "--updated",
        str(t / "modified.pb"),
        "--output",
        str(t / "update.pb"),
    )
    update = json.loads(
        _lator(settings, "proto_decode", "--type", "common.ConfigUpdate", "--input", str(t / "update.pb"))
    )
    envelope = {
        "payload": {
            "header": {"channel_header": {"channel_id": CHANNEL, "type": 2}},
            "data": {"config_update": update},
        }
    }
    (t / "envelope.json").write_text(json.dumps(envelope))
    _lator(
        settings,
        "proto_encode",
        "--type",
        "common.Envelope",
        "--input",
        str(t / "envelope.json"),
        "--output",
        str(t / "envelope.pb"),
    )
    return t / "envelope.pb"


# A config update answered SERVICE_UNAVAILABLE meets an ordering service busy with another org's update
# against the same config (SmartBFT: "pending config does not match calculated expected config"; Raft: no
# leader yet): fetch the config again and recompute the update, as any Fabric client retries that status.
CONFIG_UPDATE_ATTEMPTS = 8


def submit_config_update(
    settings: Settings,
    mutate: Callable[[dict[str, Any]], None],
    signers: list[Org],
    what: str,
    fetch_timeout: float = 60,
) -> bool:
    """Apply `mutate` to the channel's current config as one config update signed by each of `signers`'
    admins (the first submits it). False when `mutate` changes nothing. A busy ordering service is
    retried from a freshly fetched config; any other refusal raises the CommandError with the orderer's
    answer."""
    for attempt in range(1, CONFIG_UPDATE_ATTEMPTS + 1):
        try:
            return _submit_config_update_once(settings, mutate, signers, what, fetch_timeout)
        except CommandError as exc:
            if "SERVICE_UNAVAILABLE" not in str(exc) or attempt == CONFIG_UPDATE_ATTEMPTS:
                raise
            log.info(
                "%s: ordering service busy (attempt %d), retrying from the current config", what, attempt
            )
            time.sleep(0.5 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


def _submit_config_update_once(
    settings: Settings,
    mutate: Callable[[dict[str, Any]], None],
    signers: list[Org],
    what: str,
    fetch_timeout: float,
) -> bool:
    peer = str(settings.binary("peer"))
    with tempfile.TemporaryDirectory(prefix="cfgupdate-") as tmp:
        t = Path(tmp)
        config = fetch_config(settings, signers[0], t, timeout=fetch_timeout)
        modified = copy.deepcopy(config)
        mutate(modified)
        if modified == config:
            return False
        envelope = config_update_envelope(settings, config, modified, t)
        for org in signers[1:]:
            run(
                [peer, "channel", "signconfigtx", "-f", str(envelope)],
                env=admin_cli_env(settings, org),
                what=f"sign {what} as {org.msp_id}",
            )
        run(
            [peer, "channel", "update", "-f", str(envelope), "-c", CHANNEL, *orderer_args(settings)],
            env=admin_cli_env(settings, signers[0]),
            what=what,
        )
    return True


def set_anchor_peer(settings: Settings, org: Org) -> bool:
    """Add the org's peer as its anchor peer by a channel config update signed by the org's admin."""
    anchors = [{"host": settings.hosts.advertise(topology.peer_name(org)), "port": settings.ports.peer(org)}]

    def set_anchors(config: dict[str, Any]) -> None:
        values = config["channel_group"]["groups"]["Application"]["groups"][org.msp_id]["values"]
        if values.get("AnchorPeers", {}).get("value", {}).get("anchor_peers") != anchors:
            anchor_peers = {"anchor_peers": anchors}
            values["AnchorPeers"] = {"mod_policy": "Admins", "value": anchor_peers, "version": "0"}

    changed = submit_config_update(settings, set_anchors, [org], f"anchor peer update for {org.msp_id}")
    if changed:
        log.info("anchor peer set for %s", org.msp_id)
    return changed


def wait_for_height(settings: Settings, org: Org, minimum: int, timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    h = 0
    while time.monotonic() < deadline:
        try:
            h = height(settings, org)
        except CommandError:
            h = 0
        if h >= minimum:
            return h
        time.sleep(0.3)
    raise NetworkError(
        f"{topology.peer_name(org)} stayed at height {h} < {minimum}",
        node=topology.peer_name(org),
        port=settings.ports.peer(org),
        log=settings.log_file(topology.peer_name(org)),
    )
