"""Peer height lag: each peer's ``ledger_blockchain_height`` (from its operations endpoint) vs the max.

Fabric peers export their block height per channel on ``/metrics`` (``metrics.provider: prometheus``);
the gateway reads them so one scrape of the gateway says how far each peer of the consortium lags.
A peer that does not answer is reported as down (``mledger_peer_up 0``), not as lag 0.
"""

from __future__ import annotations

import re

import httpx

_HEIGHT = re.compile(
    r'^ledger_blockchain_height\{[^}]*channel="(?P<channel>[^"]+)"[^}]*\}\s+(?P<value>\S+)', re.M
)


def parse_heights(text: str) -> dict[str, int]:
    """Channel → block height from a peer's Prometheus text."""
    return {m["channel"]: int(float(m["value"])) for m in _HEIGHT.finditer(text)}


async def peer_heights(urls: dict[str, str], channel: str, timeout: float = 3.0) -> dict[str, int | None]:
    """Peer name → its height on ``channel`` (None: the peer did not answer or has not joined)."""
    out: dict[str, int | None] = {}
    async with httpx.AsyncClient(timeout=timeout) as http:
        for name, url in urls.items():
            try:
                response = await http.get(url.rstrip("/") + "/metrics")
                response.raise_for_status()
            except httpx.HTTPError:
                out[name] = None
                continue
            out[name] = parse_heights(response.text).get(channel)
    return out


def lags(heights: dict[str, int | None]) -> dict[str, int]:
    """Blocks each answering peer is behind the highest one."""
    known = [h for h in heights.values() if h is not None]
    top = max(known, default=0)
    return {name: top - h for name, h in heights.items() if h is not None}
