"""Start, record and stop the network's processes.

Each started process is recorded in pids.json with its command line; `down` stops only those PIDs, and
only while /proc still shows the same executable (a recycled PID is left alone). A node that the host
plan places in a network namespace is started through `ip netns exec`, which execs the node in place
(same PID), so the record and `down` work the same way.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from network.errors import CommandError, NetworkError

log = logging.getLogger(__name__)


@dataclass
class Proc:
    name: str
    pid: int
    argv: list[str]
    log: str
    ports: dict[str, int]
    meta: dict[str, str] = field(default_factory=dict)


PORT_RELEASE_SECONDS = 10.0


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def port_open(port: int, host: str = "127.0.0.1", timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def pid_alive(pid: int, argv0: str | None = None) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(") ", 1)[1].startswith("Z"):
            return False
        if argv0 is not None:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].decode()
            return cmd == argv0
    except (OSError, IndexError):
        return False
    return True


class ProcessTable:
    """The PIDs this network started, persisted in a JSON file."""

    _lock = threading.RLock()

    def __init__(self, path: Path, netns: Callable[[str], str | None] | None = None) -> None:
        self.path = path
        self.netns = netns or (lambda _name: None)

    @contextlib.contextmanager
    def _locked(self):  # type: ignore[no-untyped-def]
        """Thread and process exclusive section for read-modify-write of the table."""
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_suffix(".lock"), "w") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def load(self) -> dict[str, Proc]:
        if not self.path.exists():
            return {}
        raw = json.loads(self.path.read_text())
        return {k: Proc(**v) for k, v in raw.items()}

    def _save(self, procs: Mapping[str, Proc]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({k: asdict(v) for k, v in procs.items()}, indent=2))
        tmp.replace(self.path)

    def get(self, name: str) -> Proc | None:
        return self.load().get(name)

    def alive(self, name: str) -> bool:
        p = self.get(name)
        return p is not None and pid_alive(p.pid, p.argv[0])

    def start(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        log_path: Path,
        ports: Mapping[str, int],
        cwd: Path | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> Proc:
        ns = self.netns(name)
        for label, port in ports.items():
            # a node stopped a moment ago may hold its listener for a few more moments while the kernel
            # tears it down: wait a little before calling the port taken
            deadline = time.monotonic() + PORT_RELEASE_SECONDS
            while ns is None and not port_free(port) and time.monotonic() < deadline:
                time.sleep(0.2)
            if ns is None and not port_free(port):
                raise NetworkError(
                    f"cannot start {name}: {label} port {port} on 127.0.0.1 is already in use",
                    node=name,
                    port=port,
                    log=log_path,
                )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        full_env = {**os.environ, **env}
        with open(log_path, "ab") as out:
            out.write(f"\n=== {time.strftime('%Y-%m-%dT%H:%M:%S')} start {' '.join(argv)}\n".encode())
            out.flush()
            try:
                prefix = ["ip", "netns", "exec", ns] if ns else []
                popen = subprocess.Popen(
                    prefix + list(argv),
                    env=full_env,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    cwd=cwd,
                    start_new_session=True,
                )
            except OSError as exc:
                raise NetworkError(f"cannot start {name}: {exc}", node=name, log=log_path) from exc
        proc = Proc(name, popen.pid, list(argv), str(log_path), dict(ports), dict(meta or {}))
        if ns:
            proc.meta["netns"] = ns
            _wait_exec(popen, argv[0])
        with self._locked():
            procs = self.load()
            procs[name] = proc
            self._save(procs)
        log.info("started %s pid=%s ports=%s log=%s", name, popen.pid, dict(ports), log_path)
        return proc

    def stop(self, name: str, timeout: float = 10.0) -> bool:
        p = self.get(name)
        if p is None:
            return False
        stopped = False
        if pid_alive(p.pid, p.argv[0]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(p.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and pid_alive(p.pid, p.argv[0]):
                _reap(p.pid)
                time.sleep(0.1)
            if pid_alive(p.pid, p.argv[0]):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(p.pid, signal.SIGKILL)
                time.sleep(0.2)
            _reap(p.pid)
            stopped = True
        with self._locked():
            procs = self.load()
            if name in procs and procs[name].pid == p.pid:
                procs.pop(name)
            self._save(procs)
        return stopped

    def stop_all(self, names: Sequence[str] | None = None) -> list[str]:
        order = list(names) if names is not None else list(reversed(list(self.load())))
        return [n for n in order if self.stop(n)]


def _wait_exec(popen: subprocess.Popen[bytes], argv0: str, timeout: float = 10.0) -> None:
    """Wait until `ip netns exec` has exec'd the node, so the PID shows the node's own command line."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and popen.poll() is None:
        if pid_alive(popen.pid, argv0):
            return
        time.sleep(0.02)


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def wait_until(
    check,
    *,
    timeout: float,
    what: str,
    node: str,
    port: int | None,
    log_path: Path | None,
    proc: Proc | None = None,
    interval: float = 0.2,
) -> None:
    """Poll `check()` until true; raise NetworkError naming the node if it dies or times out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and not pid_alive(proc.pid, proc.argv[0]):
            raise NetworkError(f"{node} exited before {what}", node=node, port=port, log=log_path)
        time.sleep(interval)
    raise NetworkError(
        f"{node} did not become ready ({what}) within {timeout:.0f}s", node=node, port=port, log=log_path
    )


def run(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    what: str | None = None,
    input_bytes: bytes | None = None,
) -> str:
    """Run a CLI tool to completion; raise CommandError with its output on failure."""
    full_env = {**os.environ, **(env or {})}
    try:
        res = subprocess.run(
            list(argv),
            env=full_env,
            cwd=cwd,
            capture_output=True,
            timeout=timeout,
            input=input_bytes,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise CommandError(f"{what or argv[0]} timed out after {timeout:.0f}s: {' '.join(argv)}") from exc
    except OSError as exc:
        raise CommandError(f"{what or argv[0]}: cannot run {argv[0]}: {exc}") from exc
    out = res.stdout.decode(errors="replace") + res.stderr.decode(errors="replace")
    if res.returncode != 0:
        tail = "\n".join(out.strip().splitlines()[-15:])
        raise CommandError(f"{what or Path(argv[0]).name} failed (exit {res.returncode}): {tail}")
    return out
