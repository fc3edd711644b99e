"""Process bookkeeping (only recorded PIDs are stopped; a busy port is refused) and the channel config."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

from network import config
from network.errors import NetworkError
from network.process import ProcessTable, pid_alive
from network.settings import Settings


def test_start_records_and_stop_kills_only_the_recorded_pid(tmp_path: Path) -> None:
    table = ProcessTable(tmp_path / "pids.json")
    sleep = shutil.which("sleep")
    assert sleep
    p = table.start("sleeper", [sleep, "30"], env={}, log_path=tmp_path / "s.log", ports={})
    assert table.alive("sleeper") and pid_alive(p.pid, sleep)
    assert table.stop("sleeper")
    assert not pid_alive(p.pid, sleep)
    assert table.load() == {}
    assert not table.stop("sleeper")


def test_busy_port_is_refused_with_node_port_and_log(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        table = ProcessTable(tmp_path / "pids.json")
        with pytest.raises(NetworkError) as err:
            table.start("peer0.x", ["/bin/true"], env={}, log_path=tmp_path / "p.log", ports={"listen": port})
    msg = str(err.value)
    assert "peer0.x" in msg and str(port) in msg and "p.log" in msg
    assert table.load() == {}


def test_configtx_profile(tmp_path: Path) -> None:
    s = Settings(tmp_path, tmp_path / "bin", 27000, "2.5.9", "1.5.21", "0.42.0", "250ms")
    doc = config.configtx(s)["Profiles"][config.PROFILE]
    assert doc["Orderer"]["OrdererType"] == "etcdraft"
    assert doc["Orderer"]["BatchTimeout"] == "250ms"
    assert len(doc["Orderer"]["EtcdRaft"]["Consenters"]) == 3
    assert doc["Application"]["Capabilities"] == {"V2_5": True}
    app = {o["ID"] for o in doc["Application"]["Organizations"]}
    assert app == {
        "TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP", "RegulatorMSP", "DealerMSP",
        "ManufacturerMSP",
    }  # fmt: skip
    endpoints = doc["Orderer"]["Organizations"][0]["OrdererEndpoints"]
    assert endpoints == ["127.0.0.1:27100", "127.0.0.1:27110", "127.0.0.1:27120"]


def test_default_fabric_is_the_2_5_9_release_whatever_fabric_current_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FABRIC_VERSION", raising=False)
    monkeypatch.setenv("MLEDGER_BIN_DIR", str(tmp_path))
    (tmp_path / "fabric-2.5-snapshot-695dd57").mkdir()
    (tmp_path / "fabric-current").symlink_to("fabric-2.5-snapshot-695dd57")  # an old fallback build
    s = Settings.from_env()
    assert s.fabric_version == "2.5.9"
    assert s.fabric_module_version == "v1.4.0-rc1.0.20240618194258-7c3876255bf0"
    assert s.binary("peer") == tmp_path / "fabric-2.5.9" / "peer"
    monkeypatch.setenv("FABRIC_VERSION", "3.1.1")
    s = Settings.from_env()
    assert s.binary("orderer") == tmp_path / "fabric-3.1.1" / "orderer"
    assert s.fabric_module_version == "v1.4.0-rc1.0.20250510200036-435a7f1a780a"


def test_an_untagged_build_or_unknown_version_is_refused(tmp_path: Path) -> None:
    s = Settings(tmp_path, tmp_path, 27000, "2.5.16", "1.5.21", "0.42.0", "250ms")
    assert "FABRIC_VERSION=2.5.16 is not a supported Fabric release" in (s.release_problem() or "")
    s = Settings(tmp_path, tmp_path, 27000, "2.5.9", "1.5.21", "0.42.0", "250ms")
    assert s.release_problem() is None  # not built yet: missing_binaries() reports that
    (tmp_path / "fabric-2.5.9").mkdir()
    (tmp_path / "fabric-2.5.9" / "peer").write_text("")
    (tmp_path / "fabric-2.5.9" / ".stamp").write_text("v1.4.0-rc1.0.20230405174026-695dd57e01c2\n")
    problem = s.release_problem() or ""
    assert "695dd57e01c2" in problem and "not Fabric 2.5.9" in problem
    (tmp_path / "fabric-2.5.9" / ".stamp").write_text("v1.4.0-rc1.0.20240618194258-7c3876255bf0\n")
    assert s.release_problem() is None


def test_a_network_made_by_one_release_is_not_run_by_another(tmp_path: Path) -> None:
    from network.errors import NetworkError
    from network.manager import Network

    made = Network(Settings(tmp_path, tmp_path, 27000, "2.5.9", "1.5.21", "0.42.0", "250ms"))
    made._claim_fabric_version()
    assert (tmp_path / "fabric-version").read_text().strip() == "2.5.9"
    made._claim_fabric_version()  # same release again: fine
    other = Network(Settings(tmp_path, tmp_path, 27000, "3.1.1", "1.5.21", "0.42.0", "250ms"))
    want = r"created by 2\.5\.9, not Fabric 3\.1\.1: set FABRIC_VERSION=2\.5\.9"
    with pytest.raises(NetworkError, match=want):
        other._claim_fabric_version()
