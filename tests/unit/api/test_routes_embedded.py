"""Every route family through the HTTP API on the embedded ledger (the real contract, real MVCC)."""

from __future__ import annotations

from tests.unit.api.builders import (
    AUDITOR,
    BANK_A,
    BANK_B,
    DEALER,
    INSURER,
    REGULATOR,
    TA,
    TODAY,
    Api,
    lien,
    registration,
    valuation,
    vin,
)


def test_vehicle_register_read_query_and_owner_privacy(api: Api) -> None:
    created = api.register(1)
    assert len(created["tx_id"]) == 64 and created["block_number"] >= 1
    assert created["validation_code"] == "VALID"
    assert created["result"]["vin"] == vin(1) and created["result"]["status"] == "REGISTERED"
    assert created["owner_hash"] == created["result"]["owner_hash"]
    assert "Chen Jie" not in str(created)

    record = api.ok(api.get(BANK_A, f"/vehicles/{vin(1)}"))
    assert record["plate"] == "京T00001" and "name" not in record
    assert api.ok(api.get(INSURER, f"/vehicles/by-plate/{record['plate']}"))["vin"] == vin(1)
    status = api.ok(api.get(DEALER, f"/vehicles/{vin(1)}/status"))
    assert status["status"] == "REGISTERED" and status["encumbered"] is False

    owner = api.ok(api.get(TA, f"/vehicles/{vin(1)}/owner"))
    assert owner["name"] == "Chen Jie"
    refused = api.get(INSURER, f"/vehicles/{vin(1)}/owner")
    assert refused.status_code == 403 and "owner_read" in refused.json()["error"]["message"]

    page = api.ok(api.get(AUDITOR, "/vehicles", params={"status": "REGISTERED", "page_size": 10}))
    assert [r["vin"] for r in page["records"]] == [vin(1)]

    dup = api.post(TA, "/vehicles", json=registration(1))
    assert dup.status_code == 409
    missing = api.get(BANK_A, f"/vehicles/{vin(99)}")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_lien_lifecycle_ltv_transfer_conflict_and_history(api: Api) -> None:
    api.register(2)
    lien_a = api.mortgage(2, "A", amount="100000.00")
    assert api.ok(api.get(BANK_A, f"/liens/{lien_a}"))["priority"] == 1
    assert api.ok(api.get(DEALER, f"/vehicles/{vin(2)}/status"))["status"] == "MORTGAGED"

    transfer = {"new_owner": {"name": "Sun Li", "id_number": "110101199901019999"}, "reason": "sale"}
    refused = api.post(TA, f"/vehicles/{vin(2)}/transfer", json=transfer)
    assert refused.status_code == 409 and "recorded lien" in refused.json()["error"]["message"]

    consent = api.ok(api.upload(BANK_B, "owner_consent", b"second consent", vin=vin(2)), 201)
    too_much = lien(2, "B", consent["document"]["document_id"], amount="50000.00")
    api.ok(api.post(BANK_B, "/liens", json=too_much), 201)
    ltv = api.post(TA, "/liens/L-2-B/record")
    assert ltv.status_code == 409 and "LTV exceeded" in ltv.json()["error"]["message"]
    assert (
        api.ok(api.post(TA, "/liens/L-2-B/reject", json={"reason": "LTV"}))["result"]["status"] == "REJECTED"
    )

    page = api.ok(api.get(REGULATOR, "/liens", params={"vin": vin(2)}))
    assert sorted(r["status"] for r in page["records"]) == ["RECORDED", "REJECTED"]

    released = api.ok(api.post(BANK_A, f"/liens/{lien_a}/release"))
    assert released["result"]["status"] == "RELEASED"
    before = api.ok(api.get(TA, f"/vehicles/{vin(2)}"))["owner_hash"]
    moved = api.ok(api.post(TA, f"/vehicles/{vin(2)}/transfer", json=transfer))
    assert moved["result"]["owner_hash"] != before
    assert api.ok(api.get(TA, f"/vehicles/{vin(2)}/owner"))["name"] == "Sun Li"

    history = api.ok(api.get(AUDITOR, f"/vehicles/{vin(2)}/history"))
    assert len(history) >= 4
    assert all(len(h["tx_id"]) == 64 and isinstance(h["block_number"], int) for h in history)
    assert len({h["tx_id"] for h in history}) == len(history)
    lien_history = api.ok(api.get(REGULATOR, f"/liens/{lien_a}/history"))
    chronological = sorted(lien_history, key=lambda h: h["block_number"])
    assert [h["value"]["status"] for h in chronological] == ["REQUESTED", "RECORDED", "RELEASED"]
    assert api.get(BANK_A, f"/vehicles/{vin(2)}/history").status_code == 403

    tx = api.ok(api.get(BANK_A, f"/transactions/{moved['tx_id']}"))
    assert tx == {k: moved[k] for k in ("tx_id", "block_number", "validation_code", "timestamp")}
    assert api.get(BANK_A, "/transactions/" + "0" * 64).status_code == 404


