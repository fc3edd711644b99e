"""Errors of the network manager: each names the node, the port and the log to read."""

from __future__ import annotations

from pathlib import Path


class NetworkError(RuntimeError):
    """The network could not be brought to the requested state."""

    def __init__(
        self, message: str, *, node: str | None = None, port: int | None = None, log: Path | None = None
    ) -> None:
        parts = [message]
        if node:
            parts.append(f"node={node}")
        if port:
            parts.append(f"port={port}")
        if log:
            parts.append(f"log={log}")
        super().__init__("; ".join(parts))
        self.node = node
        self.port = port
        self.log = log


class CommandError(NetworkError):
    """A Fabric/fabric-ca/kubo command line tool failed."""
