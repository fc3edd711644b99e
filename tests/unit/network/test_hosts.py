"""Host plans: loopback stays the default; a namespace layout names, addresses and links every node."""

from __future__ import annotations

import ipaddress
from dataclasses import replace
from pathlib import Path

import pytest

from network import config, topology
from network.errors import NetworkError
from network.hosts import LOOPBACK_PLAN, PLAN_FILE, HostPlan, Placement, bind_data_dir, fqdn
from network.netns import Layout, hosts, link_port
from network.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(tmp_path / "data", tmp_path / "bin", 30000, "2.5.9", "1.5.21", "0.42.0", "250ms")


def test_default_plan_keeps_every_node_on_loopback(settings: Settings) -> None:
    env = config.peer_env(settings, topology.org("banka"))
    assert env["CORE_PEER_ADDRESS"] == env["CORE_PEER_LISTENADDRESS"] == "127.0.0.1:30210"
    assert config.orderer_env(settings, 1)["ORDERER_GENERAL_LISTENADDRESS"] == "127.0.0.1"
    cons = config.configtx(settings)["Profiles"]["VehiclesChannel"]["Orderer"]["EtcdRaft"]["Consenters"]
    assert {c["Host"] for c in cons} == {"127.0.0.1"}
    assert settings.hosts.sans("peer0.banka") == ["127.0.0.1", "localhost", "peer0.banka"]


def test_dns_names() -> None:
    assert fqdn("peer0.banka") == "peer0.banka.mledger.local"
    assert fqdn("ca.trafficauthority") == "ca.trafficauthority.mledger.local"
    assert fqdn("orderer2") == "orderer2.orderer.mledger.local"
    assert fqdn("cc.mortgage") == "cc-mortgage.mledger.local"


def test_plan_round_trips_through_json() -> None:
    plan = HostPlan(
        {
            "peer0.banka": Placement(
                "198.19.30.11",
                "peer0.banka.mledger.local",
                "198.19.30.11",
                "banka",
                "ml30-banka",
                ("peer0.banka.mledger.local",),
            )
        }
    )
    again = HostPlan.from_json(plan.to_json())
    assert again == plan
    assert again.sans("peer0.banka") == ["peer0.banka.mledger.local", "198.19.30.11", "peer0.banka"]
    assert again.bind("orderer0") == "127.0.0.1"  # unplaced nodes stay on loopback


def test_layout_places_each_org_and_orderer_on_its_own_host(settings: Settings) -> None:
    lay = Layout.for_settings(settings)
    hs = hosts()
    keys = [h.key for h in hs]
    apps = [o.key for o in topology.ORGS if not o.orderer_org]
    assert keys[: len(apps)] == apps
    assert {"orderer0", "orderer1", "orderer2", "chaincode"} <= set(keys)
    placed = [n for h in hs for n in h.nodes]
    assert len(placed) == len(set(placed))
    native = {n.name for n in topology.nodes(settings.ports) if n.kind != "kubo"}
    assert native <= set(placed)
    addrs = [lay.address(h) for h in hs] + [lay.link_address(h) for h in hs] + [lay.bridge_address]
    assert len(set(addrs)) == len(addrs)
    bench = ipaddress.IPv4Network("198.18.0.0/15")
    assert all(ipaddress.IPv4Address(a) in lay.subnet and ipaddress.IPv4Address(a) in bench for a in addrs)
    assert all(len(n) <= 15 for n in [lay.bridge, *(lay.veth(h) for h in hs)])  # IFNAMSIZ


