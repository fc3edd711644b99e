"""Chaincode-as-a-service packages are deterministic and well-formed; the external builder runs."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
from pathlib import Path

from network import chaincode
from network.config import CCAAS_BUILDER_DIR


def test_same_inputs_give_same_bytes_and_package_id() -> None:
    a = chaincode.package_ccaas("mortgage_ccaas", "127.0.0.1:27400")
    b = chaincode.package_ccaas("mortgage_ccaas", "127.0.0.1:27400")
    assert a == b
    pid = chaincode.package_id("mortgage_ccaas", a)
    assert pid == "mortgage_ccaas:" + hashlib.sha256(a).hexdigest()
    c = chaincode.package_ccaas("mortgage_ccaas", "127.0.0.1:27401")
    assert chaincode.package_id("mortgage_ccaas", c) != pid


def test_package_layout_matches_fabric_ccaas() -> None:
    pkg = chaincode.package_ccaas("x_ccaas", "127.0.0.1:1234")
    with tarfile.open(fileobj=io.BytesIO(pkg), mode="r:gz") as outer:
        assert outer.getnames() == ["metadata.json", "code.tar.gz"]
        meta = json.loads(outer.extractfile("metadata.json").read())  # type: ignore[union-attr]
        assert meta == {"label": "x_ccaas", "type": "ccaas"}
        code = outer.extractfile("code.tar.gz").read()  # type: ignore[union-attr]
        assert all(m.mtime == 0 for m in outer.getmembers())
    with tarfile.open(fileobj=io.BytesIO(code), mode="r:gz") as inner:
        conn = json.loads(inner.extractfile("connection.json").read())  # type: ignore[union-attr]
    assert conn == {
        "address": "127.0.0.1:1234",
        "dial_timeout": "10s",
        "tls_required": True,
        "client_auth_required": True,
    }  # no key material: the package is installed on every peer and its bytes fix the package ID


def test_external_builder_detect_build_release(tmp_path: Path) -> None:
    bin_dir = CCAAS_BUILDER_DIR / "bin"
    src, meta, out, rel = (tmp_path / d for d in ("src", "meta", "out", "rel"))
    for d in (src, meta, out, rel):
        d.mkdir()
    (meta / "metadata.json").write_text('{"label": "x", "type": "golang"}')
    assert subprocess.run([bin_dir / "detect", src, meta], check=False).returncode != 0
    (meta / "metadata.json").write_text('{"label": "x", "type": "ccaas"}')
    assert subprocess.run([bin_dir / "detect", src, meta], check=False).returncode == 0
    assert (
        subprocess.run([bin_dir / "build", src, meta, out], check=False, capture_output=True).returncode != 0
    )  # no connection.json
    (src / "connection.json").write_text('{"address": "127.0.0.1:1"}')
    subprocess.run([bin_dir / "build", src, meta, out], check=True)
    subprocess.run([bin_dir / "release", out, rel], check=True)
    assert json.loads((rel / "chaincode" / "server" / "connection.json").read_text()) == {
        "address": "127.0.0.1:1"
    }


def test_declared_chaincodes() -> None:
    specs = {s.name: s for s in chaincode.load_specs()}
    assert specs["mortgage"].contracts == ("chaincode.mortgage.contract:MortgageContract",)
    assert specs["mortgage"].policy == (
        "OutOf(2,'TrafficAuthorityMSP.peer','BankAMSP.peer','BankBMSP.peer','InsurerMSP.peer')"
    )
    assert specs["mortgage"].collections.name == "collections_config.json"
    assert specs["runtimetest"].contracts == ("chaincode.testcc.contract:TestContract",)


def _connection_json(pkg: bytes) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(pkg), mode="r:gz") as outer:
        code = outer.extractfile("code.tar.gz").read()  # type: ignore[union-attr]
    with tarfile.open(fileobj=io.BytesIO(code), mode="r:gz") as inner:
        return inner.extractfile("connection.json").read()  # type: ignore[union-attr]


def test_release_without_the_peers_tls_material_fails_instead_of_plaintext(tmp_path: Path) -> None:
    bld, rel = tmp_path / "bld", tmp_path / "rel"
    bld.mkdir()
    (bld / "connection.json").write_bytes(_connection_json(chaincode.package_ccaas("x", "127.0.0.1:1")))
    res = subprocess.run(
        [CCAAS_BUILDER_DIR / "bin" / "release", bld, rel],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert res.returncode != 0
    assert "MLEDGER_CCAAS_ROOT_CERT is unset or unreadable" in res.stderr
    assert not (rel / "chaincode" / "server" / "connection.json").exists()


def test_release_adds_the_peers_pems_to_connection_json(tmp_path: Path) -> None:
    bld, rel = tmp_path / "bld", tmp_path / "rel"
    bld.mkdir()
    (bld / "connection.json").write_bytes(_connection_json(chaincode.package_ccaas("x", "127.0.0.1:1")))
    pems = {}
    for var, text in (("ROOT_CERT", "root"), ("CLIENT_CERT", "cert"), ("CLIENT_KEY", "key")):
        f = tmp_path / f"{var}.pem"
        f.write_text(f"-----BEGIN X-----\n{text}\n-----END X-----\n")
        pems[f"MLEDGER_CCAAS_{var}"] = str(f)
    env = {"PATH": "/usr/bin:/bin", **pems}
    subprocess.run([CCAAS_BUILDER_DIR / "bin" / "release", bld, rel], env=env, check=True)
    out = rel / "chaincode" / "server" / "connection.json"
    conn = json.loads(out.read_text())
    assert conn["address"] == "127.0.0.1:1" and conn["tls_required"] and conn["client_auth_required"]
    assert conn["root_cert"] == Path(pems["MLEDGER_CCAAS_ROOT_CERT"]).read_text()
    assert conn["client_cert"] == Path(pems["MLEDGER_CCAAS_CLIENT_CERT"]).read_text()
    assert conn["client_key"] == Path(pems["MLEDGER_CCAAS_CLIENT_KEY"]).read_text()
    assert out.stat().st_mode & 0o077 == 0  # the peer's private key: owner only
    Path(pems["MLEDGER_CCAAS_CLIENT_KEY"]).write_text('-----BEGIN X-----\n"}, "address": "evil"\n')
    res = subprocess.run(
        [CCAAS_BUILDER_DIR / "bin" / "release", bld, tmp_path / "rel2"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert res.returncode != 0 and "is not a PEM file" in res.stderr
