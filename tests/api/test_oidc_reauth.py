"""Re-authentication at the OpenID provider for people without a local password
(against a real provider: oidc-provider on Node, loopback).

/auth/oidc/<key>/reauth sends the browser to the provider with prompt=login and
max_age=0; its callback accepts only a fresh auth_time for the same linked person,
and then restarts the re-authentication window of the session the browser already
has. A bank account change accepts that in place of the password they do not have.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.identity import deps, sessions
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, BankAccount, User, WebSession
from baoxiao.settings import Settings
from tests.api.test_oidc_sso import CORP, add_provider, problem_code, session_of
from tests.support.factories import World, make_person
from tests.support.oidc import Browser, OidcProvider, query_of

USERS: dict[str, dict[str, Any]] = {
    "sub-alice": {"email": "alice-sso@example.com", "name": "Alice", "groups": []},
    "sub-erin": {"email": "erin-sso@example.com", "name": "Erin", "groups": []},
}
BANK_FORM = {
    "holder_name": "Alice",
    "bank_name": "中国工商银行",
    "account_number": "6222020200112233445",
}


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider(clients=[CORP], users=USERS).start()
    yield provider
    provider.stop()


@pytest.fixture
def app(db: Database, settings: Settings) -> Iterator[TestClient]:
    english = {"Accept-Language": "en"}
    with TestClient(create_app(settings, db), headers=english, follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser(app: TestClient, idp: OidcProvider) -> Iterator[Browser]:
    b = Browser(app, idp)
    yield b
    b.close()


@pytest.fixture
def alice(app: TestClient, browser: Browser, idp: OidcProvider, db: Database, world: World) -> User:
    """An SSO-only admin (no local password), signed in through the provider."""
    with db.transaction() as session:
        person = make_person(session, world.company, "alice-sso", department=None, roles=("admin",))
        make_person(session, world.company, "erin-sso", department=None)
    add_provider(app, world, idp.issuer)
    assert browser.sign_in("corp", "sub-alice").status_code == 303
    assert person.user.password_hash is None
    return person.user


def the_session(db: Database) -> WebSession:
    with db.transaction() as session:
        return session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).one()


def age_the_session(db: Database, minutes: int = 10) -> None:
    """As if the sign-in was `minutes` ago: past the re-authentication window."""
    with db.transaction() as session:
        web = session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).one()
        web.authenticated_at -= timedelta(minutes=minutes)


def save_bank_account(app: TestClient) -> Any:
    csrf = session_of(app)["csrf_token"]
    return app.post("/account/bank", data={**BANK_FORM, "csrf_token": csrf})


def test_an_sso_user_confirms_at_the_provider_then_changes_the_bank_account(
    app: TestClient, browser: Browser, idp: OidcProvider, alice: User, db: Database
) -> None:
    before = the_session(db)
    cookie = app.cookies[deps.SESSION_COOKIE]
    age_the_session(db)
    page = app.get("/account/bank").text
    assert 'id="ba-password"' not in page  # no password to ask for
    assert 'href="/auth/oidc/corp/reauth?next=/account/bank"' in page
    assert ">Confirm with corp SSO</a>" in page
    refused = save_bank_account(app)
    assert refused.status_code == 403
    assert 'data-code="bank_account_confirmation_required"' in refused.text

    start = app.get("/auth/oidc/corp/reauth", params={"next": "/account/bank"})
    assert start.status_code == 303 and start.headers["location"].startswith(f"{idp.issuer}/auth?")
    asked = query_of(start.headers["location"])
    assert (asked["prompt"], asked["max_age"]) == ("login", "0")
    # The provider has a session for alice, yet asks for the sign-in again.
    url = browser.at_provider(browser.follow(start, stop_at_callback=True), "sub-alice")
    assert browser.logins_asked == 1
    back = browser.callback(url)
    assert back.status_code == 303, back.text
    assert back.headers["location"] == "/account/bank"
    assert deps.SESSION_COOKIE not in back.headers.get("set-cookie", "")  # no new session
    assert app.cookies[deps.SESSION_COOKIE] == cookie

    after = the_session(db)
    assert after.id == before.id and after.method == "oidc:corp"
    assert after.authenticated_at > before.authenticated_at
    assert 'id="confirmed-recently"' in app.get("/account/bank").text
    saved = save_bank_account(app)
    assert saved.status_code == 303, saved.text
    with db.transaction() as session:
        assert session.scalars(select(BankAccount.account_last4)).one() == "3445"
        confirm, update = (
            session.scalars(select(AuditRecord).where(AuditRecord.action == action)).one()
            for action in ("session:confirm", "bank_account:update")
        )
        assert confirm.subject_id == str(before.id) and confirm.data == {"method": "oidc:corp"}
        assert update.data["reauthenticated"] == "recent_confirmation"


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("old_auth_time", "the sign-in at the provider is older than this request"),
        ("no_auth_time", "no auth_time in the ID token"),
    ],
)
def test_a_provider_that_did_not_ask_again_confirms_nothing(
    mode: str,
    why: str,
    app: TestClient,
    browser: Browser,
    idp: OidcProvider,
    alice: User,
    db: Database,
) -> None:
    age_the_session(db)
    before = the_session(db).authenticated_at
    url = browser.authorize("corp", "sub-alice", "/account/bank", reauth=True)
    idp.tamper_next_id_token(mode)
    try:
        response = browser.callback(url)
    finally:
        idp.tamper_next_id_token(None)
    assert response.status_code == 401, response.text
    assert problem_code(response) == "sso_reauth_not_fresh"
    assert f"({why})" in response.json()["detail"]
    assert the_session(db).authenticated_at == before
    assert save_bank_account(app).status_code == 403


def test_confirming_as_someone_else_is_refused(
    app: TestClient, browser: Browser, alice: User, db: Database
) -> None:
    """At the provider's login form erin signs in (she has her own account here):
    alice's session is not confirmed by it."""
    age_the_session(db)
    before = the_session(db)
    url = browser.authorize("corp", "sub-erin", "/account/bank", reauth=True)
    response = browser.callback(url)
    assert response.status_code == 403, response.text
    assert problem_code(response) == "sso_reauth_other_account"
    after = the_session(db)
    assert (after.id, after.authenticated_at) == (before.id, before.authenticated_at)
    assert session_of(app)["username"] == "alice-sso"  # still alice's session, unconfirmed


