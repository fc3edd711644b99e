"""Send transactions with Fabric's own `peer chaincode invoke/query` CLI, choosing the endorsing peers.

Used by the network's integration tests and benchmarks before (and independently of) our Python
Gateway client: it is Fabric's reference client, so it checks the network, not our own code.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from network import topology
from network.config import orderer_tls_ca
from network.errors import CommandError
from network.fixture import FabricNetworkInfo
from network.process import run

_STATUS = re.compile(r"invalidated with status \(([A-Z_]+)\)")


@dataclass(frozen=True)
class InvokeResult:
    ok: bool
    status: str  # VALID, ENDORSEMENT_POLICY_FAILURE, MVCC_READ_CONFLICT, ... or ERROR
    output: str


def _env(info: FabricNetworkInfo, org: str, user: str, msp_dir: Path | None = None) -> dict[str, str]:
    s = info.network.settings
    o = topology.org(org, info.network.orgs())
    env = {
        "FABRIC_CFG_PATH": str(s.config_dir / "peer"),
        "CORE_PEER_LOCALMSPID": o.msp_id,
        "CORE_PEER_MSPCONFIGPATH": str(msp_dir or info.identity(org, user).cert_path.parent.parent),
        "CORE_PEER_TLS_ENABLED": "true",
        "FABRIC_LOGGING_SPEC": "WARNING",
    }
    first = info.peers[0] if not o.peer else info.org(org)
    env["CORE_PEER_ADDRESS"] = str(first.peer_endpoint)
    env["CORE_PEER_TLS_ROOTCERT_FILE"] = str(first.peer_tls_ca)
    return env


def invoke(
    info: FabricNetworkInfo,
    chaincode: str,
    args: Sequence[str],
    *,
    org: str,
    user: str,
    endorsers: Sequence[str],
    orderer: int = 0,
    timeout: float = 60,
    msp_dir: Path | None = None,
    transient: dict[str, str] | None = None,
) -> InvokeResult:
    """Endorse on the peers of `endorsers` (org names), order, and wait for the commit status.

    `msp_dir` signs as an identity outside the standard users (e.g. one enrolled by a test); `transient`
    is the proposal's transient map (text values; private data never lands in the transaction)."""
    s = info.network.settings
    peers: list[str] = []
    for e in endorsers:
        oi = info.org(e)
        peers += ["--peerAddresses", str(oi.peer_endpoint), "--tlsRootCertFiles", str(oi.peer_tls_ca)]
    argv = [
        str(s.binary("peer")),
        "chaincode",
        "invoke",
        "-o",
        info.orderer_endpoints[orderer],
        "--tls",
        "--cafile",
        str(orderer_tls_ca(s, orderer)),  # the TLS CA of the org running that orderer
        "-C",
        info.channel,
        "-n",
        chaincode,
        "-c",
        json.dumps({"Args": list(args)}),
        *peers,
        *(["--transient", json.dumps(_b64(transient))] if transient else []),
        "--waitForEvent",
        "--waitForEventTimeout",
        "45s",
    ]
    try:
        out = run(argv, env=_env(info, org, user, msp_dir), what=f"invoke {chaincode}", timeout=timeout)
    except CommandError as exc:
        m = _STATUS.search(str(exc))
        return InvokeResult(False, m.group(1) if m else "ERROR", str(exc))
    return InvokeResult(True, "VALID", out)


def _b64(values: dict[str, str]) -> dict[str, str]:
    return {k: base64.b64encode(v.encode()).decode() for k, v in values.items()}


def query(info: FabricNetworkInfo, chaincode: str, args: Sequence[str], *, org: str, user: str) -> str:
    s = info.network.settings
    argv = [
        str(s.binary("peer")),
        "chaincode",
        "query",
        "-C",
        info.channel,
        "-n",
        chaincode,
        "-c",
        json.dumps({"Args": list(args)}),
    ]
    return run(argv, env=_env(info, org, user), what=f"query {chaincode}", timeout=60).strip()
