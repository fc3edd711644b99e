"""The reconnecting iterator behind chaincode events and block events (blocking and asyncio).

A source knows how to open its stream, turn a response into items, remember the position of the
last item handed out, and build a freshly signed request that resumes from there. When the peer
goes away (UNAVAILABLE, a dropped stream) the iterator waits with backoff and resubscribes from
that position, so no event is lost or repeated across a peer restart. Resubscriptions fail fast
(no wait-for-ready) so ``max_attempts`` bounds how long a dead peer is retried; the channel's own
reconnect backoff (capped in :mod:`connection`) decides how soon a restarted peer is seen again.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from typing import Any, Generic, Protocol, TypeVar

import grpc

from .errors import GatewayError
from .options import ReconnectPolicy

logger = logging.getLogger(__name__)

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

RECONNECT_CODES = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.CANCELLED,
        grpc.StatusCode.INTERNAL,
        grpc.StatusCode.UNKNOWN,
    }
)


class StreamInterrupted(Exception):
    """Raised by a source when a response says the server is going away (resubscribe)."""


class EventSource(Protocol[T]):
    @property
    def error_class(self) -> type[GatewayError]: ...

    def can_resume(self) -> bool: ...

    def request(self) -> Any: ...

    def resume_request(self) -> Any: ...

    def open(self, request: Any, wait_for_ready: bool) -> Any: ...

    def items(self, response: Any) -> list[T]: ...

    def advance(self, item: T) -> None: ...


class _IteratorCore(Generic[T]):
    """Buffering, positions and the reconnect decision, shared by the blocking and asyncio iterators."""

    def __init__(
        self, source: EventSource[T], policy: ReconnectPolicy, stop: threading.Event | asyncio.Event
    ) -> None:
        self._stop = stop  # set by close(): ends a backoff wait at once
        self.source = source
        self.policy = policy
        self.buffer: deque[T] = deque()
        self.attempt = 0
        self.closed = False
        self.request: Any = source.request()
        self._call: Any = None  # the open stream

    def next_buffered(self) -> T | None:
        if not self.buffer:
            return None
        item = self.buffer.popleft()
        self.source.advance(item)
        return item

    def _open(self) -> Any:
        if self._call is None:
            self._call = self.source.open(self.request, False)
        return self._call

    def accept(self, response: Any) -> None:
        items = self.source.items(response)
        self.attempt = 0
        self.buffer.extend(items)

    def failure(self, code: grpc.StatusCode, error: BaseException | None) -> float:
        """Decide on a failed or ended stream: return the backoff before resubscribing, or raise."""
        reconnect = (
            code in RECONNECT_CODES and self.source.can_resume() and self.policy.allows(self.attempt + 1)
        )
        if not reconnect:
            if isinstance(error, grpc.RpcError):
                raise self.source.error_class.from_rpc_error(error) from None
            raise self.source.error_class(str(error or "stream ended"), code=code)
        self.attempt += 1
        delay = self.policy.backoff(self.attempt)
        logger.info("event stream interrupted (%s); resubscribing in %.2fs", code.name, delay)
        return delay

    def resubscribe(self) -> None:
        self.request = self.source.resume_request()

    def _cancel_call(self) -> None:
        call, self._call = self._call, None
        if call is not None:
            call.cancel()

    def _after_failure(self, code: grpc.StatusCode, error: BaseException | None) -> float | None:
        """Drop the broken stream: None when closed meanwhile, else the backoff before resubscribing;
        raises the stage error (and closes) when the policy gives up."""
        self._cancel_call()
        if self.closed:
            return None
        try:
            return self.failure(code, error)
        except BaseException:
            self._close_now()
            raise

    def _close_now(self) -> None:
        self.closed = True
        self._stop.set()
        self._cancel_call()


def _code_of(error: BaseException) -> grpc.StatusCode:
    if isinstance(error, grpc.RpcError) and hasattr(error, "code"):
        return error.code() or grpc.StatusCode.UNKNOWN
    return grpc.StatusCode.UNAVAILABLE


class EventIterator(_IteratorCore[T]):
    """Blocking iterator; ``close()`` (from any thread) ends it. Also a context manager."""

    def __init__(self, source: EventSource[T], policy: ReconnectPolicy) -> None:
        self._stop: threading.Event
        super().__init__(source, policy, threading.Event())

    def __iter__(self) -> EventIterator[T]:
        return self

    def __next__(self) -> T:
        while True:
            item = self.next_buffered()
            if item is not None:
                return item
            if self.closed:
                raise StopIteration
            call = self._open()
            try:
                response = next(call)
            except StopIteration:
                error: BaseException | None = None
                code = grpc.StatusCode.UNAVAILABLE
            except grpc.RpcError as exc:
                error, code = exc, _code_of(exc)
            except StreamInterrupted as exc:
                error, code = exc, grpc.StatusCode.UNAVAILABLE
            else:
                try:
                    self.accept(response)
                    continue
                except StreamInterrupted as exc:
                    error, code = exc, grpc.StatusCode.UNAVAILABLE
                except BaseException:
                    self.close()
                    raise
            delay = self._after_failure(code, error)
            if delay is None or self._stop.wait(delay):
                raise StopIteration
            self.resubscribe()

    def close(self) -> None:
        self._close_now()

    def __enter__(self) -> EventIterator[T]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncEventIterator(_IteratorCore[T]):
    """asyncio iterator; ``await close()`` ends it. Also an async context manager."""

    def __init__(self, source: EventSource[T], policy: ReconnectPolicy) -> None:
        self._stop: asyncio.Event
        super().__init__(source, policy, asyncio.Event())

    def __aiter__(self) -> AsyncEventIterator[T]:
        return self

    async def __anext__(self) -> T:
        while True:
            item = self.next_buffered()
            if item is not None:
                return item
            if self.closed:
                raise StopAsyncIteration
            call = self._open()
            error: BaseException | None
            try:
                response = await call.read()
            except grpc.RpcError as exc:
                error, code = exc, _code_of(exc)
            except asyncio.CancelledError:
                if self.closed:
                    raise StopAsyncIteration from None
                raise
            else:
                if response is grpc.aio.EOF:
                    error, code = None, grpc.StatusCode.UNAVAILABLE
                else:
                    try:
                        self.accept(response)
                        continue
                    except StreamInterrupted as exc:
                        error, code = exc, grpc.StatusCode.UNAVAILABLE
                    except BaseException:
                        await self.close()
                        raise
            delay = self._after_failure(code, error)
            if delay is None:
                raise StopAsyncIteration
            try:
                await asyncio.wait_for(self._stop.wait(), delay)
                raise StopAsyncIteration
            except TimeoutError:
                pass
            self.resubscribe()

    async def close(self) -> None:
        self._close_now()

    async def aclose(self) -> None:
        await self.close()

    async def __aenter__(self) -> AsyncEventIterator[T]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
