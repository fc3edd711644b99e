"""A committed-block stream in Fabric's format, generated without endorsing (load tests, rebuild drills).

Blocks are real ``common.Block`` messages as a peer commits them — envelopes with channel and
signature headers, ``ChaincodeActionPayload`` → ``ProposalResponsePayload`` → ``ChaincodeAction``
with the ``TxReadWriteSet`` the Mortgage contract writes (records as the contract's own models
serialise them, plus its index and unique keys) and its chaincode event, data hash, header chaining
and the ``TRANSACTIONS_FILTER``. What is not real: signatures are fixed placeholder bytes. The
projector reads blocks the peer has already validated and trusts the peer's filter, as every Fabric
event consumer does, so this does not change what it measures.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.ledger.rwset import rwset_pb2
from fabric_protos.ledger.rwset.kvrwset import kv_rwset_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    chaincode_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

from chaincode.mortgage import store as s
from chaincode.mortgage.models import Lien, LienStatus, Valuation, Vehicle, VehicleStatus
from chaincode.mortgage.vin import with_check_digit

from .blocks import composite_key

PLACEHOLDER_SIGNATURE = bytes(71)
FAKE_CERT = b"-----BEGIN CERTIFICATE-----\n" + b"A" * 760 + b"\n-----END CERTIFICATE-----\n"
MVCC_READ_CONFLICT = 11
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def make_vin(n: int) -> str:
    """A VIN with a valid ISO 3779 check digit, unique per ``n``."""
    return with_check_digit(f"LSVA{n:013d}")


@dataclass
class Expected:
    """What the generated stream must project to (the test's and the benchmark's oracle)."""

    vehicles_by_status: dict[str, int] = field(default_factory=dict)
    liens_by_status: dict[str, int] = field(default_factory=dict)
    transactions: int = 0
    invalid: int = 0


class StreamBuilder:
    """Builds blocks of the Mortgage contract's transactions, numbered from ``first_block``."""

    def __init__(self, channel: str = "vehicles", chaincode: str = "mortgage", first_block: int = 1) -> None:
        self.channel = channel
        self.chaincode = chaincode
        self.number = first_block
        self.previous = b"\x00" * 32
        self.pending: list[tuple[bytes, int]] = []
        self.clock = START
        self.counter = 0
        self.expected = Expected()
        self._creators: dict[str, bytes] = {}

    def _creator(self, msp: str) -> bytes:
        cached = self._creators.get(msp)
        if cached is None:
            cached = identities_pb2.SerializedIdentity(mspid=msp, id_bytes=FAKE_CERT).SerializeToString()
            self._creators[msp] = cached
        return cached

    def tx(
        self,
        msp: str,
        function: str,
        writes: Sequence[tuple[str, bytes | None]],
        event: tuple[str, bytes] | None,
        code: int = 0,
    ) -> str:
        """Queue one transaction (``code`` 0 = VALID) and return its tx id."""
        self.counter += 1
        self.clock += timedelta(seconds=1)
        nonce = self.counter.to_bytes(24, "big")
        creator = self._creator(msp)
        tx_id = hashlib.sha256(nonce + creator).hexdigest()
        cc_id = chaincode_pb2.ChaincodeID(name=self.chaincode)
        header = common_pb2.ChannelHeader(
            type=common_pb2.ENDORSER_TRANSACTION,
            channel_id=self.channel,
            tx_id=tx_id,
            extension=proposal_pb2.ChaincodeHeaderExtension(chaincode_id=cc_id).SerializeToString(),
        )
        header.timestamp.FromDatetime(self.clock)
        sig_header = common_pb2.SignatureHeader(creator=creator, nonce=nonce).SerializeToString()
        kv = kv_rwset_pb2.KVRWSet(
            writes=[kv_rwset_pb2.KVWrite(key=k, is_delete=v is None, value=v or b"") for k, v in writes]
        )
        results = rwset_pb2.TxReadWriteSet(
            data_model=rwset_pb2.TxReadWriteSet.KV,
            ns_rwset=[rwset_pb2.NsReadWriteSet(namespace=self.chaincode, rwset=kv.SerializeToString())],
        ).SerializeToString()
        events = b""
        if event is not None:
            events = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=self.chaincode, tx_id=tx_id, event_name=event[0], payload=event[1]
            ).SerializeToString()
        action = proposal_pb2.ChaincodeAction(
            results=results,
            events=events,
            chaincode_id=cc_id,
            response=proposal_response_pb2.Response(status=200, payload=b"{}"),
        )
        prp = proposal_response_pb2.ProposalResponsePayload(
            proposal_hash=hashlib.sha256(nonce).digest(), extension=action.SerializeToString()
        ).SerializeToString()
        spec = chaincode_pb2.ChaincodeInvocationSpec(
            chaincode_spec=chaincode_pb2.ChaincodeSpec(
                chaincode_id=cc_id, input=chaincode_pb2.ChaincodeInput(args=[function.encode(), b"{}"])
            )
        )
        endorsements = [
            proposal_response_pb2.Endorsement(endorser=self._creator(org), signature=PLACEHOLDER_SIGNATURE)
            for org in ("TrafficAuthorityMSP", "BankAMSP")
        ]
        action_payload = transaction_pb2.ChaincodeActionPayload(
            chaincode_proposal_payload=proposal_pb2.ChaincodeProposalPayload(
                input=spec.SerializeToString()
            ).SerializeToString(),
            action=transaction_pb2.ChaincodeEndorsedAction(
                proposal_response_payload=prp, endorsements=endorsements
            ),
        )
        transaction = transaction_pb2.Transaction(
            actions=[
                transaction_pb2.TransactionAction(
                    header=sig_header, payload=action_payload.SerializeToString()
                )
            ]
        )
        payload = common_pb2.Payload(
            header=common_pb2.Header(channel_header=header.SerializeToString(), signature_header=sig_header),
            data=transaction.SerializeToString(),
        )
        envelope = common_pb2.Envelope(payload=payload.SerializeToString(), signature=PLACEHOLDER_SIGNATURE)
        self.pending.append((envelope.SerializeToString(), code))
        if code == 0:
            self.expected.transactions += 1
        else:
            self.expected.invalid += 1
        return tx_id

    def config_block(self) -> common_pb2.Block:
        """A config block (as a channel update commits one): nothing in it is projected."""
        header = common_pb2.ChannelHeader(type=common_pb2.CONFIG, channel_id=self.channel)
        payload = common_pb2.Payload(
            header=common_pb2.Header(channel_header=header.SerializeToString()), data=b"\x0a\x00"
        )
        envelope = common_pb2.Envelope(payload=payload.SerializeToString(), signature=PLACEHOLDER_SIGNATURE)
        self.pending.append((envelope.SerializeToString(), 0))
        return self.cut()

    def cut(self) -> common_pb2.Block:
        """The queued transactions as one committed block."""
        envelopes = [e for e, _ in self.pending]
        data = common_pb2.BlockData(data=envelopes)
        header = common_pb2.BlockHeader(
            number=self.number,
            previous_hash=self.previous,
            data_hash=hashlib.sha256(b"".join(envelopes)).digest(),
        )
        metadata = common_pb2.BlockMetadata(metadata=[b""] * len(common_pb2.BlockMetadataIndex.keys()))
        metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(code for _, code in self.pending)
        block = common_pb2.Block(header=header, data=data, metadata=metadata)
        self.previous = hashlib.sha256(header.SerializeToString()).digest()
        self.number += 1
        self.pending = []
        return block


