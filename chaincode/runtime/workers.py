"""N chaincode server processes behind one address, so a chaincode uses more than one core.

One Python process runs its transactions on one core (the GIL). ``--workers N`` starts N copies of the
server, each binding the same address with SO_REUSEPORT: the kernel spreads incoming connections over
them, and since each peer holds one long-lived stream, each peer's stream lands on one worker. With
several peers connected, the chaincode then runs on every core. The workers share nothing (the world
state lives in the peers), so no coordination is needed.

The supervisor (this module, in the parent process) restarts a worker that dies after having run a
while, stops every worker on SIGTERM/SIGINT, and gives up (exit status of the failed worker) when a
worker fails right after its start: a port held by another program or a broken contract would only
crash-loop.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence

logger = logging.getLogger(__name__)

WORKER_ENV = "CHAINCODE_WORKER"  # the worker's number (1..N), shown in its log lines
STABLE_SECONDS = 10.0  # a worker that ran this long before dying is restarted, else the supervisor stops


def worker_argv(argv: Sequence[str]) -> list[str]:
    """The server's own command line for one worker: ``--workers`` dropped, ``--reuse-port`` added."""
    out: list[str] = []
    skip = False
    for a in argv:
        if skip:
            skip = False
            continue
        if a == "--workers":
            skip = True
            continue
        if a.startswith("--workers="):
            continue
        out.append(a)
    return [sys.executable, "-m", "chaincode.runtime.server", *out, "--reuse-port"]


class Supervisor:
    """Start, watch and stop the worker processes."""

    def __init__(self, argv: Sequence[str], workers: int, *, stop_grace: float = 10.0) -> None:
        self.cmd = worker_argv(argv)
        self.count = workers
        self.stop_grace = stop_grace
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._started: dict[int, float] = {}
        self._stop = threading.Event()

    def _spawn(self, index: int) -> None:
        env = {**os.environ, WORKER_ENV: str(index)}
        self._procs[index] = subprocess.Popen(self.cmd, env=env)
        self._started[index] = time.monotonic()
        logger.info("worker %d started (pid %d)", index, self._procs[index].pid)

    def request_stop(self) -> None:
        self._stop.set()

    def run(self) -> int:
        """Run until asked to stop (0) or a worker fails right after its start (its exit status)."""
        for i in range(1, self.count + 1):
            self._spawn(i)
        status = 0
        try:
            while not self._stop.wait(0.2):
                for i, proc in list(self._procs.items()):
                    code = proc.poll()
                    if code is None:
                        continue
                    ran = time.monotonic() - self._started[i]
                    if ran < STABLE_SECONDS:
                        logger.error(
                            "worker %d exited with %d after %.1fs; stopping the server", i, code, ran
                        )
                        status = code or 1
                        self._stop.set()
                        break
                    logger.warning("worker %d exited with %d after %.0fs; restarting it", i, code, ran)
                    self._spawn(i)
        finally:
            self._terminate()
        return status

    def _terminate(self) -> None:
        for proc in self._procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_grace
        for i, proc in self._procs.items():
            try:
                proc.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                logger.warning("worker %d did not stop in %.0fs; killing it", i, self.stop_grace)
                proc.kill()
                proc.wait()

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self._procs.values()]
