"""The embedded ledger: the LedgerPort served by the contract on the in-process host over SQLite.

One process owns a data dir (a lock file says so). Per transaction:
  caller → its certificate (per-org CA, :mod:`app.ledger.embedded.ca`) → a signed Fabric proposal
  (tx id = sha256(nonce ‖ creator), timestamp in the header) → simulation by the in-process host on a
  consistent snapshot (a SQLite read transaction) → for a submit: the endorsement plan, one real
  ECDSA endorsement per org over the ProposalResponsePayload, the client-signed Envelope → the
  committer thread cuts blocks from whatever is queued, validates (policies, MVCC, phantoms) and
  commits each block in one SQLite transaction; the caller is answered after the commit is durable.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib
import logging
import os
import queue
import sqlite3
import threading
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fabric_protos.common import common_pb2
from fabric_protos.peer import chaincode_event_pb2

from app.data_files import secure_dir, secure_file
from app.ledger.embedded import protocol, store
from app.ledger.embedded.ca import IdentityIssuer
from app.ledger.embedded.collections import load_collections
from app.ledger.embedded.committer import Candidate, ChaincodeDefinition, Committer, TxOutcome
from app.ledger.embedded.plan import choose_orgs, required_policies
from app.ledger.embedded.policy import parse_policy
from app.ledger.embedded.rwset import RangeRead, RWSet, key_hash, to_protos
from app.ledger.embedded.snapshot import LedgerSnapshot
from app.ledger.embedded.verify import verify_chain, verify_state
from app.ledger.envelope import origin_in_block
from app.ledger.port import (
    BeforeSubmit,
    Caller,
    ChaincodeRefused,
    LedgerError,
    LedgerEvent,
    LedgerUnavailable,
    TransactionInvalidated,
    TxOrigin,
    TxResult,
)
from chaincode import consortium
from chaincode.runtime.contract import Contract
from chaincode.runtime.inprocess import InProcessHost, NamespaceRWSet, SimulationResult, TxContext
from chaincode.runtime.proposal import compute_binding

logger = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[3]
# the consortium's orgs and endorsement policy (chaincode/consortium.py), as the real network runs them
ENDORSING_ORGS: tuple[str, ...] = tuple(o.msp_id for o in consortium.ENDORSING_ORGS)
PEER_ORGS: tuple[str, ...] = tuple(o.msp_id for o in consortium.APPLICATION_ORGS if o.peer)
KNOWN_ORGS: tuple[str, ...] = tuple(o.msp_id for o in consortium.APPLICATION_ORGS)
MORTGAGE_POLICY = consortium.ENDORSEMENT_POLICY
SIGNER_CACHE_SIZE = 4096  # callers (user, org, attributes) whose creator and key a ledger keeps at hand


@dataclass(frozen=True, slots=True)
class ChaincodeSpec:
    """A chaincode the embedded ledger hosts: its contracts, endorsement policy and collections."""

    name: str
    contracts: Sequence[str | type[Contract] | Contract]  # "package.module:Class" or classes
    policy: str = MORTGAGE_POLICY
    collections: Path | None = None


def mortgage_chaincode() -> ChaincodeSpec:
    """The Mortgage-Asset chaincode as the network deploys it (name, policy, collections)."""
    return ChaincodeSpec(
        name="mortgage",
        contracts=["chaincode.mortgage.contract:MortgageContract"],
        policy=MORTGAGE_POLICY,
        collections=REPO_ROOT / "chaincode" / "mortgage" / "collections_config.json",
    )


def _load_contract(item: str | type[Contract] | Contract) -> type[Contract] | Contract:
    if not isinstance(item, str):
        return item
    module_name, _, attr = item.partition(":")
    return getattr(importlib.import_module(module_name), attr)


@dataclass(slots=True)
class _Simulated:
    built: protocol.BuiltProposal
    result: SimulationResult
    signing_key: Any
    peer_org: str


@dataclass(slots=True, eq=False)
class _Waiter:
    loop: asyncio.AbstractEventLoop
    event: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class PreparedTransaction:
    """An endorsed transaction not yet ordered: its id, the chaincode's result and the envelope."""

    tx_id: str
    result: bytes
    candidate: Candidate


class LedgerLocked(LedgerError):
    """Another process (or ledger object) has this data dir open."""


