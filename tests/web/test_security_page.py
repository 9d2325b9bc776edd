"""The signed-in person's security page: password change, two-step sign-in set up with
a QR code and turned off, recovery codes, and personal API tokens shown once."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity.passwords import hash_password
from baoxiao.identity.throttling import ACCOUNT, account_key
from baoxiao.kernel.db import Database
from baoxiao.models import ApiToken, AuditRecord, SignInThrottle, User, WebSession
from tests.support.factories import World
from tests.support.signin import post_login
from tests.web.conftest import Browser

Open = Callable[..., Browser]
PASSWORD = "claimant-Pa55word!"
URL = "/account/security"


@pytest.fixture
def with_password(db: Database, world: World) -> None:
    with db.transaction() as session:
        user = session.get(User, world["claimant"].user.id)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
        world["claimant"].user.password_hash = user.password_hash


def test_the_page_is_reached_from_the_name_in_the_top_bar(browser_for: Open) -> None:
    me = browser_for("claimant", "zh-CN")
    home = me.get("/").text
    assert f'href="{URL}"' in home
    page = me.get(URL)
    assert page.status_code == 200 and "两步登录" in page.text and "个人 API 令牌" in page.text


def test_two_step_sign_in_is_set_up_with_a_qr_code_and_turned_off(
    browser_for: Open, with_password: None, anonymous: TestClient, world: World, db: Database
) -> None:
    me = browser_for("claimant")
    wrong = me.post(f"{URL}/totp", {"password": "not my password"})
    assert wrong.status_code == 401 and 'data-code="invalid_credentials"' in wrong.text
    with db.transaction() as session:  # the wrong password counts towards the lock
        key = account_key(world["claimant"].user.username)
        throttle = session.get(SignInThrottle, (ACCOUNT, key))
        assert throttle is not None and throttle.failures >= 1

    started = me.post(f"{URL}/totp", {"password": PASSWORD})
    assert started.status_code == 200
    assert '<figure id="totp-qr"><svg' in started.text
    assert started.headers["cache-control"] == "private, no-store"  # the secret is on it
    secret = re.search(r'<code id="totp-secret">([A-Z2-7]+)</code>', started.text)
    assert secret
    bad = me.post(f"{URL}/totp/confirm", {"code": "000000"})
    assert bad.status_code in (400, 401, 422)
    assert 'data-code="totp_invalid"' in bad.text
    on = me.post(f"{URL}/totp/confirm", {"code": pyotp.TOTP(secret.group(1)).now()})
    assert on.status_code == 200 and 'id="recovery-codes"' in on.text
    codes = re.findall(r"<li><code>([^<]+)</code></li>", on.text)
    assert len(codes) == 10
    page = me.get(URL).text
    assert '<span class="badge status-paid" id="totp-badge">on</span>' in page
    assert "Recovery codes left: 10" in page and codes[0] not in page  # shown once

    # Signing in now asks for the code; a recovery code works once.
    login = {"username": world["claimant"].user.username, "password": PASSWORD}
    asked = post_login(anonymous, login)
    assert asked.status_code in (401, 422) and 'name="totp_code"' in asked.text
    used = post_login(anonymous, {**login, "totp_code": codes[0]})
    assert used.status_code == 303

    renewed = me.post(f"{URL}/totp/recovery-codes", {"password": PASSWORD})
    fresh = re.findall(r"<li><code>([^<]+)</code></li>", renewed.text)
    assert len(fresh) == 10 and not set(fresh) & set(codes)
    off = me.post(f"{URL}/totp/disable", {"password": PASSWORD})
    assert off.status_code == 303 and off.headers["location"] == f"{URL}?done=totp_off"
    assert 'id="totp-badge">off</span>' in me.get(URL).text
    with db.transaction() as session:
        actions = set(session.scalars(select(AuditRecord.action)))
        assert {"user:totp_enable", "user:totp_disable"} <= actions


def test_a_password_change_checks_both_entries_and_ends_other_sessions(
    browser_for: Open, with_password: None, world: World, db: Database
) -> None:
    me, other = browser_for("claimant"), browser_for("claimant")
    new = "a much longer passphrase 42"
    differ = me.post(
        f"{URL}/password",
        {"current_password": PASSWORD, "new_password": new, "new_password_again": new + "x"},
    )
    assert differ.status_code == 422 and "new_password_again" in differ.text
    weak = me.post(
        f"{URL}/password",
        {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
    )
    assert weak.status_code == 422 and 'data-code="password_too_weak"' in weak.text
    done = me.post(
        f"{URL}/password",
        {"current_password": PASSWORD, "new_password": new, "new_password_again": new},
    )
    assert done.status_code == 303 and done.headers["location"] == f"{URL}?done=password"
    assert me.get("/").status_code == 200  # this session stays
    assert other.client.get("/", follow_redirects=False).status_code == 303  # the other ended
    with db.transaction() as session:
        live = session.scalars(
            select(WebSession).where(
                WebSession.user_id == world["claimant"].user.id, WebSession.ended_at.is_(None)
            )
        ).all()
        assert len(live) == 1


def test_a_personal_token_is_shown_once_listed_and_revoked(
    browser_for: Open, anonymous: TestClient, db: Database
) -> None:
    client = anonymous
    me = browser_for("claimant")
    empty = me.post(f"{URL}/tokens", {"name": "script", "expires_in_days": "90"})
    assert empty.status_code == 422 and "scope" in empty.text
    unknown = me.post(
        f"{URL}/tokens", {"name": "x", "scope": ["root:all"], "expires_in_days": "90"}
    )
    assert unknown.status_code == 422 and 'data-code="unknown_scope"' in unknown.text
    made = me.post(
        f"{URL}/tokens",
        {"name": "import script", "scope": ["claims:read"], "expires_in_days": "30"},
    )
    assert made.status_code == 200
    value = re.search(r'<code id="token-value">([^<]+)</code>', made.text)
    assert value
    plain = value.group(1)
    assert plain not in me.get(URL).text  # never shown again
    reads = client.get("/api/v1/claims", headers={"Authorization": f"Bearer {plain}"})
    assert reads.status_code == 200
    writes = client.post(
        "/api/v1/claims", json={"reason": "x"}, headers={"Authorization": f"Bearer {plain}"}
    )
    assert writes.status_code == 403  # claims:read only
    with db.transaction() as session:
        token = session.scalars(select(ApiToken).where(ApiToken.name == "import script")).one()
        assert token.last_used_at is not None and token.scopes == ["claims:read"]
        token_id = token.id
    page = me.get(URL).text
    assert f'<tr id="token-{token_id}" data-state="active">' in page
    assert me.post(f"{URL}/tokens/{token_id}/revoke").status_code == 303
    assert f'<tr id="token-{token_id}" data-state="revoked">' in me.get(URL).text
    gone = client.get("/api/v1/claims", headers={"Authorization": f"Bearer {plain}"})
    assert gone.status_code == 401
    # Someone else's token is not theirs to revoke.
    assert browser_for("peer").post(f"{URL}/tokens/{token_id}/revoke").status_code == 404


def test_a_token_after_the_re_authentication_window_needs_the_password(
    browser_for: Open, db: Database, world: World, with_password: None
) -> None:
    me = browser_for("claimant")
    with db.transaction() as session:
        for web in session.scalars(
            select(WebSession).where(WebSession.user_id == world["claimant"].user.id)
        ):
            web.authenticated_at -= timedelta(minutes=6)
    body: dict[str, object] = {"name": "late", "scope": ["claims:read"], "expires_in_days": "30"}
    page = me.get(URL).text
    assert 'name="password" autocomplete="current-password"' in page
    refused = me.post(f"{URL}/tokens", body)
    assert refused.status_code == 403
    assert 'data-code="reauthentication_required"' in refused.text
    wrong = me.post(f"{URL}/tokens", {**body, "password": "not-the-password"})
    assert wrong.status_code == 401 and 'data-code="invalid_credentials"' in wrong.text
    made = me.post(f"{URL}/tokens", {**body, "password": PASSWORD})
    assert made.status_code == 200 and '<code id="token-value">' in made.text
    with db.transaction() as session:
        names = session.scalars(
            select(ApiToken.name).where(ApiToken.user_id == world["claimant"].user.id)
        ).all()
        assert names.count("late") == 1
    # The confirmation restarted the window: the next token needs no password.
    again = me.post(f"{URL}/tokens", {**body, "name": "later"})
    assert again.status_code == 200