def test_layout_refuses_a_subnet_outside_the_benchmark_range(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLEDGER_NETNS_SUBNET", "192.168.1.0/24")
    with pytest.raises(Exception, match=r"outside 198\.18\.0\.0/15"):
        Layout.for_settings(settings)


def test_plan_puts_hostnames_in_configs_and_addresses_in_binds(settings: Settings) -> None:
    lay = Layout.for_settings(settings)
    s = replace(settings, hosts=lay.plan())
    banka = lay.host_of("peer0.banka")
    env = config.peer_env(s, topology.org("banka"))
    assert env["CORE_PEER_ADDRESS"] == "peer0.banka.mledger.local:30210"
    assert env["CORE_PEER_LISTENADDRESS"] == f"{lay.address(banka)}:30210"
    cons = config.configtx(s)["Profiles"]["VehiclesChannel"]["Orderer"]["EtcdRaft"]["Consenters"]
    assert [c["Host"] for c in cons] == [f"orderer{i}.orderer.mledger.local" for i in range(3)]
    assert s.hosts.netns("orderer1") == "ml30-orderer1"
    assert set(s.hosts.sans("peer0.banka")) >= {"peer0.banka.mledger.local", lay.address(banka)}


def _names(hosts_file: str) -> dict[str, str]:
    """name -> address of a hosts file's entries (after its two header lines)."""
    pairs = (line.split() for line in hosts_file.splitlines()[2:])
    return {name: address for address, name in pairs}


def test_hosts_files_send_remote_names_through_the_host_s_own_link_address(settings: Settings) -> None:
    lay = Layout.for_settings(settings, links="proxy")
    banka = lay.host_of("peer0.banka")
    entries = _names(lay.hosts_file(banka))
    assert entries["peer0.banka.mledger.local"] == lay.address(banka)
    assert entries["orderer1.orderer.mledger.local"] == lay.link_address(banka)
    assert entries["peer0.bankb.mledger.local"] == lay.link_address(banka)
    assert entries["cc-mortgage.mledger.local"] == lay.address(lay.host_of("cc.mortgage"))  # direct
    assert entries["ca.bankb.mledger.local"] == lay.address(lay.host_of("ca.bankb"))
    direct = Layout.for_settings(settings, links="direct")
    entries = _names(direct.hosts_file(banka))
    assert entries["orderer1.orderer.mledger.local"] == direct.address(direct.host_of("orderer1"))


def test_links_cover_every_cross_host_node_port(settings: Settings) -> None:
    lay = Layout.for_settings(settings)
    links = lay.links_for(settings)
    names = {link.name for link in links}
    assert "banka->orderer1" in names and "orderer1->orderer0" in names and "bankb->peer0.insurer" in names
    assert not any(link.target.startswith(("cc.", "ca.")) or link.target == "kubo" for link in links)
    assert not any(link.source == lay.host_of(link.target).key for link in links)
    assert all(link_port(settings, link.target) for link in links)
    assert link_port(settings, "ca.banka") is None  # CAs are reached by operators, not by nodes
    assert link_port(settings, "cc.mortgage") is None  # chaincode servers run beside the peers
    listens = [link.listen for link in links]
    assert len(listens) == len(set(listens))


def test_a_data_dir_keeps_the_host_plan_it_was_made_for(settings: Settings, tmp_path: Path) -> None:
    multi = Layout.for_settings(settings).plan()
    fresh = tmp_path / "fresh"
    bind_data_dir(fresh, multi)
    assert HostPlan.from_json((fresh / PLAN_FILE).read_text()) == multi
    bind_data_dir(fresh, multi)  # same plan again: fine
    with pytest.raises(NetworkError, match="holds a multi-host network"):
        bind_data_dir(fresh, LOOPBACK_PLAN)
    legacy = tmp_path / "legacy"  # made before plans were recorded: a loopback network
    (legacy / "crypto").mkdir(parents=True)
    with pytest.raises(NetworkError, match=r"holds a loopback \(127\.0\.0\.1\) network"):
        bind_data_dir(legacy, multi)
    assert not (legacy / PLAN_FILE).exists()
    bind_data_dir(legacy, LOOPBACK_PLAN)
    assert HostPlan.from_json((legacy / PLAN_FILE).read_text()).loopback


def test_multihost_up_refuses_a_loopback_data_dir_before_touching_it(settings: Settings) -> None:
    from network.multihost import MultiHostNetwork

    (settings.data_dir / "crypto").mkdir(parents=True)
    pids = settings.data_dir / "pids.json"
    pids.write_text('{"peer0.banka": {"pid": 1}}')  # a running loopback network's record
    with pytest.raises(NetworkError, match="holds a loopback"):
        MultiHostNetwork(settings).up()
    assert pids.read_text() == '{"peer0.banka": {"pid": 1}}'
    assert not (settings.data_dir / "netns-state.json").exists()


def test_bft_layout_runs_each_orderer_on_its_own_orgs_host(settings: Settings) -> None:
    bft = replace(settings, ordering=topology.BFT, fabric_version="3.1.1")
    lay = Layout.for_settings(bft)
    placed = {n: h.key for h in lay.host_list for n in h.nodes}
    assert [placed[name] for name, _ in topology.orderers(topology.BFT)] == [
        "trafficauthority",
        "banka",
        "bankb",
        "insurer",
    ]
    assert placed["ca.orderer"] == "orderer" and "orderer1" not in {h.key for h in lay.host_list}
    native = {n.name for n in topology.nodes(bft.ports, topology.BFT) if n.kind != "kubo"}
    assert native <= set(placed) and len(placed) == sum(len(h.nodes) for h in lay.host_list)
    s = replace(bft, hosts=lay.plan())
    mapping = config.configtx(s)["Profiles"]["VehiclesChannel"]["Orderer"]["ConsenterMapping"]
    assert mapping[1]["Host"] == "orderer1.banka.mledger.local"
    assert config.orderer_env(s, 1)["ORDERER_GENERAL_LISTENADDRESS"] == lay.address(
        lay.host_of("peer0.banka")
    )
    bankb = lay.host_of("peer0.bankb")
    entries = _names(lay.hosts_file(bankb))
    assert entries["orderer1.banka.mledger.local"] == lay.link_address(bankb)  # another host: through a link
    assert entries["orderer2.bankb.mledger.local"] == lay.address(bankb)  # its own
    names = {link.name for link in lay.links_for(s)}
    assert "bankb->orderer1" in names and "banka->orderer0" in names and "banka->orderer1" not in names
    assert link_port(s, "orderer3") == s.ports.orderer(3)


def test_layout_gives_an_added_org_its_own_host(settings: Settings) -> None:
    from network import onboarding, orgset

    bank_c = onboarding.new_org(settings, "BankC", "bank")
    orgset.write(settings, (bank_c,))
    lay = Layout.for_settings(settings)
    host = lay.host_of("peer0.bankc")
    assert host.key == "bankc" and host.nodes == ("ca.bankc", "peer0.bankc")
    plan = lay.plan()
    assert plan.advertise("peer0.bankc") == "peer0.bankc.mledger.local"
    assert plan.bind("peer0.bankc") == lay.address(host) and plan.netns("peer0.bankc") == "ml30-bankc"
    assert "banka->peer0.bankc" in {link.name for link in lay.links_for(settings)}
    assert link_port(settings, "peer0.bankc") == settings.ports.peer(bank_c)
    assert len({lay.address(h) for h in lay.host_list}) == len(lay.host_list)
