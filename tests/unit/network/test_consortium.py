"""Everything derives from the one consortium definition (chaincode/consortium.py): check each does."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
import yaml

from app.settings import ALL_ORGS, READ_ONLY_ORGS
from app.users import provision, roles
from app.users.roles import ROLES_BY_ORG, STANDARD_USERS, Role
from chaincode import consortium
from chaincode.consortium import OrgKind
from chaincode.mortgage import access
from network import chaincode, compose, topology
from network.render.deployment import org_services
from network.settings import Settings

ROOT = Path(__file__).resolve().parents[3]


def test_topology_orgs_are_the_definition_orgs() -> None:
    assert [(o.key, o.name, o.msp_id, o.peer, o.endorsing) for o in topology.ORGS] == [
        (o.key, o.name, o.msp_id, o.peer, o.endorsing) for o in consortium.ORGS
    ]
    for net_org, org in zip(topology.ORGS, consortium.ORGS, strict=True):
        assert net_org.orderer_org == (org.kind == OrgKind.orderer)
        assert [(u.name, u.role) for u in net_org.users] == [(u.name, u.role) for u in org.network_users]
        assert [u.name for u in net_org.users if u.admin] == ["admin"]
    assert topology.CHANNEL == consortium.CHANNEL


def test_access_table_uses_only_definition_orgs_and_roles() -> None:
    app_msps = {o.msp_id for o in consortium.APPLICATION_ORGS}
    assert app_msps == access.CONSORTIUM
    assert {o.msp_id for o in consortium.orgs_of_kind(OrgKind.bank)} == access.BANKS
    assert set(access.ROLES) | {consortium.SCANNER_ROLE} == set(consortium.ROLE_NAMES)
    for rule in access.ACCESS.values():
        for grant in rule.grants:
            assert grant.msps <= app_msps, rule.name
            for msp in grant.msps:
                if access.ANY_ROLE in grant.roles:
                    continue
                held = consortium.org(msp).roles
                # a grant names at least one role the org may hold, and never a role outside the definition
                assert grant.roles <= set(consortium.ROLE_NAMES), rule.name
                assert grant.roles & held, (rule.name, msp, grant.roles)
    for msp, role in access.STANDARD_PRINCIPALS:
        assert role in consortium.org(msp).roles


def test_gateway_roles_and_users_derive_from_the_definition() -> None:
    assert tuple(Role) == consortium.ROLE_NAMES
    assert {msp: {r.value for r in rs} for msp, rs in ROLES_BY_ORG.items()} == {
        o.msp_id: set(o.roles) for o in consortium.APPLICATION_ORGS
    }
    assert {r.value for r in roles.READ_ONLY_ROLES} == {"regulator", "auditor", "scanner"}
    assert roles.SCANNER_USER == consortium.SCANNER_USER == "qr-scanner"
    assert roles.BANKS == ("BankAMSP", "BankBMSP")
    assert {
        o.msp_id: [(u.name, Role(u.role)) for u in o.network_users] for o in consortium.APPLICATION_ORGS
    } == STANDARD_USERS
    for o in consortium.APPLICATION_ORGS:
        assert provision.demo_users(o.msp_id) == [(u.name, Role(u.role)) for u in o.users]
    # a bank's demo users: the network's standard users plus the gateway-only second model administrator
    assert [n for n, _ in provision.demo_users("BankAMSP")] == [
        "admin", "auditor1", "loan1", "models1", "appraiser1", "checker1", "modeladmin1"
    ]  # fmt: skip
    assert tuple(o.msp_id for o in consortium.APPLICATION_ORGS) == ALL_ORGS
    assert {"RegulatorMSP"} == READ_ONLY_ORGS


def test_core_enterprise_keeps_the_dealer_whitelist() -> None:
    """Floor-plan finance (issue 19): a manufacturer/distributor org whose officer keeps the whitelist of
    dealers eligible for credit lines; banks gain a field auditor who records floor checks."""
    (core,) = consortium.orgs_of_kind(OrgKind.core_enterprise)
    assert (core.msp_id, core.peer, core.endorsing) == ("ManufacturerMSP", False, False)
    assert core.roles == {"core_enterprise", "admin", "auditor", "scanner"}
    assert [(u.name, u.role) for u in core.network_users] == [
        ("admin", "admin"), ("auditor1", "auditor"), ("oem1", "core_enterprise")
    ]  # fmt: skip
    assert "field_auditor" in consortium.org("banka").roles
    assert "field_auditor" not in consortium.org("dealer").roles
    assert "core_enterprise" not in consortium.org("banka").roles
    assert {"ManufacturerMSP"} == access.CORE_ENTERPRISES
    # appended after the orderer: every existing org keeps its port slot
    assert consortium.ORGS[-1] is core
    assert [o.key for o in topology.ORGS][:7] == [
        "trafficauthority", "banka", "bankb", "insurer", "regulator", "dealer", "orderer"
    ]  # fmt: skip
    assert core.msp_id not in consortium.ENDORSEMENT_POLICY


def test_every_user_holds_a_role_of_its_org() -> None:
    for o in consortium.ORGS:
        for u in o.users:
            assert u.role in o.roles or o.kind == OrgKind.orderer, (o.name, u)


def test_role_check_refuses_a_role_outside_the_org() -> None:
    roles.check_role_for_org("BankAMSP", Role.appraiser)
    with pytest.raises(ValueError, match="role: 'registrar' is not a role of BankAMSP"):
        roles.check_role_for_org("BankAMSP", Role.registrar)
    with pytest.raises(ValueError, match="msp_id: unknown org 'OrdererMSP'"):
        roles.check_role_for_org("OrdererMSP", Role.admin)


def test_model_names_derive_from_the_org_key() -> None:
    from app.api.routers.risk import scorecard_name
    from app.valuation.access import bank_model_name

    # the names models were registered under before the definition existed stay the same
    assert bank_model_name("BankAMSP") == "residual-value-banka"
    assert bank_model_name("BankBMSP") == "residual-value-bankb"
    assert scorecard_name("BankAMSP") == "application-scorecard-banka"
    assert not hasattr(roles, "ORG_SHORT_NAMES")


def test_embedded_ledger_runs_the_definition_orgs_and_policy() -> None:
    from app.ledger.embedded import ledger

    assert ledger.MORTGAGE_POLICY == consortium.ENDORSEMENT_POLICY
    assert ledger.ENDORSING_ORGS == ("TrafficAuthorityMSP", "BankAMSP", "BankBMSP", "InsurerMSP")
    assert (*ledger.ENDORSING_ORGS, "RegulatorMSP") == ledger.PEER_ORGS
    assert (*ledger.PEER_ORGS, "DealerMSP", "ManufacturerMSP") == ledger.KNOWN_ORGS


def test_endorsement_policy_and_collections_are_the_definition() -> None:
    assert consortium.ENDORSEMENT_POLICY == (
        "OutOf(2,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"
    )
    specs = {s.name: s for s in chaincode.load_specs()}
    assert specs["mortgage"].policy == consortium.ENDORSEMENT_POLICY
    committed = (ROOT / "chaincode" / "mortgage" / "collections_config.json").read_text()
    assert committed == json.dumps(consortium.collections_config(), indent=2) + "\n", (
        "chaincode/mortgage/collections_config.json differs from chaincode/consortium.py COLLECTIONS: run "
        "`mledger network consortium --collections > chaincode/mortgage/collections_config.json`"
    )


def test_rendered_compose_and_bundles_cover_every_org(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("MLEDGER_NETWORK_BASE_PORT", "MLEDGER_NETWORK_DIR", "MLEDGER_NETWORK_HOSTS"):
        monkeypatch.delenv(var, raising=False)
    services = yaml.safe_load(compose.render())["services"]
    labels = [v["labels"] for v in services.values()]
    assert {lab["mledger.org"] for lab in labels if lab.get("mledger.kind") == "ca"} == {
        o.msp_id for o in consortium.ORGS
    }
    assert {lab["mledger.org"] for lab in labels if lab.get("mledger.kind") == "peer"} == {
        o.msp_id for o in consortium.ORGS if o.peer
    }
    gateway_env = services["gateway"]["environment"]
    assert gateway_env["MLEDGER_NETWORK_PROFILE"].endswith("/connection-consortium.json")
    settings = Settings.from_env()
    for net_org in topology.ORGS:
        kinds = {svc.kind for svc in org_services(settings, net_org)}
        assert "ca" in kinds
        if net_org.orderer_org:
            continue
        gateways = [svc for svc in org_services(settings, net_org) if svc.kind == "gateway"]
        assert [g.env["MLEDGER_ORGS"] for g in gateways] == [net_org.msp_id]
        assert gateways[0].env["MLEDGER_NETWORK_PROFILE"].endswith(f"/connection-{net_org.key}.json")


def test_docs_show_the_definition() -> None:
    text = (ROOT / "docs" / "network.md").read_text()
    assert consortium.render_markdown() in text, (
        "docs/network.md's consortium section is stale: paste the output of `mledger network consortium`"
    )


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_app_reaches_the_network_only_through_its_profile() -> None:
    """app/ never imports the network tooling; app/cli.py mounts the network verbs (one declared arrow)."""
    offenders = {}
    for path in (ROOT / "app").rglob("*.py"):
        hits = {n for n in _imports(path) if n == "network" or n.startswith("network.")}
        if path == ROOT / "app" / "cli.py":
            hits -= {"network.cli"}
        if hits:
            offenders[str(path.relative_to(ROOT))] = sorted(hits)
    assert offenders == {}


def test_chaincode_consortium_is_self_contained() -> None:
    imports = _imports(ROOT / "chaincode" / "consortium.py")
    stdlib = {"__future__", "dataclasses", "enum", "json", "os", "typing"}  # json, os: added orgs' variable
    assert all(n.split(".")[0] in stdlib for n in imports), imports
