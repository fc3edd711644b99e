"""Fabric signature policies: the policy DSL parser and the evaluator, as Fabric's policydsl/cauthdsl.

``parse_policy("OutOf(2,'A.peer','B.peer')")`` yields the same ``common.SignaturePolicyEnvelope`` as
Fabric's ``policydsl.FromString``: principals in order of appearance (no de-duplication), ``AND`` →
n-out-of-all, ``OR`` → 1-out-of, ``OutOf(n, ...)``. Evaluation follows cauthdsl: each signer satisfies
at most one ``SignedBy`` leaf, and sub-policies of an n-out-of are tried in order, keeping the
signers consumed by the ones that succeed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from fabric_protos.common import policies_pb2
from fabric_protos.msp import identities_pb2, msp_principal_pb2

_ROLES = {
    "member": msp_principal_pb2.MSPRole.MEMBER,
    "admin": msp_principal_pb2.MSPRole.ADMIN,
    "client": msp_principal_pb2.MSPRole.CLIENT,
    "peer": msp_principal_pb2.MSPRole.PEER,
    "orderer": msp_principal_pb2.MSPRole.ORDERER,
}
_PRINCIPAL = re.compile(r"^([A-Za-z0-9.\-]+)\.(admin|member|client|peer|orderer)$")
_TOKEN = re.compile(
    r"\s*(?:(?P<name>AND|OR|OutOf)\b|(?P<open>\()|(?P<close>\))|(?P<comma>,)|"
    r"(?P<int>\d+)|'(?P<sq>[^']*)'|\"(?P<dq>[^\"]*)\")",
    re.IGNORECASE,
)


class PolicyError(ValueError):
    """A policy string or envelope that cannot be understood."""


@dataclass(frozen=True, slots=True)
class Signer:
    """One endorsement as the evaluator sees it: who signed (MSP id, NodeOU, serialized identity)."""

    msp_id: str
    ou: str | None
    identity: bytes


def parse_policy(text: str) -> policies_pb2.SignaturePolicyEnvelope:
    """Parse Fabric's signature policy DSL into a ``SignaturePolicyEnvelope``."""
    tokens = _tokenize(text)
    principals: list[msp_principal_pb2.MSPPrincipal] = []
    rule, pos = _parse_expr(tokens, 0, principals, text)
    if pos != len(tokens):
        raise PolicyError(f"policy {text!r}: unexpected {tokens[pos][1]!r} after the expression")
    return policies_pb2.SignaturePolicyEnvelope(version=0, rule=rule, identities=principals)


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if not match:
            raise PolicyError(f"policy {text!r}: cannot parse at position {pos}: {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        value = match.group(kind)
        if kind in ("sq", "dq"):
            kind = "principal"
        elif kind == "name":
            value = {"and": "AND", "or": "OR", "outof": "OutOf"}[value.lower()]
        tokens.append((kind, value))
        pos = match.end()
    if not tokens:
        raise PolicyError("policy is empty")
    return tokens


def _parse_expr(
    tokens: list[tuple[str, str]], pos: int, principals: list[msp_principal_pb2.MSPPrincipal], text: str
) -> tuple[policies_pb2.SignaturePolicy, int]:
    if pos >= len(tokens):
        raise PolicyError(f"policy {text!r}: unexpected end")
    kind, value = tokens[pos]
    if kind == "principal":
        match = _PRINCIPAL.match(value)
        if not match:
            raise PolicyError(
                f"policy {text!r}: principal {value!r} must be '<MSP id>.<admin|member|client|peer|orderer>'"
            )
        role = msp_principal_pb2.MSPRole(msp_identifier=match.group(1), role=_ROLES[match.group(2)])
        principals.append(
            msp_principal_pb2.MSPPrincipal(
                principal_classification=msp_principal_pb2.MSPPrincipal.ROLE,
                principal=role.SerializeToString(),
            )
        )
        return policies_pb2.SignaturePolicy(signed_by=len(principals) - 1), pos + 1
    if kind != "name":
        raise PolicyError(f"policy {text!r}: expected AND, OR, OutOf or a quoted principal, got {value!r}")
    if pos + 1 >= len(tokens) or tokens[pos + 1][0] != "open":
        raise PolicyError(f"policy {text!r}: {value} must be followed by '('")
    pos += 2
    threshold: int | None = None
    if value == "OutOf":
        if pos >= len(tokens) or tokens[pos][0] != "int":
            raise PolicyError(f"policy {text!r}: OutOf needs a number as its first argument")
        threshold = int(tokens[pos][1])
        pos += 1
        if pos >= len(tokens) or tokens[pos][0] != "comma":
            raise PolicyError(f"policy {text!r}: OutOf needs at least one principal after the number")
        pos += 1
    rules: list[policies_pb2.SignaturePolicy] = []
    while True:
        rule, pos = _parse_expr(tokens, pos, principals, text)
        rules.append(rule)
        if pos >= len(tokens):
            raise PolicyError(f"policy {text!r}: missing ')'")
        if tokens[pos][0] == "comma":
            pos += 1
            continue
        if tokens[pos][0] == "close":
            pos += 1
            break
        raise PolicyError(f"policy {text!r}: unexpected {tokens[pos][1]!r}")
    n = len(rules) if value == "AND" else 1 if value == "OR" else threshold
    assert n is not None
    if n < 0 or n > len(rules):
        raise PolicyError(f"policy {text!r}: OutOf({n}) needs between 0 and {len(rules)} signatures")
    return policies_pb2.SignaturePolicy(n_out_of=policies_pb2.SignaturePolicy.NOutOf(n=n, rules=rules)), pos


def envelope_from_bytes(data: bytes) -> policies_pb2.SignaturePolicyEnvelope:
    envelope = policies_pb2.SignaturePolicyEnvelope()
    try:
        envelope.ParseFromString(data)
    except Exception as exc:  # protobuf raises DecodeError; anything else is equally a bad policy
        raise PolicyError(f"validation parameter is not a SignaturePolicyEnvelope: {exc}") from exc
    if not envelope.HasField("rule"):
        raise PolicyError("validation parameter is a SignaturePolicyEnvelope without a rule")
    return envelope


def _satisfies(principal: msp_principal_pb2.MSPPrincipal, signer: Signer) -> bool:
    classification = principal.principal_classification
    if classification == msp_principal_pb2.MSPPrincipal.ROLE:
        role = msp_principal_pb2.MSPRole()
        role.ParseFromString(principal.principal)
        if role.msp_identifier != signer.msp_id:
            return False
        if role.role == msp_principal_pb2.MSPRole.MEMBER:
            return True
        wanted = {
            msp_principal_pb2.MSPRole.ADMIN: "admin",
            msp_principal_pb2.MSPRole.CLIENT: "client",
            msp_principal_pb2.MSPRole.PEER: "peer",
            msp_principal_pb2.MSPRole.ORDERER: "orderer",
        }.get(role.role)
        return wanted is not None and signer.ou == wanted
    if classification == msp_principal_pb2.MSPPrincipal.IDENTITY:
        want = identities_pb2.SerializedIdentity()
        want.ParseFromString(principal.principal)
        return want.SerializeToString() == signer.identity
    return False


def evaluate(envelope: policies_pb2.SignaturePolicyEnvelope, signers: Sequence[Signer]) -> bool:
    """Whether these (already signature-verified, de-duplicated) signers satisfy the policy."""
    used = [False] * len(signers)
    return _eval(envelope.rule, envelope.identities, signers, used)


def _eval(
    rule: policies_pb2.SignaturePolicy,
    identities: Sequence[msp_principal_pb2.MSPPrincipal],
    signers: Sequence[Signer],
    used: list[bool],
) -> bool:
    which = rule.WhichOneof("Type")
    if which == "signed_by":
        if rule.signed_by < 0 or rule.signed_by >= len(identities):
            return False
        principal = identities[rule.signed_by]
        for index, signer in enumerate(signers):
            if not used[index] and _satisfies(principal, signer):
                used[index] = True
                return True
        return False
    if which == "n_out_of":
        verified = 0
        for sub in rule.n_out_of.rules:
            trial = list(used)
            if _eval(sub, identities, signers, trial):
                verified += 1
                used[:] = trial
        return verified >= rule.n_out_of.n
    return False


def principal_orgs(envelope: policies_pb2.SignaturePolicyEnvelope) -> list[str]:
    """MSP ids named by the policy's principals, in order, without repeats."""
    orgs: list[str] = []
    for principal in envelope.identities:
        if principal.principal_classification == msp_principal_pb2.MSPPrincipal.ROLE:
            role = msp_principal_pb2.MSPRole()
            role.ParseFromString(principal.principal)
            if role.msp_identifier not in orgs:
                orgs.append(role.msp_identifier)
        elif principal.principal_classification == msp_principal_pb2.MSPPrincipal.IDENTITY:
            ident = identities_pb2.SerializedIdentity()
            ident.ParseFromString(principal.principal)
            if ident.mspid not in orgs:
                orgs.append(ident.mspid)
    return orgs
