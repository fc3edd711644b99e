"""HAProxy in front of replicas (app/ops/local_haproxy.py): the config it writes, and the real daemon
routing round robin to the replicas whose /readyz answers 200, started and stopped by its PID."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from app.ops.local_haproxy import HaproxyServer, _is_haproxy, render_config


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Replica:
    """A stand-in replica: answers its name; /readyz 200 while ready."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.ready = True
        replica = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                status = 200 if self.path != "/readyz" or replica.ready else 503
                body = replica.name.encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def replicas() -> Iterator[list[_Replica]]:
    both = [_Replica("one"), _Replica("two")]
    yield both
    for replica in both:
        replica.server.shutdown()


def test_config_binds_loopback_and_checks_readyz(tmp_path: Path) -> None:
    config = render_config(tmp_path, 9000, ["127.0.0.1:9001", "127.0.0.1:9002"])
    assert "bind 127.0.0.1:9000" in config and "balance roundrobin" in config
    assert "option httpchk GET /readyz" in config and "http-check expect status 200" in config
    assert "timeout check 5s" in config  # a busy replica is slow to answer, not down
    assert (
        "server replica1 127.0.0.1:9001 check" in config and "server replica2 127.0.0.1:9002 check" in config
    )
    with pytest.raises(ValueError, match=r"replicas: .10\.0\.0\.5:9001. is not 127\.0\.0\.1:<port>"):
        render_config(tmp_path, 9000, ["10.0.0.5:9001"])
    with pytest.raises(ValueError, match="at least one"):
        render_config(tmp_path, 9000, [])


def _wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError("condition not reached")


def test_round_robin_over_ready_replicas(tmp_path: Path, replicas: list[_Replica]) -> None:
    proxy = HaproxyServer(tmp_path / "lb", _free_port(), [f"127.0.0.1:{r.port}" for r in replicas])
    proxy.start()
    pid = proxy.pid()
    try:
        assert pid is not None and _is_haproxy(pid)
        _wait_for(lambda: set(proxy.servers_state().values()) == {"UP"})
        with httpx.Client(base_url=proxy.url) as client:
            answers = [client.get("/anything").text for _ in range(4)]
        assert sorted(answers) == ["one", "one", "two", "two"]

        replicas[0].ready = False  # its /readyz fails: taken out after two checks
        _wait_for(lambda: proxy.servers_state()["replica1"].startswith("DOWN"))
        with httpx.Client(base_url=proxy.url) as client:
            assert {client.get("/anything").text for _ in range(4)} == {"two"}
    finally:
        proxy.stop()
    assert not _is_haproxy(pid) and not proxy.pid_file.exists()
