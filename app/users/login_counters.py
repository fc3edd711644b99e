"""Failed-login counters in the off-chain store, so every replica of an org's gateway sees the same
lockouts (a guesser gains nothing from a load balancer spreading its attempts).

Moving windows over one row per failure (``login_failures``): a key is locked out by an item
``N/window`` while N failures fall inside the last window; it frees up when the N-th newest leaves it.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem

from app.store.database import Database

KEEP_SECONDS = 2 * 86400  # longer than the longest window the settings use (a day)


class StoreLoginCounters:
    def __init__(self, db: Database) -> None:
        self._db = db

    def locked_for(self, counter: str, items: list[RateLimitItem]) -> int:
        """Seconds until ``counter`` may try again (0: not locked out)."""
        now = time.time()
        waits = [0]
        with self._db.transaction() as tx:
            for item in items:
                window = item.get_expiry()
                row = tx.one(
                    "SELECT at FROM login_failures WHERE counter = ? AND at > ?"
                    " ORDER BY at DESC LIMIT 1 OFFSET ?",
                    (counter, now - window, item.amount - 1),
                )
                if row is not None:
                    waits.append(max(1, math.ceil(float(row[0]) + window - now)))
        return max(waits)

    def hit(self, counter: str) -> None:
        now = time.time()
        with self._db.transaction() as tx:
            tx.execute("INSERT INTO login_failures (counter, at) VALUES (?, ?)", (counter, now))
            tx.execute(
                "DELETE FROM login_failures WHERE counter = ? AND at < ?", (counter, now - KEEP_SECONDS)
            )

    def clear(self, counter: str) -> None:
        with self._db.transaction() as tx:
            tx.execute("DELETE FROM login_failures WHERE counter = ?", (counter,))