class EmbeddedLedger:
    """LedgerPort on the embedded SQLite ledger. Create it, use it, ``await close()`` it."""

    def __init__(
        self,
        data_dir: Path,
        *,
        chaincodes: Sequence[ChaincodeSpec] | None = None,
        channel: str = "vehicles",
        endorsing_orgs: Sequence[str] = ENDORSING_ORGS,
        peer_orgs: Sequence[str] = PEER_ORGS,
        known_orgs: Sequence[str] = KNOWN_ORGS,
        max_block_txs: int = 500,
        verify_state_on_open: bool = True,
    ) -> None:
        self.data_dir = secure_dir(Path(data_dir))  # owner personal data lives here: 0700
        self.channel = channel
        self._endorsing_orgs = list(endorsing_orgs)
        self._peer_orgs = list(peer_orgs)
        self._known_orgs = set(known_orgs)
        self._max_block_txs = max_block_txs
        specs = list(chaincodes) if chaincodes is not None else [mortgage_chaincode()]
        if not specs:
            raise ValueError("the embedded ledger needs at least one chaincode")
        self.chaincode = specs[0].name
        self._lock_fd = self._acquire_lock()
        self._writer: Any = None
        try:
            self.identities = IdentityIssuer(self.data_dir / "msp")
            self._signers: dict[tuple[str, str, tuple[tuple[str, str], ...]], tuple[bytes, Any]] = {}
            self._db_path = secure_file(self.data_dir / "ledger.sqlite")  # its WAL/SHM inherit 0600
            self._writer = store.connect(self._db_path)
            store.init_schema(self._writer)
            self._definitions: dict[str, ChaincodeDefinition] = {}
            self._hosts: dict[str, InProcessHost] = {}
            for spec in specs:
                self._definitions[spec.name] = ChaincodeDefinition(
                    spec.name, parse_policy(spec.policy), load_collections(spec.collections)
                )
                self._hosts[spec.name] = InProcessHost(
                    [_load_contract(c) for c in spec.contracts], name=spec.name
                )
            for host in self._hosts.values():
                for other in self._hosts.values():
                    if other is not host:
                        host.add_chaincode(other)
            self._committer = Committer(self._writer, self.identities, self._definitions, channel)
            self.height_at_open = verify_chain(self._writer, self._committer)
            if verify_state_on_open:
                verify_state(self._writer)
            self._committer.ensure_genesis()
        except BaseException:
            self._release()  # a ledger that failed to open (e.g. LedgerCorrupted) holds nothing
            raise
        self._local = threading.local()
        self._readers: list[Any] = []
        self._readers_lock = threading.Lock()
        self._queue: queue.Queue[tuple[Candidate, Future[tuple[int, TxOutcome]]] | None] = queue.Queue()
        self._waiters: set[_Waiter] = set()
        self._waiters_lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(
            target=self._commit_loop, name="embedded-ledger-committer", daemon=True
        )
        self._thread.start()
        logger.info("embedded ledger open at %s (height %d)", self.data_dir, self.height())

    # --- lifecycle ---------------------------------------------------------------------
    def _acquire_lock(self) -> int:
        fd = os.open(self.data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            os.close(fd)
            raise LedgerLocked(
                f"embedded ledger at {self.data_dir} is already open in another process or object", status=503
            ) from exc
        return fd

    def _release(self) -> None:
        if self._writer is not None:
            with contextlib.suppress(Exception):
                self._writer.close()
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        await asyncio.to_thread(self._thread.join)
        with self._readers_lock:
            for conn in self._readers:
                with contextlib.suppress(Exception):
                    conn.close()
            self._readers.clear()
        with self._waiters_lock:
            for waiter in self._waiters:
                waiter.loop.call_soon_threadsafe(waiter.event.set)
        self._release()

    async def health(self) -> dict[str, str]:
        if self._closed:
            return {"backend": "embedded", "status": "closed"}
        return {
            "backend": "embedded",
            "status": "ok" if self._thread.is_alive() else "committer stopped",
            "channel": self.channel,
            "height": str(self.height()),
            "data_dir": str(self.data_dir),
        }

    # --- reads of the chain ------------------------------------------------------------
    def _reader(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = store.connect(self._db_path)
            self._local.conn = conn
            with self._readers_lock:
                self._readers.append(conn)
        return conn

    def height(self) -> int:
        return store.StateView(self._reader()).height()

    def block(self, number: int) -> common_pb2.Block | None:
        row = self._reader().execute("SELECT block FROM blocks WHERE number=?", (number,)).fetchone()
        return common_pb2.Block.FromString(row[0]) if row else None

    def verify(self, *, deep: bool = True) -> int:
        """Re-verify the whole chain now (hashes, orderer signatures, tx index) and, when ``deep``,
        replay it against the stored world and private state; returns the height."""
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            height = verify_chain(conn, self._committer)
            if deep:
                verify_state(conn)
        finally:
            conn.execute("ROLLBACK")
        return height

    async def transaction_status(self, tx_id: str) -> TxResult | None:
        return await asyncio.to_thread(self._tx_status, tx_id)

    async def transaction_origin(self, tx_id: str) -> TxOrigin | None:
        return await asyncio.to_thread(self._tx_origin, tx_id)

    def _tx_origin(self, tx_id: str) -> TxOrigin | None:
        status = self._tx_status(tx_id)
        block = self.block(status.block_number) if status is not None else None
        return origin_in_block(block, tx_id) if block is not None else None

    def _tx_status(self, tx_id: str) -> TxResult | None:
        row = (
            self._reader()
            .execute(
                "SELECT block_number, validation_code, payload, timestamp_us FROM txs WHERE tx_id=?", (tx_id,)
            )
            .fetchone()
        )
        if row is None:
            return None
        return TxResult(
            tx_id=tx_id,
            block_number=row[0],
            validation_code=protocol.code_name(row[1]),
            payload=row[2],
            timestamp=datetime.fromtimestamp(row[3] / 1_000_000, tz=UTC),
        )

    # --- simulation --------------------------------------------------------------------
    def _check_caller(self, caller: Caller) -> None:
        if caller.msp_id not in self._known_orgs:
            raise LedgerError(
                f"caller msp_id {caller.msp_id!r} is not an org of channel {self.channel}: "
                f"known {sorted(self._known_orgs)}",
                status=400,
            )

    def _signer(self, caller: Caller) -> tuple[bytes, Any]:
        """The caller's serialised identity (the creator) and signing key, looked up once per caller and
        attribute set (the CA issues or loads the identity on first use, as before)."""
        cache_key = (caller.msp_id, caller.user_id, tuple(sorted(caller.attributes.items())))
        found = self._signers.get(cache_key)
        if found is None:
            try:
                identity = self.identities.issue(caller.msp_id, caller.user_id, dict(caller.attributes))
            except ValueError as exc:
                raise LedgerError(f"caller: {exc}", status=400) from exc
            if len(self._signers) >= SIGNER_CACHE_SIZE:
                self._signers.clear()
            found = self._signers[cache_key] = (identity.serialized(), identity.private_key)
        return found

    def _simulate(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None,
        chaincode: str,
        for_submit: bool = True,
    ) -> _Simulated:
        self._check_caller(caller)
        creator, key = self._signer(caller)
        nonce, now = os.urandom(24), datetime.now(UTC)
        built = protocol.build_proposal(
            channel=self.channel,
            chaincode=chaincode,
            creator=creator,
            nonce=nonce,
            timestamp=now,
            args=[function.encode(), *(a.encode() for a in args)],
            transient=transient,
            signing_key=key,
        )
        # the simulating peer, as the Gateway picks it: for a query the caller's own org's peer (any
        # peer with the chaincode), for a transaction the first endorser: own org if it endorses
        local = self._peer_orgs if not for_submit else self._endorsing_orgs
        peer_org = caller.msp_id if caller.msp_id in local else self._endorsing_orgs[0]
        ctx = TxContext(
            tx_id=built.tx_id,
            channel_id=self.channel,
            timestamp=now,  # the proposal's own timestamp (microseconds, UTC), not parsed back from it
            creator=creator,
            args=[function.encode(), *(a.encode() for a in args)],
            transient=dict(transient or {}),
            signed_proposal=built.signed.SerializeToString(),
            binding=compute_binding(
                nonce, creator, 0
            ),  # as the peer derives it (epoch 0), without a re-parse
        )
        conn = self._reader()
        conn.execute("BEGIN")
        try:
            snapshot = LedgerSnapshot(
                store.StateView(conn),
                {name: d.collections for name, d in self._definitions.items()},
                creator_msp=caller.msp_id,
                peer_msp=peer_org,
            )
            result = self._hosts[chaincode].execute(snapshot, ctx)
        finally:
            conn.execute("ROLLBACK")
        return _Simulated(built, result, key, peer_org)

    def _refusal(self, sim: _Simulated) -> ChaincodeRefused:
        response = sim.result.response
        return ChaincodeRefused(
            response.message,
            status=response.status,
            details=[
                {
                    "address": f"embedded:{sim.peer_org}",
                    "msp_id": sim.peer_org,
                    "message": f"chaincode response {response.status}, {response.message}",
                }
            ],
        )

    async def evaluate(self, caller: Caller, function: str, args: list[str]) -> bytes:
        self._ensure_open()
        sim = await asyncio.to_thread(
            self._simulate, caller, function, list(args), None, self.chaincode, False
        )
        if not sim.result.ok:
            raise self._refusal(sim)
        return sim.result.response.payload

    # --- submit ------------------------------------------------------------------------
    def _endorse(self, sim: _Simulated, endorsing_orgs: list[str] | None) -> Candidate:
        rwsets = [_convert(ns, rw) for ns, rw in sorted(sim.result.rwsets.items())]
        public, private = to_protos(rwsets)
        if endorsing_orgs:
            unknown = [org for org in endorsing_orgs if org not in self._endorsing_orgs]
            if unknown:
                raise LedgerError(
                    f"no peers available to endorse for organization(s) {unknown}; endorsing orgs are "
                    f"{self._endorsing_orgs}",
                    status=400,
                )
            orgs = list(dict.fromkeys(endorsing_orgs))
        else:
            conn = self._reader()
            conn.execute("BEGIN")
            try:
                policies = required_policies(store.StateView(conn), self._definitions, self.chaincode, rwsets)
            finally:
                conn.execute("ROLLBACK")
            chosen = choose_orgs(policies, self._endorsing_orgs, sim.peer_org)
            if chosen is None:
                raise LedgerError(
                    "no combination of peers can be derived which satisfy the endorsement policy", status=500
                )
            orgs = chosen
        event = None
        if sim.result.event is not None:
            event = chaincode_event_pb2.ChaincodeEvent(
                chaincode_id=self.chaincode,
                tx_id=sim.built.tx_id,
                event_name=sim.result.event.name,
                payload=sim.result.event.payload,
            )
        response = sim.result.response
        prp = protocol.build_response_payload(
            proposal_hash=sim.built.proposal_hash,
            chaincode=self.chaincode,
            results=public,
            event=event,
            status=response.status,
            message=response.message,
            payload=response.payload,
        )
        endorsements = []
        for org in orgs:
            peer = self.identities.peer(org)
            endorsements.append(protocol.endorse(prp, peer.serialized(), peer.private_key))
        envelope = protocol.build_envelope(sim.built, prp, endorsements, sim.signing_key)
        return Candidate(envelope.SerializeToString(), private)

    async def endorse(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
    ) -> PreparedTransaction:
        """Simulate and endorse without ordering yet (the Gateway's Endorse step)."""
        self._ensure_open()
        sim = await asyncio.to_thread(self._simulate, caller, function, list(args), transient, self.chaincode)
        if not sim.result.ok:
            raise self._refusal(sim)
        candidate = await asyncio.to_thread(self._endorse, sim, endorsing_orgs)
        return PreparedTransaction(sim.built.tx_id, sim.result.response.payload, candidate)

    async def submit_prepared(self, prepared: PreparedTransaction) -> TxResult:
        """Order and commit an endorsed transaction; answers once the block is durable."""
        self._ensure_open()
        future: Future[tuple[int, TxOutcome]] = Future()
        self._queue.put((prepared.candidate, future))
        number, outcome = await asyncio.wrap_future(future)
        code = protocol.code_name(outcome.code)
        if code != "VALID":
            raise TransactionInvalidated(
                f"transaction {outcome.tx_id} failed to commit with status code {outcome.code} ({code})",
                tx_id=outcome.tx_id,
                validation_code=code,
                block_number=number,
            )
        return TxResult(outcome.tx_id, number, code, outcome.payload, outcome.timestamp)

    async def submit(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
        before_submit: BeforeSubmit | None = None,
    ) -> TxResult:
        prepared = await self.endorse(caller, function, args, transient, endorsing_orgs)
        if before_submit is not None:
            await before_submit(prepared.tx_id)
        return await self.submit_prepared(prepared)

    def _ensure_open(self) -> None:
        if self._closed:
            raise LedgerUnavailable("the embedded ledger is closed", status=503)

    # --- committer thread ------------------------------------------------------------
    def _commit_loop(self) -> None:
        stop = False
        while not stop:
            item = self._queue.get()
            if item is None:
                break
            items = [item]
            while len(items) < self._max_block_txs:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                items.append(nxt)
            try:
                number, outcomes = self._committer.commit([candidate for candidate, _ in items])
            except Exception as exc:
                logger.exception("block commit failed")
                for _, future in items:
                    future.set_exception(LedgerUnavailable(f"the embedded ledger could not commit: {exc}"))
                continue
            for (_, future), outcome in zip(items, outcomes, strict=True):
                future.set_result((number, outcome))
            self._notify()

    def _notify(self) -> None:
        with self._waiters_lock:
            waiters = list(self._waiters)
        for waiter in waiters:
            with contextlib.suppress(RuntimeError):  # loop already closed
                waiter.loop.call_soon_threadsafe(waiter.event.set)

    # --- events ------------------------------------------------------------------------
    async def chaincode_events(
        self, start_block: int | None = None, after_tx_id: str | None = None
    ) -> AsyncIterator[LedgerEvent]:
        """Events of valid transactions from ``start_block`` (default: the next block), or after a tx.

        Like the Gateway's ChaincodeEvents: with ``after_tx_id`` the stream starts in that tx's block
        (or ``start_block``), skipping events up to and including that transaction. Runs until closed.
        """
        position_block = start_block
        skip_until: tuple[int, int] | None = None
        if after_tx_id is not None:
            row = await asyncio.to_thread(
                lambda: (
                    self._reader()
                    .execute("SELECT block_number, tx_num FROM txs WHERE tx_id=?", (after_tx_id,))
                    .fetchone()
                )
            )
            if row is not None:
                skip_until = (row[0], row[1])
                if position_block is None or position_block <= row[0]:
                    position_block = row[0]
        if position_block is None:
            position_block = self.height()
        cursor = (position_block, -1)
        if skip_until is not None and skip_until >= cursor:
            cursor = skip_until
        waiter = _Waiter(asyncio.get_running_loop())
        with self._waiters_lock:
            self._waiters.add(waiter)
        try:
            while not self._closed:
                waiter.event.clear()
                try:
                    rows = await asyncio.to_thread(self._events_after, cursor)
                except sqlite3.ProgrammingError:  # closed under us: the stream ends with the ledger
                    if self._closed:
                        return
                    raise
                for block_num, tx_num, tx_id, chaincode_id, name, payload in rows:
                    cursor = (block_num, tx_num)
                    yield LedgerEvent(block_num, tx_id, chaincode_id, name, payload)
                if not rows:
                    await waiter.event.wait()
        finally:
            with self._waiters_lock:
                self._waiters.discard(waiter)

    def _events_after(self, cursor: tuple[int, int]) -> list[tuple[int, int, str, str, str, bytes]]:
        return (
            self._reader()
            .execute(
                "SELECT block_num, tx_num, tx_id, chaincode_id, name, payload FROM events "
                "WHERE chaincode_id=? AND (block_num > ? OR (block_num = ? AND tx_num > ?)) "
                "ORDER BY block_num, tx_num LIMIT 500",
                (self.chaincode, cursor[0], cursor[0], cursor[1]),
            )
            .fetchall()
        )


def _convert(namespace: str, rw: NamespaceRWSet) -> RWSet:
    """The host's read/write set of one namespace in the ledger's encoding-ready form."""
    out = RWSet(namespace)
    out.reads = dict(rw.reads)
    out.range_queries = [
        RangeRead(r.start_key, r.end_key, r.itr_exhausted, [(k, v) for k, v in r.reads])
        for r in rw.range_reads
    ]
    out.writes = dict(rw.writes)
    out.metadata_writes = {k: dict(v) for k, v in rw.metadata_writes.items()}
    collections = set(rw.private_reads) | set(rw.private_writes) | set(rw.private_metadata_writes)
    for name in collections:
        coll = out.collection(name)
        coll.hashed_reads = {key_hash(k): v for k, v in rw.private_reads.get(name, {}).items()}
        coll.writes = dict(rw.private_writes.get(name, {}))
        coll.metadata_writes = {k: dict(v) for k, v in rw.private_metadata_writes.get(name, {}).items()}
    return out
