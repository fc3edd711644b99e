"""A crash mid-add must leave no half-written block and no pin to a partial DAG."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ipfs import EmbeddedContentStore
from ipfs.multiformats import b32encode

CHUNK = 256 * 1024
REPO = Path(__file__).resolve().parents[3]


def _assert_every_block_whole(store: EmbeddedContentStore) -> int:
    count = 0
    for path in store.blocks.iter_files():
        block = path.read_bytes()
        assert path.stem == b32encode(b"\x12\x20" + hashlib.sha256(block).digest()).upper(), path
        count += 1
    return count


def test_failure_during_rename_leaves_no_partial_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = EmbeddedContentStore(tmp_path / "ipfs")
    data = os.urandom(CHUNK * 5)
    real_replace = os.replace
    calls = {"n": 0}

    def failing_replace(src: str, dst: str) -> None:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="No space left"):
        store.add(data)
    monkeypatch.setattr(os, "replace", real_replace)

    assert _assert_every_block_whole(store) == 2
    assert list(store.blocks.tmp_dir.iterdir()) == []
    assert list((tmp_path / "ipfs" / "pins").iterdir()) == []
    again = store.add(data)
    assert store.cat(again.cid) == data


def test_killed_process_leaves_only_whole_blocks(tmp_path: Path) -> None:
    """SIGKILL a real process while it adds a 64 MiB file; the store must stay consistent."""
    root = tmp_path / "ipfs"
    script = (
        "import sys\n"
        "from ipfs import EmbeddedContentStore\n"
        "store = EmbeddedContentStore(sys.argv[1])\n"
        "def data():\n"
        "    import os\n"
        "    for _ in range(256):\n"
        "        yield os.urandom(256 * 1024)\n"
        "print('ready', flush=True)\n"
        "store.add(data())\n"
        "print('finished', flush=True)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, str(root)], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        blocks_dir = root / "blocks"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and len(list(blocks_dir.glob("*/*.data"))) < 20:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the add finished before it could be killed"

    reopened = EmbeddedContentStore(root)  # removes temporaries left by the crash
    assert _assert_every_block_whole(reopened) >= 20
    assert list(reopened.blocks.tmp_dir.iterdir()) == []
    assert list((root / "pins").iterdir()) == []
    data = os.urandom(CHUNK * 3)
    added = reopened.add(data)
    assert reopened.cat(added.cid) == data
