"""The chaincode server against a fake peer speaking the real protocol over real gRPC."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fabric_protos.peer import chaincode_pb2
from fabric_protos.peer import chaincode_shim_pb2 as shim

from chaincode.runtime import handler as handler_module
from chaincode.runtime.fakepeer import FakePeer
from chaincode.runtime.inprocess import InProcessHost
from chaincode.runtime.server import ChaincodeServer, TLSConfig
from chaincode.runtime.testing import MemoryLedger, TestIdentity, collections_from_config, make_identity
from chaincode.testcc.contract import TestContract

ROOT = Path(__file__).parents[3]
COLLECTIONS = collections_from_config(
    json.loads((ROOT / "chaincode/testcc/collections_config.json").read_text())
)
PACKAGE_ID = "runtimetest_1:" + "ab" * 32


def new_ledger(name: str = "runtimetest") -> MemoryLedger:
    return MemoryLedger(InProcessHost([TestContract], name=name), collections=COLLECTIONS)


@pytest.fixture(scope="module")
def officer() -> TestIdentity:
    return make_identity("TrafficAuthorityMSP", "officer1", {"role": "registrar"})


@pytest.fixture(scope="module")
def insurer() -> TestIdentity:
    return make_identity("InsurerMSP", "underwriter1", {"role": "underwriter"})


@pytest.fixture(scope="module")
def server() -> Iterator[ChaincodeServer]:
    srv = ChaincodeServer(PACKAGE_ID, "127.0.0.1:0", [TestContract])
    srv.start()
    yield srv
    srv.stop(grace=1)


@pytest.fixture
def peer(server: ChaincodeServer) -> Iterator[FakePeer]:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger(), batch_size=3) as fp:
        fp.wait_ready()
        yield fp


def test_registers_with_package_id(peer: FakePeer) -> None:
    assert peer.registered_id == PACKAGE_ID


def test_state_calls_over_the_wire(peer: FakePeer, officer: TestIdentity) -> None:
    r = peer.invoke(officer, "Put", "k", "v1")
    assert r.kind == "COMPLETED" and r.response.status == 200 and r.requests == ["PUT_STATE"]
    assert peer.invoke(officer, "Get", "k").response.payload == b"v1"
    miss = peer.invoke(officer, "Get", "nope")
    assert (miss.response.status, miss.response.message) == (404, "key nope not found")
    peer.invoke(officer, "Put", "k", "v2")
    assert peer.invoke(officer, "Delete", "k").requests == ["DEL_STATE"]
    hist = json.loads(peer.invoke(officer, "History", "k").response.payload)
    assert [(h["value"], h["is_delete"]) for h in hist] == [("", True), ("v2", False), ("v1", False)]


def test_ranges_batches_and_pagination(peer: FakePeer, officer: TestIdentity) -> None:
    peer.invoke(officer, "PutMany", "r", "11")
    rows = peer.invoke(officer, "GetRange", "r", "s")
    assert [x["key"] for x in json.loads(rows.response.payload)] == [f"r{i:04d}" for i in range(11)]
    assert rows.requests == ["GET_STATE_BY_RANGE"] + ["QUERY_STATE_NEXT"] * 3  # batches of 3
    seen: list[str] = []
    bookmark = ""
    while True:
        page = json.loads(peer.invoke(officer, "GetRangePage", "r", "s", "4", bookmark).response.payload)
        assert page["fetched"] == len(page["results"])
        seen += [x["key"] for x in page["results"]]
        bookmark = page["bookmark"]
        if not bookmark:
            break
    assert seen == [f"r{i:04d}" for i in range(11)]
    first = peer.invoke(officer, "FirstInRange", "r", "s")
    assert first.response.payload == b"r0000"
    assert first.requests == ["GET_STATE_BY_RANGE", "QUERY_STATE_CLOSE"]
    assert peer.open_iterators == 0


def test_composite_keys(peer: FakePeer, officer: TestIdentity) -> None:
    for attrs, value in ((["V1", "1"], "a"), (["V1", "2"], "b"), (["V2", "1"], "c"), (["V1", "3"], "d")):
        peer.invoke(officer, "PutComposite", "lien", json.dumps(attrs), value)
    res = json.loads(peer.invoke(officer, "GetByPartialKey", "lien", '["V1"]').response.payload)
    assert [(r["attributes"], r["value"]) for r in res] == [
        (["V1", "1"], "a"),
        (["V1", "2"], "b"),
        (["V1", "3"], "d"),
    ]
    page = json.loads(peer.invoke(officer, "GetByPartialKeyPage", "lien", "[]", "3").response.payload)
    assert page["fetched"] == 3 and page["bookmark"].startswith("\x00lien\x00V2")


def test_private_data_transient_hash_and_errors(
    peer: FakePeer, officer: TestIdentity, insurer: TestIdentity
) -> None:
    r = peer.invoke(officer, "PutPrivate", "taBankA", "o1", transient={"value": b"Alice"})
    assert r.response.status == 200 and r.requests == ["PUT_STATE"]
    assert r.simulation is not None and r.simulation.rwset.private_writes == {"taBankA": {"o1": b"Alice"}}
    assert peer.invoke(officer, "GetPrivate", "taBankA", "o1").response.payload == b"Alice"
    h = peer.invoke(insurer, "GetPrivateHash", "taBankA", "o1")
    assert h.requests == ["GET_PRIVATE_DATA_HASH"] and len(h.response.payload) == 64
    denied = peer.invoke(insurer, "GetPrivate", "taBankA", "o1")
    assert denied.response.status == 500
    assert "GET_STATE failed: tx creator does not have read access permission" in denied.response.message
    peer.invoke(officer, "PurgePrivate", "taBankA", "o1")
    assert peer.invoke(officer, "GetPrivate", "taBankA", "o1").response.status == 404


def test_key_level_endorsement_over_the_wire(peer: FakePeer, officer: TestIdentity) -> None:
    peer.invoke(officer, "Put", "car", "x")
    r = peer.invoke(officer, "SetKeyEndorsers", "car", '["BankBMSP","TrafficAuthorityMSP"]')
    assert r.requests == ["PUT_STATE_METADATA"]
    got = peer.invoke(officer, "GetKeyEndorsers", "car")
    assert got.requests == ["GET_STATE_METADATA"]
    assert json.loads(got.response.payload) == ["BankBMSP", "TrafficAuthorityMSP"]


def test_events_and_identity_in_completed(peer: FakePeer, officer: TestIdentity) -> None:
    r = peer.invoke(officer, "PutAndEmit", "ev", "hello", "Changed")
    assert r.event is not None and (r.event.name, r.event.payload) == ("Changed", b"hello")
    who = json.loads(peer.invoke(officer, "Whoami", transient={"secret": b"s"}).response.payload)
    assert who["msp_id"] == "TrafficAuthorityMSP" and who["role"] == "registrar"
    assert who["has_signed_proposal"] and who["transient_keys"] == ["secret"] and len(who["binding"]) == 64


def test_invoke_chaincode(server: ChaincodeServer, officer: TestIdentity) -> None:
    ledger = new_ledger()
    ledger.host.add_chaincode(InProcessHost([TestContract], name="other"))
    with FakePeer(f"127.0.0.1:{server.port}", ledger) as fp:
        r = fp.invoke(officer, "InvokeOther", "other", '["Put","x","1"]')
        assert r.requests == ["INVOKE_CHAINCODE"]
        assert json.loads(r.response.payload) == {"status": 200, "message": "", "payload": ""}
        assert ledger.state[("other", "x")].value == b"1"


def test_peer_error_replies_raise_in_the_contract(peer: FakePeer, officer: TestIdentity) -> None:
    peer.invoke(officer, "Put", "k", "v")
    peer.fail_requests["GET_STATE"] = "ledger unavailable"
    r = peer.invoke(officer, "Get", "k")
    assert (r.response.status, r.response.message) == (500, "GET_STATE failed: ledger unavailable")
    assert r.response.payload == b""  # the error text is never returned as a value
    peer.fail_requests = {"PUT_STATE": "write refused"}
    w = peer.invoke(officer, "Put", "k", "v2")
    assert (w.response.status, w.response.message) == (500, "PUT_STATE failed: write refused")
    peer.fail_requests = {}
    assert peer.invoke(officer, "Get", "k").response.payload == b"v"


def test_argument_validation_and_contract_errors(peer: FakePeer, officer: TestIdentity) -> None:
    bad = peer.invoke(officer, "PutMany", "p", "many")
    assert bad.response.status == 400 and bad.response.message.startswith("invalid argument 'count'")
    assert bad.requests == []
    short = peer.invoke(officer, "Put", "only-key")
    assert (
        short.response.status == 400 and "expects 2 argument(s) (key, value), got 1" in short.response.message
    )
    unknown = peer.invoke(officer, "NoSuchFunction")
    assert unknown.response.status == 400 and "NoSuchFunction" in unknown.response.message
    conflict = peer.invoke(officer, "FailAfterWrite", "z", "409", "state conflict")
    assert (conflict.response.status, conflict.response.message) == (409, "state conflict")
    assert conflict.simulation is not None and conflict.simulation.rwsets == {}
    assert peer.invoke(officer, "Get", "z").response.status == 404
    meta = json.loads(peer.invoke(officer, "org.hyperledger.fabric:GetMetadata").response.payload)
    assert "TestContract" in meta["contracts"]


def test_init_failure_is_an_error_message(peer: FakePeer, officer: TestIdentity) -> None:
    r = peer.submit(officer, "Crash", "init refused", init=True).result(10)
    assert r.kind == "ERROR" and r.response.message == "init refused"
    ok = peer.submit(officer, "Put", "i", "1", init=True).result(10)
    assert ok.kind == "COMPLETED" and ok.response.status == 200


def test_200_concurrent_transactions_on_one_stream(peer: FakePeer, officer: TestIdentity) -> None:
    futures = [peer.submit(officer, "PutAndEmit", f"key{i}", f"value{i}", f"Event{i}") for i in range(200)]
    futures += [peer.submit(officer, "Whoami") for _ in range(20)]
    results = [f.result(timeout=60) for f in futures]
    for i, r in enumerate(results[:200]):
        assert r.kind == "COMPLETED" and r.response.status == 200
        assert r.event is not None and (r.event.name, r.event.payload) == (f"Event{i}", f"value{i}".encode())
        assert r.simulation is not None and r.simulation.writes == {f"key{i}": f"value{i}".encode()}
    for r in results[200:]:
        assert json.loads(r.response.payload)["tx_id"] == r.tx_id
    assert len({r.tx_id for r in results}) == 220
    values = [peer.submit(officer, "Get", f"key{i}") for i in range(200)]
    assert [v.result(30).response.payload for v in values] == [f"value{i}".encode() for i in range(200)]


def test_duplicate_tx_id_in_flight_is_refused(server: ChaincodeServer, officer: TestIdentity) -> None:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        fp.wait_ready()
        fp.hold()  # the first transaction waits for its PUT_STATE answer
        first = fp.submit(officer, "Put", "a", "1", tx_id="dup")
        time.sleep(0.2)
        raw = shim.ChaincodeMessage(
            type=shim.ChaincodeMessage.TRANSACTION,
            payload=chaincode_pb2.ChaincodeInput(args=[b"Put", b"a", b"2"]).SerializeToString(),
            txid="dup",
            channel_id=fp.channel_id,
        )
        fp.send_raw(raw)
        refused = first.result(10)  # the peer sees the ERROR for tx "dup"
        assert refused.kind == "ERROR" and "already in progress" in refused.response.message
        fp.release()
        assert fp.invoke(officer, "Put", "b", "1").response.status == 200


def test_in_process_and_peer_stub_agree(
    server: ChaincodeServer, officer: TestIdentity, insurer: TestIdentity
) -> None:
    script: list[tuple[TestIdentity, str, tuple[str, ...], dict[str, bytes] | None]] = [
        (officer, "Put", ("a", "1"), None),
        (officer, "PutMany", ("r", "7"), None),
        (officer, "Increment", ("a",), None),
        (officer, "Get", ("a",), None),
        (officer, "GetRange", ("r", "s"), None),
        (officer, "GetRangePage", ("r", "s", "3", ""), None),
        (officer, "CountRange", ("r", "s"), None),
        (officer, "PutComposite", ("lien", '["V","1"]', "x"), None),
        (officer, "GetByPartialKey", ("lien", "[]"), None),
        (
            officer,
            "PutPrivate",
            (
                "taBankA",
                "o",
            ),
            {"value": b"secret"},
        ),
        (officer, "GetPrivate", ("taBankA", "o"), None),
        (insurer, "GetPrivate", ("taBankA", "o"), None),
        (insurer, "GetPrivateHash", ("taBankA", "o"), None),
        (officer, "SetKeyEndorsers", ("a", '["BankAMSP"]'), None),
        (officer, "GetKeyEndorsers", ("a",), None),
        (officer, "PutAndEmit", ("e", "p", "Ev"), None),
        (officer, "FailAfterWrite", ("f", "403", "no"), None),
        (officer, "PutMany", ("r", "bad"), None),
        (officer, "RichQuery", ("{}",), None),
        (officer, "Delete", ("a",), None),
    ]
    local = new_ledger()
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        for ident, fn, args, transient in script:
            mine = local.invoke(ident, fn, *args, transient=transient)
            theirs = fp.invoke(ident, fn, *args, transient=transient)
            assert theirs.simulation is not None
            assert theirs.response == mine.response, fn
            assert theirs.event == mine.event, fn
            assert theirs.simulation.rwsets == mine.rwsets, fn
        assert {k: e.value for k, e in fp.ledger.state.items()} == {
            k: e.value for k, e in local.state.items()
        }


def test_wrong_package_id_is_reported_loudly(
    server: ChaincodeServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler_module, "REGISTER_WARNING_SECONDS", 0.3)
    caplog.set_level(logging.ERROR, logger="chaincode.runtime.handler")
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger(), expected_chaincode_id="other:" + "0" * 64) as fp:
        with pytest.raises(TimeoutError):
            fp.wait_ready(timeout=1.0)
        assert fp.registered_id == PACKAGE_ID
    assert any("has not answered REGISTER" in r.getMessage() for r in caplog.records)


# --- TLS ---------------------------------------------------------------------------------
def _issue(
    name: str, issuer_key: ec.EllipticCurvePrivateKey | None, issuer: x509.Name | None, ca: bool, san: bool
):  # type: ignore[no-untyped-def]
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer or subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if san:
        b = b.add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
    cert = b.sign(issuer_key or key, hashes.SHA256())
    pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key, subject, pem, key_pem


def test_tls_with_client_auth(officer: TestIdentity) -> None:
    ca_key, ca_name, ca_pem, _ = _issue("test-ca", None, None, True, False)
    _, _, srv_pem, srv_key = _issue("chaincode", ca_key, ca_name, False, True)
    _, _, cli_pem, cli_key = _issue("peer0", ca_key, ca_name, False, False)
    srv = ChaincodeServer(PACKAGE_ID, "127.0.0.1:0", [TestContract], tls=TLSConfig(srv_pem, srv_key, ca_pem))
    srv.start()
    try:
        creds = grpc.ssl_channel_credentials(
            root_certificates=ca_pem, private_key=cli_key, certificate_chain=cli_pem
        )
        with FakePeer(f"127.0.0.1:{srv.port}", new_ledger(), credentials=creds) as fp:
            assert fp.invoke(officer, "Put", "t", "1").response.status == 200
        no_client_cert = grpc.ssl_channel_credentials(root_certificates=ca_pem)
        with (
            FakePeer(f"127.0.0.1:{srv.port}", new_ledger(), credentials=no_client_cert) as fp,
            pytest.raises(TimeoutError),
        ):
            fp.wait_ready(timeout=1.5)
    finally:
        srv.stop(grace=1)


# --- process behaviour -------------------------------------------------------------------
def test_importing_the_runtime_leaves_logging_alone() -> None:
    code = (
        "import logging; root = logging.getLogger(); before = (root.level, list(root.handlers));"
        "import chaincode.runtime.server, chaincode.runtime.contract, chaincode.runtime.inprocess;"
        "after = (root.level, list(root.handlers)); assert before == after, (before, after);"
        "assert logging.getLogger('chaincode.runtime.dispatch').level == logging.NOTSET; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_server_cli_serves_and_stops_on_sigterm(officer: TestIdentity) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "CHAINCODE_ID": PACKAGE_ID, "CHAINCODE_SERVER_ADDRESS": f"127.0.0.1:{port}"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--contract",
            "chaincode.testcc.contract:TestContract",
        ],
        cwd=ROOT,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        result = None
        while time.monotonic() < deadline and result is None:
            try:
                with FakePeer(f"127.0.0.1:{port}", new_ledger()) as fp:
                    fp.wait_ready(timeout=2)
                    result = fp.invoke(officer, "Put", "cli", "1")
            except TimeoutError:
                time.sleep(0.2)
        assert result is not None and result.response.status == 200
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "received SIGTERM" in err and "listening on 127.0.0.1" in err
        assert "cli" not in err.split("received SIGTERM")[0].split("invoke Put")[-1]  # no payload logged
    finally:
        if proc.poll() is None:
            proc.kill()


def test_server_cli_refuses_bad_arguments() -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            "127.0.0.1:0",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={k: v for k, v in os.environ.items() if not k.startswith("CHAINCODE_")},
    )
    assert out.returncode == 2 and "--contract" in out.stderr
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaincode.runtime.server",
            "--chaincode-id",
            PACKAGE_ID,
            "--address",
            "127.0.0.1:0",
            "--contract",
            "chaincode.testcc.contract:Nope",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "not a Contract subclass" in bad.stderr


def test_keepalive_is_echoed_and_unexpected_messages_end_the_stream(server: ChaincodeServer) -> None:
    with FakePeer(f"127.0.0.1:{server.port}", new_ledger()) as fp:
        fp.wait_ready()
        fp.send_raw(shim.ChaincodeMessage(type=shim.ChaincodeMessage.KEEPALIVE))
        deadline = time.monotonic() + 5
        while not fp.unrouted and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [m.type for m in fp.unrouted] == [shim.ChaincodeMessage.KEEPALIVE]
        fp.send_raw(shim.ChaincodeMessage(type=shim.ChaincodeMessage.REGISTERED, txid="x1"))
        assert fp.closed.wait(5)
        error = fp.unrouted[-1]
        assert error.type == shim.ChaincodeMessage.ERROR and b"REGISTERED" in error.payload


def test_a_tx_id_may_come_again_once_answered(peer: FakePeer, officer: TestIdentity) -> None:
    for _ in range(20):  # an evaluate re-sent with the same proposal is run again, never refused
        r = peer.invoke(officer, "Get", "nothing-here", tx_id="same-tx")
        assert r.kind == "COMPLETED" and r.response.status == 404
