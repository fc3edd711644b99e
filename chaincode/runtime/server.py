"""Chaincode-as-a-service server: peers dial it and speak the chaincode protocol on ``Chaincode.Connect``.

    python -m chaincode.runtime.server --chaincode-id <package id> --address 127.0.0.1:<port> \\
        --contract <module>:<Class> [--contract ...] [--tls-cert F --tls-key F [--client-ca F]]

Env fallbacks: CHAINCODE_ID, CHAINCODE_SERVER_ADDRESS (and CHAINCODE_TLS_CERT, CHAINCODE_TLS_KEY,
CHAINCODE_CLIENT_CA). One server serves every peer: each peer opens its own stream. TLS is optional;
with ``--client-ca`` the peer must present a client certificate signed by it. SIGTERM/SIGINT stop it
gracefully (running transactions get a few seconds to finish).
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import re
import signal
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc

from .contract import Contract
from .dispatch import ContractRouter
from .handler import Handler

logger = logging.getLogger(__name__)

PACKAGE_ID_RE = re.compile(r"^[^:]+:[0-9a-f]{64}$")
MAX_MESSAGE = 100 * 1024 * 1024  # the peer's default gRPC message limit

GRPC_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
    # peers ping every peer.keepalive.client.interval; do not answer with GOAWAY too_many_pings
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_recv_ping_interval_without_data_ms", 5000),
    ("grpc.http2.max_ping_strikes", 0),
]


class TLSConfig:
    """Server certificate and key (PEM), and the CA of accepted client certificates if client auth is on."""

    def __init__(self, cert: bytes, key: bytes, client_ca: bytes | None = None) -> None:
        self.cert = cert
        self.key = key
        self.client_ca = client_ca

    @classmethod
    def from_files(cls, cert: str | Path, key: str | Path, client_ca: str | Path | None = None) -> TLSConfig:
        return cls(
            Path(cert).read_bytes(),
            Path(key).read_bytes(),
            Path(client_ca).read_bytes() if client_ca else None,
        )

    def credentials(self) -> grpc.ServerCredentials:
        return grpc.ssl_server_credentials(
            [(self.key, self.cert)],
            root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None,
        )


class _Servicer(shim_grpc.ChaincodeServicer):
    def __init__(self, server: ChaincodeServer) -> None:
        self._server = server

    def Connect(  # gRPC method name
        self, request_iterator: Iterable[shim.ChaincodeMessage], context: grpc.ServicerContext
    ) -> Iterator[shim.ChaincodeMessage]:
        return self._server.serve_stream(request_iterator, context)


class ChaincodeServer:
    """The gRPC server hosting one chaincode (its contracts) for any number of peers."""

    def __init__(
        self,
        chaincode_id: str,
        address: str,
        contracts: Sequence[Contract | type[Contract]] | ContractRouter,
        *,
        tls: TLSConfig | None = None,
        max_transactions: int = 64,
        max_streams: int = 32,
    ) -> None:
        if not chaincode_id:
            raise ValueError("chaincode id (the installed package ID) is required")
        if not PACKAGE_ID_RE.match(chaincode_id):
            logger.warning(
                "chaincode id %r does not look like a package ID (label:<64 hex>); a peer will ignore it",
                chaincode_id,
            )
        self.chaincode_id = chaincode_id
        self.address = address
        self.router = contracts if isinstance(contracts, ContractRouter) else ContractRouter(contracts)
        self.tls = tls
        self._tx_pool = ThreadPoolExecutor(max_transactions, thread_name_prefix="cc-tx")
        # each open stream holds one gRPC worker for its lifetime
        self._grpc = grpc.server(
            ThreadPoolExecutor(max_streams, thread_name_prefix="cc-stream"),
            options=GRPC_OPTIONS,
            maximum_concurrent_rpcs=max_streams,
        )
        shim_grpc.add_ChaincodeServicer_to_server(_Servicer(self), self._grpc)
        self._handlers: set[Handler] = set()
        self._lock = threading.Lock()
        self.port = 0

    def serve_stream(
        self, request_iterator: Iterable[shim.ChaincodeMessage], context: grpc.ServicerContext
    ) -> Iterator[shim.ChaincodeMessage]:
        peer = context.peer()
        logger.info("peer connected: %s", peer)
        handler = Handler(self.router, self.chaincode_id, self._tx_pool, peer=peer)
        with self._lock:
            self._handlers.add(handler)
        context.add_callback(handler.close)
        reader = threading.Thread(
            target=handler.consume, args=(request_iterator,), name="cc-reader", daemon=True
        )
        reader.start()
        try:
            yield from handler.outgoing()
        finally:
            handler.close()
            with self._lock:
                self._handlers.discard(handler)
            logger.info("peer disconnected: %s", peer)

    def start(self) -> int:
        """Bind and start serving; returns the bound port (useful with port 0)."""
        if self.tls is not None:
            self.port = self._grpc.add_secure_port(self.address, self.tls.credentials())
        else:
            self.port = self._grpc.add_insecure_port(self.address)
        if not self.port:
            raise OSError(f"cannot listen on {self.address}")
        self._grpc.start()
        logger.info(
            "chaincode %s listening on %s (%s)",
            self.chaincode_id,
            self.address,
            "TLS" if self.tls else "plaintext",
        )
        return self.port

    def stop(self, grace: float = 5.0) -> None:
        """Stop accepting, let running transactions finish for up to ``grace`` seconds, close streams."""
        logger.info("chaincode server stopping")
        drained = threading.Event()
        self._tx_pool.shutdown(wait=False, cancel_futures=True)

        def drain() -> None:
            self._tx_pool.shutdown(wait=True)
            drained.set()

        threading.Thread(target=drain, daemon=True).start()
        drained.wait(grace)
        with self._lock:
            handlers = list(self._handlers)
        for h in handlers:
            h.close()
        self._grpc.stop(grace=1.0).wait()

    def wait(self) -> None:
        self._grpc.wait_for_termination()


def load_contract(spec: str) -> type[Contract]:
    """``package.module:ClassName`` → the Contract subclass."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"--contract must be <module>:<Class>, got {spec!r}")
    module = importlib.import_module(module_name)
    cls = getattr(module, attr, None)
    if not (isinstance(cls, type) and issubclass(cls, Contract)):
        raise ValueError(f"{spec} is not a Contract subclass")
    return cls


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m chaincode.runtime.server", description=__doc__.split("\n")[0])
    p.add_argument("--chaincode-id", default=os.environ.get("CHAINCODE_ID"), help="installed package ID")
    p.add_argument(
        "--address", default=os.environ.get("CHAINCODE_SERVER_ADDRESS"), help="host:port to listen on"
    )
    p.add_argument(
        "--contract", action="append", default=[], help="<module>:<Class>; first one is the default"
    )
    p.add_argument("--tls-cert", default=os.environ.get("CHAINCODE_TLS_CERT"))
    p.add_argument("--tls-key", default=os.environ.get("CHAINCODE_TLS_KEY"))
    p.add_argument("--client-ca", default=os.environ.get("CHAINCODE_CLIENT_CA"))
    p.add_argument("--max-transactions", type=int, default=64, help="transactions executed at once")
    p.add_argument("--log-level", default=os.environ.get("CHAINCODE_LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    if not args.chaincode_id:
        p.error("--chaincode-id (or CHAINCODE_ID) is required")
    if not args.address:
        p.error("--address (or CHAINCODE_SERVER_ADDRESS) is required")
    if not args.contract:
        p.error("at least one --contract <module>:<Class> is required")
    if bool(args.tls_cert) != bool(args.tls_key):
        p.error("--tls-cert and --tls-key go together")
    if args.client_ca and not args.tls_cert:
        p.error("--client-ca needs --tls-cert and --tls-key")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        contracts = [load_contract(spec) for spec in args.contract]
    except (ImportError, ValueError) as exc:
        logger.error("cannot load contract: %s", exc)
        return 2
    tls = TLSConfig.from_files(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    server = ChaincodeServer(
        args.chaincode_id, args.address, contracts, tls=tls, max_transactions=args.max_transactions
    )
    try:
        server.start()
    except (OSError, RuntimeError) as exc:
        logger.error("%s", exc)
        return 1
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("received %s", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
