"""Write a network profile for the Fabric adapter from the running native network.

    python -m app.ledger.profile [--out .data/network/profile.yaml]

The profile names every org's gateway peer (endpoint + TLS CA), the channel, the chaincode, a
service identity for qscc lookups, and the standard users the network enrolled (their MSP folders),
so ``MLEDGER_BACKEND=fabric MLEDGER_NETWORK_PROFILE=<file> mledger serve`` works out of the box.
Users enrolled later by the gateway's user admin are found in its wallet.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml


def profile_from_network(info: Any, chaincode: str = "mortgage") -> dict[str, Any]:
    """The profile as a mapping, from a ``network.fixture.FabricNetworkInfo``."""
    organizations: dict[str, dict[str, str]] = {}
    users: dict[str, dict[str, str]] = {}
    for msp_id, org in info.orgs.items():
        organizations[msp_id] = (
            {"peer_endpoint": org.peer_endpoint, "tls_ca": str(Path(org.peer_tls_ca).resolve())}
            if org.peer_endpoint
            else {}
        )
        users[msp_id] = {
            user: str(Path(info.identity(msp_id, user).cert_path).resolve().parent.parent)
            for user in org.users
        }
    return {
        "channel": info.channel,
        "chaincode": chaincode,
        "gateway_org": "TrafficAuthorityMSP",
        "service_identity": {"msp_id": "TrafficAuthorityMSP", "user": "auditor1"},
        "organizations": organizations,
        "users": users,
    }


def main() -> None:
    from network.fixture import FabricNetworkInfo
    from network.manager import Network

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(".data/network/profile.yaml"))
    parser.add_argument("--chaincode", default="mortgage")
    opts = parser.parse_args()
    profile = profile_from_network(FabricNetworkInfo(network=Network()), opts.chaincode)
    opts.out.parent.mkdir(parents=True, exist_ok=True)
    opts.out.write_text(yaml.safe_dump(profile, sort_keys=False))
    print(f"network profile written to {opts.out}")


if __name__ == "__main__":
    main()
