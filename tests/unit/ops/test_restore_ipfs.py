"""IPFS pins through a backup: exported as CAR files from a real kubo, gone from it (unpinned and
garbage-collected), then imported back by ``ops restore``: the same CIDs, pinned, the same bytes."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.ops.backup import BackupSources, backup
from app.ops.backup_crypto import new_key
from app.ops.restore import RestoreTargets, restore
from network.settings import Settings as NetworkSettings


@pytest.fixture
def kubo(tmp_path: Path) -> Iterator[str]:
    """An offline kubo daemon of this test's own (repo under tmp_path, network base port + 953/954)."""
    port = int(os.environ.get("MLEDGER_NETWORK_BASE_PORT", "27000")) + 953
    binary = str(NetworkSettings.from_env().kubo_bin)
    env = {**os.environ, "IPFS_PATH": str(tmp_path / "kubo"), "IPFS_TELEMETRY": "off"}
    subprocess.run(
        [binary, "init", "--empty-repo", "--profile", "server"], env=env, check=True, capture_output=True
    )
    config = tmp_path / "kubo" / "config"
    cfg = json.loads(config.read_text())
    cfg["Addresses"].update(
        {"API": f"/ip4/127.0.0.1/tcp/{port}", "Gateway": f"/ip4/127.0.0.1/tcp/{port + 1}", "Swarm": []}
    )
    cfg["Bootstrap"] = []
    config.write_text(json.dumps(cfg))
    log = (tmp_path / "kubo.log").open("wb")
    proc = subprocess.Popen([binary, "daemon", "--offline"], env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            assert proc.poll() is None, (tmp_path / "kubo.log").read_text()
            try:
                if httpx.post(f"{url}/api/v0/id", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(30)
        log.close()


def test_pins_go_out_as_car_files_and_come_back(kubo: str, tmp_path: Path) -> None:
    api = f"{kubo}/api/v0"
    content = os.urandom(700_000)  # several blocks: a DAG, not one block
    added = httpx.post(f"{api}/add", params={"pin": "true"}, files={"file": ("doc.bin", content)}, timeout=30)
    cid = added.json()["Hash"]
    pinned = httpx.post(f"{api}/pin/ls", params={"type": "recursive"}, timeout=30).json()["Keys"]
    key = tmp_path / "k"
    new_key(key)
    (tmp_path / "gw").mkdir()
    (tmp_path / "gw" / "token.key").write_bytes(b"t" * 32)
    result = backup(
        BackupSources("BankAMSP", gateway_dir=tmp_path / "gw", ipfs_url=kubo), tmp_path / "o", key
    )
    httpx.post(f"{api}/pin/rm", params={"arg": cid}, timeout=30).raise_for_status()
    httpx.post(f"{api}/repo/gc", timeout=60).raise_for_status()
    gone = httpx.post(f"{api}/block/stat", params={"arg": cid, "offline": "true"}, timeout=10)
    assert gone.status_code != 200  # the site's IPFS data is lost
    restored = restore(result.path, key, RestoreTargets(tmp_path / "new", ipfs_url=kubo))
    assert restored.ipfs_pins == len(pinned) and cid in pinned  # one CAR per recursive pin
    pins = httpx.post(f"{api}/pin/ls", params={"type": "recursive"}, timeout=30).json()["Keys"]
    assert cid in pins
    assert httpx.post(f"{api}/cat", params={"arg": cid}, timeout=30).content == content
