"""Scheduled backups: the newest archive is never older than the interval plus one run, old archives are
pruned, and the off-chain RPO is exactly the writes made after the last backup."""

from __future__ import annotations

import itertools
import shutil
import threading
from pathlib import Path

import pytest

from app.ops.backup import BackupResult, BackupSources
from app.ops.backup_crypto import BackupError, new_key
from app.ops.restore import restore
from app.ops.schedule import Run, archives, run_schedule, worst_rpo
from app.users.roles import Role
from tests.unit.ops.restore_scenario import TA, Store, gateway


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_the_newest_archive_is_never_older_than_interval_plus_run(tmp_path: Path) -> None:
    clock = FakeClock()
    durations = iter([2.0, 9.0, 75.0, 1.0, 0.5, 30.0, 3.0])  # one run longer than the interval

    def fake_backup(sources: BackupSources, out: Path, key: Path) -> BackupResult:
        clock.now += next(durations)
        return BackupResult(out / "x", 1, 0.0, 1)

    runs = run_schedule(
        BackupSources(TA), tmp_path, tmp_path / "key", every=60.0, keep=3, stop=threading.Event(),
        runs=7, clock=clock, sleep=clock.sleep, run_backup=fake_backup,
    )  # fmt: skip
    starts = [r.started - runs[0].started for r in runs]
    assert starts == [0.0, 60.0, 120.0, 195.0, 255.0, 315.0, 375.0]  # after the 75 s run: at once
    for previous, current in itertools.pairwise(runs):
        assert current.started >= previous.finished  # never overlapping
        # while ``current`` runs, the newest archive is ``previous``'s: age bound = interval + this run
        assert current.finished - previous.started <= max(60.0, previous.finished - previous.started) + (
            current.finished - current.started
        )
    assert worst_rpo(runs) == 60.0 + 75.0  # the archive of 60 s is the newest until the slow run ends


def test_a_failed_run_is_reported_and_the_schedule_goes_on(tmp_path: Path) -> None:
    clock = FakeClock()
    outcomes = iter([OSError("disk full"), None, None])

    def flaky(sources: BackupSources, out: Path, key: Path) -> BackupResult:
        failure = next(outcomes)
        if failure is not None:
            raise failure
        return BackupResult(out / "x", 1, 0.0, 1)

    seen: list[Run] = []
    run_schedule(
        BackupSources(TA), tmp_path, tmp_path / "key", every=10.0, keep=2, stop=threading.Event(),
        runs=3, clock=clock, sleep=clock.sleep, run_backup=flaky, on_run=seen.append,
    )  # fmt: skip
    assert [r.error for r in seen] == ["disk full", None, None]
    with pytest.raises(BackupError, match="every: the interval must be positive"):
        run_schedule(BackupSources(TA), tmp_path, tmp_path, every=0, keep=1, stop=threading.Event())


def test_writes_before_the_last_backup_survive_and_after_it_are_the_rpo(tmp_path: Path) -> None:
    key_file = tmp_path / "backup.key"
    new_key(key_file)
    store, data_dir, out = Store(), tmp_path / "gw", tmp_path / "out"
    with gateway(store, data_dir) as client:
        users = client.app.state.gw.users  # type: ignore[attr-defined]
        stop, runs = threading.Event(), []
        third = threading.Event()
        written: list[str] = []

        def on_run(run: Run) -> None:
            runs.append(run)
            assert run.result is not None, run.error
            if len(runs) == 2:  # between two scheduled backups: an off-chain write
                users.add(TA, "before", Role.registrar, "before-password-1")
                written.append("before")
            if len(runs) == 3:  # the last backup; what follows is lost with the site
                stop.set()
                users.add(TA, "after", Role.registrar, "after-password-1")
                written.append("after")
                third.set()

        worker = threading.Thread(
            target=run_schedule,
            args=(store.sources(data_dir), out, key_file),
            kwargs={"every": 0.2, "keep": 2, "stop": stop, "on_run": on_run},
        )
        worker.start()
        assert third.wait(300)
        worker.join(300)
    assert len(runs) == 3
    assert len(archives(out, TA)) == 2  # keep=2: the first archive was pruned
    assert {p.name for p in out.iterdir()} == {
        n for p in archives(out, TA) for n in (p.name, p.name + ".sha256")
    }
    shutil.rmtree(data_dir)
    restore(archives(out, TA)[-1], key_file, store.targets(tmp_path / "restored"))
    with gateway(store, tmp_path / "restored") as client:
        users = client.app.state.gw.users  # type: ignore[attr-defined]
        survived = [name for name in written if users.authenticate(TA, name, f"{name}-password-1")]
    lost = [name for name in written if name not in survived]
    print(f"scheduled backups: off-chain writes lost with the site (RPO): {lost}")
    assert survived == ["before"] and lost == ["after"]


def test_backup_cli_every_runs_on_schedule_and_prunes(tmp_path: Path) -> None:
    """``--every``/``--keep`` reach the schedule (its loop is stopped from the callback)."""
    from typer.testing import CliRunner

    from app.cli import cli

    key_file = tmp_path / "k"
    new_key(key_file)
    (tmp_path / "gw").mkdir()
    (tmp_path / "gw" / "token.key").write_bytes(b"k" * 32)
    import app.ops.cli as ops_cli

    original = ops_cli.run_schedule

    def three(*args: object, **kwargs: object) -> list[Run]:
        assert kwargs["every"] == pytest.approx(0.6) and kwargs["keep"] == 2
        return original(*args, runs=3, **kwargs)  # type: ignore[arg-type]

    ops_cli.run_schedule = three  # type: ignore[assignment]
    try:
        out = CliRunner().invoke(
            cli,
            ["ops", "backup", "--org", TA, "--key-file", str(key_file), "--out", str(tmp_path / "o"),
             "--gateway-dir", str(tmp_path / "gw"), "--every", "0.01", "--keep", "2"],
        )  # fmt: skip
    finally:
        ops_cli.run_schedule = original  # type: ignore[assignment]
    assert out.exit_code == 0, out.output
    assert out.output.count("bytes") == 3 and len(archives(tmp_path / "o", TA)) == 2
