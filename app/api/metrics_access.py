"""Who may read ``/metrics``: Prometheus with its scrape token, or a logged-in operator.

The metrics name routes, error rates and the consortium's data quality, so they are not public. A
scrape job sends ``Authorization: Bearer <token>`` with the token from ``metrics_token_file`` (the
same file Prometheus reads with ``authorization.credentials_file``; never on a command line); people
log in as an org ``admin`` or ``auditor`` (bearer token or API key).
"""

from __future__ import annotations

import hmac
from pathlib import Path

from fastapi import Request

from app.api.deps import State, _resolve
from app.api.errors import ApiError
from app.users.roles import Role

OPERATOR_ROLES = (Role.admin, Role.auditor)
MIN_TOKEN_CHARS = 32
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def read_scrape_token(path: Path) -> str:
    """The scrape token (stripped); ValueError if it is too short to be a secret."""
    token = path.read_text(encoding="utf-8").strip()
    if len(token) < MIN_TOKEN_CHARS:
        raise ValueError(f"metrics_token_file: the token must have at least {MIN_TOKEN_CHARS} characters")
    return token


async def require_metrics_access(request: Request, state: State) -> None:
    """The scrape token or an operator passes; 401 without valid credentials, 403 for other roles."""
    scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
    bearer = bearer.strip() if scheme.lower() == "bearer" else ""
    path = state.settings.metrics_token_file
    if bearer and path is not None:
        expected = read_scrape_token(path)  # read per scrape: a rotated file takes effect at once
        if hmac.compare_digest(bearer.encode(), expected.encode()):
            return
    user = _resolve(state, bearer or None, request.headers.get("x-api-key"))
    if user is None:
        raise ApiError(
            401, "authentication required for /metrics (scrape token or operator login)", headers=_CHALLENGE
        )
    if user.role not in OPERATOR_ROLES:
        raise ApiError(403, "access rule: /metrics needs role admin or auditor (or the scrape token)")
