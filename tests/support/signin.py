"""Signing in through the real sign-in form, as a browser does: load the page (which
sets the login-CSRF cookie), then post the form with its hidden field."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

LOGIN_CSRF = re.compile(r'name="login_csrf" value="([^"]+)"')


def login_csrf_field(client: TestClient, page: str | None = None) -> str:
    """The hidden field of the sign-in form (loading /login unless a page is given)."""
    text = page if page is not None else client.get("/login").text
    match = LOGIN_CSRF.search(text)
    assert match is not None, text[:500]
    return match.group(1)


def post_login(client: TestClient, data: dict[str, Any], **kwargs: Any) -> Response:
    """Load the sign-in page, then post its form with these fields (no redirects followed)."""
    body = {"login_csrf": login_csrf_field(client), **data}
    return client.post("/login", data=body, follow_redirects=False, **kwargs)
