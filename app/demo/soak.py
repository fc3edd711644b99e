"""A soak under faults, shared by scripts/bench/soak.py and the short real-network test: two gateway
processes (Traffic Authority, Bank A) on the real network, the load of app.demo.soak_load, the faults the
caller schedules (a gateway's kill -9 and restart is built here; network faults come from
network.faults), then every acknowledged write checked on the ledger (app.demo.soak_report).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from app.demo.gateway_process import GatewayProcess
from app.demo.soak_load import AUDITOR, BANK, LOAN, MODELS, OFFICER, TA, Fault, Record, SoakClient, run_load
from app.demo.soak_report import Figures, Verdict, figures, summary, timeline, verify
from ipfs.orgkeys import OrgKeys

REGULATOR = "RegulatorMSP"
USERS = {TA: (OFFICER, AUDITOR), BANK: (LOAN, MODELS)}


@dataclass(frozen=True)
class SoakNetwork:
    """What the gateways need from the network: each org's connection profile, kubo's RPC URL and the
    standard users' enrolled identities {msp: {user: (cert PEM, key PEM)}}."""

    profiles: dict[str, Path]
    ipfs_url: str
    identities: dict[str, dict[str, tuple[bytes, bytes]]]


@dataclass
class SoakResult:
    record: Record
    verdict: Verdict
    figures: Figures
    lines: list[str]

    @property
    def passed(self) -> bool:
        return self.verdict.ok and not self.figures.fivexx_outside and not self.record.unresolved


def start_gateways(net: SoakNetwork, root: Path) -> dict[str, GatewayProcess]:
    """The two gateways, each with its own data dir, sharing a wallet and the orgs' document keys."""
    gateways: dict[str, GatewayProcess] = {}
    # a consent is wrapped for the regulator too: its public key, as the regulator's gateway publishes it
    OrgKeys.load_or_create(root / "regulator-keys", [REGULATOR], root / "document-public-keys")
    try:
        for msp in USERS:
            gw = GatewayProcess(
                msp,
                root / msp,
                net.profiles[msp],
                net.ipfs_url,
                root / "wallet",
                root / "document-public-keys",
            )
            gw.adopt_users({u: net.identities[msp][u] for u in USERS[msp]})
            gateways[msp] = gw
            gw.spawn()
        for gw in gateways.values():  # both start at once: their start-ups overlap
            gw.wait_ready()
    except BaseException:
        stop_gateways(gateways)
        raise
    return gateways


def stop_gateways(gateways: dict[str, GatewayProcess]) -> None:
    for gw in gateways.values():
        gw.stop()


def gateway_crash(gw: GatewayProcess, at: float, down_for: float = 2.0) -> Fault:
    """kill -9 the gateway at ``at`` s, restart it ``down_for`` s later on the same data dir."""

    def crash() -> None:
        gw.kill9()
        time.sleep(down_for)
        gw.start()

    return Fault(at, f"kill -9 gateway {gw.msp_id}", crash, gateway=gw.msp_id)


async def run_soak(
    gateways: dict[str, GatewayProcess],
    *,
    seconds: float,
    concurrency: int,
    faults: list[Fault],
    op_timeout: float = 300.0,
    bucket: float = 30.0,
) -> SoakResult:
    """Run the load with the faults, verify, and return the record, the verdict and the printable lines."""
    urls = {msp: gw.url for msp, gw in gateways.items()}
    passwords = {msp: gw.passwords for msp, gw in gateways.items()}
    client = SoakClient(Record(), urls, passwords, op_timeout)
    try:
        record = await run_load(client, seconds=seconds, concurrency=concurrency, faults=faults)
        client.record = Record()  # the checks' own calls stay out of the run's figures
        verdict = await verify(client, record)
    finally:
        await client.aclose()
    f = figures(record)
    return SoakResult(record, verdict, f, [*timeline(record, bucket), "", *summary(record, verdict, f)])