def _dump(record: dict[str, Any]) -> bytes:
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _templates() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The contract's own models, serialised once; each generated record is a copy with its values."""
    at = "2026-01-05T08:00:00Z"
    vehicle = Vehicle(
        vin=make_vin(0),
        plate="京A0000000",
        make="BYD",
        model="M",
        trim="",
        year=2020,
        configuration={},
        registration_date=date(2025, 1, 1),
        new_price=Decimal(150000),
        currency="CNY",
        region="Beijing",
        owner_hash="0" * 64,
        status=VehicleStatus.REGISTERED,
        registered_at=at,
        updated_at=at,
        last_tx_id="",
    )
    lien = Lien(
        lien_id="L0",
        vin=make_vin(0),
        lienholder="BankAMSP",
        loan_number="N0",
        mortgage_contract_number="C0",
        secured_amount=Decimal(20000),
        currency="CNY",
        maturity_date=date(2030, 1, 1),
        consent_document_id="D0",
        status=LienStatus.REQUESTED,
        requested_at=at,
        updated_at=at,
        last_tx_id="",
    )
    valuation = Valuation(
        valuation_id="V0",
        vin=make_vin(0),
        value=Decimal(100000),
        currency="CNY",
        interval_low=Decimal(90000),
        interval_high=Decimal(110000),
        coverage=Decimal("0.9"),
        model_id="gbm",
        model_version="1",
        inputs_hash="0" * 64,
        valuer="bank",
        recorded_by="BankAMSP",
        recorded_at=at,
        last_tx_id="",
    )
    return (vehicle.model_dump(mode="json"), lien.model_dump(mode="json"), valuation.model_dump(mode="json"))


