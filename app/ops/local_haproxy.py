"""HAProxy (Debian's package) in front of an org's gateway replicas, as a native process.

    python -m app.ops.local_haproxy start <dir> <port> <replica host:port> [<replica host:port> ...]
    python -m app.ops.local_haproxy stop <dir>
    python -m app.ops.local_haproxy status <dir>

(``scripts/haproxy`` runs this after installing the package with apt-get when it is missing.)
``start`` writes ``<dir>/haproxy.cfg``: a frontend on 127.0.0.1:<port> only, round robin over the
replicas, each checked with ``GET /readyz`` (the gateway's readiness: ledger and document store) every
two seconds (5 s to answer), out after three failures and back after two successes; ``X-Forwarded-For``
added for the gateways' ``trusted_proxies``; a request whose connection to a replica fails goes to the
other one (``option redispatch``: connection failures only, so the proxy never sends a write twice).
It checks the config with ``haproxy -c``, starts the daemon with its PID in ``<dir>/haproxy.pid``, and
``stop`` ends that PID. An admin socket (``<dir>/haproxy.sock``, 0600) answers ``show stat``. Nothing
secret is in the config or on a command line: the gateways need none from the proxy.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

CHECK_INTERVAL_MS = 2000


def render_config(root: Path, port: int, replicas: list[str], *, check_path: str = "/readyz") -> str:
    """The config for ``port`` on 127.0.0.1 over ``replicas`` (``host:port`` each, loopback only)."""
    if not replicas:
        raise ValueError("replicas: at least one host:port is needed")
    servers = []
    for n, replica in enumerate(replicas, start=1):
        host, _, replica_port = replica.rpartition(":")
        if host not in ("127.0.0.1", "localhost") or not replica_port.isdigit():
            raise ValueError(f"replicas: {replica!r} is not 127.0.0.1:<port>")
        servers.append(f"    server replica{n} 127.0.0.1:{int(replica_port)} check")
    return "\n".join(
        [
            "global",
            "    maxconn 4096",
            f"    stats socket {root / 'haproxy.sock'} mode 600 level admin",
            "",
            "defaults",
            "    mode http",
            "    option forwardfor",
            "    option redispatch",
            "    retries 2",
            "    timeout connect 2s",
            "    timeout client 120s",
            "    timeout server 120s",
            "    timeout http-keep-alive 10s",
            # a replica busy with 50 requests answers /readyz (which asks its peer and orderer) slowly:
            # a check timed out at the interval took both replicas out under load (503 for everything)
            "    timeout check 5s",
            "",
            "frontend gateway",
            f"    bind 127.0.0.1:{port}",
            "    default_backend replicas",
            "",
            "backend replicas",
            "    balance roundrobin",
            f"    option httpchk GET {check_path}",
            "    http-check expect status 200",
            f"    default-server inter {CHECK_INTERVAL_MS} fall 3 rise 2",
            *servers,
            "",
        ]
    )


def haproxy_binary() -> str:
    found = shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if Path(p).exists()), None
    )
    if found is None:
        raise RuntimeError("haproxy is not installed (Debian package `haproxy`; scripts/haproxy installs it)")
    return found


@dataclass
class HaproxyServer:
    root: Path
    port: int
    replicas: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.root / "haproxy.pid"

    def pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.stop()  # a previous run's daemon, by its PID
        config = self.root / "haproxy.cfg"
        (self.root / "port").write_text(f"{self.port}\n")
        config.write_text(render_config(self.root, self.port, self.replicas))
        binary = haproxy_binary()
        checked = subprocess.run([binary, "-c", "-q", "-f", str(config)], capture_output=True, text=True)
        if checked.returncode != 0:
            raise RuntimeError(
                f"haproxy refused {config}: {checked.stderr.strip() or checked.stdout.strip()}"
            )
        started = subprocess.run(
            [binary, "-D", "-p", str(self.pid_file), "-f", str(config)], capture_output=True, text=True
        )
        if started.returncode != 0:
            raise RuntimeError(f"haproxy did not start: {started.stderr.strip()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"haproxy is not listening on 127.0.0.1:{self.port}")

    def stop(self) -> None:
        pid = self.pid()
        if pid is None or not _is_haproxy(pid):
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _is_haproxy(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)

    def servers_state(self) -> dict[str, str]:
        """``{server name: UP | DOWN | ...}`` from the admin socket (``show stat``)."""
        with socket.socket(socket.AF_UNIX) as sock:
            sock.settimeout(5)
            sock.connect(str(self.root / "haproxy.sock"))
            sock.sendall(b"show stat\n")
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
        lines = b"".join(chunks).decode().splitlines()
        header = lines[0].lstrip("# ").split(",")
        states = {}
        for line in lines[1:]:
            row = dict(zip(header, line.split(","), strict=False))
            if row.get("pxname") == "replicas" and row.get("svname") not in (None, "BACKEND"):
                states[row["svname"]] = row.get("status", "")
        return states


def _is_haproxy(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip() == "haproxy"
    except OSError:
        return False


def main(argv: list[str]) -> int:
    usage = "usage: haproxy start <dir> <port> <host:port>... | stop <dir> | status <dir>"
    if len(argv) < 2:
        print(usage, file=sys.stderr)
        return 2
    verb, root = argv[0], Path(argv[1]).resolve()
    if verb == "start":
        if len(argv) < 4 or not argv[2].isdigit():
            print(usage, file=sys.stderr)
            return 2
        server = HaproxyServer(root, int(argv[2]), argv[3:])
        try:
            server.start()
        except (RuntimeError, ValueError) as exc:
            print(f"haproxy: {exc}", file=sys.stderr)
            return 1
        print(server.url)
        return 0
    port = int((root / "port").read_text()) if (root / "port").exists() else 0
    server = HaproxyServer(root, port)
    if verb == "stop":
        server.stop()
        return 0
    if verb == "status":
        pid = server.pid()
        if pid is None or not _is_haproxy(pid):
            print("haproxy: not running")
            return 3
        for name, state in server.servers_state().items():
            print(f"{name} {state}")
        return 0
    print(usage, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
