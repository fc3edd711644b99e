"""A SoftHSM2 token in a folder of its own, for tests, benchmarks and local development.

The token is initialised through the PKCS#11 calls themselves (C_InitToken, C_InitPIN) in a child
process, with the PINs passed on its stdin: ``softhsm2-util`` only takes them on its command line
or from a terminal, and a PIN must never be on a command line. The child process matters too:
SoftHSM2 reads its configuration (SOFTHSM2_CONF) once, when the library is first initialised.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from app.hsm.token import DEFAULT_MODULE

_INIT = r"""
import ctypes, json, sys
req = json.loads(sys.stdin.read())
lib = ctypes.CDLL(req["module"])
def ok(rv, what):
    if rv not in (0, 0x191):  # CKR_OK, CKR_CRYPTOKI_ALREADY_INITIALIZED
        sys.exit(f"softhsm: {what} failed: CKR 0x{rv:x}")
ok(lib.C_Initialize(None), "C_Initialize")
count = ctypes.c_ulong(0)
ok(lib.C_GetSlotList(ctypes.c_ubyte(0), None, ctypes.byref(count)), "C_GetSlotList")
slots = (ctypes.c_ulong * count.value)()
ok(lib.C_GetSlotList(ctypes.c_ubyte(0), slots, ctypes.byref(count)), "C_GetSlotList")
slot = slots[count.value - 1]  # SoftHSM2 keeps one free slot last
so, pin = req["so_pin"].encode(), req["user_pin"].encode()
label = req["label"].encode().ljust(32, b" ")
ok(lib.C_InitToken(ctypes.c_ulong(slot), so, ctypes.c_ulong(len(so)), label), "C_InitToken")
count = ctypes.c_ulong(0)
ok(lib.C_GetSlotList(ctypes.c_ubyte(1), None, ctypes.byref(count)), "C_GetSlotList")
slots = (ctypes.c_ulong * count.value)()
ok(lib.C_GetSlotList(ctypes.c_ubyte(1), slots, ctypes.byref(count)), "C_GetSlotList")
class TokenInfo(ctypes.Structure):
    _fields_ = [("label", ctypes.c_char * 32), ("rest", ctypes.c_ubyte * 256)]
for slot in slots[: count.value]:
    info = TokenInfo()
    ok(lib.C_GetTokenInfo(ctypes.c_ulong(slot), ctypes.byref(info)), "C_GetTokenInfo")
    if bytes(info.label) == label:
        break
else:
    sys.exit("softhsm: the new token is not listed")
session = ctypes.c_ulong(0)
rv = lib.C_OpenSession(ctypes.c_ulong(slot), ctypes.c_ulong(6), None, None, ctypes.byref(session))
ok(rv, "C_OpenSession")
ok(lib.C_Login(session, ctypes.c_ulong(0), so, ctypes.c_ulong(len(so))), "C_Login SO")
ok(lib.C_InitPIN(session, pin, ctypes.c_ulong(len(pin))), "C_InitPIN")
ok(lib.C_Logout(session), "C_Logout")
ok(lib.C_CloseSession(session), "C_CloseSession")
lib.C_Finalize(None)
"""


def write_config(directory: Path) -> Path:
    """A softhsm2.conf keeping the tokens under ``directory/tokens``."""
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True, mode=0o700)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    return conf


def init_token(conf: Path, label: str, so_pin: str, user_pin: str, module: Path = DEFAULT_MODULE) -> None:
    """Initialise a token labelled ``label`` in the SoftHSM2 of ``conf`` (SoftHSM2 then moves it to a
    slot numbered from its serial: find it by label)."""
    if not module.is_file():
        raise FileNotFoundError(f"SoftHSM2 module {module} not found: run scripts/install-softhsm")
    request = json.dumps({"module": str(module), "label": label, "so_pin": so_pin, "user_pin": user_pin})
    result = subprocess.run(
        [sys.executable, "-c", _INIT],
        input=request,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "SOFTHSM2_CONF": str(conf)},
    )
    if result.returncode != 0:
        raise RuntimeError(f"softhsm token {label!r}: {(result.stderr or result.stdout).strip()[-300:]}")
