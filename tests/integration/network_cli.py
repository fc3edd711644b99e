"""The project's network CLI as a subprocess (`python -m network …`), the way an operator runs it."""

from __future__ import annotations

import os
import subprocess
import sys

from network.settings import REPO_ROOT


def network_cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "network", *args],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "1000"},
        timeout=timeout,
        check=False,
    )
