#!/usr/bin/env python3
"""The disaster-recovery drill on the real network with scheduled backups: RPO and RTO, printed as JSON.

    MLEDGER_NETWORK_BASE_PORT=... MLEDGER_NETWORK_DIR=... \\
    .venv/bin/python scripts/bench/dr_drill.py [--every 20] [--window 50] [--gap 1] [--work DIR]

Brings the network up (or reuses it), then runs network/drill.py: BankA's gateway (its own kubo) gets a
user, an API key and a document; ``ops backup`` runs every ``--every`` seconds (the schedule of
``mledger ops backup --every``) while an API key is created every ``--gap`` seconds for ``--window``
seconds; then BankA's whole site is destroyed while the vehicle office keeps registering vehicles, and
rebuilt from the newest archive plus a snapshot of BankB's peer. Prints what was lost (the API keys
created after the newest archive's snapshot: count, age of the oldest), the RPO window and its bound
(interval + the longest backup run), the bound at the production interval (``--every 4`` minutes),
the RTO and its parts, and the machine's load. BankA's rebuilt peer holds no block before the snapshot
afterwards (as after ``network peer rebuild``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from network.drill import run_drill  # noqa: E402
from network.fixture import close_for_tests, open_for_tests  # noqa: E402

PRODUCTION_EVERY = 240.0  # `mledger ops backup --every 4`


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--every", type=float, default=20.0, help="backup interval, seconds")
    ap.add_argument("--window", type=float, default=None, help="seconds of writes (default 2.5 x every)")
    ap.add_argument("--gap", type=float, default=1.0, help="seconds between two API keys")
    ap.add_argument("--work", type=Path, default=None, help="the drill's folder (default: a temp folder)")
    args = ap.parse_args()
    window = args.window if args.window is not None else 2.5 * args.every
    load_before = os.getloadavg()
    info, was_running = open_for_tests()
    try:
        with tempfile.TemporaryDirectory(prefix="dr-drill-") as tmp:
            work = args.work or Path(tmp)
            r = run_drill(
                info, work, backup_every=args.every, writes_window=window, write_gap=args.gap, echo=print
            )
    finally:
        close_for_tests(info, was_running)
    out = r.as_dict()
    longest_run = r.rpo_bound - args.every
    out["rpo_bound_at_every_4_minutes"] = PRODUCTION_EVERY + longest_run
    out["machine"] = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(json.dumps(out, indent=1, default=str))
    facts = (
        r.writes_before_backup_lost == 0
        and r.rpo_window <= r.rpo_bound
        and r.rebuilt_height >= r.channel_height
        and r.document_matches_chain
        and r.user_logs_in
        and r.api_key_works
    )
    sys.exit(0 if facts else 1)


if __name__ == "__main__":
    main()
