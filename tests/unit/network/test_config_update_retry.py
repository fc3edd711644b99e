"""A channel config update that meets an ordering service busy with another config update is made again
from the channel's current config (SmartBFT answered SERVICE_UNAVAILABLE "pending config does not match
calculated expected config" to the five orgs' concurrent anchor-peer updates at `up` on a loaded
machine). Anchor-peer updates and the governance commands (org add, suspend, CRLs, consenter renewal)
submit through the same `channel.submit_config_update`, so both get the retry."""

from __future__ import annotations

import copy
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from network import channel, governance
from network.errors import CommandError, NetworkError

ORG: Any = SimpleNamespace(msp_id="BankAMSP", key="banka")
NO_SETTINGS: Any = object()
BUSY = "anchor peer update for BankAMSP failed (exit 1): Error: got unexpected status: SERVICE_UNAVAILABLE -- pending config does not match calculated expected config"  # noqa: E501
Mutate = Callable[[dict[str, Any]], None]


@pytest.fixture(autouse=True)
def _no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(channel.time, "sleep", lambda _s: None)


def _fake_once(monkeypatch: pytest.MonkeyPatch, answers: list[str | None]) -> list[int]:
    """Each call raises the next answer as a CommandError, or (None) succeeds."""
    calls: list[int] = []

    def once(settings: Any, mutate: Mutate, signers: Any, what: str, fetch_timeout: float) -> bool:
        calls.append(1)
        answer = answers[min(len(calls), len(answers)) - 1]
        if answer is not None:
            raise CommandError(answer)
        return True

    monkeypatch.setattr(channel, "_submit_config_update_once", once)
    return calls


def test_a_busy_ordering_service_is_retried_from_a_fresh_config(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_once(monkeypatch, [BUSY, BUSY, None])
    assert channel.submit_config_update(NO_SETTINGS, lambda c: None, [ORG], "x") is True
    assert len(calls) == 3


def test_other_failures_and_a_lasting_busy_service_are_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_once(monkeypatch, ["update failed: BAD_REQUEST -- signature set did not satisfy policy"])
    with pytest.raises(CommandError, match="BAD_REQUEST"):
        channel.submit_config_update(NO_SETTINGS, lambda c: None, [ORG], "x")
    assert len(calls) == 1

    calls = _fake_once(monkeypatch, [BUSY])
    with pytest.raises(CommandError, match="SERVICE_UNAVAILABLE"):
        channel.submit_config_update(NO_SETTINGS, lambda c: None, [ORG], "x")
    assert len(calls) == channel.CONFIG_UPDATE_ATTEMPTS


def test_governance_updates_get_the_retry_and_explain_a_refusal(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _fake_once(monkeypatch, [BUSY, None])
    assert governance.update_config(NO_SETTINGS, lambda c: None, [ORG], "suspension of X") is True
    assert len(calls) == 2

    _fake_once(monkeypatch, ["Error: implicit policy evaluation failed - 1 sub-policies were satisfied"])
    with pytest.raises(NetworkError, match="BankAMSP admin"):
        governance.update_config(NO_SETTINGS, lambda c: None, [ORG], "suspension of X")


def _config(anchors: list[dict[str, Any]] | None) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if anchors is not None:
        values["AnchorPeers"] = {"mod_policy": "Admins", "value": {"anchor_peers": anchors}, "version": "0"}
    return {"channel_group": {"groups": {"Application": {"groups": {"BankAMSP": {"values": values}}}}}}


def test_the_anchor_peer_update_changes_the_config_only_when_the_anchor_differs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings: Any = SimpleNamespace(
        hosts=SimpleNamespace(advertise=lambda name: "127.0.0.1"),
        ports=SimpleNamespace(peer=lambda org: 27051),
    )
    seen: list[dict[str, Any]] = []

    def run_mutate(current: dict[str, Any]) -> Callable[..., bool]:
        def once(settings: Any, mutate: Mutate, signers: Any, what: str, fetch_timeout: float) -> bool:
            modified = copy.deepcopy(current)
            mutate(modified)
            seen.append(modified)
            return modified != current

        return once

    monkeypatch.setattr(channel, "_submit_config_update_once", run_mutate(_config(None)))
    assert channel.set_anchor_peer(settings, ORG) is True
    anchors = seen[-1]["channel_group"]["groups"]["Application"]["groups"]["BankAMSP"]["values"][
        "AnchorPeers"
    ]
    assert anchors["value"]["anchor_peers"] == [{"host": "127.0.0.1", "port": 27051}]

    same = _config([{"host": "127.0.0.1", "port": 27051}])
    monkeypatch.setattr(channel, "_submit_config_update_once", run_mutate(same))
    assert channel.set_anchor_peer(settings, ORG) is False
    assert seen[-1] == same
