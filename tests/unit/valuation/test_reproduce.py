from __future__ import annotations

import pytest

from app.valuation.errors import InputError, ModelNotFoundError
from app.valuation.registry import ModelRegistry
from app.valuation.schemas import VehicleInput
from app.valuation.service import ValuationService, canonical_inputs, chain_record

from .conftest import VEHICLE, Trained


def test_reproduce_matches_exactly_in_a_fresh_service(trained: Trained) -> None:
    recorded = trained.service.value(VehicleInput.model_validate(VEHICLE))
    assert recorded.model.ref == trained.registered.ref
    fresh = ValuationService(ModelRegistry(trained.root))  # no cache shared with the first
    result = fresh.reproduce(recorded.model.ref, recorded.inputs, recorded.input_hash, recorded.value)
    assert result.match and result.input_hash_match and result.value_match
    assert result.recomputed.value == recorded.value
    assert result.recomputed.interval == recorded.interval


def test_reproduce_detects_changed_inputs_or_value(trained: Trained) -> None:
    recorded = trained.service.value(VehicleInput.model_validate(VEHICLE))
    tampered = {**recorded.inputs, "mileage_km": recorded.inputs["mileage_km"] + 1}
    result = trained.service.reproduce(recorded.model.ref, tampered, recorded.input_hash, recorded.value)
    assert not result.match and result.input_hash_match is False
    wrong_value = trained.service.reproduce(recorded.model.ref, recorded.inputs, recorded.input_hash, 1.0)
    assert not wrong_value.match and wrong_value.value_match is False


def test_input_hash_is_stable_across_equivalent_requests(trained: Trained) -> None:
    a = canonical_inputs(VehicleInput.model_validate(VEHICLE))
    b = canonical_inputs(
        VehicleInput.model_validate({**VEHICLE, "mileage_km": 52000.0, "new_price": "219800"})
    )
    assert a == b
    first = trained.service.value_inputs(a)
    assert first.input_hash == trained.service.value_inputs(b).input_hash


def test_maintenance_records_split_recent_from_older() -> None:
    data = {k: v for k, v in VEHICLE.items() if not k.startswith("repair_cost")}
    records = [
        {"date": "2024-10-01", "cost": 1000},  # within 3 months of 2024-11-30
        {"date": "2023-01-01", "cost": 500},
    ]
    inputs = canonical_inputs(VehicleInput.model_validate({**data, "maintenance_records": records}))
    assert inputs["repair_cost_recent_3m"] == 1000.0 and inputs["repair_cost_older"] == 500.0
    with pytest.raises(InputError, match="not both"):
        canonical_inputs(
            VehicleInput.model_validate({**data, "maintenance_records": records, "repair_cost_older": 1.0})
        )


def test_unknown_model_version_and_tampered_artefact(trained: Trained) -> None:
    with pytest.raises(ModelNotFoundError):
        trained.service.reproduce("residual-value@999", dict(VEHICLE))
    registry = ModelRegistry(trained.root)
    reg = registry.get("residual-value", trained.registered.version)
    assert registry.get("residual-value").version >= reg.version
    assert reg.artefact().startswith(b"{")  # plain JSON, never a pickle
    artefact = reg.path / "model.json"
    artefact.write_bytes(artefact.read_bytes().replace(b'"q":', b'"q": ', 1))
    from app.valuation.errors import ValuationError

    with pytest.raises(ValuationError, match="tampered"):
        ValuationService(ModelRegistry(trained.root)).load(reg.ref)
    artefact.write_bytes(artefact.read_bytes().replace(b'"q": ', b'"q":', 1))


def test_bad_values_name_the_field(trained: Trained) -> None:
    with pytest.raises(InputError, match="'colour'"):
        trained.service.value(VehicleInput.model_validate({**VEHICLE, "colour": "red"}))
    lada = trained.service.value(VehicleInput.model_validate({**VEHICLE, "make": "Lada", "region": "XX"}))
    assert any("pooled level" in f for f in lada.flags)  # unseen levels fall back, never refuse
    with pytest.raises(InputError, match="valuation_date"):
        trained.service.value(VehicleInput.model_validate({**VEHICLE, "valuation_date": "2999-01-01"}))
    with pytest.raises(InputError, match="first_registration"):
        trained.service.value(VehicleInput.model_validate({**VEHICLE, "first_registration": "2024-12-01"}))
    with pytest.raises(InputError, match="new_price"):
        trained.service.value(
            VehicleInput.model_validate({k: v for k, v in VEHICLE.items() if k != "new_price"})
        )


def test_chain_record_has_the_contract_fields(trained: Trained) -> None:
    valuation = trained.service.value(VehicleInput.model_validate(VEHICLE))
    record = chain_record(valuation, "VAL-1", "LSVAB2180E2100001", "BankAMSP/loan1")
    assert (
        record["model_version"] == trained.registered.ref
        and record["model_id"] == trained.registered.model_id
    )
    assert record["inputs_hash"] == valuation.input_hash and record["value"] == f"{valuation.value:.2f}"
    assert float(record["interval_low"]) < float(record["value"]) < float(record["interval_high"])


def test_reproduce_matches_in_another_process(trained: Trained) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    recorded = trained.service.value(VehicleInput.model_validate(VEHICLE))
    script = (
        "import json, sys\n"
        "from app.valuation.registry import ModelRegistry\n"
        "from app.valuation.service import ValuationService\n"
        "rec = json.loads(sys.stdin.read())\n"
        "out = ValuationService(ModelRegistry(rec['root'])).value_inputs(rec['inputs'], rec['ref'])\n"
        "print(json.dumps({'value': out.value, 'hash': out.input_hash, 'low': out.interval.low}))\n"
    )
    payload = json.dumps({"root": str(trained.root), "inputs": recorded.inputs, "ref": recorded.model.ref})
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", script], input=payload, capture_output=True, text=True, cwd=repo, timeout=120,
        check=True,
    )  # fmt: skip
    other = json.loads(done.stdout)
    assert other == {"value": recorded.value, "hash": recorded.input_hash, "low": recorded.interval.low}


def test_model_reference_cannot_escape_the_registry(trained: Trained) -> None:
    for ref in ("../../etc@1", "Residual/Value@1", "a b"):
        with pytest.raises(ModelNotFoundError, match="bad model"):
            trained.service.load(ref)


def test_workshop_odometer_above_stated_mileage_is_flagged(trained: Trained) -> None:
    data = {k: v for k, v in VEHICLE.items() if not k.startswith("repair_cost")}
    records = [{"date": "2024-01-10", "cost": 800, "odometer_km": 61_000}]
    result = trained.service.value(VehicleInput.model_validate({**data, "maintenance_records": records}))
    assert len(result.flags) == 1 and "possible odometer rollback" in result.flags[0]
    clean = [{"date": "2024-01-10", "cost": 800, "odometer_km": 45_000}]
    assert (
        trained.service.value(VehicleInput.model_validate({**data, "maintenance_records": clean})).flags == []
    )
