"""The Fabric adapter: LedgerPort over the Python Gateway client (app.fabric_gateway).

Each caller signs with their OWN enrolled Fabric identity (an MSP folder written by fabric-ca, found
through an :class:`IdentityResolver`), so the chaincode sees the real user. Calls go to the gateway
peer of the caller's org (orgs without a peer use the profile's ``gateway_org``); there is one gRPC
connection per peer endpoint, shared by every user's gateway object.

Failures are mapped once, here, to the port's errors: a chaincode refusal (``chaincode response
NNN, message`` from the peer) → :class:`ChaincodeRefused` with that status and message; an
invalidated transaction → :class:`TransactionInvalidated` with Fabric's code name; an unreachable
peer or orderer, or a deadline → :class:`LedgerUnavailable`.

Lookups that have no caller (transaction status, health, the block of a tx id) are made through
the ``qscc`` system chaincode with the profile's service identity.

Network profile: the Fabric connection profile the network writes per org (translated by
app/ledger/profile.py), or this short form (YAML or JSON)::

    channel: vehicles
    chaincode: mortgage
    gateway_org: TrafficAuthorityMSP          # gateway peer for orgs that have none (DealerMSP)
    service_identity: {msp_id: TrafficAuthorityMSP, user: auditor1}
    wallet: wallet                            # optional, relative to the profile: <msp>/<user>/msp
    deadlines: {submit: 30, endorse: 30}      # optional, seconds per Gateway call (client defaults)
    users: {BankAMSP: {loan1: crypto/banka/users/loan1/msp}}   # optional, looked up before the wallet
    organizations:
      TrafficAuthorityMSP: {peer_endpoint: "127.0.0.1:7051", tls_ca: "tls/ta-ca.pem"}
      DealerMSP: {}
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from fabric_protos.common import common_pb2
from fabric_protos.gateway import gateway_pb2
from fabric_protos.peer import proposal_pb2, proposal_response_pb2, transaction_pb2

from app.fabric_gateway import (
    AsyncGateway,
    CommitError,
    CommitListeners,
    CommitStatusError,
    Deadlines,
    EndorseError,
    EvaluateError,
    GatewayError,
    Identity,
    Sign,
    SubmitError,
    connect_async,
    create_async_channel,
    load_msp_folder,
    load_pem_files,
    new_commit_listeners,
)
from app.fabric_gateway.errors import validation_code_name
from app.fabric_gateway.snapshot_gap import PeerStream, bridge_snapshot_gap
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
from app.ledger.profile import ProfileError, adapter_mapping, load_profile

logger = logging.getLogger(__name__)

_CHAINCODE_RESPONSE = re.compile(r"chaincode response (\d{3}), (.*)\Z", re.DOTALL)
# endorsement failures that mean "not enough peers up right now", not "refused": retry later
_TRANSIENT_MARKERS = (
    "failed to distribute private collection",
    "no peers available",
    "failed to connect to all addresses",
)
_UNAVAILABLE = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.RESOURCE_EXHAUSTED,
}


T = TypeVar("T")
# a Raft election after the leader's crash takes seconds (election timeout + a new leader's first block)
SUBMIT_RETRY_SECONDS = 30.0
# a transaction an orderer accepted can still be lost unordered (the Raft leader died with it in its
# queue): when its commit is not seen for this long it is sent again, within the commit deadline
COMMIT_RESEND_SECONDS = 20.0
COMMIT_WAIT_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PeerEndpoint:
    endpoint: str
    tls_ca: Path | None = None
    server_name: str | None = None


@dataclass(frozen=True, slots=True)
class UserCredentials:
    """Where a user's enrolled identity lives: an MSP folder, or a cert file and a key file."""

    msp_id: str
    msp_dir: Path | None = None
    cert_path: Path | None = None
    key_path: Path | None = None


