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
    assert conn == {"address": "127.0.0.1:1234", "dial_timeout": "10s", "tls_required": False}


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
