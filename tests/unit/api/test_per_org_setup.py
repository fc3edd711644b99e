"""The documented per-org setup (docs/api.md, "Real-network mode") as an operator types it.

Reproduces the three breakages of issue 23: a plain ``MLEDGER_ORGS=BankAMSP``; a relative
``MLEDGER_DATA_DIR`` with the fabric-ca client (which resolves a relative ``--mspdir`` from its own
``--home``, so the certificate landed in a nested folder); a ``users add`` the CA refuses leaving a
local user behind; and server file paths in error messages.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from app.ledger.fabric import map_error
from app.settings import REPO_ROOT, Settings
from app.users.enrolment import EnrolmentError, FabricCaConfig, FabricCaEnroller
from app.users.provision import provision_user
from app.users.roles import Role
from app.users.store import UserStore
from chaincode import consortium

DOCS = REPO_ROOT / "docs" / "api.md"


def _documented_exports() -> list[str]:
    """The ``export`` lines of the docs' real-network block, as written."""
    text = DOCS.read_text()
    block = text[text.index("## Real-network mode") :]
    block = block[block.index("```bash") : block.index("```", block.index("```bash") + 3)]
    return [line.split("#")[0].strip() for line in block.splitlines() if line.startswith("export ")]


@pytest.mark.parametrize("org", consortium.APPLICATION_ORGS, ids=lambda o: o.msp_id)
def test_the_documented_environment_configures_every_org(org: consortium.Org, tmp_path: Path) -> None:
    exports = _documented_exports()
    assert any("MLEDGER_ORGS=BankAMSP " in line for line in exports)  # the docs' own form
    assert any("MLEDGER_DATA_DIR=.data/" in line for line in exports)  # a relative data dir
    lines = [line.replace("BankAMSP", org.msp_id).replace("banka", org.key) for line in exports]
    script = "\n".join(
        [*lines, f'{sys.executable} -c "from app.settings import Settings; s = Settings(); '
         'print(s.orgs, s.data_dir, s.network_profile, s.read_only)"']
    )  # fmt: skip
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), "HOME": str(tmp_path)}
    out = subprocess.run(["bash", "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [
        f"['{org.msp_id}']",
        f"{tmp_path}/.data/gw-{org.key}",
        f"{tmp_path}/.data/network/connection-{org.key}.json",
        str(org.msp_id == "RegulatorMSP"),
    ]


def test_orgs_as_a_plain_value_a_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    for value, expected in [
        ("BankAMSP", ["BankAMSP"]),
        ("BankAMSP, DealerMSP", ["BankAMSP", "DealerMSP"]),
        ('["BankAMSP","DealerMSP"]', ["BankAMSP", "DealerMSP"]),
    ]:
        monkeypatch.setenv("MLEDGER_ORGS", value)
        assert Settings().orgs == expected
    monkeypatch.setenv("MLEDGER_ORGS", "BankCMSP")
    with pytest.raises(ValueError, match="unknown org MSP id"):
        Settings()


# --- a fabric-ca-client stand-in that resolves paths as the real one does ----------------------

_FAKE_CA_CLIENT = textwrap.dedent(
    """\
    #!{python}
    import os, sys
    args = sys.argv[1:]
    def opt(name):
        return args[args.index(name) + 1] if name in args else None
    home = opt("--home")
    verb = args[0]
    refuse = os.environ.get("FAKE_CA_REFUSE", "")
    if verb == "register" and verb in refuse.split(","):
        print(f"2026/12/07 [INFO] Configuration file location: {{home}}/fabric-ca-client-config.yaml",
              file=sys.stderr)
        print("Error: Response from server: Error Code: 74 - Identity 'loan2' is already registered",
              file=sys.stderr)
        sys.exit(1)
    if verb in refuse.split(","):
        print(f"Error: open {{home}}/msp/signcerts/cert.pem: permission denied", file=sys.stderr)
        sys.exit(1)
    if verb == "enroll":
        msp = opt("--mspdir")
        if not os.path.isabs(msp):  # fabric-ca-client: relative to its home
            msp = os.path.join(home, msp)
        os.makedirs(os.path.join(msp, "signcerts"), exist_ok=True)
        os.makedirs(os.path.join(msp, "keystore"), exist_ok=True)
        open(os.path.join(msp, "signcerts", "cert.pem"), "w").write("cert")
        open(os.path.join(msp, "keystore", "key_sk"), "w").write("key")
    """
)


@pytest.fixture
def fake_ca_client(tmp_path: Path) -> Path:
    path = tmp_path / "bin" / "fabric-ca-client"
    path.parent.mkdir()
    path.write_text(_FAKE_CA_CLIENT.format(python=sys.executable))
    path.chmod(0o755)
    return path


def _enroller(settings: Settings, binary: Path) -> FabricCaEnroller:
    config = FabricCaConfig(
        url="https://127.0.0.1:1", ca_name=None, tls_cert=Path("tls.pem"), registrar_msp_dir=Path("reg/msp")
    )
    return FabricCaEnroller(config, settings.wallet_dir, binary=binary)


def test_a_relative_data_dir_puts_the_certificate_in_the_wallet(
    tmp_path: Path, fake_ca_client: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLEDGER_DATA_DIR", ".data/gw-banka")
    settings = Settings(backend="fabric", orgs=["BankAMSP"])
    users = UserStore(settings.users_db)
    provision_user(
        users, _enroller(settings, fake_ca_client), "BankAMSP", "loan2", Role.loan_officer, "pw-long-1"
    )
    wallet_msp = tmp_path / ".data" / "gw-banka" / "wallet" / "BankAMSP" / "loan2" / "msp"
    assert (wallet_msp / "signcerts" / "cert.pem").is_file()
    assert not list(tmp_path.glob(".data/gw-banka/wallet/BankAMSP/loan2/.data/**/cert.pem"))
    assert users.get("BankAMSP", "loan2").enrolled  # type: ignore[union-attr]


def test_a_user_the_ca_refuses_is_not_created(
    tmp_path: Path, fake_ca_client: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(backend="fabric", orgs=["BankAMSP"], data_dir=tmp_path / "gw")
    users = UserStore(settings.users_db)
    monkeypatch.setenv("FAKE_CA_REFUSE", "register,identity")  # known to the CA, and it cannot be reset
    with pytest.raises(EnrolmentError) as refused:
        provision_user(
            users, _enroller(settings, fake_ca_client), "BankAMSP", "loan2", Role.loan_officer, "pw-long-1"
        )
    assert users.get("BankAMSP", "loan2") is None  # no local user who could log in and get 401s
    assert users.authenticate("BankAMSP", "loan2", "pw-long-1") is None
    assert str(tmp_path) not in str(refused.value) and not re.search(r"/\w+/", str(refused.value))


def test_a_user_the_ca_already_knows_is_enrolled_again(
    tmp_path: Path, fake_ca_client: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings(backend="fabric", orgs=["BankAMSP"], data_dir=tmp_path / "gw")
    users = UserStore(settings.users_db)
    monkeypatch.setenv("FAKE_CA_REFUSE", "register")  # "already registered": the registrar resets it
    user = provision_user(
        users, _enroller(settings, fake_ca_client), "BankAMSP", "loan2", Role.loan_officer, "pw-long-1"
    )
    assert user.enrolled
    assert (settings.wallet_dir / "BankAMSP" / "loan2" / "msp" / "signcerts" / "cert.pem").is_file()


def test_a_missing_identity_answers_without_server_paths(tmp_path: Path) -> None:
    missing = tmp_path / "gw" / "wallet" / "BankAMSP" / "loan2" / "msp" / "signcerts"
    error = map_error(FileNotFoundError(f"msp_dir: no certificate in {missing}"))
    assert error.status == 401
    assert "caller identity" in error.message and str(tmp_path) not in error.message
    assert "/" not in error.message.replace("mledger users add", "")
