"""The kubo client without a daemon: what it sends, and a clear error when nobody listens.

Real kubo behaviour (same CIDs as the embedded store) is in tests/integration/test_kubo.py.
"""

from __future__ import annotations

import io
import json
import socket

import httpx
import pytest

from ipfs import AsyncKuboClient, ContentNotFound, KuboClient, KuboError, StoreUnavailable


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_daemon_down_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with KuboClient(url) as client, pytest.raises(StoreUnavailable, match=url):
        client.add(b"x")


async def test_async_daemon_down_names_the_url() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    async with AsyncKuboClient(url) as client:
        with pytest.raises(StoreUnavailable, match=url):
            await client.cat("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")


class _Recorder:
    """An httpx transport that records requests and answers like kubo does."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self.bodies: list[bytes] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.bodies.append(request.read())
        cmd = request.url.path.removeprefix("/api/v0/")
        if cmd == "add":
            return httpx.Response(
                200, text=json.dumps({"Name": "blob", "Hash": "QmRoot", "Size": "20"}) + "\n"
            )
        if cmd == "block/stat":
            msg = {"Message": "block was not found locally (offline): ipld: could not find X", "Code": 0}
            return httpx.Response(500, json=msg)
        return httpx.Response(500, json={"Message": "boom", "Code": 0, "Type": "error"})


def _client(recorder: _Recorder) -> KuboClient:
    client = KuboClient("http://127.0.0.1:5001/api/v0/")
    client._http = httpx.Client(base_url=client.core.api_url, transport=httpx.MockTransport(recorder))
    return client


@pytest.mark.parametrize(("version", "raw"), [(0, "false"), (1, "true")])
def test_add_passes_every_dag_option_explicitly(version: int, raw: str) -> None:
    rec = _Recorder()
    result = _client(rec).add(b"hello world\n", cid_version=version)
    (req,) = rec.requests
    assert req.method == "POST" and req.url.path == "/api/v0/add"
    params = dict(req.url.params)
    assert params["cid-version"] == str(version)
    assert params["raw-leaves"] == raw
    assert params["chunker"] == "size-262144"
    assert params["max-file-links"] == "174"
    assert params["pin"] == "true" and params["trickle"] == "false" and params["hash"] == "sha2-256"
    assert b"hello world\n" in rec.bodies[0]
    assert (result.cid, result.size, result.dag_size) == ("QmRoot", 12, 20)


def test_stream_add_counts_bytes_and_sends_chunked() -> None:
    rec = _Recorder()
    result = _client(rec).add(io.BufferedReader(io.BytesIO(b"a" * 300_000)))  # type: ignore[arg-type]
    assert result.size == 300_000
    assert rec.requests[0].headers.get("transfer-encoding") == "chunked"


def test_errors_carry_kubos_message() -> None:
    rec = _Recorder()
    client = _client(rec)
    assert client.has("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o") is False
    assert dict(rec.requests[0].url.params)["offline"] == "true"
    with pytest.raises(KuboError, match="kubo pin/add: boom"):
        client.pin("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o")
    with pytest.raises(ValueError, match="cid 'nope'"):
        client.cat("nope")
    assert not isinstance(KuboError("x", status=500, command="cat"), ContentNotFound)