@dataclass
class Scenario:
    """A registry's stream: registrations, liens requested and recorded, some released, valuations."""

    vehicles: int
    liens: int
    released: int = 0
    block_size: int = 500
    invalid_every: int = 0  # one MVCC-conflicted duplicate registration every n registrations
    seed: int = 7

    def blocks(self, builder: StreamBuilder | None = None) -> Iterator[common_pb2.Block]:
        b = builder or StreamBuilder()
        rng = random.Random(self.seed)
        ex = b.expected
        vehicle_t, lien_t, valuation_t = _templates()

        def bump(table: dict[str, int], key: str, n: int = 1) -> None:
            table[key] = table.get(key, 0) + n

        def now() -> str:
            return b.clock.isoformat().replace("+00:00", "Z")

        vehicles: dict[str, dict[str, Any]] = {}
        for i in range(self.vehicles):
            vin = make_vin(i)
            at = now()
            vehicle = {
                **vehicle_t,
                "vin": vin,
                "plate": f"京A{i:07d}",
                "make": rng.choice(("BYD", "Geely", "Toyota", "VW")),
                "year": 2018 + i % 8,
                "registration_date": str(date(2025, 1, 1) + timedelta(i % 365)),
                "new_price": str(150000 + (i % 50) * 1000),
                "owner_hash": hashlib.sha256(f"owner{i}".encode()).hexdigest(),
                "registered_at": at,
                "updated_at": at,
            }
            if i < self.liens:
                vehicles[vin] = vehicle
            writes = [
                (composite_key(s.VEHICLE, vin), _dump(vehicle)),
                (composite_key(s.UNQ_PLATE, vehicle["plate"]), vin.encode()),
                (composite_key(s.IDX_VSTATUS, "REGISTERED", vin), s.INDEX_VALUE),
                (composite_key(s.IDX_OWNER, vehicle["owner_hash"], vin), s.INDEX_VALUE),
            ]
            event = ("VehicleRegistered", f'{{"vin":"{vin}"}}'.encode())
            b.tx("TrafficAuthorityMSP", "RegisterVehicle", writes, event)
            bump(ex.vehicles_by_status, "REGISTERED")
            if self.invalid_every and i % self.invalid_every == 0:
                b.tx("TrafficAuthorityMSP", "RegisterVehicle", writes, event, code=MVCC_READ_CONFLICT)
            if len(b.pending) >= self.block_size:
                yield b.cut()
        for j, vin in enumerate(list(vehicles)[: self.liens]):
            holder = "BankAMSP" if j % 3 else "BankBMSP"
            lien_id = f"L{j:08d}"
            at = now()
            value = 100000 + (j % 40) * 2500
            valuation = {
                **valuation_t,
                "valuation_id": f"V{j:08d}",
                "vin": vin,
                "value": str(value),
                "interval_low": str(value * 9 // 10),
                "interval_high": str(value * 11 // 10),
                "recorded_by": holder,
                "recorded_at": at,
            }
            b.tx(
                holder,
                "RecordValuation",
                [
                    (composite_key(s.VALUATION, vin, valuation["valuation_id"]), _dump(valuation)),
                    (composite_key(s.VALLATEST, vin), _dump({"valuation_id": valuation["valuation_id"]})),
                ],
                ("ValuationRecorded", f'{{"vin":"{vin}"}}'.encode()),
            )
            lien = {
                **lien_t,
                "lien_id": lien_id,
                "vin": vin,
                "lienholder": holder,
                "loan_number": f"N{j}",
                "mortgage_contract_number": f"C{j}",
                "secured_amount": str(20000 + (j % 30) * 2000),
                "consent_document_id": f"D{j}",
                "requested_at": at,
                "updated_at": at,
            }
            b.tx(
                holder,
                "RequestLien",
                [
                    (composite_key(s.LIEN, lien_id), _dump(lien)),
                    (composite_key(s.IDX_LVIN, vin, lien_id), s.INDEX_VALUE),
                    (composite_key(s.IDX_LSTATUS, "REQUESTED", lien_id), s.INDEX_VALUE),
                ],
                ("LienRequested", f'{{"lien_id":"{lien_id}","vin":"{vin}"}}'.encode()),
            )
            recorded = {**lien, "status": "RECORDED", "priority": 1, "recorded_at": at}
            vehicle = {
                **vehicles[vin],
                "status": "MORTGAGED",
                "updated_at": at,
                "liens": [{"lien_id": lien_id, "lienholder": holder, "priority": 1}],
            }
            b.tx(
                "TrafficAuthorityMSP",
                "RecordLien",
                [
                    (composite_key(s.LIEN, lien_id), _dump(recorded)),
                    (composite_key(s.VEHICLE, vin), _dump(vehicle)),
                    (composite_key(s.IDX_LSTATUS, "REQUESTED", lien_id), None),
                    (composite_key(s.IDX_LSTATUS, "RECORDED", lien_id), s.INDEX_VALUE),
                ],
                ("LienRecorded", f'{{"lien_id":"{lien_id}","vin":"{vin}"}}'.encode()),
            )
            bump(ex.vehicles_by_status, "REGISTERED", -1)
            if j < self.released:
                released = {**recorded, "status": "RELEASED", "ended_at": at}
                vehicle = {**vehicle, "status": "REGISTERED", "liens": []}
                b.tx(
                    holder,
                    "ReleaseLien",
                    [
                        (composite_key(s.LIEN, lien_id), _dump(released)),
                        (composite_key(s.VEHICLE, vin), _dump(vehicle)),
                    ],
                    ("LienReleased", f'{{"lien_id":"{lien_id}","vin":"{vin}"}}'.encode()),
                )
                bump(ex.vehicles_by_status, "REGISTERED")
                bump(ex.liens_by_status, "RELEASED")
            else:
                bump(ex.vehicles_by_status, "MORTGAGED")
                bump(ex.liens_by_status, "RECORDED")
            if len(b.pending) >= self.block_size:
                yield b.cut()
        if b.pending:
            yield b.cut()
