"""A client for kubo's RPC API (``/api/v0``), sync and async, sharing one core.

The core builds each call (path, query, multipart body) and interprets each answer; the two
clients only move bytes with httpx. Every RPC call is a POST. ``add`` passes cid-version,
raw-leaves, chunker, max-file-links, hash, trickle and pin explicitly, so the node's own defaults
or ``Import.*`` config cannot change the CIDs (they must equal the embedded store's).

Errors: a daemon that cannot be reached raises :class:`StoreUnavailable` naming the URL; an
error answer raises :class:`KuboError` with kubo's message; a CID kubo does not have locally
(``has``) is ``False``, and on ``cat``/``stat`` raises :class:`ContentNotFound`.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

import httpx

from ipfs.importer import DEFAULT_CHUNK_SIZE, DEFAULT_MAX_LINKS
from ipfs.multiformats import CID, CIDError
from ipfs.port import (
    AddResult,
    AddSource,
    ContentNotFound,
    ContentStoreError,
    InvalidRequest,
    Stat,
    StoreUnavailable,
)

log = logging.getLogger(__name__)

DEFAULT_API_URL = "http://127.0.0.1:5001"
_NOT_FOUND_MARKERS = ("not found", "could not find", "no link named", "block was not found")


class KuboError(ContentStoreError):
    """kubo answered with an error; ``message`` is kubo's own text."""

    def __init__(self, message: str, *, status: int, command: str):
        super().__init__(f"kubo {command}: {message} (HTTP {status})")
        self.message = message
        self.status = status
        self.command = command


class _CountingReader(io.RawIOBase):
    """Reads a stream or an iterable of bytes for the multipart body, counting what went out.

    Not seekable on purpose: httpx then sends the body chunked instead of reading it twice.
    """

    def __init__(self, source: BinaryIO | Iterable[bytes]):
        self._reader = source if hasattr(source, "read") else None
        self._iter: Iterator[bytes] | None = None if self._reader else iter(source)  # type: ignore[arg-type]
        self._pending = b""
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        if self._reader is not None:
            data = self._reader.read(len(view))  # type: ignore[union-attr]
        else:
            while not self._pending:
                try:
                    self._pending = bytes(next(self._iter))  # type: ignore[arg-type]
                except StopIteration:
                    break
            data, self._pending = self._pending[: len(view)], self._pending[len(view) :]
        n = len(data or b"")
        view[:n] = data or b""
        self.count += n
        return n


@dataclass(slots=True)
class _Call:
    command: str
    params: dict[str, str] = field(default_factory=dict)
    files: dict[str, Any] | None = None
    counter: _CountingReader | None = None
    plain_size: int | None = None

    @property
    def path(self) -> str:
        return f"/api/v0/{self.command}"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _check_cid(cid: str) -> str:
    try:
        return CID.parse(cid).encode()
    except CIDError as exc:
        raise InvalidRequest(f"cid {cid!r}: {exc}") from None


class KuboCore:
    """Request building and answer parsing, shared by :class:`KuboClient` and :class:`AsyncKuboClient`."""

    def __init__(self, api_url: str = DEFAULT_API_URL, *, fetch_timeout: str = "60s"):
        url = api_url.rstrip("/")
        url = url.removesuffix("/api/v0")
        self.api_url = url
        self.fetch_timeout = fetch_timeout  # kubo-side limit for fetching blocks from peers

    # -- building -------------------------------------------------------------------------------
    def add_call(self, data: AddSource, *, cid_version: int, pin: bool) -> _Call:
        if cid_version not in (0, 1):
            raise InvalidRequest(f"cid_version: must be 0 or 1, got {cid_version!r}")
        params = {
            "cid-version": str(cid_version),
            "raw-leaves": _bool(cid_version == 1),
            "chunker": f"size-{DEFAULT_CHUNK_SIZE}",
            "max-file-links": str(DEFAULT_MAX_LINKS),  # kubo >= 0.35; else Import.UnixFSFileMaxLinks rules
            "hash": "sha2-256",
            "trickle": "false",
            "pin": _bool(pin),
            "quieter": "true",
            "progress": "false",
        }
        if isinstance(data, bytes | bytearray | memoryview):
            body = bytes(data)
            return _Call("add", params, {"file": ("blob", body, "application/octet-stream")}, None, len(body))
        counter = _CountingReader(data)
        return _Call("add", params, {"file": ("blob", counter, "application/octet-stream")}, counter)

    def cat_call(self, cid: str) -> _Call:
        return _Call("cat", {"arg": _check_cid(cid), "timeout": self.fetch_timeout})

    def pin_call(self, cid: str) -> _Call:
        return _Call("pin/add", {"arg": _check_cid(cid), "recursive": "true", "timeout": self.fetch_timeout})

    def has_call(self, cid: str) -> _Call:
        return _Call("block/stat", {"arg": _check_cid(cid), "offline": "true"})

    def stat_call(self, cid: str) -> _Call:
        return _Call("files/stat", {"arg": f"/ipfs/{_check_cid(cid)}", "timeout": self.fetch_timeout})

    def version_call(self) -> _Call:
        return _Call("version")

    # -- interpreting ---------------------------------------------------------------------------
    def unavailable(self, exc: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"kubo RPC at {self.api_url} is not reachable ({type(exc).__name__}: {exc}); "
            "is the IPFS daemon running? (`python -m network up` starts the local one)"
        )

    def raise_for_error(self, call: _Call, response: httpx.Response) -> None:
        if response.status_code < 400:
            trailer_error = response.headers.get("X-Stream-Error")
            if trailer_error:
                raise KuboError(trailer_error, status=response.status_code, command=call.command)
            return
        message = response.text.strip()
        try:
            payload = json.loads(message)
            if isinstance(payload, dict) and "Message" in payload:
                message = str(payload["Message"])
        except ValueError:
            pass
        if response.status_code == 404:
            message = f"{message or 'no such endpoint'} (is {self.api_url} a kubo RPC API?)"
        lowered = message.lower()
        if any(marker in lowered for marker in _NOT_FOUND_MARKERS):
            raise ContentNotFound(f"kubo {call.command} {call.params.get('arg', '')}: {message}")
        if "context deadline exceeded" in lowered and "timeout" in call.params:
            raise ContentNotFound(
                f"kubo {call.command} {call.params.get('arg', '')}: not found locally or on the swarm "
                f"within {call.params['timeout']} ({message})"
            )
        raise KuboError(message or response.reason_phrase, status=response.status_code, command=call.command)

    def parse_add(self, call: _Call, response: httpx.Response) -> AddResult:
        last: dict[str, Any] | None = None
        for line in response.text.splitlines():
            line = line.strip()
            if not line:
                continue
            item = json.loads(line)
            if "Message" in item and item.get("Type") == "error":
                raise KuboError(str(item["Message"]), status=response.status_code, command="add")
            if "Hash" in item:
                last = item
        if last is None:
            raise KuboError(f"no root CID in the answer: {response.text[:200]!r}", status=200, command="add")
        size = call.plain_size if call.plain_size is not None else (call.counter.count if call.counter else 0)
        return AddResult(str(last["Hash"]), size, int(last.get("Size", 0)))

    def parse_has(self, call: _Call, response: httpx.Response) -> bool:
        try:
            self.raise_for_error(call, response)
        except ContentNotFound:
            return False
        return True

    def parse_stat(self, response: httpx.Response) -> Stat:
        item = response.json()
        return Stat(
            cid=str(item["Hash"]),
            size=int(item["Size"]),
            cumulative_size=int(item["CumulativeSize"]),
            blocks=int(item["Blocks"]),
            type=str(item["Type"]),
        )


