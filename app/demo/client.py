"""A small async client of the gateway API that logs in as the demo users (one token per user)."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from app.users.provision import demo_password


class DemoError(RuntimeError):
    """A demo step got an answer it did not expect (the message shows the call and the answer)."""


class DemoClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http
        self._tokens: dict[str, str] = {}

    async def token(self, qualified: str) -> str:
        if qualified not in self._tokens:
            username, _, msp_id = qualified.partition("@")
            response = await self.http.post(
                "/api/v1/auth/token",
                data={"username": qualified, "password": demo_password(msp_id, username)},
            )
            if response.status_code != 200:
                raise DemoError(f"login {qualified}: {response.status_code} {response.text}")
            self._tokens[qualified] = response.json()["access_token"]
        return self._tokens[qualified]

    async def call(
        self,
        user: str,
        method: str,
        path: str,
        *,
        expect: int | tuple[int, ...] = (200, 201),
        **kwargs: Any,
    ) -> Any:
        headers = {"Authorization": f"Bearer {await self.token(user)}", **kwargs.pop("headers", {})}
        response = await self.http.request(method, "/api/v1" + path, headers=headers, **kwargs)
        expected = (expect,) if isinstance(expect, int) else expect
        if response.status_code not in expected:
            raise DemoError(f"{user} {method} {path}: {response.status_code} {response.text[:400]}")
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    async def register_model(self, msp_id: str, model_id: str, version: str) -> None:
        """Register a valuation model version on chain as the bank's model administrator (idempotent).

        The demo's model card is a stand-in: its hash names the model id and version.
        """
        card = hashlib.sha256(f"demo model card {model_id} {version}".encode()).hexdigest()
        body = {"model_id": model_id, "model_version": version, "model_card_sha256": card}
        await self.call(f"models1@{msp_id}", "POST", "/model-versions", json=body, expect=(201, 409))

    async def upload(self, user: str, doc_type: str, content: bytes, **links: str) -> str:
        """Upload a document and return its id (the content is the demo's stand-in for a scan)."""
        doc_id = "DOC-" + hashlib.sha256(content).hexdigest()[:12].upper()
        data = {"doc_type": doc_type, "document_id": doc_id, **links}
        files = {"file": (f"{doc_type}.txt", content, "text/plain")}
        await self.call(user, "POST", "/documents", data=data, files=files, expect=(201, 409))
        return doc_id
