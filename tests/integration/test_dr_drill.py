"""Disaster recovery on the real network: BankA's whole site (peer and ledger, fabric-ca and its data,
crypto folder, gateway data, IPFS repo) destroyed while the vehicle office keeps registering vehicles,
then rebuilt from its last backup plus a snapshot of BankB's peer (network/drill.py).

The rebuilt peer holds no block before the snapshot, so this module runs after every other network
test (marker `loses_site`, see conftest.py). The times are printed, not asserted
(scripts/bench/dr_drill.py measures them with scheduled backups).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from network.drill import run_drill
from network.fixture import FabricNetworkInfo

pytestmark = pytest.mark.loses_site


def test_a_lost_site_is_rebuilt_from_its_backup_and_a_snapshot(
    fabric_network: FabricNetworkInfo, tmp_path: Path
) -> None:
    r = run_drill(fabric_network, tmp_path / "drill", org="BankA", echo=print)
    print("\nDR drill:", json.dumps(r.as_dict(), indent=1, default=str))
    # on-chain: nothing lost; the rebuilt peer reached the channel's height, holds what the others
    # committed while it was gone, and endorses again
    assert r.outage_commits >= 1, r
    assert r.rebuilt_height >= r.channel_height > r.height_at_destroy, r
    assert r.outage_vins_on_rebuilt_peer == r.outage_vins_checked >= 1, r
    assert r.rebuilt_peer_endorsed, r
    # the CA came back with the same root keys: certificates issued before the loss still verify, and it
    # issues new ones
    assert r.ca_same_root and r.old_cert_verifies and r.new_user_enrolled, r
    # the gateway state: users, API keys, documents (bytes = the anchored hash), idempotency records
    assert r.user_logs_in and r.api_key_works, r
    assert r.ipfs_pins_restored >= 1, r
    assert r.document_matches_chain and r.replay_from_record and r.new_document_anchored, r
    # off-chain RPO: everything before the backup survived, the user and the API key made after it
    # are the loss
    assert r.writes_before_backup_lost == 0, r
    assert r.writes_after_backup == 2 and r.writes_lost == 2, r
    # the restored read model and notifier resumed from checkpoints before the rebuilt peer's snapshot
    # (which holds an outage registration): the blocks below it came from another org's peer, the rest
    # from the own one
    assert r.snapshot_height > r.height_at_destroy, r
    assert r.readmodel_height >= r.channel_height, r
    assert r.outage_vins_in_readmodel == r.outage_vins_checked, r
    assert r.notifier_checkpoint_block is not None and r.notifier_checkpoint_block >= r.height_at_destroy, r
