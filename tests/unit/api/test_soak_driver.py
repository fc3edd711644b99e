"""The soak's driver and checker on an embedded gateway (the real-network run with faults is
tests/integration/test_soak_short.py): the mix goes through, every acknowledged write is found once, a
write the checker was not told about is reported as a duplicate, a lost one as lost, and a 5xx counts
as allowed only inside its own gateway's restart window."""

from __future__ import annotations

import asyncio
import dataclasses
import socket
from pathlib import Path

import uvicorn

from app.demo.soak_load import BANK, TA, Attempt, Fault, Record, SoakClient, Window, run_load
from app.demo.soak_report import figures, timeline, verify
from app.main import create_app
from app.settings import Settings
from app.users.provision import demo_password, ensure_standard_users


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _soak(tmp_path: Path) -> None:
    port = _port()
    app = create_app(Settings(data_dir=tmp_path / "gw", token_secret="t" * 32, demo_mode=True))
    ensure_standard_users(app.state.gw.users, app.state.gw.enroller, [TA, BANK])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    serving = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    users = {TA: ("officer1", "auditor1"), BANK: ("loan1", "models1")}
    passwords = {msp: {u: demo_password(msp, u) for u in names} for msp, names in users.items()}
    client = SoakClient(Record(), {TA: url, BANK: url}, passwords, op_timeout=30)
    try:
        ran: list[str] = []
        record = await run_load(
            client, seconds=3, concurrency=3, faults=[Fault(1, "marker", lambda: ran.append("x"))]
        )
        client.record = Record()
        verdict = await verify(client, record)
        assert ran == ["x"] and [w.name for w in record.faults] == ["marker"]
        assert record.lifecycles >= 3 and not record.refused and not record.unresolved, record.refused
        ops = {a.op for a in record.acks}
        assert ops == {"registration", "valuation", "document", "lien_request", "lien_record", "qr_issue"}
        assert verdict.acknowledged == len(record.acks) and verdict.ok, (verdict.lost, verdict.duplicates)
        assert any(a.op == "qr scan" and a.error is None for a in record.attempts)
        assert timeline(record, 1.0)[1:] and "marker" in "\n".join(timeline(record, 1.0))

        # a write that ran without an acknowledgement the client holds: reported as a duplicate
        recorded = next(a for a in record.acks if a.op == "lien_record")
        fewer = dataclasses.replace(record, acks=[a for a in record.acks if a is not recorded])
        dup = await verify(client, fewer)
        assert any(recorded.key in d and "not acknowledged" in d for d in dup.duplicates), dup.duplicates
        # an acknowledgement whose transaction is not on the ledger: lost
        forged = dataclasses.replace(recorded, body={**recorded.body, "tx_id": "ab" * 32})
        lost = await verify(client, dataclasses.replace(record, acks=[*record.acks, forged]))
        assert any("lien_record" in x and "is None" in x for x in lost.lost), lost.lost
    finally:
        await client.aclose()
        server.should_exit = True
        await serving


def test_soak_mix_is_checked_on_the_ledger(tmp_path: Path) -> None:
    asyncio.run(_soak(tmp_path))


def test_5xx_counts_as_allowed_only_in_its_gateways_restart_window() -> None:
    record = Record()
    record.faults.append(Window("kill -9 gateway", 10.0, 20.0, gateway=TA))
    record.attempts += [
        Attempt("registration", TA, 12.0, 13.0, 503, "503"),  # inside
        Attempt("registration", TA, 24.0, 24.5, 503, "503"),  # within the 5 s grace after the restart
        Attempt("registration", TA, 30.0, 31.0, 500, "500"),  # after: outside
        Attempt("lien_request", BANK, 12.0, 13.0, 503, "503"),  # another gateway: outside
        Attempt("read vehicle", TA, 1.0, 1.2, 200, None),
    ]
    f = figures(record, restart_grace=5.0)
    assert f.fivexx_in_restart == 2
    assert [(a.gateway, a.status) for a in f.fivexx_outside] == [(TA, 500), (BANK, 503)]
    assert f.ok == 1 and f.errors["503"] == 3 and f.errors["500"] == 1
