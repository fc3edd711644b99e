"""The endorsement plan: which orgs must endorse a simulated transaction (as the Fabric Gateway plans).

The Gateway learns from the first endorsement which keys a transaction writes and which of them carry
a key-level policy, then picks peers that satisfy every policy in play. Here: the policies the
committer will check (each written key's validation parameter, else the collection's or the
chaincode's policy) are collected from committed state, and the smallest set of endorsing orgs that
satisfies all of them is chosen, preferring the caller's own org (its gateway peer endorses first).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations

from fabric_protos.common import policies_pb2

from app.ledger.embedded.committer import ChaincodeDefinition
from app.ledger.embedded.policy import Signer, envelope_from_bytes, evaluate
from app.ledger.embedded.rwset import VALIDATION_PARAMETER, RWSet, key_hash, metadata_from_bytes
from app.ledger.embedded.store import StateView

UNSATISFIABLE = policies_pb2.SignaturePolicyEnvelope()  # no rule: no set of endorsers satisfies it


def required_policies(
    view: StateView, chaincodes: dict[str, ChaincodeDefinition], invoked: str, rwsets: Sequence[RWSet]
) -> list[policies_pb2.SignaturePolicyEnvelope]:
    policies: list[policies_pb2.SignaturePolicyEnvelope] = []
    needs_ccep: set[str] = set()
    for rw in rwsets:
        definition = chaincodes[rw.namespace]
        for key in rw.written_keys():
            current = view.get_state(rw.namespace, key)
            raw = metadata_from_bytes(current.metadata if current else None).get(VALIDATION_PARAMETER)
            # As Fabric's endorser (parseWritesetMetadata): a VALIDATION_PARAMETER that is present is the
            # key's policy even when empty, and an empty policy cannot be satisfied.
            if raw is not None:
                policies.append(envelope_from_bytes(raw) if raw else UNSATISFIABLE)
            else:
                needs_ccep.add(rw.namespace)
        for name, coll in rw.collections.items():
            config = definition.collections.get(name)
            for key in sorted(set(coll.writes) | set(coll.metadata_writes)):
                current = view.get_private_hash(rw.namespace, name, key_hash(key))
                raw = metadata_from_bytes(current.metadata if current else None).get(VALIDATION_PARAMETER)
                if raw is not None:
                    policies.append(envelope_from_bytes(raw) if raw else UNSATISFIABLE)
                elif config is not None and config.endorsement_policy is not None:
                    policies.append(config.endorsement_policy)
                else:
                    needs_ccep.add(rw.namespace)
    if not policies and not needs_ccep:
        needs_ccep.add(invoked)  # a read-only tx is still checked against the chaincode policy
    policies.extend(chaincodes[name].policy for name in sorted(needs_ccep))
    return policies


def choose_orgs(
    policies: Sequence[policies_pb2.SignaturePolicyEnvelope],
    candidates: Sequence[str],
    preferred: str | None,
) -> list[str] | None:
    """The smallest org set (preferred org first when it can help) satisfying every policy, or None."""
    key = (
        tuple(sorted({p.SerializeToString(deterministic=True) for p in policies})),
        tuple(candidates),
        preferred,
    )
    if key not in _PLANS:
        if len(_PLANS) > 4096:
            _PLANS.clear()
        _PLANS[key] = _choose(policies, candidates, preferred)
    chosen = _PLANS[key]
    return list(chosen) if chosen is not None else None


_PLANS: dict[tuple[object, ...], tuple[str, ...] | None] = {}


def _choose(
    policies: Sequence[policies_pb2.SignaturePolicyEnvelope], candidates: Sequence[str], preferred: str | None
) -> tuple[str, ...] | None:
    ordered = list(candidates)
    if preferred in ordered:
        ordered.remove(preferred)
        ordered.insert(0, preferred)
    for size in range(1, len(ordered) + 1):
        for combo in combinations(ordered, size):
            signers = [Signer(org, "peer", org.encode()) for org in combo]
            if all(evaluate(policy, signers) for policy in policies):
                return combo
    return None
