"""What proves a bank account change is the owner's: their password, checked like a
sign-in (wrong guesses count towards the lockout, a locked account is refused with
429), and without a password a recent confirmation in the browser (tests/api/
test_oidc_reauth.py), which a password holder cannot use instead."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.identity import deps, sessions
from baoxiao.identity.passwords import hash_password
from baoxiao.identity.throttling import ACCOUNT, account_key
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, BankAccount, SignInThrottle, User
from baoxiao.settings import Settings
from tests.support.factories import World
from tests.support.finance import set_bank_account
from tests.support.signin import post_login

PASSWORD = "pw-secret-1"


@pytest.fixture
def claimant_password(db: Database, world: World) -> str:
    with db.transaction() as session:
        user = session.get(User, world["claimant"].user.id)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
        return user.username


def failures_of(db: Database, username: str) -> int:
    with db.transaction() as session:
        row = session.get(SignInThrottle, (ACCOUNT, account_key(username)))
        return row.failures if row is not None else 0


def test_wrong_passwords_lock_the_account_through_the_api(
    client: TestClient, world: World, db: Database, claimant_password: str, settings: Settings
) -> None:
    for attempt in range(1, settings.signin_lock_after + 1):
        wrong = set_bank_account(client, world, "claimant", password=f"guess-{attempt}")
        assert wrong.status_code == 403, wrong.text
        assert wrong.json()["code"] == "reauthentication_failed"
        if attempt < settings.signin_lock_after:
            assert failures_of(db, claimant_password) == attempt
    locked = set_bank_account(client, world, "claimant", password=PASSWORD)
    assert locked.status_code == 429, locked.text
    assert locked.json()["code"] == "account_locked"
    assert int(locked.headers["retry-after"]) > 0
    with db.transaction() as session:
        assert session.scalars(select(BankAccount)).first() is None
        actions = list(session.scalars(select(AuditRecord.action)))
        assert "sign_in:account_locked" in actions and "bank_account:update" not in actions


def test_the_lock_applies_to_the_sign_in_page_too(
    client: TestClient, world: World, db: Database, claimant_password: str, settings: Settings
) -> None:
    """One counter per account: guesses on the bank form lock the password sign-in."""
    for attempt in range(settings.signin_lock_after):
        set_bank_account(client, world, "claimant", password=f"guess-{attempt}")
    response = post_login(client, {"username": claimant_password, "password": PASSWORD})
    assert response.status_code == 429 and 'data-code="account_locked"' in response.text
    token = client.post(
        "/api/v1/auth/token", json={"username": claimant_password, "password": PASSWORD}
    )
    assert token.status_code == 429 and token.json()["code"] == "account_locked"


@pytest.fixture
def page(db: Database, settings: Settings, world: World) -> Iterator[tuple[TestClient, str]]:
    """The claimant's browser, signed in through a real session: (client, CSRF token)."""
    with TestClient(create_app(settings, db)) as browser:
        with db.transaction() as session:
            user = session.get(User, world["claimant"].user.id)
            assert user is not None
            web, plain = sessions.start(
                session, user, method="password", policy=settings.session_policy
            )
            csrf = web.csrf_token
        browser.cookies.set(deps.SESSION_COOKIE, plain)
        yield browser, csrf


def test_wrong_passwords_on_the_bank_page_lock_it(
    page: tuple[TestClient, str], claimant_password: str, settings: Settings
) -> None:
    browser, csrf = page
    form = {
        "csrf_token": csrf,
        "holder_name": "Li Lei",
        "bank_name": "中国工商银行",
        "account_number": "6222020200112233445",
    }
    for attempt in range(settings.signin_lock_after):
        wrong = browser.post("/account/bank", data={**form, "current_password": f"g{attempt}"})
        assert wrong.status_code == 403 and 'data-code="reauthentication_failed"' in wrong.text
    locked = browser.post("/account/bank", data={**form, "current_password": PASSWORD})
    assert locked.status_code == 429 and 'data-code="account_locked"' in locked.text


def test_a_recent_sign_in_does_not_replace_the_password_of_one_who_has_it(
    page: tuple[TestClient, str], claimant_password: str
) -> None:
    browser, csrf = page  # signed in just now: within the re-authentication window
    form = {"csrf_token": csrf, "holder_name": "Li Lei", "bank_name": "工行"}
    form["account_number"] = "6222020200112233445"
    missing = browser.post("/account/bank", data=form)
    assert missing.status_code == 403 and 'data-code="reauthentication_failed"' in missing.text
    page_text = browser.get("/account/bank").text
    assert 'id="ba-password"' in page_text and "/reauth" not in page_text
    saved = browser.post(
        "/account/bank", data={**form, "current_password": PASSWORD}, follow_redirects=False
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/account/bank?done=saved"


def test_an_sso_only_account_cannot_change_it_with_a_token(
    client: TestClient, world: World, db: Database
) -> None:
    """No password to give, and an API token is no browser session to confirm."""
    response = set_bank_account(client, world, "claimant", password="anything at all")
    assert response.status_code == 403
    assert response.json()["code"] == "bank_account_confirmation_required"
    assert failures_of(db, world["claimant"].user.username) == 0  # nothing to guess
