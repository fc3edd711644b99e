"""What a soak run shows: each acknowledged write checked on the ledger, a timeline, the error counts.

Lost: an acknowledged write whose transaction is not VALID on the channel, or whose business record is
missing. Duplicate: a write that ran twice — a transaction on one of the run's vehicle or lien keys that
no acknowledged answer names (every write on those keys is the run's own), a valuation or document id
recorded twice, or a QR code other than the acknowledged one being current (a re-run issue revokes it).
A 5xx answer counts as allowed only while its gateway was restarting (from the kill until it answered
/readyz, plus ``restart_grace`` seconds).
"""

from __future__ import annotations

import asyncio
import statistics
from collections import Counter, defaultdict
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from app.demo.soak_load import AUDITOR, OFFICER, TA, Ack, Attempt, Record, SoakClient


@dataclass
class Verdict:
    acknowledged: int = 0
    lost: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.lost and not self.duplicates


def _records(answer: Any) -> list[dict[str, Any]]:
    if isinstance(answer, dict):
        for name in ("records", "history", "items", "valuations", "documents"):
            if isinstance(answer.get(name), list):
                return [r for r in answer[name] if isinstance(r, dict)]
        return []
    return [r for r in answer if isinstance(r, dict)] if isinstance(answer, list) else []


async def verify(client: SoakClient, record: Record, concurrency: int = 16) -> Verdict:
    """Check every acknowledged write on the ledger through the Traffic Authority's gateway
    (``concurrency`` checks at a time)."""
    verdict = Verdict(acknowledged=len(record.acks))
    acked_tx = {tx for tx in (a.tx_id for a in record.acks) if tx is not None}
    by_vin: dict[str, list[Any]] = defaultdict(list)
    for ack in record.acks:
        by_vin[ack.vin].append(ack)
    gate = asyncio.Semaphore(concurrency)

    async def get(op: str, user: str, path: str) -> Any:
        async with gate:
            return await client.read(op, TA, user, "GET", path)

    async def check_tx(ack: Ack) -> None:
        tx = ack.tx_id
        if tx is None:
            verdict.lost.append(f"{ack.op} {ack.key}: the answer names no transaction")
            return
        status = await get("verify tx", OFFICER, f"/transactions/{tx}")
        if not status or status.get("validation_code") != "VALID":
            verdict.lost.append(
                f"{ack.op} {ack.key}: tx {tx[:12]} is {status and status.get('validation_code')}"
            )

    async def check_history(what: str, key: str, path: str) -> None:
        answer = await get("verify history", AUDITOR, path)
        if answer is None:
            verdict.lost.append(f"{what} {key}: no history")
            return
        seen = Counter(str(h.get("tx_id")) for h in _records(answer))
        for tx, n in seen.items():
            if tx not in acked_tx or n > 1:
                verdict.duplicates.append(f"{what} {key}: tx {tx[:12]} ×{n} not acknowledged once")

    async def check_once(what: str, field_name: str, key: str, path: str) -> None:
        n = sum(1 for r in _records(await get(f"verify {what}", OFFICER, path)) if r.get(field_name) == key)
        if n != 1:
            (verdict.lost if n == 0 else verdict.duplicates).append(f"{what} {key}: ×{n}")

    async def check_qr(vin: str, acked: Any) -> None:
        current = await get("verify qr", OFFICER, f"/vehicles/{vin}/qr")
        if not isinstance(current, dict) or current.get("code_id") != acked:
            got = current.get("code_id") if isinstance(current, dict) else None
            verdict.duplicates.append(f"qr {vin}: current code {got}, acknowledged {acked}")

    checks: list[Coroutine[Any, Any, None]] = [check_tx(a) for a in record.acks]
    for vin, acks in by_vin.items():
        ops = {a.op: a for a in acks}
        checks.append(check_history("vehicle", vin, f"/vehicles/{vin}/history"))
        if "lien_request" in ops:
            lien_id = ops["lien_request"].key
            checks.append(check_history("lien", lien_id, f"/liens/{lien_id}/history"))
        if "valuation" in ops:
            key = ops["valuation"].key
            checks.append(check_once("valuation", "valuation_id", key, f"/vehicles/{vin}/valuations"))
        if "document" in ops:
            key = ops["document"].key
            checks.append(check_once("document", "document_id", key, f"/vehicles/{vin}/documents"))
        if "qr_issue" in ops:
            checks.append(check_qr(vin, ops["qr_issue"].body.get("code_id")))
    await asyncio.gather(*checks)
    return verdict