def test_a_confirmation_begun_in_another_session_does_not_count(
    app: TestClient, browser: Browser, alice: User, db: Database, settings: Settings
) -> None:
    url = browser.authorize("corp", "sub-alice", "/account/bank", reauth=True)
    with db.transaction() as session:  # signed out and in again meanwhile
        old = session.scalars(select(WebSession).where(WebSession.ended_at.is_(None))).one()
        sessions.end(session, old)
        _web, plain = sessions.start(
            session, old.user, method="oidc:corp", policy=settings.session_policy
        )
    app.cookies.delete(deps.SESSION_COOKIE)
    app.cookies.set(deps.SESSION_COOKIE, plain)
    response = browser.callback(url)
    assert response.status_code == 400 and problem_code(response) == "oidc_state_mismatch"


def test_reauth_needs_a_session_and_a_provider_one_signs_in_with(
    app: TestClient, idp: OidcProvider, alice: User, db: Database, settings: Settings
) -> None:
    with TestClient(create_app(settings, db)) as stranger:
        response = stranger.get("/auth/oidc/corp/reauth", follow_redirects=False)
        assert response.status_code == 401 and problem_code(response) == "session_invalid"
    other = app.get("/auth/oidc/nope/reauth")
    assert other.status_code == 404 and problem_code(other) == "identity_provider_not_found"


def test_the_admin_page_offers_the_provider_instead_of_a_password(
    app: TestClient, browser: Browser, alice: User, db: Database
) -> None:
    with db.transaction() as session:
        erin_id = session.scalars(select(User.id).where(User.username == "erin-sso")).one()
    age_the_session(db)
    page = app.get(f"/admin/people/{erin_id}").text
    reauth = re.search(r'<article id="reauth".*?</article>', page, re.S)
    assert reauth is not None
    assert 'action="/auth/confirm"' not in reauth.group(0)  # she has no password
    assert f'href="/auth/oidc/corp/reauth?next=/admin/people/{erin_id}"' in reauth.group(0)
    url = browser.authorize("corp", "sub-alice", f"/admin/people/{erin_id}", reauth=True)
    assert browser.callback(url).headers["location"] == f"/admin/people/{erin_id}"
    assert 'id="reauth"' not in app.get(f"/admin/people/{erin_id}").text
