"""Consortium governance on the live channel: who approved a pending chaincode definition; revoking a user.

`approvals` answers the question an org's admin asks before a chaincode upgrade: for the next sequence of
a chaincode, which orgs have approved, which definition each approved (orgs may approve different ones),
and how many matching approvals the channel's LifecycleEndorsement policy needs before a commit.
Each org's peer answers for its own org only (its approval sits in the org's implicit collection), so
the question goes to every org's peer as that org's admin.

`revoke_user` revokes an identity at its org's CA and puts the CA's new CRL into the org's MSP in the
channel configuration (a config update the org's Admins policy must sign), so every peer and orderer
refuses that identity's transactions from the next block on, while the org's other users carry on.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from network import ca, chaincode, channel, gossip_view, orgset, topology
from network.errors import CommandError, NetworkError
from network.settings import Settings
from network.topology import CHANNEL, HOST, Org

log = logging.getLogger(__name__)

REVOCATION_REASONS = (
    "unspecified",
    "keycompromise",
    "cacompromise",
    "affiliationchange",
    "superseded",
    "cessationofoperation",
    "certificatehold",
    "removefromcrl",
    "privilegewithdrawn",
    "aacompromise",
)


@dataclass(frozen=True)
class OrgApproval:
    msp_id: str
    approved: bool
    version: str | None = None
    package_id: str | None = None
    definition: str | None = None  # fingerprint of the approved definition (same value = same definition)


@dataclass
class Approvals:
    chaincode: str
    committed_sequence: int
    pending_sequence: int
    orgs: list[OrgApproval] = field(default_factory=list)
    needed: int = 0  # matching approvals the LifecycleEndorsement policy (MAJORITY Endorsement) needs
    application_orgs: int = 0

    @property
    def pending(self) -> bool:
        return any(o.approved for o in self.orgs)

    def definitions(self) -> dict[str, list[str]]:
        """Fingerprint of each approved definition -> MSP ids that approved it."""
        out: dict[str, list[str]] = {}
        for o in self.orgs:
            if o.approved and o.definition:
                out.setdefault(o.definition, []).append(o.msp_id)
        return out

    @property
    def ready(self) -> bool:
        """Some definition has enough approvals to be committed."""
        return any(len(v) >= self.needed for v in self.definitions().values())

    def as_dict(self) -> dict[str, Any]:
        extra = {"pending": self.pending, "ready": self.ready, "definitions": self.definitions()}
        return {**asdict(self), **extra}


def _fingerprint(approved: dict[str, Any]) -> str:
    """What makes two approvals the same definition (sequence aside): all the approved parameters."""
    keys = (
        "version",
        "endorsement_plugin",
        "validation_plugin",
        "validation_parameter",
        "collections",
        "init_required",
        "source",
    )
    doc = {k: approved.get(k) for k in keys}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:12]


def approvals(settings: Settings, name: str) -> Approvals:
    """Approvals of `name`'s next sequence (committed + 1) by every org that has a peer."""
    committed = chaincode.query_committed(settings, name)
    if committed is None and name not in {s.name for s in chaincode.load_specs()}:
        raise NetworkError(
            f"unknown chaincode {name!r}: neither declared in network/chaincodes.yaml "
            f"nor committed on {topology.CHANNEL}"
        )
    seq = int(committed["sequence"]) if committed else 0
    app_orgs = [o for o in orgset.orgs(settings) if not o.orderer_org]
    result = Approvals(name, seq, seq + 1, application_orgs=len(app_orgs), needed=len(app_orgs) // 2 + 1)
    for org in topology.peer_orgs(app_orgs):
        got = chaincode.query_approved(settings, org, name, seq + 1)
        if got is None:
            result.orgs.append(OrgApproval(org.msp_id, False))
            continue
        pkg = (got.get("source") or {}).get("Type", {}).get("LocalPackage", {}).get("package_id")
        result.orgs.append(OrgApproval(org.msp_id, True, got.get("version"), pkg, _fingerprint(got)))
    for org in app_orgs:  # orgs without a peer cannot approve (Dealer): listed so the count adds up
        if not org.peer:
            result.orgs.append(OrgApproval(org.msp_id, False))
    return result


# ---------------------------------------------------------------- channel configuration updates
def fetch_config(settings: Settings, org: Org, workdir: Path) -> dict[str, Any]:
    """The channel's current configuration (JSON, as configtxlator decodes it), fetched as `org`'s admin."""
    return channel.fetch_config(settings, org, workdir, timeout=0)


def update_config(
    settings: Settings,
    mutate: Callable[[dict[str, Any]], None],
    signers: list[Org],
    what: str,
    orderer: int = 0,
) -> bool:
    """Apply `mutate` to the channel config as one config update signed by each of `signers`' admins.

    Returns False when `mutate` changes nothing. A refusal by the orderer (e.g. a policy not satisfied by
    the signatures given) raises NetworkError naming the policy and the signers.
    """
    try:
        changed = channel.submit_config_update(settings, mutate, signers, what, fetch_timeout=0)
    except CommandError as exc:
        raise NetworkError(_explain_refusal(str(exc), signers, what)) from exc
    if not changed:
        return False
    log.info("config update committed: %s (signed by %s)", what, ", ".join(o.msp_id for o in signers))
    return True


_POLICY = re.compile(
    r"policy for \[(\w+)\]\s+(\S+) not satisfied|implicit policy evaluation failed - ([^\n]+)"
)


def _explain_refusal(error: str, signers: list[Org], what: str) -> str:
    who = ", ".join(f"{o.msp_id} admin" for o in signers)
    m = _POLICY.search(error)
    if m and m.group(2):
        policy = f"the mod_policy of {m.group(1)} {m.group(2)}"
    elif m:
        policy = f"implicit policy ({m.group(3).strip()})"
    else:
        policy = None
    if policy or "signature set did not satisfy policy" in error:
        return (
            f"{what}: the orderer refused the config update: {policy or 'a policy'} is not satisfied by "
            f"the signatures of {who}; more admins must sign. Orderer said: {error}"
        )
    return f"{what}: the orderer refused the config update ({error})"


# ---------------------------------------------------------------- user revocation
@dataclass(frozen=True)
class Revocation:
    msp_id: str
    user: str
    reason: str
    revoked_serials: list[str]  # every serial in the org's CRL now on the channel (hex)
    config_updated: bool


def _crl_serials(pem: bytes) -> list[str]:
    from cryptography import x509

    crl = x509.load_pem_x509_crl(pem)
    return sorted(format(r.serial_number, "x") for r in crl)


def revoke_user(settings: Settings, org_name: str, user: str, reason: str = "keycompromise") -> Revocation:
    """Revoke `user` of `org_name` at its CA and put the CA's CRL into the org's channel MSP."""
    try:
        org = topology.org(org_name)
    except KeyError as exc:
        raise NetworkError(
            f"org: unknown org {org_name!r}; known: {', '.join(o.name for o in topology.ORGS)}"
        ) from exc
    if org.orderer_org:
        raise NetworkError(f"org: {org.name} is the ordering org; revoke application org users only")
    if reason not in REVOCATION_REASONS:
        raise NetworkError(f"reason: {reason!r} is not a revocation reason ({', '.join(REVOCATION_REASONS)})")
    if user in ("admin", "registrar"):
        raise NetworkError(
            f"user: refusing to revoke {org.name}'s {user!r}: the org would lose the identity "
            "that signs its channel updates; renew it instead"
        )
    enroller = ca.Enroller(settings, org)
    if not enroller.identity_exists(user):
        raise NetworkError(f"user: {org.name}'s CA has no identity {user!r}; nothing revoked")
    crl = enroller.revoke(user, reason)
    changed = _put_crl(settings, org, crl, f"revocation of {org.name} {user}")
    return Revocation(org.msp_id, user, reason, _crl_serials(crl), changed)


def _put_crl(settings: Settings, org: Org, crl: bytes, what: str) -> bool:
    """Put the CA's CRL into the org's MSP on the channel (signed by the org's admin) and wait until
    every peer has that config block: a revocation applies from there."""
    crl_b64 = base64.b64encode(crl).decode()

    def put_crl(config: dict[str, Any]) -> None:
        msp = config["channel_group"]["groups"]["Application"]["groups"][org.msp_id]["values"]["MSP"]
        msp["value"]["config"]["revocation_list"] = [crl_b64]  # fabric-ca's CRL lists every revocation

    peers = topology.peer_orgs(orgset.orgs(settings))
    heights = {o.msp_id: channel.height(settings, o) for o in peers}
    changed = update_config(settings, put_crl, [org], what)
    if changed:
        for o in peers:
            channel.wait_for_height(settings, o, heights[o.msp_id] + 1, timeout=30)
    return changed


def channel_crl_serials(settings: Settings, org_name: str) -> list[str]:
    """Serials (hex) revoked by the CRLs in `org_name`'s MSP in the channel configuration."""
    org = topology.org(org_name)
    with tempfile.TemporaryDirectory(prefix="cfg-") as tmp:
        config = fetch_config(settings, org, Path(tmp))
    msp = config["channel_group"]["groups"]["Application"]["groups"][org.msp_id]["values"]["MSP"]
    out: list[str] = []
    for b64 in msp["value"]["config"].get("revocation_list") or []:
        out += _crl_serials(base64.b64decode(b64))
    return sorted(out)


# ---------------------------------------------------------------- certificate renewal
@dataclass(frozen=True)
class Renewal:
    msp_id: str
    name: str
    kind: str  # "user" | "peer" | "orderer"
    old_serial: str
    new_serial: str
    not_after: str  # ISO date-time of the new certificate's expiry
    restarted: bool


def _cert_info(path: Path) -> tuple[str, str]:
    from cryptography import x509

    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return format(cert.serial_number, "x"), cert.not_valid_after_utc.isoformat()


def renew_cert(settings: Settings, org_name: str, name: str) -> Renewal:
    """Renew a user's or the org's peer's certificates (enrollment and TLS) with new keys.

    A peer reads its certificates at start, so it is restarted; the other peers and the orderers keep
    serving, and the restarted peer catches up from the orderers.
    """
    from network.manager import Network

    try:
        org = topology.org(org_name)
    except KeyError as exc:
        raise NetworkError(f"org: unknown org {org_name!r}") from exc
    oc = ca.org_crypto(settings, org)
    if org.peer and name == topology.peer_name(org):
        kind, dest, hosts = "peer", oc.node(name), [HOST, "localhost", name]
    elif (name, org) in topology.orderers(settings.ordering):
        return renew_orderer(settings, org, name)
    elif (oc.user(name) / "msp" / "signcerts" / "cert.pem").exists():
        kind, dest, hosts = "user", oc.user(name), [HOST, "localhost"]
    else:
        raise NetworkError(f"name: {org.name} has no enrolled user or peer {name!r} in this network")
    old_cert = (dest / "msp" / "signcerts" / "cert.pem").read_text()
    old_serial, _ = _cert_info(dest / "msp" / "signcerts" / "cert.pem")
    ca.Enroller(settings, org).reenroll(dest, name, hosts)
    new_serial, not_after = _cert_info(dest / "msp" / "signcerts" / "cert.pem")
    restarted = False
    if kind == "peer":
        net = Network(settings)
        others = [o for o in topology.peer_orgs(net.orgs()) if o != org]
        target = max(channel.height(settings, o) for o in others)
        net.stop_node(name)
        # the released chaincode connection.json embeds the peer's old TLS key pair (mutual TLS to the
        # chaincode servers): drop the builds so the peer releases them again with the new one
        shutil.rmtree(settings.nodes_dir / name / "ledger" / "externalbuilder" / "builds", ignore_errors=True)
        net.start_node(name)
        channel.wait_for_height(settings, org, target, timeout=60)
        # A new certificate is a new gossip PKI-ID. The other peers keep the old PKI-ID as a member (alive,
        # then dead: dead members circulate in membership responses for aliveExpirationTimeout x 20 =
        # 500 s) and each of their reconnection rounds to it finds the new PKI-ID at that endpoint and
        # closes their connection to it: meanwhile private-data dissemination picks the old PKI-ID or
        # misses the new one and the endorsement fails. Revoking the old certificate (superseded) puts
        # it in the org's CRL on the channel; on that config block every peer re-validates the
        # identities its gossip holds and deletes the old one, so the old PKI-ID is no longer re-learnt
        # nor reconnected to as that peer. Renewal is done when every peer's gossip (its discovery
        # service) knows the peer by its new certificate only, steadily.
        crl = ca.Enroller(settings, org).revoke_certificate(old_cert.encode(), "superseded")
        _put_crl(settings, org, crl, f"retirement of {name}'s superseded certificate")
        new_cert = (dest / "msp" / "signcerts" / "cert.pem").read_text()
        waited = gossip_view.wait_for_identity(settings, org, others, new_cert, old_cert, timeout=180)
        log.info("every peer's gossip knows %s by its renewed certificate after %.1f s", name, waited)
        restarted = True
    log.info("renewed %s %s %s: serial %s -> %s", kind, org.msp_id, name, old_serial, new_serial)
    return Renewal(org.msp_id, name, kind, old_serial, new_serial, not_after, restarted)


def _orderer_signers(settings: Settings, org: Org) -> list[Org]:
    """Admins whose signatures satisfy the Orderer group's Admins policy (MAJORITY of the orderer-side
    orgs): the ordering org alone under Raft; under BFT the node's org plus enough of the others."""
    orgs = list(dict.fromkeys(o for _, o in topology.orderers(settings.ordering)))
    others = [o for o in orgs if o != org]
    return [org, *others][: len(orgs) // 2 + 1]


def _orderer_height(settings: Settings, i: int) -> int:
    out = channel._osnadmin(settings, i, "list", "--channelID", CHANNEL)
    return int(json.loads(out[out.index("{") :])["height"])


def orderer_heights(settings: Settings) -> dict[str, int | None]:
    """Each orderer's ledger height on the channel (its admin API), None for one not answering."""
    out: dict[str, int | None] = {}
    for i, (name, _) in enumerate(topology.orderers(settings.ordering)):
        try:
            out[name] = _orderer_height(settings, i)
        except CommandError:
            out[name] = None
    return out


def renew_orderer(settings: Settings, org: Org, name: str) -> Renewal:
    """Renew an orderer's enrolment and TLS certificates (new keys) at its org's CA, put them into the
    channel configuration as that consenter's certificates (Raft: the etcdraft consenter's TLS certs;
    BFT: the consenter mapping's identity and TLS certs), signed by the Orderer group's admins and
    ordered through another orderer, then restart it alone: the others keep ordering (Raft 2 of 3, BFT
    3 of 4) and it catches up. If the config update is refused the old certificates are put back.
    """
    from network.manager import Network

    orderers = topology.orderers(settings.ordering)
    i = next(j for j, (n, _) in enumerate(orderers) if n == name)
    oc = ca.org_crypto(settings, org)
    dest = oc.node(name)
    old_serial, _ = _cert_info(dest / "msp" / "signcerts" / "cert.pem")
    old_tls = (dest / "tls" / "cert.pem").read_bytes()
    backup = Path(tempfile.mkdtemp(prefix="renew-", dir=dest.parent))
    for sub in ("msp", "tls"):
        shutil.copytree(dest / sub, backup / sub)
    try:
        ca.Enroller(settings, org).reenroll(dest, name, settings.hosts.sans(name))
        new_tls = base64.b64encode((dest / "tls" / "cert.pem").read_bytes()).decode()
        new_id = base64.b64encode((dest / "msp" / "signcerts" / "cert.pem").read_bytes()).decode()
        old_b64 = base64.b64encode(old_tls).decode()

        def swap(config: dict[str, Any]) -> None:
            values = config["channel_group"]["groups"]["Orderer"]["values"]
            if settings.ordering == topology.BFT:
                entry = next(c for c in values["Orderers"]["value"]["consenter_mapping"] if c["id"] == i + 1)
                old_id = entry["identity"]
                entry["identity"] = new_id
                # BFT blocks are validated against the consenters' identities: Fabric requires the
                # BlockValidation policy to name the new identity in the same update
                policy = config["channel_group"]["groups"]["Orderer"]["policies"]["BlockValidation"]
                for ident in policy["policy"]["value"]["identities"]:
                    if ident["principal"].get("id_bytes") == old_id:
                        ident["principal"]["id_bytes"] = new_id
            else:
                consenters = values["ConsensusType"]["value"]["metadata"]["consenters"]
                entry = next(c for c in consenters if c["client_tls_cert"] == old_b64)
            entry["client_tls_cert"] = entry["server_tls_cert"] = new_tls

        via = (i + 1) % len(orderers)  # order the update through another orderer
        before = _orderer_height(settings, via)
        update_config(settings, swap, _orderer_signers(settings, org), f"certificate renewal of {name}", via)
    except BaseException:
        for sub in ("msp", "tls"):
            shutil.rmtree(dest / sub, ignore_errors=True)
            shutil.copytree(backup / sub, dest / sub)
        raise
    finally:
        shutil.rmtree(backup, ignore_errors=True)
    new_serial, not_after = _cert_info(dest / "msp" / "signcerts" / "cert.pem")
    net = Network(settings)
    # `channel update` returns once the update is accepted: wait for the config block itself
    deadline = time.monotonic() + 30
    target = _orderer_height(settings, via)
    while target <= before and time.monotonic() < deadline:
        time.sleep(0.5)
        target = _orderer_height(settings, via)
    net.stop_node(name)
    net.start_node(name)
    deadline = time.monotonic() + 60
    h = 0
    while time.monotonic() < deadline:
        with contextlib.suppress(CommandError, ValueError):
            h = _orderer_height(settings, i)
        if h >= target:
            break
        time.sleep(1)
    else:
        raise NetworkError(
            f"{name} restarted with its renewed certificates but stayed at height {h} < {target}"
        )
    log.info("renewed orderer %s %s: serial %s -> %s", org.msp_id, name, old_serial, new_serial)
    return Renewal(org.msp_id, name, "orderer", old_serial, new_serial, not_after, True)


# ---------------------------------------------------------------- suspending and resuming an org
def _majority_signers(org: Org) -> list[Org]:
    """Admins of the other application orgs with a peer: more than the MAJORITY Admins policy needs."""
    return [o for o in topology.peer_orgs() if o != org]


def _zero_versions(doc: Any) -> Any:
    """A config group to add again: every element new, so every version 0 (else the orderer refuses)."""
    if isinstance(doc, dict):
        return {k: ("0" if k == "version" else _zero_versions(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_zero_versions(v) for v in doc]
    return doc


def _app_org(settings: Settings, org_name: str) -> Org:
    try:
        org = topology.org(org_name)
    except KeyError as exc:
        raise NetworkError(f"org: unknown org {org_name!r}") from exc
    if org.orderer_org:
        raise NetworkError(f"org: {org.name} is the ordering org, not an application org")
    return org


def suspend_org(settings: Settings, org_name: str) -> list[str]:
    """Take an org out of the channel's Application group (its MSP, policies, anchor peer), signed by the
    other application orgs' admins (MAJORITY Admins). Its members' transactions are refused from the
    next block on. The group is kept in the data folder so `resume_org` can put it back. Returns signers.
    """
    org = _app_org(settings, org_name)
    saved = orgset.suspended_file(settings, org)
    if saved.exists():
        raise NetworkError(f"org: {org.name} is already suspended ({saved})")
    signers = _majority_signers(org)
    kept: dict[str, Any] = {}

    def remove(config: dict[str, Any]) -> None:
        groups = config["channel_group"]["groups"]["Application"]["groups"]
        if org.msp_id not in groups:
            raise NetworkError(f"org: {org.msp_id} is not a member of {CHANNEL}")
        kept.update(groups.pop(org.msp_id))

    update_config(settings, remove, signers, f"suspension of {org.name}")
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(kept))
    return [o.msp_id for o in signers]


def resume_org(settings: Settings, org_name: str) -> list[str]:
    """Put a suspended org's group back (MAJORITY Admins), then restart its peer so it fetches the blocks
    it missed at once instead of after the deliver client's back-off."""
    from network.manager import Network

    org = _app_org(settings, org_name)
    saved = orgset.suspended_file(settings, org)
    if not saved.exists():
        raise NetworkError(f"org: {org.name} is not suspended; nothing changed")
    group = _zero_versions(json.loads(saved.read_text()))
    signers = _majority_signers(org)

    def add(config: dict[str, Any]) -> None:
        config["channel_group"]["groups"]["Application"]["groups"][org.msp_id] = group

    heights = {o.msp_id: channel.height(settings, o) for o in signers}
    update_config(settings, add, signers, f"resumption of {org.name}")
    saved.unlink()
    if org.peer:
        # the other peers must hold the config block that readmits the org before its peer restarts:
        # they accept its gossip identity (handshake, alive messages) only once its MSP is in their
        # channel config, and would otherwise not classify it until a later reconnection
        for o in signers:
            channel.wait_for_height(settings, o, heights[o.msp_id] + 1, timeout=30)
        target = max(channel.height(settings, o) for o in signers)
        name = topology.peer_name(org)
        net = Network(settings)
        net.stop_node(name)
        net.start_node(name)
        channel.wait_for_height(settings, org, target, timeout=60)
        cert = (ca.org_crypto(settings, org).node(name) / "msp" / "signcerts" / "cert.pem").read_text()
        gossip_view.wait_for_identity(settings, org, signers, cert, None, timeout=180)
    return [o.msp_id for o in signers]


def channel_orgs(settings: Settings) -> list[str]:
    """MSP ids in the channel's Application group now."""
    with tempfile.TemporaryDirectory(prefix="cfg-") as tmp:
        config = fetch_config(settings, topology.peer_orgs()[0], Path(tmp))
    return sorted(config["channel_group"]["groups"]["Application"]["groups"])
