"""Ordering and committing: cut a block from endorsed envelopes, validate each tx, write it all at once.

Validation follows a Fabric peer's committer, in the same order:
1. duplicate tx id → ``DUPLICATE_TXID``; bad creator signature → ``BAD_CREATOR_SIGNATURE``;
2. endorsement (VSCC, v2 key-level semantics): each endorsement's signature is checked over
   ``prp ‖ endorser`` and its certificate against the org's CA; every written key (public, private
   hashed, metadata) is checked against its key-level policy (validation parameter) if it has one,
   else against the collection's or the chaincode's policy → ``ENDORSEMENT_POLICY_FAILURE``;
3. MVCC: every read version must still be current, counting writes by earlier valid txs of the same
   block → ``MVCC_READ_CONFLICT``; every range query re-executed must return the same keys and
   versions → ``PHANTOM_READ_CONFLICT``.
Then the block (with its TRANSACTIONS_FILTER), state, private data, history, events and the tx index
are written in one SQLite transaction.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fabric_protos.common import common_pb2, policies_pb2
from fabric_protos.msp import identities_pb2
from fabric_protos.peer import (
    chaincode_event_pb2,
    transaction_pb2,
)

from app.ledger.embedded import protocol
from app.ledger.embedded.ca import IdentityIssuer, certificate_ou
from app.ledger.embedded.collections import Collection
from app.ledger.embedded.endorsed_tx import ParsedTx, micros, parse_envelope
from app.ledger.embedded.pending import (
    DELETED,
    Missing,
    PendingWrites,
    merged_range,
    read_version,
    version_of,
)
from app.ledger.embedded.policy import PolicyError, Signer, envelope_from_bytes, evaluate
from app.ledger.embedded.rwset import (
    VALIDATION_PARAMETER,
    metadata_from_bytes,
    metadata_to_bytes,
    parse,
    parse_private,
)
from app.ledger.embedded.store import StateView, VersionedValue

logger = logging.getLogger(__name__)
V = transaction_pb2.TxValidationCode


@dataclass(frozen=True, slots=True)
class ChaincodeDefinition:
    name: str
    policy: policies_pb2.SignaturePolicyEnvelope
    collections: dict[str, Collection]


@dataclass(frozen=True, slots=True)
class Candidate:
    envelope: bytes
    private_rwset: bytes | None = None


@dataclass(frozen=True, slots=True)
class TxOutcome:
    tx_id: str
    tx_num: int
    code: int
    payload: bytes
    timestamp: datetime


class Committer:
    """Cuts and commits blocks on the single write connection (used from one thread only)."""

    def __init__(
        self,
        conn: sqlite3.Connection,
        issuer: IdentityIssuer,
        chaincodes: dict[str, ChaincodeDefinition],
        channel: str,
    ) -> None:
        self._conn = conn
        self._issuer = issuer
        self._chaincodes = chaincodes
        self._channel = channel
        self._ca_keys: dict[str, ec.EllipticCurvePublicKey] = {}
        self._cert_cache: dict[bytes, tuple[str, str | None, ec.EllipticCurvePublicKey] | None] = {}
        self._orderer = issuer.issue("OrdererMSP", "orderer0", {}, ou="orderer")

    # --- identities --------------------------------------------------------------------
    def _ca_key(self, msp_id: str) -> ec.EllipticCurvePublicKey:
        key = self._ca_keys.get(msp_id)
        if key is None:
            cert = x509.load_pem_x509_certificate(self._issuer.ca_certificate(msp_id))
            loaded = cert.public_key()
            assert isinstance(loaded, ec.EllipticCurvePublicKey)
            key = self._ca_keys[msp_id] = loaded
        return key

    def identity(self, serialized: bytes) -> tuple[str, str | None, ec.EllipticCurvePublicKey] | None:
        """(MSP id, NodeOU, public key) of a serialized identity whose cert its org's CA issued."""
        if serialized in self._cert_cache:
            return self._cert_cache[serialized]
        result = None
        try:
            ident = identities_pb2.SerializedIdentity()
            ident.ParseFromString(serialized)
            cert = x509.load_pem_x509_certificate(ident.id_bytes)
            ca_key = self._ca_key(ident.mspid)
            hash_alg = cert.signature_hash_algorithm
            assert hash_alg is not None
            ca_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_alg))
            public_key = cert.public_key()
            if isinstance(public_key, ec.EllipticCurvePublicKey):
                result = (ident.mspid, certificate_ou(ident.id_bytes), public_key)
        except Exception as exc:  # any parse or verification failure means: not a valid identity
            logger.debug("identity refused: %s", exc)
        self._cert_cache[serialized] = result
        return result

    # --- the chain ---------------------------------------------------------------------
    def ensure_genesis(self) -> None:
        if self._conn.execute("SELECT 1 FROM blocks WHERE number=0").fetchone():
            return
        channel_header = common_pb2.ChannelHeader(
            type=common_pb2.CONFIG,
            channel_id=self._channel,
            timestamp=protocol.timestamp_of(datetime.now().astimezone()),
        )
        payload = common_pb2.Payload(
            header=common_pb2.Header(channel_header=channel_header.SerializeToString()),
            data=b"embedded ledger genesis: channel " + self._channel.encode(),
        ).SerializeToString()
        block = protocol.new_block(0, b"", [common_pb2.Envelope(payload=payload).SerializeToString()])
        self._finish_and_write(block, [V.VALID], PendingWrites(), [])

    def tip(self) -> tuple[int, bytes]:
        row = self._conn.execute(
            "SELECT number, header_hash FROM blocks ORDER BY number DESC LIMIT 1"
        ).fetchone()
        return (row[0], row[1]) if row else (-1, b"")

    def commit(self, candidates: list[Candidate]) -> tuple[int, list[TxOutcome]]:
        """Order these candidates into the next block, validate, and commit it atomically."""
        self._conn.execute("BEGIN IMMEDIATE")
        try:
            number, previous = self.tip()
            number += 1
            view = StateView(self._conn)
            batch = PendingWrites()
            codes: list[int] = []
            outcomes: list[TxOutcome] = []
            seen: set[str] = set()
            for tx_num, candidate in enumerate(candidates):
                outcome = self._validate(view, batch, number, tx_num, candidate, seen)
                codes.append(outcome.code)
                outcomes.append(outcome)
            block = protocol.new_block(number, previous, [c.envelope for c in candidates])
            self._finish_and_write(block, codes, batch, outcomes, in_tx=True)
            self._conn.execute("COMMIT")
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        return number, outcomes

    def _finish_and_write(
        self,
        block: common_pb2.Block,
        codes: list[int],
        batch: PendingWrites,
        outcomes: list[TxOutcome],
        in_tx: bool = False,
    ) -> None:
        block.metadata.metadata[common_pb2.TRANSACTIONS_FILTER] = bytes(codes)
        protocol.sign_block(block, self._orderer.serialized(), self._orderer.private_key, os.urandom(24))
        header_hash = protocol.block_header_hash(block.header)
        conn = self._conn
        if not in_tx:
            conn.execute("BEGIN IMMEDIATE")
        try:
            number = block.header.number
            conn.execute(
                "INSERT INTO blocks(number, header_hash, previous_hash, data_hash, block) VALUES (?,?,?,?,?)",
                (
                    number,
                    header_hash,
                    block.header.previous_hash,
                    block.header.data_hash,
                    block.SerializeToString(),
                ),
            )
            for outcome in outcomes:
                conn.execute(
                    "INSERT OR IGNORE INTO txs(tx_id, block_number, tx_num, validation_code, timestamp_us, "
                    "payload) VALUES (?,?,?,?,?,?)",
                    (
                        outcome.tx_id,
                        number,
                        outcome.tx_num,
                        outcome.code,
                        micros(outcome.timestamp),
                        outcome.payload,
                    ),
                )
            for (ns, key), (value, version, metadata) in batch.state.items():
                if isinstance(value, Missing):
                    conn.execute("DELETE FROM state WHERE ns=? AND key=?", (ns, key.encode()))
                else:
                    conn.execute(
                        "INSERT OR REPLACE INTO state(ns, key, value, block_num, tx_num, metadata) "
                        "VALUES (?,?,?,?,?,?)",
                        (ns, key.encode(), value, version[0], version[1], metadata),
                    )
            for (ns, coll, khash), (value, version, metadata) in batch.hashed.items():
                if isinstance(value, Missing):
                    conn.execute(
                        "DELETE FROM hashed_state WHERE ns=? AND coll=? AND key_hash=?", (ns, coll, khash)
                    )
                else:
                    conn.execute(
                        "INSERT OR REPLACE INTO hashed_state(ns, coll, key_hash, value_hash, block_num, "
                        "tx_num, metadata) VALUES (?,?,?,?,?,?,?)",
                        (ns, coll, khash, value, version[0], version[1], metadata),
                    )
            for (ns, coll, key), (value, version) in batch.private.items():
                if isinstance(value, Missing):
                    conn.execute(
                        "DELETE FROM pvt_state WHERE ns=? AND coll=? AND key=?", (ns, coll, key.encode())
                    )
                else:
                    conn.execute(
                        "INSERT OR REPLACE INTO pvt_state(ns, coll, key, value, block_num, tx_num) "
                        "VALUES (?,?,?,?,?,?)",
                        (ns, coll, key.encode(), value, version[0], version[1]),
                    )
            conn.executemany(
                "INSERT INTO history(ns, key, block_num, tx_num, tx_id, timestamp_us, value, is_delete) "
                "VALUES (?,?,?,?,?,?,?,?)",
                [
                    (ns, key.encode(), b, t, txid, ts, val, int(dl))
                    for ns, key, b, t, txid, ts, val, dl in batch.history
                ],
            )
            conn.executemany(
                "INSERT INTO events(block_num, tx_num, tx_id, chaincode_id, name, payload) "
                "VALUES (?,?,?,?,?,?)",
                batch.events,
            )
            conn.executemany(
                "INSERT INTO pvt_rwsets(block_num, tx_num, rwset) VALUES (?,?,?)", batch.pvt_rwsets
            )
            if not in_tx:
                conn.execute("COMMIT")
        except BaseException:
            if not in_tx:
                conn.execute("ROLLBACK")
            raise

    # --- validation --------------------------------------------------------------------
    def _validate(
        self,
        view: StateView,
        batch: PendingWrites,
        block_num: int,
        tx_num: int,
        candidate: Candidate,
        seen: set[str],
    ) -> TxOutcome:
        try:
            tx = parse_envelope(candidate.envelope)
        except Exception as exc:  # malformed bytes of any kind: the tx is simply invalid
            logger.warning("block %d tx %d: unparseable envelope: %s", block_num, tx_num, exc)
            return TxOutcome("", tx_num, V.BAD_PAYLOAD, b"", datetime.now().astimezone())

        def outcome(code: int) -> TxOutcome:
            return TxOutcome(tx.tx_id, tx_num, code, tx.action.response.payload, tx.timestamp)

        if tx.tx_id in seen or self._conn.execute("SELECT 1 FROM txs WHERE tx_id=?", (tx.tx_id,)).fetchone():
            return TxOutcome(tx.tx_id, tx_num, V.DUPLICATE_TXID, b"", tx.timestamp)
        seen.add(tx.tx_id)
        if tx.channel != self._channel:
            return outcome(V.TARGET_CHAIN_NOT_FOUND)
        if protocol.tx_id_for(tx.nonce, tx.creator) != tx.tx_id:
            return outcome(V.BAD_PROPOSAL_TXID)
        creator = self.identity(tx.creator)
        if creator is None or not protocol.verify(creator[2], tx.signature, tx.payload_bytes):
            return outcome(V.BAD_CREATOR_SIGNATURE)
        chaincode = self._chaincodes.get(tx.chaincode)
        if chaincode is None:
            return outcome(V.INVALID_CHAINCODE)
        if tx.action.response.status >= 400:
            return outcome(V.ENDORSEMENT_POLICY_FAILURE)
        try:
            namespaces = parse(tx.action.results)
        except Exception:  # a results field that is not a TxReadWriteSet
            return outcome(V.BAD_RWSET)
        if any(ns.namespace not in self._chaincodes for ns in namespaces):
            return outcome(V.ILLEGAL_WRITESET)
        signers = self._signers(tx)
        if not self._endorsement_ok(view, batch, chaincode, namespaces, signers, block_num, tx_num):
            return outcome(V.ENDORSEMENT_POLICY_FAILURE)
        code = self._mvcc(view, batch, namespaces)
        if code != V.VALID:
            return outcome(code)
        self._apply(batch, block_num, tx_num, tx, namespaces, candidate.private_rwset)
        return outcome(V.VALID)

    def _signers(self, tx: ParsedTx) -> list[Signer]:
        signers: list[Signer] = []
        seen: set[bytes] = set()
        for endorsement in tx.endorsements:
            if endorsement.endorser in seen:
                continue  # Fabric de-duplicates endorsements by identity
            ident = self.identity(endorsement.endorser)
            if ident is None:
                continue
            if not protocol.verify(ident[2], endorsement.signature, tx.prp_bytes + endorsement.endorser):
                continue
            seen.add(endorsement.endorser)
            signers.append(Signer(ident[0], ident[1], endorsement.endorser))
        return signers

    def _endorsement_ok(
        self,
        view: StateView,
        batch: PendingWrites,
        chaincode: ChaincodeDefinition,
        namespaces: list,
        signers: list[Signer],
        block_num: int,
        tx_num: int,
    ) -> bool:
        checked: set[str] = set()
        any_checked = False

        def check(envelope: policies_pb2.SignaturePolicyEnvelope, what: str) -> bool:
            nonlocal any_checked
            any_checked = True
            if evaluate(envelope, signers):
                return True
            logger.info(
                "validation of endorsement policy for %s in tx %d:%d failed: signature set did not satisfy "
                "policy",
                what,
                block_num,
                tx_num,
            )
            return False

        def key_policy(metadata: bytes | None) -> policies_pb2.SignaturePolicyEnvelope | None:
            raw = metadata_from_bytes(metadata).get(VALIDATION_PARAMETER)
            return envelope_from_bytes(raw) if raw else None

        def check_ccep(name: str) -> bool:
            if name in checked:
                return True
            checked.add(name)
            return check(self._chaincodes[name].policy, f"chaincode {name}")

        try:
            for ns in namespaces:
                for key in sorted({w.key for w in ns.kv.writes} | {m.key for m in ns.kv.metadata_writes}):
                    sbe = key_policy(self._state_metadata(view, batch, ns.namespace, key))
                    if sbe is not None:
                        if not check(sbe, f"key {key!r} of {ns.namespace}"):
                            return False
                    elif not check_ccep(ns.namespace):
                        return False
                for coll in ns.collections:
                    config = self._chaincodes[ns.namespace].collections.get(coll.name)
                    hashes = {w.key_hash for w in coll.hashed.hashed_writes} | {
                        m.key_hash for m in coll.hashed.metadata_writes
                    }
                    for khash in sorted(hashes):
                        sbe = key_policy(self._hashed_metadata(view, batch, ns.namespace, coll.name, khash))
                        if sbe is not None:
                            if not check(sbe, f"private key in {coll.name}"):
                                return False
                        elif config is not None and config.endorsement_policy is not None:
                            if not check(config.endorsement_policy, f"collection {coll.name}"):
                                return False
                        elif not check_ccep(ns.namespace):
                            return False
        except PolicyError as exc:
            logger.info("tx %d:%d has an unreadable key-level policy: %s", block_num, tx_num, exc)
            return False
        # when no policy was checked at all (a read-only tx), the chaincode policy is (FAB-9473)
        return any_checked or check_ccep(chaincode.name)

    def _state_metadata(self, view: StateView, batch: PendingWrites, ns: str, key: str) -> bytes | None:
        pending = batch.state.get((ns, key))
        if pending is not None:
            return None if isinstance(pending[0], Missing) else pending[2]
        current = view.get_state(ns, key)
        return current.metadata if current else None

    def _hashed_metadata(
        self, view: StateView, batch: PendingWrites, ns: str, coll: str, khash: bytes
    ) -> bytes | None:
        pending = batch.hashed.get((ns, coll, khash))
        if pending is not None:
            return None if isinstance(pending[0], Missing) else pending[2]
        current = view.get_private_hash(ns, coll, khash)
        return current.metadata if current else None

    def _mvcc(self, view: StateView, batch: PendingWrites, namespaces: list) -> int:
        for ns in namespaces:
            for read in ns.kv.reads:
                if (ns.namespace, read.key) in batch.state:
                    return V.MVCC_READ_CONFLICT
                current = view.get_state(ns.namespace, read.key)
                if version_of(current) != read_version(read):
                    return V.MVCC_READ_CONFLICT
            for rq in ns.kv.range_queries_info:
                if not self._range_unchanged(view, batch, ns.namespace, rq):
                    return V.PHANTOM_READ_CONFLICT
            for coll in ns.collections:
                for read in coll.hashed.hashed_reads:
                    if (ns.namespace, coll.name, read.key_hash) in batch.hashed:
                        return V.MVCC_READ_CONFLICT
                    current = view.get_private_hash(ns.namespace, coll.name, read.key_hash)
                    if version_of(current) != read_version(read):
                        return V.MVCC_READ_CONFLICT
        return V.VALID

    def _range_unchanged(self, view: StateView, batch: PendingWrites, ns: str, rq) -> bool:
        recorded = [(r.key, read_version(r)) for r in rq.raw_reads.kv_reads]
        if rq.itr_exhausted:
            end, inclusive = rq.end_key, False
        else:
            if not recorded:
                return True
            end, inclusive = recorded[-1][0], True
        actual: list[tuple[str, tuple[int, int] | None]] = []
        for key, version in merged_range(view, batch, ns, rq.start_key, end, inclusive):
            actual.append((key, version))
            if len(actual) > len(recorded):
                return False
        return actual == recorded

    def _apply(
        self,
        batch: PendingWrites,
        block_num: int,
        tx_num: int,
        tx: ParsedTx,
        namespaces: list,
        private: bytes | None,
    ) -> None:
        version = (block_num, tx_num)
        ts = micros(tx.timestamp)
        for ns in namespaces:
            name = ns.namespace
            md_updates = {m.key: {e.name: e.value for e in m.entries} for m in ns.kv.metadata_writes}
            for write in ns.kv.writes:
                existing = self._pending_or_committed_metadata(batch, name, write.key)
                if write.is_delete:
                    batch.state[(name, write.key)] = (DELETED, version, None)
                    batch.history.append((name, write.key, block_num, tx_num, tx.tx_id, ts, b"", True))
                else:
                    metadata = (
                        metadata_to_bytes(md_updates[write.key]) if write.key in md_updates else existing
                    )
                    batch.state[(name, write.key)] = (write.value, version, metadata)
                    batch.history.append(
                        (name, write.key, block_num, tx_num, tx.tx_id, ts, write.value, False)
                    )
            written = {w.key for w in ns.kv.writes}
            for key, entries in md_updates.items():
                if key in written:
                    continue
                current = self._pending_or_committed_value(batch, name, key)
                if current is not None:  # metadata of a missing key is dropped, as in Fabric
                    batch.state[(name, key)] = (current.value, current.version, metadata_to_bytes(entries))
            for coll in ns.collections:
                hmd = {m.key_hash: {e.name: e.value for e in m.entries} for m in coll.hashed.metadata_writes}
                for write in coll.hashed.hashed_writes:
                    hk = (name, coll.name, write.key_hash)
                    if write.is_delete:
                        batch.hashed[hk] = (DELETED, version, None)
                    else:
                        metadata = (
                            metadata_to_bytes(hmd[write.key_hash])
                            if write.key_hash in hmd
                            else (self._hashed_existing_metadata(batch, hk))
                        )
                        batch.hashed[hk] = (write.value_hash, version, metadata)
                for khash, entries in hmd.items():
                    hk = (name, coll.name, khash)
                    if any(w.key_hash == khash for w in coll.hashed.hashed_writes):
                        continue
                    current_hash = batch.hashed.get(hk)
                    if current_hash is None:
                        committed = StateView(self._conn).get_private_hash(name, coll.name, khash)
                        if committed is not None:
                            batch.hashed[hk] = (
                                committed.value,
                                committed.version,
                                metadata_to_bytes(entries),
                            )
                    elif not isinstance(current_hash[0], Missing):
                        batch.hashed[hk] = (current_hash[0], current_hash[1], metadata_to_bytes(entries))
        if tx.action.events:  # one event per transaction, from the invoked chaincode
            event = chaincode_event_pb2.ChaincodeEvent()
            event.ParseFromString(tx.action.events)
            if event.event_name:
                batch.events.append(
                    (block_num, tx_num, tx.tx_id, tx.chaincode, event.event_name, event.payload)
                )
        if private:
            self._apply_private(batch, version, namespaces, private)
            batch.pvt_rwsets.append((block_num, tx_num, private))

    def _apply_private(
        self, batch: PendingWrites, version: tuple[int, int], namespaces: list, private: bytes
    ) -> None:
        clear = parse_private(private)
        for ns in namespaces:
            for coll in ns.collections:
                entry = clear.get((ns.namespace, coll.name))
                if entry is None:
                    continue
                raw, kv = entry
                if hashlib.sha256(raw).digest() != coll.pvt_rwset_hash:
                    logger.warning(
                        "private rwset of %s/%s does not match its hash; not stored", ns.namespace, coll.name
                    )
                    continue
                for write in kv.writes:
                    pk = (ns.namespace, coll.name, write.key)
                    batch.private[pk] = (DELETED if write.is_delete else write.value, version)

    def _pending_or_committed_value(self, batch: PendingWrites, ns: str, key: str) -> VersionedValue | None:
        pending = batch.state.get((ns, key))
        if pending is not None:
            value, version, metadata = pending
            return None if isinstance(value, Missing) else VersionedValue(value, version, metadata)
        return StateView(self._conn).get_state(ns, key)

    def _pending_or_committed_metadata(self, batch: PendingWrites, ns: str, key: str) -> bytes | None:
        current = self._pending_or_committed_value(batch, ns, key)
        return current.metadata if current else None

    def _hashed_existing_metadata(self, batch: PendingWrites, hk: tuple[str, str, bytes]) -> bytes | None:
        pending = batch.hashed.get(hk)
        if pending is not None:
            return None if isinstance(pending[0], Missing) else pending[2]
        committed = StateView(self._conn).get_private_hash(*hk)
        return committed.metadata if committed else None
