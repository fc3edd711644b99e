"""Where the network lives and which binaries it runs: every path and version in one place.

Environment overrides: MLEDGER_NETWORK_DIR (data, crypto, ledgers, logs; default .data/network),
MLEDGER_BIN_DIR (binary cache; default .cache/bin), MLEDGER_NETWORK_BASE_PORT (default 27000),
FABRIC_VERSION (a Fabric release: 2.5.9 LTS by default, or 3.1.1), FABRIC_CA_VERSION (1.5.21),
KUBO_VERSION (0.42.0),
MLEDGER_BATCH_TIMEOUT (orderer BatchTimeout, default 250ms), MLEDGER_ORDERING (`raft`, the default, or
`bft`: SmartBFT with one orderer per endorsing org, Fabric 3 only), MLEDGER_NETWORK_HOSTS (a host plan, see
network/hosts.py; unset: every node on 127.0.0.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from network.hosts import HostPlan
from network.topology import DEFAULT_BASE_PORT, ORDERINGS, RAFT, Ports

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_FABRIC_VERSION = "2.5.9"
# Fabric releases scripts/install-binaries builds, with the module pseudo-version of each release tag.
FABRIC_RELEASES = {
    "2.5.9": "v1.4.0-rc1.0.20240618194258-7c3876255bf0",
    "3.1.1": "v1.4.0-rc1.0.20250510200036-435a7f1a780a",
}
FABRIC_BINARIES = ("peer", "orderer", "configtxgen", "configtxlator", "osnadmin")


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    bin_dir: Path
    base_port: int
    fabric_version: str
    fabric_ca_version: str
    kubo_version: str
    batch_timeout: str
    hosts: HostPlan = field(default_factory=HostPlan)
    ordering: str = RAFT  # raft | bft (see network.topology.orderers)

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        bin_dir = Path(env.get("MLEDGER_BIN_DIR", REPO_ROOT / ".cache" / "bin")).resolve()
        return cls(
            data_dir=Path(env.get("MLEDGER_NETWORK_DIR", REPO_ROOT / ".data" / "network")).resolve(),
            bin_dir=bin_dir,
            base_port=int(env.get("MLEDGER_NETWORK_BASE_PORT", DEFAULT_BASE_PORT)),
            fabric_version=env.get("FABRIC_VERSION") or DEFAULT_FABRIC_VERSION,
            fabric_ca_version=env.get("FABRIC_CA_VERSION", "1.5.21"),
            kubo_version=env.get("KUBO_VERSION", "0.42.0"),
            batch_timeout=env.get("MLEDGER_BATCH_TIMEOUT", "250ms"),
            hosts=HostPlan.from_env(),
            ordering=(env.get("MLEDGER_ORDERING") or RAFT).lower(),
        )

    @property
    def fabric_stamp(self) -> str | None:
        """The module version scripts/install-binaries built these binaries from (its .stamp)."""
        stamp = self.fabric_bin / ".stamp"
        return stamp.read_text().strip() if stamp.exists() else None

    @property
    def fabric_module_version(self) -> str | None:
        """The module pseudo-version of the release tag FABRIC_VERSION names (None: not a release we run)."""
        return FABRIC_RELEASES.get(self.fabric_version)

    def release_problem(self) -> str | None:
        """Why the binaries are not the Fabric release FABRIC_VERSION names, or None when they are.

        Only tagged releases run: an untagged build under a release's name would make `status` and the
        docs name a version that is not running.
        """
        want = self.fabric_module_version
        if want is None:
            return (
                f"FABRIC_VERSION={self.fabric_version} is not a supported Fabric release "
                f"(one of {', '.join(FABRIC_RELEASES)})"
            )
        if not (self.fabric_bin / "peer").exists():
            return None  # missing binaries are reported by missing_binaries()
        stamp = self.fabric_stamp
        if stamp != want:
            return (
                f"{self.fabric_bin} was built from {stamp or 'an unknown module version (no .stamp)'}, "
                f"not Fabric {self.fabric_version} ({want}); rebuild it with "
                f"FABRIC_VERSION={self.fabric_version} scripts/install-binaries fabric"
            )
        return None

    def ordering_problem(self) -> str | None:
        """Why MLEDGER_ORDERING cannot run on FABRIC_VERSION, or None."""
        if self.ordering not in ORDERINGS:
            return (
                f"MLEDGER_ORDERING={self.ordering} is not an ordering profile (one of {', '.join(ORDERINGS)})"
            )
        if self.ordering != RAFT and int(self.fabric_version.split(".")[0]) < 3:
            return (
                f"MLEDGER_ORDERING={self.ordering} needs Fabric 3 (SmartBFT ordering, channel capability "
                f"V3_0); FABRIC_VERSION={self.fabric_version}: set FABRIC_VERSION=3.1.1"
            )
        return None

    @property
    def ports(self) -> Ports:
        return Ports(self.base_port)

    @property
    def fabric_bin(self) -> Path:
        return self.bin_dir / f"fabric-{self.fabric_version}"

    @property
    def fabric_sampleconfig(self) -> Path:
        return self.fabric_bin / "config"

    @property
    def ca_bin(self) -> Path:
        return self.bin_dir / f"fabric-ca-{self.fabric_ca_version}"

    @property
    def kubo_bin(self) -> Path:
        return self.bin_dir / f"kubo-{self.kubo_version}" / "ipfs"

    def binary(self, name: str) -> Path:
        if name.startswith("fabric-ca"):
            return self.ca_bin / name
        if name == "ipfs":
            return self.kubo_bin
        return self.fabric_bin / name

    # layout under data_dir
    @property
    def crypto_dir(self) -> Path:
        return self.data_dir / "crypto"

    @property
    def nodes_dir(self) -> Path:
        return self.data_dir / "nodes"

    @property
    def logs_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def config_dir(self) -> Path:
        return self.data_dir / "config"

    @property
    def pids_file(self) -> Path:
        return self.data_dir / "pids.json"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "state.json"

    def log_file(self, node: str) -> Path:
        return self.logs_dir / f"{node}.log"

    def missing_binaries(self) -> list[Path]:
        wanted = [self.binary(b) for b in FABRIC_BINARIES]
        wanted += [self.binary("fabric-ca-server"), self.binary("fabric-ca-client"), self.kubo_bin]
        wanted.append(self.fabric_sampleconfig / "core.yaml")
        return [p for p in wanted if not p.exists()]
