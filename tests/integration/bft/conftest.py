"""SmartBFT ordering needs Fabric 3 (channel capability V3_0): these tests belong to the Fabric 3.1.1 leg
of CI (.ci/run), which runs them on FABRIC_VERSION=3.1.1. Under a 2.x FABRIC_VERSION they are not
collected: Fabric 2.5 has no BFT orderer to test."""

from __future__ import annotations

from network.settings import Settings

_fabric_major = int(Settings.from_env().fabric_version.split(".")[0])
collect_ignore_glob = ["test_*.py"] if _fabric_major < 3 else []
