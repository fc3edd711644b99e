"""Scheduled backups: ``mledger ops backup --every <minutes> --keep <n>`` bounds the off-chain RPO.

A backup starts every ``every`` seconds, counted from the previous start (a backup that runs longer than
the interval is followed at once, never overlapped), so at any moment the newest archive's snapshot is
at most ``every`` + one backup's run time old: that is the off-chain RPO (the on-chain part has none,
the other orgs' peers hold the ledger). After each archive the oldest ones of the org beyond ``keep``
are removed (with their ``.sha256``). A failed run is logged and the schedule goes on.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .backup import BackupResult, BackupSources, backup
from .backup_crypto import BackupError

log = logging.getLogger(__name__)


@dataclass
class Run:
    started: float  # clock time the snapshot began
    finished: float
    result: BackupResult | None  # None: the run failed
    error: str | None = None


def archives(out_dir: Path, org: str) -> list[Path]:
    """The org's archives, oldest first (names carry the UTC time, so they sort by age)."""
    return sorted(out_dir.glob(f"mledger-{org}-*.backup"))


def prune(out_dir: Path, org: str, keep: int) -> list[Path]:
    """Remove all but the newest ``keep`` archives of the org; returns the removed ones."""
    if keep < 1:
        raise BackupError("keep: at least 1 archive must be kept")
    old = archives(out_dir, org)[:-keep]
    for path in old:
        path.with_name(path.name + ".sha256").unlink(missing_ok=True)
        path.unlink()
    return old


def run_schedule(
    sources: BackupSources,
    out_dir: Path,
    key_file: Path,
    *,
    every: float,
    keep: int,
    stop: threading.Event,
    runs: int | None = None,
    on_run: Callable[[Run], None] | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], object] | None = None,  # default: wait on ``stop``
    run_backup: Callable[[BackupSources, Path, Path], BackupResult] = backup,
) -> list[Run]:
    """Back up every ``every`` seconds until ``stop`` is set (or ``runs`` runs); returns the runs."""
    if every <= 0:
        raise BackupError("every: the interval must be positive")
    done: list[Run] = []
    next_start = clock()
    while not stop.is_set() and (runs is None or len(done) < runs):
        started = clock()
        try:
            result: BackupResult | None = run_backup(sources, out_dir, key_file)
            error = None
            prune(out_dir, sources.org, keep)
        except (BackupError, OSError) as exc:
            result, error = None, str(exc)
            log.error("scheduled backup of %s failed: %s", sources.org, exc)
        run = Run(started, clock(), result, error)
        done.append(run)
        if on_run is not None:
            on_run(run)
        next_start = max(next_start + every, run.finished)  # no overlap, no catch-up burst
        if runs is not None and len(done) >= runs:
            break
        (sleep or stop.wait)(max(0.0, next_start - clock()))
    return done


def worst_rpo(runs: list[Run]) -> float:
    """The oldest the newest archive got between the runs: next completion minus previous start."""
    ok = [r for r in runs if r.result is not None]
    return max((b.finished - a.started for a, b in itertools.pairwise(ok)), default=0.0)
