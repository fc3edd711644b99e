"""Open grpc channels to a peer (TLS or plaintext), bound to the address given."""

from __future__ import annotations

from pathlib import Path

import grpc

# The peer refuses client pings more often than every 60 s (too_many_pings), so stay above that.
DEFAULT_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.keepalive_time_ms", 120_000),
    ("grpc.keepalive_timeout_ms", 20_000),
    ("grpc.max_receive_message_length", 100 * 1024 * 1024),
    ("grpc.max_send_message_length", 100 * 1024 * 1024),
    # grpc's default reconnect backoff grows to 120 s; cap it so a restarted peer is seen within seconds.
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 3000),
)


def _read(value: bytes | str | Path | None) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    if isinstance(value, str) and value.lstrip().startswith("-----BEGIN"):
        return value.encode()
    return Path(value).read_bytes()


def _credentials(
    tls_root_certificates: bytes | str | Path,
    client_certificate: bytes | str | Path | None,
    client_key: bytes | str | Path | None,
) -> grpc.ChannelCredentials:
    if (client_certificate is None) != (client_key is None):
        raise ValueError("client_certificate/client_key: give both for mutual TLS, or neither")
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls_root_certificates),
        private_key=_read(client_key),
        certificate_chain=_read(client_certificate),
    )


def _options(server_name_override: str | None) -> list[tuple[str, object]]:
    options: list[tuple[str, object]] = list(DEFAULT_OPTIONS)
    if server_name_override:
        options.append(("grpc.ssl_target_name_override", server_name_override))
    return options


def create_channel(
    endpoint: str,
    *,
    tls_root_certificates: bytes | str | Path | None = None,
    client_certificate: bytes | str | Path | None = None,
    client_key: bytes | str | Path | None = None,
    server_name_override: str | None = None,
) -> grpc.Channel:
    """A blocking channel to ``host:port``; TLS when a root CA (PEM bytes, text or file) is given."""
    if tls_root_certificates is None:
        return grpc.insecure_channel(endpoint, options=_options(None))
    creds = _credentials(tls_root_certificates, client_certificate, client_key)
    return grpc.secure_channel(endpoint, creds, options=_options(server_name_override))


def create_async_channel(
    endpoint: str,
    *,
    tls_root_certificates: bytes | str | Path | None = None,
    client_certificate: bytes | str | Path | None = None,
    client_key: bytes | str | Path | None = None,
    server_name_override: str | None = None,
) -> grpc.aio.Channel:
    """An asyncio channel to ``host:port`` (same arguments as :func:`create_channel`)."""
    if tls_root_certificates is None:
        return grpc.aio.insecure_channel(endpoint, options=_options(None))
    creds = _credentials(tls_root_certificates, client_certificate, client_key)
    return grpc.aio.secure_channel(endpoint, creds, options=_options(server_name_override))