def in_restart(a: Attempt, record: Record, grace: float) -> bool:
    return any(
        w.gateway == a.gateway and w.start <= a.t1 and a.t0 <= (w.end if w.end is not None else a.t1) + grace
        for w in record.faults
    )


@dataclass
class Figures:
    errors: Counter[str]
    fivexx_in_restart: int
    fivexx_outside: list[Attempt]
    ok: int
    seconds: float
    p50_ms: float
    p95_ms: float


def figures(record: Record, restart_grace: float = 5.0) -> Figures:
    errors: Counter[str] = Counter()
    inside = 0
    outside: list[Attempt] = []
    latencies = [a.t1 - a.t0 for a in record.attempts if a.error is None]
    for a in record.attempts:
        if a.error is None:
            continue
        errors[f"{a.error} ({a.op})" if a.error.startswith("4") else a.error] += 1
        if a.status is not None and a.status >= 500:
            if in_restart(a, record, restart_grace):
                inside += 1
            else:
                outside.append(a)
    seconds = max((a.t1 for a in record.attempts), default=0.0)
    return Figures(
        errors, inside, outside, len(latencies), seconds, _pct(latencies, 0.5), _pct(latencies, 0.95)
    )


def _pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] * 1000


def timeline(record: Record, bucket: float = 30.0) -> list[str]:
    """One line per ``bucket`` seconds: requests ok, their p50/p95, errors by kind, faults under way."""
    rows: dict[int, list[Attempt]] = defaultdict(list)
    for a in record.attempts:
        rows[int(a.t1 // bucket)].append(a)
    lines = [f"{'window':>11} {'ok':>6} {'req/s':>6} {'p50 ms':>8} {'p95 ms':>8}  errors; faults"]
    for i in range(max(rows, default=-1) + 1):
        done = rows.get(i, [])
        ok = [a.t1 - a.t0 for a in done if a.error is None]
        errs = Counter(a.error for a in done if a.error is not None)
        start, end = i * bucket, (i + 1) * bucket
        marks = [w.name for w in record.faults if w.start < end and (w.end is None or w.end >= start)]
        err = ", ".join(f"{k} {n}" for k, n in sorted(errs.items())) or "-"
        lines.append(
            f"{start:5.0f}-{end:<5.0f} {len(ok):6d} {len(ok) / bucket:6.1f} {_pct(ok, 0.5):8.0f} "
            f"{_pct(ok, 0.95):8.0f}  {err}" + (f"; [{'; '.join(marks)}]" if marks else "")
        )
    return lines


def summary(record: Record, verdict: Verdict, f: Figures) -> list[str]:
    by_op = Counter(a.op for a in record.acks)
    lines = [
        f"lifecycles completed {record.lifecycles}; requests ok {f.ok} in {f.seconds:.0f} s "
        f"({f.ok / max(f.seconds, 1e-9):.1f}/s), p50 {f.p50_ms:.0f} ms, p95 {f.p95_ms:.0f} ms",
        f"writes acknowledged {verdict.acknowledged} ("
        + ", ".join(f"{op} {n}" for op, n in sorted(by_op.items()))
        + ")",
        f"writes lost {len(verdict.lost)}; duplicates {len(verdict.duplicates)}; "
        f"unresolved {len(record.unresolved)}; refused {len(record.refused)}",
        f"5xx during a gateway restart {f.fivexx_in_restart}; 5xx outside {len(f.fivexx_outside)}",
        "errors by kind: " + (", ".join(f"{k} {n}" for k, n in f.errors.most_common()) or "none"),
        "faults: " + "; ".join(f"{w.name} at {w.start:.0f}-{(w.end or 0):.0f} s" for w in record.faults),
    ]
    for what, items in (("lost", verdict.lost), ("duplicate", verdict.duplicates)):
        lines += [f"  {what}: {x}" for x in items[:20]]
    lines += [f"  unresolved: {op} {key}: {why}" for op, key, why in record.unresolved[:20]]
    lines += [f"  refused: {op} {key}: {status} {msg}" for op, key, status, msg in record.refused[:20]]
    lines += [
        f"  5xx outside a restart: {a.op} {a.gateway} {a.status} at {a.t0:.1f} s"
        for a in f.fivexx_outside[:20]
    ]
    if record.attempts:
        lines.append(
            f"mean attempt latency {statistics.fmean(a.t1 - a.t0 for a in record.attempts) * 1000:.0f} ms"
        )
    return lines
