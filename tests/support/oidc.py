"""A real OpenID provider for the SSO tests, and a browser that walks its redirects.

`OidcProvider` runs tests/tools/oidc_provider/server.mjs (panva's oidc-provider on
Node) on 127.0.0.1 and a free port, installing its npm packages first with `npm ci`
when they are missing. `Browser` plays the user agent: it follows redirects between
Baoxiao (a TestClient) and the provider (httpx), keeping each side's cookies, and
fills in the provider's login and consent forms.
"""

from __future__ import annotations

import fcntl
import html
import json
import os
import re
import selectors
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
from fastapi.testclient import TestClient

TOOL_DIR = Path(__file__).resolve().parents[1] / "tools" / "oidc_provider"
APP_BASE = "http://testserver"
START_TIMEOUT = 30.0


def ensure_installed() -> None:
    """`npm ci` in the tool folder when its node_modules are missing (clean clones, CI).

    Test workers (pytest-xdist) may get here together: a lock file makes one install
    while the others wait, then find the packages there.
    """
    marker = TOOL_DIR / "node_modules" / "oidc-provider" / "package.json"
    if marker.exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise RuntimeError("npm is not on PATH: install Node.js 20+ to run the SSO tests")
    with open(TOOL_DIR / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if marker.exists():
            return
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=TOOL_DIR,
            check=True,
            timeout=600,
        )


@dataclass
class Client:
    client_id: str
    client_secret: str
    keys: list[str]  # Baoxiao provider keys whose callback this client may use

    def registration(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uris": [f"{APP_BASE}/auth/oidc/{key}/callback" for key in self.keys],
            "post_logout_redirect_uris": [f"{APP_BASE}/auth/signed-out"],
        }


@dataclass
class OidcProvider:
    clients: list[Client]
    users: dict[str, dict[str, Any]]
    issuer: str = ""
    process: subprocess.Popen[bytes] | None = None
    log: list[str] = field(default_factory=list)

    def start(self) -> OidcProvider:
        ensure_installed()
        node = shutil.which("node")
        if node is None:
            raise RuntimeError("node is not on PATH: install Node.js 20+ to run the SSO tests")
        config = {"clients": [c.registration() for c in self.clients], "users": self.users}
        env = {**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)}
        self.process = subprocess.Popen(
            [node, "server.mjs"],
            cwd=TOOL_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.issuer = self._wait_ready()
        httpx.get(f"{self.issuer}/.well-known/openid-configuration", timeout=5).raise_for_status()
        return self

    def _wait_ready(self) -> str:
        assert self.process is not None and self.process.stdout is not None
        selector = selectors.DefaultSelector()
        selector.register(self.process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not selector.select(timeout=deadline - time.monotonic()):
                break
            line = self.process.stdout.readline().decode().strip()
            if not line:
                break
            self.log.append(line)
            if line.startswith("READY "):
                return line.removeprefix("READY ")
        self.stop()
        raise RuntimeError(f"the test OpenID provider did not start: {self.log}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def tamper_next_id_token(self, mode: str | None) -> None:
        """Make the provider's next token response carry a doctored ID token (or, for
        mode other_sub, its next userinfo response another subject)."""
        response = httpx.post(f"{self.issuer}/__test/tamper", json={"mode": mode}, timeout=5)
        assert response.status_code == 204, response.text

    def update_users(self, users: dict[str, dict[str, Any]]) -> None:
        """Replace these users' claims at the provider, from their next sign-in on."""
        response = httpx.post(f"{self.issuer}/__test/users", json=users, timeout=5)
        assert response.status_code == 204, response.text


_FORM = re.compile(r'<form[^>]*action="([^"]+)"[^>]*>(.*?)</form>', re.S)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.S)


def _form(page: str) -> tuple[str, dict[str, str]]:
    match = _FORM.search(page)
    assert match is not None, page[:500]
    fields = {name: html.unescape(value) for name, value in _HIDDEN.findall(match.group(2))}
    return html.unescape(match.group(1)), fields


class Browser:
    """One user agent across Baoxiao and the provider."""

    def __init__(self, app: TestClient, provider: OidcProvider) -> None:
        self.app = app
        self.provider = provider
        self.idp = httpx.Client(timeout=10, follow_redirects=False)
        self.logins_asked = 0  # login forms the provider showed in the last authorize

    def close(self) -> None:
        self.idp.close()

    def _get(self, url: str) -> httpx.Response:
        if url.startswith(APP_BASE):
            return self.app.get(url.removeprefix(APP_BASE), follow_redirects=False)
        return self.idp.get(url)

    def follow(self, response: httpx.Response, *, stop_at_callback: bool = False) -> httpx.Response:
        """Follow redirects; with stop_at_callback, return the redirect *to* Baoxiao's
        callback without visiting it."""
        for _ in range(20):
            if response.status_code not in (302, 303):
                return response
            location = urljoin(str(response.url), response.headers["location"])
            if stop_at_callback and "/auth/oidc/" in location and "/callback" in location:
                return response
            response = self._get(location)
        raise AssertionError("redirect loop")

    def authorize(
        self, key: str, login: str, next_path: str = "/auth/session", *, reauth: bool = False
    ) -> str:
        """Start at Baoxiao (its sign-in, or with reauth its re-authentication of the
        current session), sign in and consent at the provider; returns the callback URL
        the provider sends the browser to (not yet visited)."""
        route = "reauth" if reauth else "login"
        start = self.app.get(
            f"/auth/oidc/{key}/{route}", params={"next": next_path}, follow_redirects=False
        )
        assert start.status_code == 303, start.text
        return self.at_provider(self.follow(start, stop_at_callback=True), login)

    def at_provider(self, page: httpx.Response, login: str) -> str:
        """Fill in the provider's login (as `login`) and consent forms, as they come;
        returns the callback URL it then sends the browser to (not yet visited)."""
        self.logins_asked = 0
        for _ in range(4):  # login, then consent (skipped once a grant exists)
            if page.status_code in (302, 303):
                return urljoin(str(page.url), page.headers["location"])
            assert page.status_code == 200, page.text
            action, fields = _form(page.text)
            if fields.get("prompt") == "login":
                self.logins_asked += 1
                fields.update(login=login, password="any")
            posted = self.idp.post(urljoin(str(page.url), action), data=fields)
            page = self.follow(posted, stop_at_callback=True)
        raise AssertionError(f"the provider never redirected back: {page.text[:500]}")

    def callback(self, url: str) -> httpx.Response:
        return self.app.get(url.removeprefix(APP_BASE), follow_redirects=False)

    def sign_in(self, key: str, login: str) -> httpx.Response:
        """The whole flow; returns Baoxiao's answer to the callback."""
        return self.callback(self.authorize(key, login))

    def logout_at_provider(self, response: httpx.Response) -> httpx.Response:
        """Follow Baoxiao's logout redirect to the provider and confirm the sign-out;
        returns the provider's redirect back (not followed)."""
        page = self.follow(response)
        assert page.status_code == 200, page.text
        action, fields = _form(page.text)
        fields["logout"] = "yes"
        return self.idp.post(urljoin(str(page.url), action), data=fields)


def query_of(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
