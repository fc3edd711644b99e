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
import asyncio
import importlib
import logging
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc

from .contract import Contract
from .dispatch import ContractRouter
from .handler import Handler
from .workers import WORKER_ENV, Supervisor

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


class _Servicer(shim_grpc.ChaincodeServicer):  # type: ignore[misc]  # generated, untyped
    def __init__(self, server: ChaincodeServer) -> None:
        self._server = server

    async def Connect(  # gRPC method name
        self, request_iterator: object, context: grpc.aio.ServicerContext
    ) -> None:
        await self._server.serve_stream(context)


class ChaincodeServer:
    """The gRPC server hosting one chaincode (its contracts) for any number of peers.

    It runs grpc's asyncio server on one event loop in a thread of its own; every stream's messages
    are handled on that loop and its transactions run there as greenlets (see :mod:`.handler`). Only
    functions marked ``blocking=True`` use threads (``blocking_threads`` of them).
    """

    def __init__(
        self,
        chaincode_id: str,
        address: str,
        contracts: Sequence[Contract | type[Contract]] | ContractRouter,
        *,
        tls: TLSConfig | None = None,
        blocking_threads: int = 4,
        max_streams: int = 64,
        reuse_port: bool = False,
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
        self.max_streams = max_streams
        self.reuse_port = reuse_port
        self._blocking_pool = ThreadPoolExecutor(max(1, blocking_threads), thread_name_prefix="cc-blocking")
        self._loop = asyncio.new_event_loop()
        self._thread: threading.Thread | None = None
        self._grpc: grpc.aio.Server | None = None
        self._handlers: set[Handler] = set()
        self._stopping = False
        self._terminated = threading.Event()
        self.port = 0

    async def serve_stream(self, context: grpc.aio.ServicerContext) -> None:
        """One peer's stream: read, handle, write, on this coroutine only."""
        peer = context.peer()
        logger.info("peer connected: %s", peer)
        handler = Handler(
            self.router,
            self.chaincode_id,
            write=context.write,
            loop=self._loop,
            blocking_executor=self._blocking_pool,
            peer=peer,
        )
        handler.stopping = self._stopping
        self._handlers.add(handler)
        read = context.read
        eof = grpc.aio.EOF
        try:
            await handler.start()
            while True:
                msg = await read()
                if msg is eof:
                    break
                handler._handle(msg)
                if handler._out:
                    await handler.flush()
                if handler.ending:
                    break
        except asyncio.CancelledError:
            logger.info("stream from %s cancelled", peer)
        except Exception as exc:  # the peer went away mid-write, a transport error
            logger.info("stream from %s ended: %s", peer, type(exc).__name__)
        finally:
            handler.close()
            self._handlers.discard(handler)
            logger.info("peer disconnected: %s", peer)

    def start(self) -> int:
        """Bind and start serving; returns the bound port (useful with port 0)."""
        self._thread = threading.Thread(target=self._run_loop, name="cc-loop", daemon=True)
        self._thread.start()
        try:
            return asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(30)
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._terminated.set()

    async def _start(self) -> int:
        options = [*GRPC_OPTIONS, ("grpc.so_reuseport", 1 if self.reuse_port else 0)]
        self._grpc = grpc.aio.server(options=options, maximum_concurrent_rpcs=self.max_streams)
        shim_grpc.add_ChaincodeServicer_to_server(_Servicer(self), self._grpc)
        try:
            if self.tls is not None:
                self.port = self._grpc.add_secure_port(self.address, self.tls.credentials())
            else:
                self.port = self._grpc.add_insecure_port(self.address)
        except RuntimeError as exc:
            raise OSError(f"cannot listen on {self.address}: {exc}") from exc
        if not self.port:
            raise OSError(f"cannot listen on {self.address}")
        await self._grpc.start()
        logger.info(
            "chaincode %s listening on %s (%s)",
            self.chaincode_id,
            self.address,
            "TLS" if self.tls else "plaintext",
        )
        return self.port

    def stop(self, grace: float = 5.0) -> None:
        """Refuse new transactions, let running ones finish for up to ``grace`` seconds, close streams."""
        logger.info("chaincode server stopping")
        if self._thread is None or not self._thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(grace), self._loop).result(grace + 10)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)
            self._blocking_pool.shutdown(wait=False, cancel_futures=True)

    async def _stop(self, grace: float) -> None:
        self._stopping = True
        for h in self._handlers:
            h.stopping = True
        deadline = time.monotonic() + grace
        while any(h.busy for h in self._handlers) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for h in list(self._handlers):
            h.close()
        if self._grpc is not None:
            await self._grpc.stop(1.0)

    def serve(self, grace: float = 5.0) -> None:
        """Serve on the calling (main) thread until SIGTERM/SIGINT, then stop gracefully.

        The CLI's way: grpc's asyncio server costs measurably less CPU per message with its event loop
        on the main thread than on a thread of its own (what :meth:`start` does, for embedding and tests).
        Raises OSError when the address cannot be bound.
        """
        loop = self._loop
        asyncio.set_event_loop(loop)

        async def run() -> None:
            stop = asyncio.Event()

            def on_signal(signum: int) -> None:
                logger.info("received %s", signal.Signals(signum).name)
                stop.set()

            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, on_signal, sig)
            await self._start()
            await stop.wait()
            await self._stop(grace)

        try:
            loop.run_until_complete(run())
        finally:
            self._blocking_pool.shutdown(wait=False, cancel_futures=True)
            self._terminated.set()

    def wait(self) -> None:
        self._terminated.wait()

    @property
    def open_streams(self) -> int:
        """Peers connected now (streams being served)."""
        return len(self._handlers)


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
    p.add_argument(
        "--blocking-threads",
        "--max-transactions",
        dest="blocking_threads",
        type=int,
        default=4,
        help="threads for contract functions marked blocking=True (the others run on the event loop)",
    )
    p.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("CHAINCODE_WORKERS", "1") or 1),
        help="server processes behind the one address (SO_REUSEPORT): each peer's stream lands on one, "
        "so with several peers connected the chaincode uses several cores",
    )
    p.add_argument("--reuse-port", action="store_true", help="bind with SO_REUSEPORT (set for each worker)")
    p.add_argument("--log-level", default=os.environ.get("CHAINCODE_LOG_LEVEL", "INFO"))
    args = p.parse_args(argv)
    if args.workers < 1:
        p.error(f"--workers: must be at least 1, got {args.workers}")
    if args.workers > 1 and args.address and args.address.rsplit(":", 1)[-1] == "0":
        p.error("--workers: needs a fixed port (every worker binds the same address), got port 0")
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
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parse_args(argv)
    worker = os.environ.get(WORKER_ENV)
    logging.basicConfig(
        level=args.log_level.upper(),
        format=f"%(asctime)s %(levelname)s %(name)s{f' [worker {worker}]' if worker else ''}: %(message)s",
        stream=sys.stderr,
    )
    if args.workers > 1:
        return _supervise(argv, args.workers, args.address)
    try:
        contracts = [load_contract(spec) for spec in args.contract]
    except (ImportError, ValueError) as exc:
        logger.error("cannot load contract: %s", exc)
        return 2
    tls = TLSConfig.from_files(args.tls_cert, args.tls_key, args.client_ca) if args.tls_cert else None
    server = ChaincodeServer(
        args.chaincode_id,
        args.address,
        contracts,
        tls=tls,
        blocking_threads=args.blocking_threads,
        reuse_port=args.reuse_port,
    )
    try:
        server.serve()
    except (OSError, RuntimeError) as exc:
        logger.error("%s", exc)
        return 1
    return 0


def _supervise(argv: list[str], workers: int, address: str) -> int:
    """Run ``workers`` server processes on the one address until SIGTERM/SIGINT."""
    supervisor = Supervisor(argv, workers)

    def on_signal(signum: int, _frame: object) -> None:
        logger.info("received %s; stopping %d workers", signal.Signals(signum).name, workers)
        supervisor.request_stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    logger.info("chaincode server: %d worker processes on %s", workers, address)
    return supervisor.run()


if __name__ == "__main__":
    sys.exit(main())
