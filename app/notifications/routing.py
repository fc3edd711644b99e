"""Who hears of which chaincode event, and what the event changes in the vehicle → parties index.

Many events name the vehicle's lienholders in their payload (holds, brands, registration changes);
some do not (a seizure, an insurance lapse, a foreclosure). For those the notifier keeps its own small
index (vin → owner hash, liens and their holders), built from the same event stream in chain order, so
it says who held a lien *when the event happened*, replays identically after a restart, and never
needs a ledger query. Routing is a pure function of (event, index) so it is tested without a ledger.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .models import Party


@dataclass(frozen=True, slots=True)
class VehicleParties:
    owner_hash: str | None = None
    liens: dict[str, str] = field(default_factory=dict)  # lien id → lienholder MSP id

    @property
    def lienholders(self) -> list[str]:
        return sorted(set(self.liens.values()))


@dataclass(frozen=True, slots=True)
class IndexChange:
    """set_owner(vin, owner_hash) / add_lien, remove_lien (vin, lien_id, lienholder)."""

    op: str
    vin: str
    value: str = ""
    lien_id: str = ""


@dataclass(frozen=True, slots=True)
class Routed:
    party: Party
    topic: str
    vin: str | None
    summary: str


@dataclass
class Routing:
    notes: list[Routed] = field(default_factory=list)
    changes: list[IndexChange] = field(default_factory=list)

    def tell_orgs(self, msp_ids: Any, topic: str, vin: str | None, summary: str, *, but: str = "") -> None:
        for msp in sorted({str(m) for m in msp_ids or [] if m and m != but}):
            self.notes.append(Routed(Party.org(msp), topic, vin, summary))

    def tell_owner(self, owner_hash: str | None, topic: str, vin: str | None, summary: str) -> None:
        if owner_hash:
            self.notes.append(Routed(Party.owner(owner_hash), topic, vin, summary))


Lookup = Callable[[str], VehicleParties]

#: What a lienholder hears of (issue 16.4), and what an owner hears of; the docs list them.
LIENHOLDER_EVENTS = (
    "RegistrationChanged",
    "TitleTransferred",
    "HoldSet",
    "HoldLifted",
    "VehicleBranded",
    "VehicleSeized",
    "SeizureLifted",
    "VehicleScrapped",
    "InsuranceLapsed",
    "LienMaturitySweep",
    "LienRecorded",
    "LienCorrected",
    "ForeclosureStarted",
    "EnforcementConsented",
    "SaleOrderRecorded",
    "DisposalCompleted",
    "OwnerConsentSigned",
)
OWNER_EVENTS = (
    "LienRecorded",
    "LienReleased",
    "LienAssigned",
    "LienAmended",
    "LienCorrected",
    "LienMaturitySweep",
    "ForeclosureStarted",
    "DisposalCompleted",
    "TitleTransferred",
    "OwnerConsentRequested",
    "OwnerConsentSigned",
)
NOTIFIED_EVENTS = tuple(sorted(set(LIENHOLDER_EVENTS) | set(OWNER_EVENTS)))


def route(event_name: str, payload: Any, lookup: Lookup) -> Routing:
    """The notifications an event makes and the index changes it implies (pure; see module doc)."""
    data: dict[str, Any] = payload if isinstance(payload, dict) else {}
    out = Routing()
    handler = _HANDLERS.get(event_name)
    if handler is not None:
        vin = str(data["vin"]) if data.get("vin") else None
        handler(out, data, vin, lookup)
    return out


def _registered(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if vin and d.get("owner_hash"):
        out.changes.append(IndexChange("set_owner", vin, str(d["owner_hash"])))


def _title(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    reason = d.get("reason") or "transfer"
    out.tell_orgs(d.get("lienholders"), "registration_change", vin, f"title of {vin} transferred ({reason})")
    out.tell_owner(d.get("previous_owner_hash"), "title_transferred", vin, f"title of {vin} transferred away")
    if vin and d.get("new_owner_hash"):
        out.changes.append(IndexChange("set_owner", vin, str(d["new_owner_hash"])))


def _retail_sale(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    """A floor-planned car sold to its first retail owner: the index follows the new owner, so the liens
    and consents asked of that owner reach them."""
    if vin and d.get("new_owner_hash"):
        out.changes.append(IndexChange("set_owner", vin, str(d["new_owner_hash"])))


def _registration(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    fields = ", ".join(sorted(d.get("changes") or {})) or "registration"
    out.tell_orgs(
        d.get("lienholders"), "registration_change", vin, f"registration of {vin} changed: {fields}"
    )


def _mark(topic: str, verb: str) -> Callable[[Routing, dict[str, Any], str | None, Lookup], None]:
    def handle(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
        out.tell_orgs(d.get("lienholders"), topic, vin, f"{d.get('kind', topic)} {verb} on {vin}")

    return handle


def _indexed(topic: str, text: str) -> Callable[[Routing, dict[str, Any], str | None, Lookup], None]:
    """Events that do not name the lienholders: the index says who holds liens on the vehicle."""

    def handle(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
        if vin:
            out.tell_orgs(lookup(vin).lienholders, topic, vin, text.format_map(_Fields({**d, "vin": vin})))

    return handle


class _Fields(dict[str, Any]):
    def __missing__(self, key: str) -> str:
        return "?"


def _sweep(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    for notice in d.get("notices") or []:
        v = str(notice.get("vin") or "")
        out.tell_orgs(
            [notice.get("lienholder")],
            "lapse_notice",
            v or None,
            f"lien {notice.get('lien_id')} on {v} matures {notice.get('maturity_date')} "
            f"({notice.get('days_left')} days left)",
        )
    for lapsed in d.get("lapsed") or []:
        v, lien_id = str(lapsed.get("vin") or ""), str(lapsed.get("lien_id") or "")
        text = f"lien {lien_id} on {v} lapsed at maturity {lapsed.get('maturity_date')}"
        out.tell_orgs([lapsed.get("lienholder")], "lapse_notice", v or None, text)
        if v:
            out.tell_owner(lookup(v).owner_hash, "lien_released", v, text)
            out.changes.append(IndexChange("remove_lien", v, lien_id=lien_id))


def _lien_recorded(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    holder, lien_id = str(d.get("lienholder") or ""), str(d.get("lien_id") or "")
    parties = lookup(vin)
    text = f"lien {lien_id} recorded on {vin} for {holder} (priority {d.get('priority')})"
    out.tell_owner(parties.owner_hash, "lien_recorded", vin, text)
    out.tell_orgs(parties.lienholders, "lien_recorded_by_other", vin, text, but=holder)
    out.changes.append(IndexChange("add_lien", vin, holder, lien_id))


def _lien_released(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    lien_id = str(d.get("lien_id") or "")
    text = f"lien {lien_id} on {vin} released ({d.get('by') or 'lienholder'})"
    out.tell_owner(lookup(vin).owner_hash, "lien_released", vin, text)
    out.changes.append(IndexChange("remove_lien", vin, lien_id=lien_id))


def _lien_assigned(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    lien_id, holder = str(d.get("lien_id") or ""), str(d.get("lienholder") or "")
    text = f"lien {lien_id} on {vin} assigned from {d.get('previous_lienholder')} to {holder}"
    out.tell_owner(lookup(vin).owner_hash, "lien_assigned", vin, text)
    out.changes.append(IndexChange("add_lien", vin, holder, lien_id))


def _lien_amended(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if vin:
        fields = ", ".join(sorted(d.get("changes") or {}))
        text = f"lien {d.get('lien_id')} on {vin} amended: {fields}"
        out.tell_owner(lookup(vin).owner_hash, "lien_amended", vin, text)


def _lien_corrected(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    lien_id = str(d.get("lien_id") or "")
    changes = d.get("changes") or {}
    cancelled = (changes.get("status") or {}).get("after") == "CANCELLED"
    text = f"lien {lien_id} on {vin} {'struck out' if cancelled else 'corrected'} by the vehicle office"
    out.tell_orgs([d.get("lienholder")], "lien_corrected", vin, text)
    out.tell_owner(lookup(vin).owner_hash, "lien_corrected", vin, text)
    if cancelled:
        out.changes.append(IndexChange("remove_lien", vin, lien_id=lien_id))


def _foreclosure(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    holder = str(d.get("lienholder") or "")
    parties = lookup(vin)
    text = f"{holder} started foreclosure of lien {d.get('lien_id')} on {vin}"
    out.tell_orgs(parties.lienholders, "foreclosure_by_other", vin, text, but=holder)
    out.tell_owner(parties.owner_hash, "foreclosure", vin, text)


def _consented(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    foreclosing = lookup(vin).liens.get(str(d.get("foreclosing_lien_id") or ""))
    text = f"{d.get('lienholder')} consented to enforcement of lien {d.get('foreclosing_lien_id')} on {vin}"
    out.tell_orgs([foreclosing], "enforcement", vin, text)


def _sale_order(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    text = f"court sale order recorded for {vin} ({d.get('court')})"
    out.tell_orgs(d.get("lienholders") or (lookup(vin).lienholders if vin else []), "enforcement", vin, text)


def _disposal(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
    if not vin:
        return
    parties = lookup(vin)
    paid = d.get("distribution") or []
    holders = set(parties.lienholders) | {str(p.get("lienholder")) for p in paid if p.get("lienholder")}
    text = f"{vin} disposed: sold for {d.get('sale_price')} {d.get('currency')}"
    out.tell_orgs(holders, "enforcement", vin, text)
    out.tell_owner(parties.owner_hash, "disposal", vin, text)
    for payout in paid:
        out.changes.append(IndexChange("remove_lien", vin, lien_id=str(payout.get("lien_id") or "")))
    if d.get("buyer_owner_hash"):
        out.changes.append(IndexChange("set_owner", vin, str(d["buyer_owner_hash"])))


def _consent(topic: str, verb: str) -> Callable[[Routing, dict[str, Any], str | None, Lookup], None]:
    """Owner consents (events of the owners' branch: ``OwnerConsentRequested``/``Signed``, payload with
    at least ``consent_id``, ``vin``, ``kind``, ``grantee``; ``owner_hash`` when given, else the index)."""

    def handle(out: Routing, d: dict[str, Any], vin: str | None, lookup: Lookup) -> None:
        owner = d.get("owner_hash") or (lookup(vin).owner_hash if vin else None)
        kind = d.get("kind") or "consent"
        text = f"{kind} consent {d.get('consent_id')} for {vin} {verb}"
        out.tell_owner(str(owner) if owner else None, topic, vin, text)
        if topic == "consent_signed":
            out.tell_orgs([d.get("grantee"), d.get("requester_msp")], topic, vin, text)

    return handle


_HANDLERS: dict[str, Callable[[Routing, dict[str, Any], str | None, Lookup], None]] = {
    "VehicleRegistered": _registered,
    "TitleTransferred": _title,
    "RetailSaleCompleted": _retail_sale,
    "RegistrationChanged": _registration,
    "HoldSet": _mark("hold", "hold set"),
    "HoldLifted": _mark("hold", "hold lifted"),
    "VehicleBranded": _mark("brand", "brand recorded"),
    "VehicleSeized": _indexed("hold", "{vin} seized by {authority}"),
    "SeizureLifted": _indexed("hold", "seizure of {vin} lifted"),
    "VehicleScrapped": _indexed("registration_change", "{vin} scrapped"),
    "InsuranceLapsed": _indexed("lapse_notice", "insurance policy {policy_id} on {vin} lapsed: {reason}"),
    "LienMaturitySweep": _sweep,
    "LienRecorded": _lien_recorded,
    "LienReleased": _lien_released,
    "LienAssigned": _lien_assigned,
    "LienAmended": _lien_amended,
    "LienCorrected": _lien_corrected,
    "ForeclosureStarted": _foreclosure,
    "EnforcementConsented": _consented,
    "SaleOrderRecorded": _sale_order,
    "DisposalCompleted": _disposal,
    "OwnerConsentRequested": _consent("consent_requested", "waits for your signature"),
    "OwnerConsentSigned": _consent("consent_signed", "signed"),
}
