"""An anchor-peer update that meets an ordering service busy with another config update is made again
from the channel's current config (SmartBFT answered SERVICE_UNAVAILABLE "pending config does not match
calculated expected config" to the five orgs' concurrent updates at `up` on a loaded machine)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from network import channel
from network.errors import CommandError

ORG = SimpleNamespace(msp_id="BankAMSP")
BUSY = "anchor peer update for BankAMSP failed (exit 1): Error: got unexpected status: SERVICE_UNAVAILABLE -- pending config does not match calculated expected config"  # noqa: E501


def test_a_busy_ordering_service_is_retried_from_a_fresh_config(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []

    def once(settings: Any, org: Any) -> bool:
        calls.append(1)
        if len(calls) < 3:
            raise CommandError(BUSY)
        return True

    monkeypatch.setattr(channel, "_set_anchor_peer_once", once)
    monkeypatch.setattr(channel.time, "sleep", lambda _s: None)
    assert channel.set_anchor_peer(object(), ORG) is True  # type: ignore[arg-type]
    assert len(calls) == 3


def test_other_failures_and_a_lasting_busy_service_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel.time, "sleep", lambda _s: None)
    calls: list[int] = []

    def refused(settings: Any, org: Any) -> bool:
        calls.append(1)
        raise CommandError("anchor peer update failed: BAD_REQUEST -- signature set did not satisfy policy")

    monkeypatch.setattr(channel, "_set_anchor_peer_once", refused)
    with pytest.raises(CommandError, match="BAD_REQUEST"):
        channel.set_anchor_peer(object(), ORG)  # type: ignore[arg-type]
    assert len(calls) == 1

    def busy(settings: Any, org: Any) -> bool:
        raise CommandError(BUSY)

    monkeypatch.setattr(channel, "_set_anchor_peer_once", busy)
    with pytest.raises(CommandError, match="SERVICE_UNAVAILABLE"):
        channel.set_anchor_peer(object(), ORG)  # type: ignore[arg-type]