IdentityResolver = Callable[[str, str], UserCredentials]  # (msp_id, user_id) → credentials
TokenIdentities = Callable[[Path, str], tuple[Identity, Sign]]  # (msp dir, msp id) → HSM-held signer
TOKEN_KEY_MARKER = "pkcs11.json"  # in an MSP folder whose key is in a PKCS#11 token (app/hsm)


def wallet_resolver(wallet: Path) -> IdentityResolver:
    """Identities enrolled into ``<wallet>/<msp id>/<user>/msp`` (the gateway's user admin layout)."""

    def resolve(msp_id: str, user_id: str) -> UserCredentials:
        return UserCredentials(msp_id, msp_dir=Path(wallet) / msp_id / user_id / "msp")

    return resolve


@dataclass(slots=True)
class NetworkProfile:
    channel: str
    chaincode: str
    peers: dict[str, PeerEndpoint]  # msp id → its gateway peer
    gateway_org: str
    service_identity: tuple[str, str]
    wallet: Path | None = None
    orgs: list[str] = field(default_factory=list)
    deadlines: Deadlines = field(default_factory=Deadlines)
    users: dict[tuple[str, str], Path] = field(default_factory=dict)  # (msp, user) → MSP folder

    @classmethod
    def load(cls, path: Path) -> NetworkProfile:
        try:  # a Fabric connection profile (what the network writes) or the short form below
            raw = adapter_mapping(load_profile(path))
        except ProfileError as exc:
            raise LedgerError(f"network profile {path}: {exc}", status=503) from exc
        base = Path(path).resolve().parent

        def rel(value: str | None) -> Path | None:
            return None if not value else (base / value if not Path(value).is_absolute() else Path(value))

        try:
            organizations = raw["organizations"]
            peers = {
                msp: PeerEndpoint(org["peer_endpoint"], rel(org.get("tls_ca")), org.get("server_name"))
                for msp, org in organizations.items()
                if org and org.get("peer_endpoint")
            }
            service = raw.get("service_identity") or {}
            deadlines = Deadlines(**{k: float(v) for k, v in (raw.get("deadlines") or {}).items()})
            users = {
                (msp, user): rel(folder)
                for msp, entries in (raw.get("users") or {}).items()
                for user, folder in (entries or {}).items()
            }
            gateway_org = raw.get("gateway_org") or next(iter(peers))
            return cls(
                channel=raw.get("channel", "vehicles"),
                chaincode=raw.get("chaincode", "mortgage"),
                peers=peers,
                gateway_org=gateway_org,
                service_identity=(str(service.get("msp_id", gateway_org)), str(service.get("user", "admin"))),
                wallet=rel(raw.get("wallet")),
                orgs=list(organizations),
                deadlines=deadlines,
                users={key: path for key, path in users.items() if path is not None},
            )
        except (KeyError, StopIteration, TypeError, AttributeError) as exc:
            raise LedgerError(
                f"network profile {path}: missing or malformed field ({exc})", status=503
            ) from exc


def map_error(exc: BaseException) -> LedgerError:
    """The port's error for a Gateway client failure (see the module docstring)."""
    if isinstance(exc, LedgerError):
        return exc
    if isinstance(exc, CommitError):
        return TransactionInvalidated(
            f"transaction {exc.transaction_id} failed to commit with status code {exc.code} "
            f"({exc.code_name})",
            tx_id=exc.transaction_id,
            validation_code=exc.code_name,
            block_number=exc.block_number,
        )
    if isinstance(exc, GatewayError):
        details = [{"address": d.address, "msp_id": d.msp_id, "message": d.message} for d in exc.details]
        for text in [d.message for d in exc.details] + [exc.message]:
            match = _CHAINCODE_RESPONSE.search(text)
            if match:
                return ChaincodeRefused(match.group(2), status=int(match.group(1)), details=details)
        texts = " ".join([exc.message, *(d.message for d in exc.details)])
        if any(marker in texts for marker in _TRANSIENT_MARKERS):
            return LedgerUnavailable(f"{exc.stage}: {exc.message}", status=503, details=details)
        if isinstance(exc, SubmitError | CommitStatusError) or exc.code in _UNAVAILABLE:
            return LedgerUnavailable(f"{exc.stage}: {exc.message}", status=503, details=details)
        if isinstance(exc, EndorseError | EvaluateError) and exc.code == grpc.StatusCode.FAILED_PRECONDITION:
            return LedgerUnavailable(f"{exc.stage}: {exc.message}", status=503, details=details)
        return LedgerError(str(exc), status=502, details=details)
    if isinstance(exc, grpc.RpcError):
        return LedgerUnavailable(f"peer unreachable: {exc}", status=503)
    if isinstance(exc, OSError | ValueError):  # identity files missing or unreadable
        logger.warning("caller identity not usable: %s", exc)  # the path stays in the server's log
        return LedgerError(
            "caller identity: the gateway holds no usable enrolled certificate and key for this user "
            "(enrol it again: mledger users add)",
            status=401,
        )
    return LedgerError(f"{type(exc).__name__}: {exc}", status=500)


