"""Chaincode-as-a-service with mutual TLS on the real network: peers dial the chaincode servers with their own
TLS key pairs, and a server accepts nobody else (no plaintext, no TLS client without a certificate, no
certificate from a CA outside the consortium's peer orgs)."""

from __future__ import annotations

import datetime
import ipaddress
import json
import queue
from collections.abc import Iterator

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.peer import chaincode_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim
from fabric_protos.peer import chaincode_shim_pb2_grpc as shim_grpc

from network import ca, ccaas_tls, peercli, topology
from network import chaincode as cc
from network.fixture import FabricNetworkInfo
from network.topology import HOST

CC = "runtimetest"


def _server(net: FabricNetworkInfo) -> tuple[str, str]:
    """(address, package id) of the runtimetest chaincode server."""
    pid = net.chaincodes.get(CC, "")
    assert pid.startswith(f"{CC}_ccaas:"), f"chaincode {CC} is not running: {pid}"
    spec = next(s for s in cc.load_specs() if s.name == CC)
    return f"{HOST}:{net.network.settings.ports.chaincode(spec.slot)}", pid


def _first_message(channel: grpc.Channel) -> shim.ChaincodeMessage:
    """Open Chaincode/Connect as a peer would; the chaincode's first message is its REGISTER."""
    outbox: queue.Queue[shim.ChaincodeMessage | None] = queue.Queue()

    def requests() -> Iterator[shim.ChaincodeMessage]:
        while (m := outbox.get()) is not None:
            yield m

    call = shim_grpc.ChaincodeStub(channel).Connect(requests(), timeout=10)
    try:
        return next(iter(call))
    finally:
        outbox.put(None)
        call.cancel()


def _tls_channel(
    address: str, root: bytes, key: bytes | None = None, cert: bytes | None = None
) -> grpc.Channel:
    creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key, certificate_chain=cert)
    return grpc.secure_channel(address, creds)


def _foreign_key_pair() -> tuple[bytes, bytes]:
    """A self-signed client certificate from outside the consortium (SAN 127.0.0.1, clientAuth)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "peer0.intruder")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(HOST))]), False)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), False)
        .sign(key, hashes.SHA256())
    )
    pem_key = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return pem_key, cert.public_bytes(serialization.Encoding.PEM)


def test_every_peer_dials_the_chaincode_with_mutual_tls(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    _, pid = _server(fabric_network)
    root = ca.org_crypto(s, ccaas_tls.operator()).tls_ca.read_text()
    for org in topology.peer_orgs():
        # a query on the org's own peer makes it launch (and so release) the chaincode if it has not yet
        peercli.query(fabric_network, CC, ["count_range", "probe-a", "probe-b"], org=org.name, user="admin")
        release = s.nodes_dir / topology.peer_name(org) / "ledger" / "externalbuilder" / "builds"
        conn_file = release / pid.replace(":", "-") / "release" / "chaincode" / "server" / "connection.json"
        conn = json.loads(conn_file.read_text())
        assert conn["tls_required"] is True and conn["client_auth_required"] is True
        assert conn["root_cert"] == root
        peer_tls = ca.org_crypto(s, org).node(topology.peer_name(org)) / "tls"
        assert (
            conn["client_cert"] == (peer_tls / "cert.pem").read_text()
        )  # its own key pair, not a shared one
        assert conn["client_key"] == (peer_tls / "key.pem").read_text()
        assert conn_file.stat().st_mode & 0o077 == 0


def test_chaincode_server_accepts_a_peer_certificate(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    address, pid = _server(fabric_network)
    root = ca.org_crypto(s, ccaas_tls.operator()).tls_ca.read_bytes()
    tls = ca.org_crypto(s, topology.org("insurer")).node("peer0.insurer") / "tls"
    with _tls_channel(address, root, (tls / "key.pem").read_bytes(), (tls / "cert.pem").read_bytes()) as ch:
        msg = _first_message(ch)
    assert msg.type == shim.ChaincodeMessage.REGISTER
    assert chaincode_pb2.ChaincodeID.FromString(msg.payload).name == pid


def _refused(channel: grpc.Channel) -> grpc.RpcError:
    with channel, pytest.raises(grpc.RpcError) as err:
        _first_message(channel)
    assert err.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
    return err.value


def test_chaincode_server_refuses_plaintext(fabric_network: FabricNetworkInfo) -> None:
    address, _ = _server(fabric_network)
    _refused(grpc.insecure_channel(address))


def test_chaincode_server_refuses_tls_without_a_client_certificate(fabric_network: FabricNetworkInfo) -> None:
    s = fabric_network.network.settings
    address, _ = _server(fabric_network)
    root = ca.org_crypto(s, ccaas_tls.operator()).tls_ca.read_bytes()
    _refused(_tls_channel(address, root))


def test_chaincode_server_refuses_a_certificate_from_outside_the_peer_orgs(
    fabric_network: FabricNetworkInfo,
) -> None:
    s = fabric_network.network.settings
    address, _ = _server(fabric_network)
    root = ca.org_crypto(s, ccaas_tls.operator()).tls_ca.read_bytes()
    key, cert = _foreign_key_pair()
    _refused(_tls_channel(address, root, key, cert))
    # a Dealer user (client-only org, no peer) holds a consortium certificate but is not a peer org's
    dealer = ca.org_crypto(s, topology.org("dealer")).user("admin")
    msp = dealer / "msp"
    _refused(
        _tls_channel(
            address, root, ca.key_file(msp).read_bytes(), (msp / "signcerts" / "cert.pem").read_bytes()
        )
    )
