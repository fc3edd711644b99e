"""The floor for the API-cost benchmark: a bare FastAPI endpoint that checks an HS256 bearer token and
returns a vehicle-sized JSON document, served by the same uvicorn as the gateway.

Run by scripts/bench/api_cost.py as ``uvicorn bare_api:app`` with MLEDGER_BARE_SECRET_FILE (the HMAC
key) and MLEDGER_BARE_DOCUMENT (the JSON file to return) in the environment.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Any

import jwt
from fastapi import Depends, FastAPI, Header, HTTPException

SECRET = Path(os.environ["MLEDGER_BARE_SECRET_FILE"]).read_bytes()
DOCUMENT: dict[str, Any] = json.loads(Path(os.environ["MLEDGER_BARE_DOCUMENT"]).read_text())

app = FastAPI()


def caller(authorization: Annotated[str, Header()] = "") -> str:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "bearer token required")
    try:
        claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError as exc:
        raise HTTPException(401, "invalid token") from exc
    return str(claims["sub"])


@app.get("/api/v1/vehicles/{vin}")
def vehicle(vin: str, who: Annotated[str, Depends(caller)]) -> dict[str, Any]:
    return {**DOCUMENT, "vin": vin}