def test_seizure_insurance_records_valuation_and_config(api: Api) -> None:
    api.register(3)
    order = {"document_id": "", "authority": "Court", "reason": "judgment"}
    doc = api.ok(api.upload(TA, "court_order", b"court order", vin=vin(3)), 201)["document"]["document_id"]
    seized = api.ok(api.post(TA, f"/vehicles/{vin(3)}/seizure", json={**order, "document_id": doc}))
    assert seized["result"]["status"] == "SEIZED"
    lifted = api.ok(api.post(TA, f"/vehicles/{vin(3)}/seizure/lift", json={**order, "document_id": doc}))
    assert lifted["result"]["status"] == "REGISTERED"

    policy = {
        "policy_id": "POL-3",
        "vin": vin(3),
        "coverage": {"type": "comprehensive", "amount": "50000.00", "currency": "CNY"},
        "valid_from": TODAY.replace(year=TODAY.year - 1).isoformat(),
        "valid_to": TODAY.replace(year=TODAY.year + 1).isoformat(),
    }
    api.ok(api.post(INSURER, "/insurance/policies", json=policy), 201)
    claim = {
        "claim_id": "C1",
        "policy_id": "POL-3",
        "incident_date": TODAY.isoformat(),
        "description": "dent",
    }
    too_big = api.post(INSURER, "/insurance/claims", json={**claim, "amount": "60000.00"})
    assert too_big.status_code == 409
    api.ok(api.post(INSURER, "/insurance/claims", json={**claim, "amount": "1200.00"}), 201)
    api.ok(api.post(INSURER, "/insurance/policies/POL-3/lapse", json={"reason": "unpaid premium"}))
    policies = api.ok(api.get(BANK_A, f"/vehicles/{vin(3)}/insurance"))
    assert policies[0]["status"] == "LAPSED" and len(policies[0]["claims"]) == 1

    reading = {"vin": vin(3), "odometer_km": 50000, "source": "inspection"}
    api.ok(api.post(DEALER, "/odometer", json=reading), 201)
    api.ok(api.post(DEALER, "/odometer", json={**reading, "odometer_km": 40000}), 201)
    odo = api.ok(api.get(BANK_A, f"/vehicles/{vin(3)}/odometer"))
    assert odo["odometer_km"] == 50000 and len(odo["anomalies"]) == 1
    maintenance = {
        "record_id": "M1", "vin": vin(3), "date": TODAY.isoformat(), "odometer_km": 50100, "cost": "300.00",
        "currency": "CNY", "kind": "service", "description": "oil",
    }  # fmt: skip
    api.ok(api.post(DEALER, "/maintenance", json=maintenance), 201)
    assert len(api.ok(api.get(INSURER, f"/vehicles/{vin(3)}/maintenance"))) == 1
    assert api.post(BANK_A, "/maintenance", json={**maintenance, "record_id": "M2"}).status_code == 403

    api.register_model(BANK_B)
    refused = api.post(BANK_B, "/valuation-records", json=valuation(3, "88000.00"))  # BankB has no lien on it
    assert refused.status_code == 403 and "valuer_lien" in refused.json()["error"]["message"]
    api.ok(api.post(TA, "/valuation-records", json=valuation(3, "88000.00")), 201)
    latest = api.ok(api.get(BANK_A, f"/vehicles/{vin(3)}/valuations/latest"))
    assert latest["value"] == "88000.00" and latest["stale"] is False
    bad = api.post(BANK_B, "/valuation-records", json=valuation(3, "88000.00", inputs_hash="xyz"))
    assert bad.status_code == 400 and bad.json()["error"]["details"][0]["field"] == "inputs_hash"

    assert api.ok(api.get(DEALER, "/config"))["ltv_cap"] in ("0.8", 0.8)
    set_config = api.put(
        "admin@TrafficAuthorityMSP", "/config", json={"ltv_cap": "0.7", "valuation_max_age_days": 30}
    )
    assert api.ok(set_config)["result"]["valuation_max_age_days"] == 30
    assert api.put(TA, "/config", json={"ltv_cap": "0.7", "valuation_max_age_days": 30}).status_code == 403


def test_health_readiness_and_metrics(api: Api) -> None:
    assert api.client.get("/healthz").json() == {"status": "ok"}
    ready = api.client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["ledger.status"] == "ok" and ready.json()["ipfs"] == "ok"
    body = ready.json()
    assert {"readmodel.height", "readmodel.lag_blocks", "notifier.checkpoint_block"} <= set(body), body
    assert "readmodel.behind" not in body and "notifier.behind" not in body
    # a stalled read model says why, without taking the gateway out of service
    model = api.client.app.state.gw.readmodel  # type: ignore[attr-defined]
    model.follower.failing, model.follower.position = (
        "BlockEventsError: stream broke",
        model.store.next_block(),
    )
    stalled = api.client.get("/readyz")
    assert stalled.status_code == 200, stalled.text
    assert stalled.json()["readmodel.behind"].endswith(
        "block stream failing (BlockEventsError: stream broke)"
    )
    api.get(BANK_A, f"/vehicles/{vin(77)}")
    metrics = api.client.get("/metrics", headers=api.headers("admin@BankAMSP")).text
    assert 'mledger_http_requests_total{method="GET",route="/api/v1/vehicles/{vin}",status="404"}' in metrics
    assert "mledger_ledger_call_seconds_bucket" in metrics
