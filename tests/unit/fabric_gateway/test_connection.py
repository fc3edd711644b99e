"""TLS channels (server-only and mutual) to the fake Gateway, and error-detail decoding edge cases."""

from __future__ import annotations

import datetime
import ipaddress
from concurrent import futures
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.gateway import gateway_pb2_grpc

from app.fabric_gateway import connect, create_async_channel, create_channel
from app.fabric_gateway.errors import decode_error_details

from .fake_gateway import FakeGateway
from .keys import key_pem


def _cert(subject_key, issuer_key, cn: str, issuer_cn: str, ca: bool) -> x509.Certificate:
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)]))
        .public_key(subject_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if not ca:
        builder = builder.add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture
def tls_material(tmp_path: Path) -> dict[str, Path]:
    from cryptography.hazmat.primitives import serialization

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = _cert(ca_key, ca_key, "tlsca", "tlsca", True)
    files: dict[str, Path] = {}
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = _cert(key, ca_key, name, "tlsca", False)
        files[f"{name}_cert"] = tmp_path / f"{name}.pem"
        files[f"{name}_cert"].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        files[f"{name}_key"] = tmp_path / f"{name}.key"
        files[f"{name}_key"].write_bytes(key_pem(key))
    files["ca"] = tmp_path / "ca.pem"
    files["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return files


def _tls_server(files: dict[str, Path], mutual: bool) -> tuple[grpc.Server, int]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    gateway_pb2_grpc.add_GatewayServicer_to_server(FakeGateway(), server)
    creds = grpc.ssl_server_credentials(
        [(files["server_key"].read_bytes(), files["server_cert"].read_bytes())],
        root_certificates=files["ca"].read_bytes() if mutual else None,
        require_client_auth=mutual,
    )
    port = server.add_secure_port("127.0.0.1:0", creds)
    server.start()
    return server, port


def test_tls_channel_from_ca_file(tls_material: dict[str, Path], credentials) -> None:
    server, port = _tls_server(tls_material, mutual=False)
    try:
        identity, signer = credentials
        with create_channel(f"127.0.0.1:{port}", tls_root_certificates=tls_material["ca"]) as channel:
            contract = connect(identity, signer, channel).get_network("ch").get_contract("cc")
            assert contract.evaluate_transaction("F", "a") == b"F|a"
    finally:
        server.stop(None)


def test_mutual_tls_channel(tls_material: dict[str, Path], credentials) -> None:
    server, port = _tls_server(tls_material, mutual=True)
    try:
        identity, signer = credentials
        with create_channel(
            f"127.0.0.1:{port}",
            tls_root_certificates=tls_material["ca"].read_bytes(),
            client_certificate=tls_material["client_cert"],
            client_key=tls_material["client_key"],
        ) as channel:
            contract = connect(identity, signer, channel).get_network("ch").get_contract("cc")
            assert contract.evaluate_transaction("G") == b"G"
    finally:
        server.stop(None)


async def test_async_tls_channel(tls_material: dict[str, Path], credentials) -> None:
    from app.fabric_gateway import connect_async

    server, port = _tls_server(tls_material, mutual=False)
    try:
        identity, signer = credentials
        async with create_async_channel(
            f"127.0.0.1:{port}", tls_root_certificates=tls_material["ca"].read_text()
        ) as channel:
            contract = connect_async(identity, signer, channel).get_network("ch").get_contract("cc")
            assert await contract.evaluate_transaction("H") == b"H"
    finally:
        server.stop(None)


def test_client_cert_without_key_is_refused(tls_material: dict[str, Path]) -> None:
    with pytest.raises(ValueError, match="client_certificate/client_key"):
        create_channel("127.0.0.1:1", tls_root_certificates=tls_material["ca"], client_certificate=b"x")


def test_decode_error_details_tolerates_absent_and_malformed_trailers() -> None:
    assert decode_error_details(None) == []
    assert decode_error_details([("other", b"x")]) == []
    assert decode_error_details([("grpc-status-details-bin", b"\xff\xff\xff")]) == []
