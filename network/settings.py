"""Where the network lives and which binaries it runs: every path and version in one place.

Environment overrides: MLEDGER_NETWORK_DIR (data, crypto, ledgers, logs; default .data/network),
MLEDGER_BIN_DIR (binary cache; default .cache/bin), MLEDGER_NETWORK_BASE_PORT (default 27000),
FABRIC_VERSION (default: the build scripts/install-binaries linked as .cache/bin/fabric-current, else
2.5.16), FABRIC_CA_VERSION (1.5.21), KUBO_VERSION (0.42.0),
MLEDGER_BATCH_TIMEOUT (orderer BatchTimeout, default 250ms), MLEDGER_NETWORK_HOSTS (a host plan, see
network/hosts.py; unset: every node on 127.0.0.1).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from network.hosts import HostPlan
from network.topology import DEFAULT_BASE_PORT, Ports

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(__file__).resolve().parent

DEFAULT_FABRIC_VERSION = "2.5.16"
FABRIC_BINARIES = ("peer", "orderer", "configtxgen", "configtxlator", "osnadmin")


def _installed_fabric(bin_dir: Path) -> str:
    """The build scripts/install-binaries selected (fabric-current link), else the pinned 2.5.16."""
    link = bin_dir / "fabric-current"
    if link.is_symlink():
        return Path(os.readlink(link)).name.removeprefix("fabric-")
    return DEFAULT_FABRIC_VERSION


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

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        bin_dir = Path(env.get("MLEDGER_BIN_DIR", REPO_ROOT / ".cache" / "bin")).resolve()
        return cls(
            data_dir=Path(env.get("MLEDGER_NETWORK_DIR", REPO_ROOT / ".data" / "network")).resolve(),
            bin_dir=bin_dir,
            base_port=int(env.get("MLEDGER_NETWORK_BASE_PORT", DEFAULT_BASE_PORT)),
            fabric_version=env.get("FABRIC_VERSION") or _installed_fabric(bin_dir),
            fabric_ca_version=env.get("FABRIC_CA_VERSION", "1.5.21"),
            kubo_version=env.get("KUBO_VERSION", "0.42.0"),
            batch_timeout=env.get("MLEDGER_BATCH_TIMEOUT", "250ms"),
            hosts=HostPlan.from_env(),
        )

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