class FabricLedger:
    """LedgerPort on a real Fabric network through the Gateway service."""

    def __init__(self, profile: NetworkProfile, resolver: IdentityResolver) -> None:
        self.profile = profile
        self.channel = profile.channel
        self.chaincode = profile.chaincode
        self._resolver = resolver
        self._channels: dict[str, grpc.aio.Channel] = {}
        self._gateways: dict[tuple[str, str], AsyncGateway] = {}
        # One commit listener set per peer, shared by every user's gateway on it (one block stream
        # per peer, not one per user), signed by the service identity.
        self._listeners: dict[str, CommitListeners] = {}
        # The service identity's gateways on the other orgs' peers: block and event streams only,
        # for the blocks before the own peer's snapshot (see ``_peer_streams``).
        self._reader_gateways: dict[str, AsyncGateway] = {}
        # The other peer a block or event stream reads while it is before the own peer's snapshot
        # ("blocks", "chaincode events" → endpoint; None once on the own peer).
        self.reading_elsewhere: dict[str, str | None] = {}
        # Set when the gateway's keys are in a PKCS#11 token (app.ledger.factory, app/hsm).
        self.token_identities: TokenIdentities | None = None
        # how long a transaction no orderer accepts is sent again, and an evaluate or endorsement that
        # finds its peer unavailable is made again, before the caller gets 503
        self.submit_retry_seconds = SUBMIT_RETRY_SECONDS
        self.commit_resend_seconds = COMMIT_RESEND_SECONDS
        self.commit_wait_seconds = COMMIT_WAIT_SECONDS

    @classmethod
    def from_profile(
        cls,
        path: Path,
        *,
        wallet: Path | None = None,
        channel: str | None = None,
        chaincode: str | None = None,
    ) -> FabricLedger:
        profile = NetworkProfile.load(path)
        if channel:
            profile.channel = channel
        if chaincode:
            profile.chaincode = chaincode
        wallet_dir = profile.wallet or wallet
        if wallet_dir is None and not profile.users:
            raise LedgerError("fabric backend: no wallet folder for the users' identities", status=503)
        from_wallet = wallet_resolver(wallet_dir) if wallet_dir is not None else None

        def resolve(msp_id: str, user_id: str) -> UserCredentials:
            listed = profile.users.get((msp_id, user_id))
            if listed is not None:
                return UserCredentials(msp_id, msp_dir=listed)
            if from_wallet is None:
                raise LedgerError(f"no enrolled identity for {user_id}@{msp_id} in the profile", status=401)
            return from_wallet(msp_id, user_id)

        return cls(profile, resolve)

    # --- connections -------------------------------------------------------------------
    def _peer_for(self, msp_id: str) -> PeerEndpoint:
        peer = self.profile.peers.get(msp_id) or self.profile.peers.get(self.profile.gateway_org)
        if peer is None:
            raise LedgerUnavailable(f"no gateway peer for {msp_id} in the network profile", status=503)
        return peer

    def _grpc_channel(self, peer: PeerEndpoint) -> grpc.aio.Channel:
        channel = self._channels.get(peer.endpoint)
        if channel is None:
            channel = create_async_channel(
                peer.endpoint,
                tls_root_certificates=peer.tls_ca,
                server_name_override=peer.server_name,
            )
            self._channels[peer.endpoint] = channel
        return channel

    def _credentials(self, msp_id: str, user_id: str) -> tuple[Identity, Sign]:
        creds = self._resolver(msp_id, user_id)
        if creds.msp_dir is not None and (Path(creds.msp_dir) / TOKEN_KEY_MARKER).is_file():
            if self.token_identities is None:  # the key is in an HSM this gateway is not configured for
                raise LedgerError(
                    f"{user_id}@{msp_id}: signing key is in an HSM; none configured", status=503
                )
            return self.token_identities(Path(creds.msp_dir), msp_id)
        if creds.msp_dir is not None:
            return load_msp_folder(creds.msp_dir, msp_id)
        if creds.cert_path is not None and creds.key_path is not None:
            return load_pem_files(msp_id, creds.cert_path, creds.key_path)
        raise LedgerError(f"no enrolled identity for {user_id}@{msp_id}", status=401)

    def _shared_listeners(self, peer: PeerEndpoint) -> CommitListeners | bool:
        listeners = self._listeners.get(peer.endpoint)
        if listeners is None:
            try:
                identity, signer = self._credentials(*self.profile.service_identity)
            except (LedgerError, OSError, ValueError) as exc:
                logger.warning("commit listener: no service identity (%s); each user gets their own", exc)
                return True
            listeners = new_commit_listeners(identity, signer, self._grpc_channel(peer))
            self._listeners[peer.endpoint] = listeners
        return listeners

    def service_network(self) -> Any:
        """The channel's network under the adapter's service identity (one the channel's Readers admit).

        For block consumers such as the read model's projector, which reads every block through the
        adapter's own Gateway connection instead of opening another.
        """
        msp_id, user = self.profile.service_identity
        return self._gateway(msp_id, user).get_network(self.channel)

    def _reader_network(self, peer: PeerEndpoint) -> Any:
        """The service identity's channel network through another org's ``peer`` (no commit listener:
        only Deliver and ChaincodeEvents are called there)."""
        gateway = self._reader_gateways.get(peer.endpoint)
        if gateway is None:
            identity, signer = self._credentials(*self.profile.service_identity)
            gateway = connect_async(
                identity,
                signer,
                self._grpc_channel(peer),
                deadlines=self.profile.deadlines,
                commit_listener=False,
            )
            self._reader_gateways[peer.endpoint] = gateway
        return gateway.get_network(self.channel)

    def _peer_streams(
        self, open_on: Callable[[Any, int, str], AsyncIterator[Any]]
    ) -> tuple[PeerStream, list[PeerStream]]:
        """The own peer's stream and, in profile order, those of the channel's other peers the profile
        lists (each with its TLS CA), all signed by the service identity."""
        own_peer = self._peer_for(self.profile.service_identity[0])

        def on_other(peer: PeerEndpoint) -> PeerStream:
            return PeerStream(peer.endpoint, lambda n, tx: open_on(self._reader_network(peer), n, tx))

        own = PeerStream(own_peer.endpoint, lambda n, tx: open_on(self.service_network(), n, tx))
        others = [
            on_other(peer) for peer in self.profile.peers.values() if peer.endpoint != own_peer.endpoint
        ]
        return own, others

    async def first_served_block(self) -> int:
        """The first block the own peer can serve: 0, or the block after its snapshot when it joined
        the channel from one (qscc ``GetChainInfo``: ``bootstrappingSnapshotInfo``)."""
        from fabric_protos.common import ledger_pb2

        info = ledger_pb2.BlockchainInfo.FromString(await self._qscc("GetChainInfo"))
        if not info.HasField("bootstrappingSnapshotInfo"):
            return 0
        return int(info.bootstrappingSnapshotInfo.lastBlockInSnapshot) + 1

    async def block_events(self, start_block: int) -> AsyncIterator[common_pb2.Block]:
        """Full blocks from ``start_block`` on, forever; those before the own peer's snapshot from
        another channel peer of the profile (see app/fabric_gateway/snapshot_gap.py)."""

        def open_on(network: Any, number: int, _tx: str) -> AsyncIterator[Any]:
            return network.block_events(start_block=number)  # type: ignore[no-any-return]

        own, others = self._peer_streams(open_on)
        stream = bridge_snapshot_gap(
            what="blocks",
            start=start_block,
            after_tx_id="",
            first_served=await self.first_served_block(),
            own=own,
            others=others,
            block_of=lambda block: int(block.header.number),
            whole_blocks=True,
            on_source=lambda name: self.reading_elsewhere.__setitem__("blocks", name),
        )
        async for block in stream:
            yield block

    def _gateway(self, msp_id: str, user_id: str) -> AsyncGateway:
        key = (msp_id, user_id)
        gateway = self._gateways.get(key)
        if gateway is None:
            identity, signer = self._credentials(msp_id, user_id)
            peer = self._peer_for(msp_id)
            gateway = connect_async(
                identity,
                signer,
                self._grpc_channel(peer),
                deadlines=self.profile.deadlines,
                commit_listener=self._shared_listeners(peer),
            )
            self._gateways[key] = gateway
        return gateway

    def forget_identity(self, msp_id: str, user_id: str) -> None:
        """Drop a user's cached signer (call after re-enrolling them: the next call reloads it)."""
        self._gateways.pop((msp_id, user_id), None)

    def _contract(self, caller: Caller, chaincode: str | None = None) -> Any:
        gateway = self._gateway(caller.msp_id, caller.user_id)
        return gateway.get_network(self.channel).get_contract(chaincode or self.chaincode)

    def _service_caller(self) -> Caller:
        msp_id, user = self.profile.service_identity
        return Caller(user, msp_id)

    # --- the port ----------------------------------------------------------------------
    async def evaluate(self, caller: Caller, function: str, args: list[str]) -> bytes:
        try:
            contract = self._contract(caller)
            return await self._through_restart(lambda: contract.evaluate_transaction(function, *args))
        except Exception as exc:
            raise map_error(exc) from exc

    async def _through_restart(self, call: Callable[[], Awaitable[T]]) -> T:
        """A call without side effects on the ledger (evaluate, endorse), made again while it fails as
        unavailable (the gateway's peer restarting, an endorser down) for up to ``submit_retry_seconds``;
        then the error stands (503)."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.submit_retry_seconds, 0.25
        while True:
            try:
                return await call()
            except Exception as exc:
                mapped = map_error(exc)
                if not isinstance(mapped, LedgerUnavailable) or loop.time() + delay > deadline:
                    raise
                logger.info("peer unavailable (%s); calling again in %.2f s", type(exc).__name__, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)

    async def submit(
        self,
        caller: Caller,
        function: str,
        args: list[str],
        transient: dict[str, bytes] | None = None,
        endorsing_orgs: list[str] | None = None,
        before_submit: BeforeSubmit | None = None,
    ) -> TxResult:
        try:
            contract = self._contract(caller)
            proposal = contract.new_proposal(function, args, transient, endorsing_orgs)
            transaction = await self._through_restart(proposal.endorse)
        except Exception as exc:
            raise map_error(exc) from exc
        if before_submit is not None:  # the tx id (sha256(nonce ‖ creator)) is fixed since the proposal
            await before_submit(transaction.transaction_id)
        try:
            status = (await self._committed(transaction)).raise_for_status()
        except Exception as exc:
            raise map_error(exc) from exc
        prepared = gateway_pb2.PreparedTransaction.FromString(transaction.bytes())
        payload = common_pb2.Payload.FromString(prepared.envelope.payload)
        stamp = common_pb2.ChannelHeader.FromString(payload.header.channel_header).timestamp
        return TxResult(
            tx_id=transaction.transaction_id,
            block_number=status.block_number,
            validation_code=status.code_name,
            payload=transaction.result,
            timestamp=_datetime(stamp),
        )

    async def _submit_through_election(self, transaction: Any) -> Any:
        """Send the endorsed transaction; while no orderer takes it (UNAVAILABLE: e.g. the Raft leader
        died and a new one is being elected), send the *same* signed transaction again for up to
        ``submit_retry_seconds``. Safe: one tx id commits at most once (a second copy ordered is
        invalidated as DUPLICATE_TXID), and nothing else is signed anew."""
        loop = asyncio.get_running_loop()
        deadline, delay = loop.time() + self.submit_retry_seconds, 0.25
        while True:
            try:
                return await transaction.submit()
            except SubmitError as exc:
                if exc.code not in _UNAVAILABLE or loop.time() + delay > deadline:
                    raise
                logger.info(
                    "submit of %s: %s; sending it again in %.2f s",
                    transaction.transaction_id,
                    exc.code.name,
                    delay,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 4.0)

    async def _committed(self, transaction: Any) -> Any:
        """Send the transaction and wait for its commit status. Accepted is not ordered: a leader that
        dies with the transaction in its queue loses it, and its commit would never be seen. So when
        no commit is seen for ``commit_resend_seconds`` the *same* signed transaction is sent again
        (a copy ordered twice is invalidated as DUPLICATE_TXID; the commit status reports the first),
        until ``commit_wait_seconds`` have passed (then CommitStatusError as before: 503)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.commit_wait_seconds
        commit = await self._submit_through_election(transaction)
        while True:
            wait = max(0.05, min(self.commit_resend_seconds, deadline - loop.time()))
            try:
                return await commit.get_status(timeout=wait)
            except CommitStatusError as exc:
                if exc.code != grpc.StatusCode.DEADLINE_EXCEEDED or loop.time() >= deadline - 0.05:
                    raise
            logger.info(
                "commit of %s not seen in %.0f s: sending the same transaction again",
                transaction.transaction_id,
                wait,
            )
            commit = await self._submit_through_election(transaction)

    async def _qscc(self, function: str, *args: str) -> bytes:
        contract = self._contract(self._service_caller(), "qscc")
        try:
            return await contract.evaluate_transaction(function, self.channel, *args)
        except Exception as exc:
            raise map_error(exc) from exc

    async def transaction_status(self, tx_id: str) -> TxResult | None:
        try:
            raw = await self._qscc("GetTransactionByID", tx_id)
        except ChaincodeRefused as exc:
            if "not found" in exc.message.lower() or "no such transaction" in exc.message.lower():
                return None
            raise
        processed = transaction_pb2.ProcessedTransaction.FromString(raw)
        block = common_pb2.Block.FromString(await self._qscc("GetBlockByTxID", tx_id))
        payload = common_pb2.Payload.FromString(processed.transactionEnvelope.payload)
        header = common_pb2.ChannelHeader.FromString(payload.header.channel_header)
        response_payload = b""
        if header.type == common_pb2.ENDORSER_TRANSACTION:
            tx = transaction_pb2.Transaction.FromString(payload.data)
            if tx.actions:
                action_payload = transaction_pb2.ChaincodeActionPayload.FromString(tx.actions[0].payload)
                prp = proposal_response_pb2.ProposalResponsePayload.FromString(
                    action_payload.action.proposal_response_payload
                )
                response_payload = proposal_pb2.ChaincodeAction.FromString(prp.extension).response.payload
        return TxResult(
            tx_id=tx_id,
            block_number=block.header.number,
            validation_code=validation_code_name(processed.validationCode),
            payload=response_payload,
            timestamp=_datetime(header.timestamp),
        )

    async def transaction_origin(self, tx_id: str) -> TxOrigin | None:
        """One qscc call: the block holding the transaction carries its signed envelope."""
        try:
            raw = await self._qscc("GetBlockByTxID", tx_id)
        except ChaincodeRefused as exc:
            if "not found" in exc.message.lower() or "no such transaction" in exc.message.lower():
                return None
            raise
        return origin_in_block(common_pb2.Block.FromString(raw), tx_id)

    async def chaincode_events(
        self, start_block: int | None = None, after_tx_id: str | None = None
    ) -> AsyncIterator[LedgerEvent]:
        if after_tx_id and start_block is None:
            block = common_pb2.Block.FromString(await self._qscc("GetBlockByTxID", after_tx_id))
            start_block = block.header.number

        events: Any

        def open_on(network: Any, number: int | None, tx: str) -> AsyncIterator[Any]:
            return network.chaincode_events(  # type: ignore[no-any-return]
                self.chaincode, start_block=number, after_transaction_id=tx
            )

        try:
            if start_block is None:  # from the next block: the own peer has it
                events = open_on(self.service_network(), None, "")
            else:  # blocks before the own peer's snapshot come from another peer
                own, others = self._peer_streams(open_on)
                events = bridge_snapshot_gap(
                    what="chaincode events",
                    start=start_block,
                    after_tx_id=after_tx_id or "",
                    first_served=await self.first_served_block(),
                    own=own,
                    others=others,
                    block_of=lambda event: int(event.block_number),
                    on_source=lambda name: self.reading_elsewhere.__setitem__("chaincode events", name),
                )
        except Exception as exc:
            raise map_error(exc) from exc
        try:
            async for event in events:
                yield LedgerEvent(
                    event.block_number,
                    event.transaction_id,
                    event.chaincode_name,
                    event.event_name,
                    event.payload,
                )
        except Exception as exc:
            raise map_error(exc) from exc
        finally:
            await events.aclose()

    async def peer_height(self, msp_id: str, user: str = "auditor1") -> int:
        """The block height of ``msp_id``'s own peer (qscc through that org's gateway peer)."""
        from fabric_protos.common import ledger_pb2

        contract = self._contract(Caller(user, msp_id), "qscc")
        try:
            raw = await contract.evaluate_transaction("GetChainInfo", self.channel)
        except Exception as exc:
            raise map_error(exc) from exc
        return int(ledger_pb2.BlockchainInfo.FromString(raw).height)

    async def wait_for_peers(self, block_number: int, timeout: float = 15.0, user: str = "auditor1") -> None:
        """Wait until every org's peer has committed ``block_number`` (peers commit at their own pace:
        a tx endorsed right after another commits may otherwise read stale state on a lagging peer)."""
        deadline = asyncio.get_running_loop().time() + timeout
        for msp_id in self.profile.peers:
            while await self.peer_height(msp_id, user) <= block_number:
                if asyncio.get_running_loop().time() > deadline:
                    raise LedgerUnavailable(
                        f"peer of {msp_id} did not reach block {block_number} in {timeout}s"
                    )
                await asyncio.sleep(0.05)

    async def health(self) -> dict[str, str]:
        from fabric_protos.common import ledger_pb2

        try:
            info = ledger_pb2.BlockchainInfo.FromString(await self._qscc("GetChainInfo"))
        except LedgerError as exc:
            return {"backend": "fabric", "status": f"unavailable: {exc.message}", "channel": self.channel}
        return {"backend": "fabric", "status": "ok", "channel": self.channel, "height": str(info.height)}

    async def close(self) -> None:
        for gateway in [*self._gateways.values(), *self._reader_gateways.values()]:
            await gateway.close()
        self._gateways.clear()
        self._reader_gateways.clear()
        listeners, self._listeners = list(self._listeners.values()), {}
        for shared in listeners:
            await shared.aclose()
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close()


def _datetime(stamp: Any) -> datetime:
    return datetime.fromtimestamp(stamp.seconds, tz=UTC).replace(microsecond=stamp.nanos // 1000)
