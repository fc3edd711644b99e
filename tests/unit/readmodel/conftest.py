"""A generated registry stream (10,500 vehicles: more than the old 10,000 cap) stored once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.readmodel.blockgen import Expected, Scenario, StreamBuilder
from tests.unit.readmodel.helpers import write_block_file

VEHICLES = 10_500
LIENS = 400
RELEASED = 60


@pytest.fixture(scope="session")
def big_stream(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Expected, int]:
    """(ledger file, expected counts, height): registrations with an invalid tx every 1,000, liens,
    releases, valuations, and a config block in the middle of the stream."""
    builder = StreamBuilder()
    blocks = []
    for block in Scenario(vehicles=VEHICLES, liens=LIENS, released=RELEASED, invalid_every=1000).blocks(
        builder
    ):
        blocks.append(block)
        if len(blocks) == 5:
            blocks.append(builder.config_block())
    path = tmp_path_factory.mktemp("stream") / "ledger.sqlite"
    height = write_block_file(path, blocks)
    return path, builder.expected, height
