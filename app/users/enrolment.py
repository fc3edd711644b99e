"""Giving a gateway user a Fabric identity carrying its ``role`` attribute.

On the real network: fabric-ca — register the user with ``role=<role>:ecert`` using the org's CA
registrar, then enrol, which writes a standard MSP folder (signcerts/, keystore/, cacerts/) under the
gateway's wallet. In embedded mode the embedded ledger's identity module issues the certificate.
Wallet layout (shared with the ledger's fabric adapter): ``<wallet>/<MSP>/<username>/msp/``.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from app.data_files import secure_dir
from app.settings import REPO_ROOT
from app.users.roles import Role

log = logging.getLogger(__name__)


_ABSOLUTE_PATH = re.compile(r"(?<![\w:/])/(?:[\w.@+-]+/)*[\w.@+-]+")


def without_paths(text: str) -> str:
    """A CA's answer as a client may see it: the server's file paths replaced by ``<path>``."""
    return _ABSOLUTE_PATH.sub("<path>", text)


class EnrolmentError(RuntimeError):
    """Registering or enrolling the user failed (the message names the stage and the CA's answer)."""


@dataclass(frozen=True, slots=True)
class EnrolledIdentity:
    enrollment_id: str
    msp_dir: Path | None  # None when the identity is issued on the fly (embedded)


class Enroller(Protocol):
    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity: ...


def wallet_msp_dir(wallet: Path, msp_id: str, username: str) -> Path:
    return wallet / msp_id / username / "msp"


class EmbeddedEnroller:
    """Embedded mode: the ledger issues the user's certificate (with the role attribute) when needed.

    Enrolling ahead of time makes it explicit and catches a missing CA early.
    """

    def __init__(self, ledger_dir: Path) -> None:
        self._ledger_dir = ledger_dir

    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        from app.ledger.embedded.enrolment import issue_user_identity

        issue_user_identity(self._ledger_dir, msp_id, username, {"role": role.value})
        return EnrolledIdentity(enrollment_id=username, msp_dir=None)


@dataclass(frozen=True, slots=True)
class FabricCaConfig:
    """One org's CA as seen from its gateway."""

    url: str  # https://127.0.0.1:7054
    ca_name: str | None
    tls_cert: Path
    registrar_msp_dir: Path  # the org CA registrar's enrolled MSP folder (admin)


def fabric_ca_client_binary() -> Path:
    """$FABRIC_CA_CLIENT, else the binary cache scripts/install-binaries fills ($MLEDGER_BIN_DIR, default
    .cache/bin, flat or under fabric-ca-<version>/), else PATH."""
    explicit = os.environ.get("FABRIC_CA_CLIENT")
    candidates = [Path(explicit)] if explicit else []
    bin_dir = Path(os.environ.get("MLEDGER_BIN_DIR") or REPO_ROOT / ".cache" / "bin")
    candidates.append(bin_dir / "fabric-ca-client")
    candidates += sorted(bin_dir.glob("fabric-ca-*/fabric-ca-client"), reverse=True)
    found = shutil.which("fabric-ca-client")
    if found:
        candidates.append(Path(found))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    raise EnrolmentError("fabric-ca-client not found (.cache/bin/fabric-ca-client; run the network setup)")


class FabricCaEnroller:
    """Registers and enrols users with the org's fabric-ca through the fabric-ca-client binary."""

    def __init__(self, config: FabricCaConfig, wallet: Path, binary: Path | None = None) -> None:
        self._config = config
        # fabric-ca-client resolves a relative --mspdir from its --home: absolute paths only
        self._wallet = Path(os.path.abspath(wallet))
        self._binary = binary

    def _run(self, stage: str, args: list[str], home: Path) -> None:
        binary = self._binary or fabric_ca_client_binary()
        secure_dir(home)
        command = [str(binary), *args, "--tls.certfiles", str(self._config.tls_cert), "--home", str(home)]
        if self._config.ca_name:
            command += ["--caname", self._config.ca_name]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            reason = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            log.warning("fabric-ca %s failed: %s", stage, reason[0])
            raise EnrolmentError(f"fabric-ca {stage} failed: {without_paths(reason[0])}")

    def has_identity(self, msp_id: str, username: str) -> bool:
        """Whether the wallet already holds the user's certificate and key."""
        msp_dir = wallet_msp_dir(self._wallet, msp_id, username)
        return any((msp_dir / "signcerts").glob("*.pem")) and any((msp_dir / "keystore").glob("*"))

    def reset_and_enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        """For an identity the CA already has but whose wallet copy is lost: the registrar sets a new
        secret and the role attribute (``identity modify``), then it is enrolled again."""
        home = self._wallet / msp_id / username
        self._run(
            "identity modify",
            [
                "identity", "modify", username,
                "-u", self._config.url,
                "--mspdir", str(self._config.registrar_msp_dir),
                "--secret", secret,
                "--attrs", f"role={role.value}:ecert",
            ],
            home,
        )  # fmt: skip
        return self._enroll_only(msp_id, username, role, secret, home)

    def enroll(self, msp_id: str, username: str, role: Role, secret: str) -> EnrolledIdentity:
        home = self._wallet / msp_id / username
        self._run(
            "register",
            [
                "register",
                "-u", self._config.url,
                "--mspdir", str(self._config.registrar_msp_dir),
                "--id.name", username,
                "--id.secret", secret,
                "--id.type", "client",
                "--id.attrs", f"role={role.value}:ecert",
            ],
            home,
        )  # fmt: skip
        return self._enroll_only(msp_id, username, role, secret, home)

    def _enroll_only(
        self, msp_id: str, username: str, role: Role, secret: str, home: Path
    ) -> EnrolledIdentity:
        scheme, _, rest = self._config.url.partition("://")
        msp_dir = wallet_msp_dir(self._wallet, msp_id, username)
        self._run(
            "enroll",
            ["enroll", "-u", f"{scheme}://{username}:{secret}@{rest}", "--mspdir", str(msp_dir)],
            home,
        )
        log.info("enrolled %s@%s with role %s", username, msp_id, role.value)
        return EnrolledIdentity(enrollment_id=username, msp_dir=msp_dir)
