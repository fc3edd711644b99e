"""A browser-like session on the test gateway: log in through the form, read the CSRF token, post."""

from __future__ import annotations

import re
from typing import Any

import httpx

from app.users.provision import demo_password
from tests.unit.api.builders import Api

CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(page: httpx.Response) -> str:
    found = CSRF_FIELD.search(page.text)
    assert found, page.text[:500]
    return found.group(1)


class Browser:
    """One signed-in user's cookies on the shared TestClient (signing in again replaces them)."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.client = api.client

    def sign_in(self, qualified: str) -> Browser:
        self.client.cookies.clear()
        name, _, msp = qualified.partition("@")
        form = {
            "username": qualified,
            "password": demo_password(msp, name),
            "csrf": csrf_of(self.get("/login")),
        }
        response = self.client.post("/login", data=form, follow_redirects=False)
        assert response.status_code == 303, response.text
        return self

    def get(self, path: str) -> httpx.Response:
        return self.client.get(path)

    def post(self, page: str, action: str, **fields: Any) -> httpx.Response:
        """Post ``action``'s form as read from ``page`` (its CSRF token), following the redirect."""
        return self.client.post(action, data={"csrf": csrf_of(self.get(page)), **fields})

    def post_without_csrf(self, action: str, **fields: Any) -> httpx.Response:
        return self.client.post(action, data=fields)
