"""A native PostgreSQL started by the project's script (scripts/postgres), for the store's tests, the
backup bench and local runs: its folder, port and URL, started and stopped by its recorded PID."""

from __future__ import annotations

import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from app.settings import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "postgres"


@dataclass
class PostgresServer:
    root: Path
    port: int
    url: str  # postgresql://mledger@127.0.0.1:<port>/postgres (no password)

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    @property
    def password(self) -> str:
        return self.password_file.read_text().strip()

    def pid(self) -> int | None:
        pid_file = self.root / "data" / "postmaster.pid"
        try:
            return int(pid_file.read_text().splitlines()[0])
        except (OSError, ValueError, IndexError):
            return None

    def start(self) -> None:
        out = subprocess.run(
            [str(SCRIPT), "start", str(self.root), str(self.port)],
            capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"scripts/postgres start failed: {out.stderr.strip()}")
        self.url = out.stdout.strip().splitlines()[-1]

    def stop(self) -> None:
        pid = self.pid()
        subprocess.run([str(SCRIPT), "stop", str(self.root)], capture_output=True, timeout=120, check=False)
        if pid is not None and _alive(pid):  # the script failed: end the recorded process itself
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 30
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.1)

    def new_database(self) -> str:
        """A fresh, empty database; returns its URL (no password in it)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url, password=self.password, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
