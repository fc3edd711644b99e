"""Promotion registers the model version on chain (issue 15 point 7 without the manual step): after a
retrain that promotes, on the embedded backend, a valuation citing the new version is accepted with no
``POST /model-versions``; promoting it again is idempotent; the CLI, with no ledger identity, says the
registration is pending and prints the exact command."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from app.services.valuation import valuation_service
from app.valuation.canonical import sha256_hex
from app.valuation.chain_registration import card_bytes
from app.valuation.cli import app as valuation_cli
from app.valuation.lender_shapes import lender_sales, to_csv
from app.valuation.registry import ModelRegistry
from app.valuation.service import ValuationService
from tests.unit.api.builders import BANK_A, REGULATOR, TA, Api, lien, vin

MODELS = "models1@BankAMSP"
CAR = {
    "make": "Toyota", "model": "TOY2", "body_type": "suv", "first_registration": "2021-05-12",
    "valuation_date": "2025-06-01", "mileage_km": 52_000,
}  # fmt: skip
MARKET = lender_sales("no_list_price", 480, seed=2)


def _csv(rows: slice) -> bytes:
    return to_csv(MARKET.iloc[rows])


def _train(api: Api, path: str, rows: slice) -> dict:  # type: ignore[type-arg]
    files = {"file": ("sales.csv", _csv(rows), "text/csv")}
    return api.ok(api.post(MODELS, path, files=files, data={"num_boost_round": "200"}))  # type: ignore[no-any-return]


def test_a_promoted_version_is_registered_and_valuations_citing_it_are_accepted(
    api: Api, tmp_path: Path
) -> None:
    service = ValuationService(ModelRegistry(tmp_path / "models"))
    api.client.app.dependency_overrides[valuation_service] = lambda: service  # type: ignore[attr-defined]
    first = _train(api, "/valuation/train", slice(0, 40))
    assert first["promoted"] and first["chain_registration"]["status"] == "registered"
    retrained = _train(api, "/valuation/retrain", slice(40, 440))
    assert retrained["comparison"]["promoted"], retrained["comparison"]
    registration = retrained["chain_registration"]
    assert (registration["status"], registration["model_version"]) == ("registered", "residual-value-banka@2")
    # the hash on chain is the model card file's
    registered = service.registry.get("residual-value-banka", 2)
    assert registration["model_card_sha256"] == sha256_hex(card_bytes(registered))
    on_chain = {m["model_version"]: m for m in api.ok(api.get(REGULATOR, "/model-versions"))}
    assert on_chain["residual-value-banka@2"]["model_card_sha256"] == registration["model_card_sha256"]

    api.register(401)
    consent = api.ok(api.upload(BANK_A, "owner_consent", b"consent 401", vin=vin(401)), 201)["document"]
    api.ok(api.post(BANK_A, "/liens", json=lien(401, "A", consent["document_id"])), 201)
    valued = api.ok(api.post(BANK_A, "/valuation/value", json={"vehicle": CAR}))
    assert valued["model"]["ref"] == "residual-value-banka@2"
    record = {
        "valuation_id": "VAL-401", "vin": vin(401), "value": f"{valued['value']:.2f}", "currency": "CNY",
        "interval_low": f"{valued['interval']['low']:.2f}",
        "interval_high": f"{valued['interval']['high']:.2f}",
        "coverage": valued["interval"]["coverage"], "model_id": valued["model"]["model_id"],
        "model_version": valued["model"]["ref"], "inputs_hash": valued["input_hash"], "valuer": "BankA desk",
    }  # fmt: skip
    recorded = api.ok(api.post(BANK_A, "/valuation-records", json=record), 201)["result"]
    assert recorded["attestation"].startswith(f"model:{registered.model_id}@residual-value-banka@2#")

    # promoting again (back to 1, then 2) registers nothing twice
    for version in (1, 2):
        again = api.ok(api.post(MODELS, "/valuation/models/promote", json={"version": version}))
        assert again["chain_registration"]["status"] == "already_registered"
    assert (
        len([m for m in api.ok(api.get(TA, "/model-versions")) if m["model_id"] == registered.model_id]) == 1
    )


def test_the_cli_promotes_off_chain_and_prints_the_registration_command(tmp_path: Path) -> None:
    csv = tmp_path / "sales.csv"
    csv.write_bytes(_csv(slice(0, 40)))
    models = str(tmp_path / "models")
    trained = CliRunner().invoke(
        valuation_cli, ["train", "--csv", str(csv), "--rounds", "50", "--models-dir", models]
    )
    assert trained.exit_code == 0, trained.output
    assert "on-chain registration pending" in trained.output
    command = next(line.strip() for line in trained.output.splitlines() if line.strip().startswith("curl "))
    body = json.loads(command.rsplit(" -d ", 1)[1].strip("'"))
    registered = ModelRegistry(models).get("residual-value", 1)
    assert body == {
        "model_card_sha256": sha256_hex(card_bytes(registered)),
        "model_id": registered.model_id,
        "model_version": "residual-value@1",
    }
    assert "/api/v1/model-versions" in command
    card_file = registered.path / "model-card.json"
    assert sha256_hex(card_file.read_bytes()) == body["model_card_sha256"]