class KuboClient:
    """Blocking client. Use as a context manager, or call :meth:`close`."""

    def __init__(self, api_url: str = DEFAULT_API_URL, *, timeout: float = 120.0, fetch_timeout: str = "60s"):
        self.core = KuboCore(api_url, fetch_timeout=fetch_timeout)
        self._http = httpx.Client(base_url=self.core.api_url, timeout=httpx.Timeout(timeout, connect=5.0))

    def __enter__(self) -> KuboClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _post(self, call: _Call, *, check: bool = True) -> httpx.Response:
        try:
            response = self._http.post(call.path, params=call.params, files=call.files)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            raise self.core.unavailable(exc) from exc
        except httpx.TimeoutException as exc:
            raise KuboError(f"no answer in time ({exc})", status=0, command=call.command) from exc
        if check:
            self.core.raise_for_error(call, response)
        return response

    def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult:
        call = self.core.add_call(data, cid_version=cid_version, pin=pin)
        return self.core.parse_add(call, self._post(call))

    def cat(self, cid: str) -> bytes:
        return self._post(self.core.cat_call(cid)).content

    def pin(self, cid: str) -> None:
        self._post(self.core.pin_call(cid))

    def has(self, cid: str) -> bool:
        call = self.core.has_call(cid)
        return self.core.parse_has(call, self._post(call, check=False))

    def stat(self, cid: str) -> Stat:
        return self.core.parse_stat(self._post(self.core.stat_call(cid)))

    def version(self) -> str:
        return str(self._post(self.core.version_call()).json()["Version"])


class AsyncKuboClient:
    """Asyncio client with the same calls as :class:`KuboClient`."""

    def __init__(self, api_url: str = DEFAULT_API_URL, *, timeout: float = 120.0, fetch_timeout: str = "60s"):
        self.core = KuboCore(api_url, fetch_timeout=fetch_timeout)
        limits = httpx.Timeout(timeout, connect=5.0)
        self._http = httpx.AsyncClient(base_url=self.core.api_url, timeout=limits)

    async def __aenter__(self) -> AsyncKuboClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _post(self, call: _Call, *, check: bool = True) -> httpx.Response:
        try:
            response = await self._http.post(call.path, params=call.params, files=call.files)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError) as exc:
            raise self.core.unavailable(exc) from exc
        except httpx.TimeoutException as exc:
            raise KuboError(f"no answer in time ({exc})", status=0, command=call.command) from exc
        if check:
            self.core.raise_for_error(call, response)
        return response

    async def add(self, data: AddSource, *, cid_version: int = 0, pin: bool = True) -> AddResult:
        call = self.core.add_call(data, cid_version=cid_version, pin=pin)
        return self.core.parse_add(call, await self._post(call))

    async def cat(self, cid: str) -> bytes:
        return (await self._post(self.core.cat_call(cid))).content

    async def pin(self, cid: str) -> None:
        await self._post(self.core.pin_call(cid))

    async def has(self, cid: str) -> bool:
        call = self.core.has_call(cid)
        return self.core.parse_has(call, await self._post(call, check=False))

    async def stat(self, cid: str) -> Stat:
        return self.core.parse_stat(await self._post(self.core.stat_call(cid)))

    async def version(self) -> str:
        return str((await self._post(self.core.version_call())).json()["Version"])
