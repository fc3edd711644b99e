"""Password logins, shared by ``POST /api/v1/auth/token`` and the web login form.

Three defences against guessing:

- a rate limit with lockout per account and per client address (the ``limits`` library, several
  windows per key, so repeated failures lock out for a minute, then an hour, then a day: backoff).
  Only failures count; while a key is locked out even the right password is refused, so a guesser
  learns nothing. The counters live in the off-chain store by default (``store``: shared by every
  replica on PostgreSQL), or behind ``limits``' storage interface (``memory://``, ``redis://``);
- uniform timing: an unknown user costs one Argon2id verification of a dummy hash, like a known one;
- hashing in worker threads under a small capacity limiter, so concurrent logins never stall the
  event loop (liveness, other requests) and never hold more than a few hashes' memory at once.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from functools import partial

import anyio
import anyio.to_thread
from limits import RateLimitItem, parse_many
from limits.aio.storage import MovingWindowSupport
from limits.aio.storage import Storage as AsyncStorage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from app.settings import Settings
from app.users.login_counters import StoreLoginCounters
from app.users.passwords import burn_dummy_verify
from app.users.store import User, UserError, UserStore, split_qualified

log = logging.getLogger(__name__)


class LoginThrottled(Exception):
    """Too many failed logins for this account or address: refused without checking the password."""

    def __init__(self, retry_after: int, scope: str) -> None:
        super().__init__(f"too many failed logins for this {scope}; retry in {retry_after} s")
        self.retry_after = retry_after
        self.scope = scope


@dataclass(frozen=True, slots=True)
class LoginAttempt:
    qualified: str  # "name@MSP" as typed (or a bare name on a one-org gateway)
    password: str
    client: str  # the client address (after trusted-proxy handling)


class LoginService:
    def __init__(self, settings: Settings, users: UserStore) -> None:
        self.settings = settings
        self.users = users
        self._counters: StoreLoginCounters | None = None
        self._limiter: MovingWindowRateLimiter | None = None
        if settings.login_limit_storage == "store":  # the off-chain store: shared by the replicas
            self._counters = StoreLoginCounters(users.db)
        else:
            storage = storage_from_string(_async_uri(settings.login_limit_storage))
            if not isinstance(storage, AsyncStorage) or not isinstance(storage, MovingWindowSupport):
                uri = settings.login_limit_storage
                raise ValueError(f"login_limit_storage: {uri!r} is not an async moving-window store")
            self._limiter = MovingWindowRateLimiter(storage)
        self._per_account: list[RateLimitItem] = parse_many(settings.login_limits_per_account)
        self._per_address: list[RateLimitItem] = parse_many(settings.login_limits_per_address)
        self._hashing = anyio.CapacityLimiter(max(1, settings.login_hash_concurrency))

    async def login(self, attempt: LoginAttempt) -> User | None:
        """The user, or None for a wrong name/password (or a demo user outside demo mode).

        Raises LoginThrottled while the account or the address is locked out.
        """
        account = ("account", self._account_key(attempt.qualified))
        address = ("address", attempt.client)
        await self._check(account, self._per_account, "account")
        await self._check(address, self._per_address, "address")
        user = await anyio.to_thread.run_sync(
            partial(self._verify, attempt.qualified, attempt.password), limiter=self._hashing
        )
        if user is None:
            await self._hit(account, self._per_account)
            await self._hit(address, self._per_address)
            log.info("login failed for %s from %s", attempt.qualified[:100], attempt.client)
            return None
        await self._clear(account, self._per_account)
        return user

    async def _check(self, key: tuple[str, str], items: list[RateLimitItem], scope: str) -> None:
        waits = []
        if self._counters is not None:
            wait = await anyio.to_thread.run_sync(self._counters.locked_for, ":".join(key), items)
            waits = [wait] if wait else []
        else:
            assert self._limiter is not None
            for item in items:
                if not await self._limiter.test(item, *key):
                    stats = await self._limiter.get_window_stats(item, *key)
                    waits.append(max(1, math.ceil(stats.reset_time - time.time())))
        if waits:
            log.warning("login refused: %s %s is locked out for %d s", scope, key[1][:100], max(waits))
            raise LoginThrottled(max(waits), scope)

    async def _hit(self, key: tuple[str, str], items: list[RateLimitItem]) -> None:
        if self._counters is not None:
            await anyio.to_thread.run_sync(self._counters.hit, ":".join(key))
            return
        assert self._limiter is not None
        for item in items:
            await self._limiter.hit(item, *key)

    async def _clear(self, key: tuple[str, str], items: list[RateLimitItem]) -> None:
        if self._counters is not None:
            await anyio.to_thread.run_sync(self._counters.clear, ":".join(key))
            return
        assert self._limiter is not None
        for item in items:
            await self._limiter.clear(item, *key)

    def _account_key(self, qualified: str) -> str:
        """One counter per account however its name is typed (``loan1`` or ``loan1@BankAMSP`` on a
        one-org gateway, any letter case)."""
        orgs = self.settings.orgs
        try:
            msp_id, username = split_qualified(qualified.strip(), orgs[0] if len(orgs) == 1 else None)
        except UserError:
            return qualified.strip().lower()
        return f"{username}@{msp_id}".lower()

    def _verify(self, qualified: str, password: str) -> User | None:
        """Runs in a worker thread: Argon2id takes tens of milliseconds."""
        orgs = self.settings.orgs
        try:
            msp_id, username = split_qualified(qualified.strip(), orgs[0] if len(orgs) == 1 else None)
        except UserError:
            burn_dummy_verify(password)
            return None
        if msp_id not in orgs:
            burn_dummy_verify(password)
            return None
        return self.users.authenticate(msp_id, username, password, allow_demo=self.settings.demo_mode)


def _async_uri(uri: str) -> str:
    return uri if uri.startswith("async+") else f"async+{uri}"
