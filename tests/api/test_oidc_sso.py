"""OpenID Connect sign-in against a real provider (oidc-provider on Node, loopback).

The browser flow is driven end to end: Baoxiao's login redirect, the provider's
login and consent forms, the callback, the session cookie, a page through it. The
failure cases doctor what a browser or a provider could: the state, the PKCE
verifier, a reused code, and ID tokens that are expired, wrongly signed, for another
audience or with the wrong nonce (the provider's test hook re-signs them).
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.identity import deps, oidc, sessions
from baoxiao.kernel.db import Database
from baoxiao.kernel.sessions import SessionPolicy
from baoxiao.models import AuditRecord, ExternalIdentity, User, WebSession
from baoxiao.settings import Settings
from tests.support.factories import World, make_person
from tests.support.oidc import Browser, Client, OidcProvider, query_of

USERS: dict[str, dict[str, Any]] = {
    "sub-alice": {
        "email": "alice-sso@example.com",
        "employee_number": "E-alice-sso",
        "name": "Alice",
        "groups": ["finance-team", "everyone"],
    },
    "sub-erin": {
        "email": "erin@elsewhere.test",
        "employee_number": "E-erin-sso",
        "name": "Erin",
        "groups": [],
    },
    "sub-sam": {"email": "sam@elsewhere.test", "name": "Sam", "groups": []},
    # Alice's address, typed in at providers that did not check it: no claim at all...
    "sub-unchecked": {
        "email": "alice-sso@example.com",
        "email_verified": None,
        "employee_number": "M-0001",
        "name": "Mallory",
        "groups": [],
    },
    # ...or one that says so.
    "sub-denied": {"email": "alice-sso@example.com", "email_verified": False, "groups": []},
    "sub-newbie": {
        "email": "newbie@corp.test",
        "employee_number": "N-0001",
        "name": "New Person",
        "groups": ["managers"],
    },
}
CORP = Client("baoxiao-corp", "corp-secret-0123456789", ["corp", "partner"])


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider(clients=[CORP], users=USERS).start()
    yield provider
    provider.stop()


@pytest.fixture
def app(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), follow_redirects=False) as client:
        yield client


@pytest.fixture
def browser(app: TestClient, idp: OidcProvider) -> Iterator[Browser]:
    b = Browser(app, idp)
    yield b
    b.close()


@pytest.fixture
def alice(db: Database, world: World) -> User:
    with db.transaction() as session:
        person = make_person(session, world.company, "alice-sso", department=None)
        return person.user


def add_provider(
    app: TestClient, world: World, issuer: str, key: str = "corp", **fields: Any
) -> dict[str, Any]:
    body = {
        "key": key,
        "display_name": f"{key} SSO",
        "issuer": issuer,
        "client_id": CORP.client_id,
        "client_secret": CORP.client_secret,
        "scopes": ["openid", "email", "profile", "employee", "groups"],
        **fields,
    }
    response = app.post("/api/v1/identity-providers", json=body, headers=world["admin"].headers)
    assert response.status_code == 201, response.text
    return response.json()


def policy_of(app: TestClient) -> SessionPolicy:
    policy: SessionPolicy = app.app.state.settings.session_policy  # type: ignore[attr-defined]
    return policy


def session_of(app: TestClient) -> dict[str, Any]:
    response = app.get("/auth/session")
    assert response.status_code == 200, response.text
    return response.json()


def problem_code(response: Any) -> str:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    return str(response.json()["code"])


def reseal_login_cookie(app: TestClient, settings: Settings, **changes: Any) -> None:
    """Change the login state in the browser's cookie (what a tampering browser could do
    if it held the key; here: to make Baoxiao send a wrong or missing PKCE verifier)."""
    box = settings.secret_box
    for cookie in app.cookies.jar:
        if cookie.name == "bx_oidc":
            assert cookie.value is not None
            data = json.loads(box.decrypt(cookie.value, context="oidc-login"))
            data.update(changes)
            cookie.value = box.encrypt(json.dumps(data), context="oidc-login")
            return
    raise AssertionError("no login cookie")


# Success ---------------------------------------------------------------------------


def test_sign_in_matched_by_email(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User, db: Database
) -> None:
    add_provider(app, world, idp.issuer)
    start = app.get("/auth/oidc/corp/login", params={"next": "/auth/session"})
    authorize = query_of(start.headers["location"])
    assert start.headers["location"].startswith(f"{idp.issuer}/auth?")
    assert authorize["code_challenge_method"] == "S256"
    assert len(authorize["code_challenge"]) == 43 and authorize["nonce"] and authorize["state"]
    assert authorize["redirect_uri"] == "http://testserver/auth/oidc/corp/callback"

    done = browser.sign_in("corp", "sub-alice")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/auth/session"
    cookie = done.headers["set-cookie"]
    assert "bx_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie
    me = session_of(app)
    assert me["username"] == "alice-sso"
    assert me["method"] == "oidc:corp"
    with db.transaction() as session:
        link = session.scalars(select(ExternalIdentity)).one()
        assert (link.subject, link.user_id) == ("sub-alice", alice.id)
        web = session.scalars(select(WebSession).where(WebSession.user_id == alice.id)).one()
        assert web.id_token is not None and not web.id_token.startswith("ey")  # encrypted
        actions = set(session.scalars(select(AuditRecord.action)))
        assert {"session:start", "identity_provider:create"} <= actions


@pytest.mark.parametrize(
    ("match_claim", "username", "login"),
    [("employee_number", "erin-sso", "sub-erin"), ("sub", "sub-sam", "sub-sam")],
)
def test_sign_in_matched_by_employee_number_or_sub(
    match_claim: str,
    username: str,
    login: str,
    app: TestClient,
    browser: Browser,
    idp: OidcProvider,
    world: World,
    db: Database,
) -> None:
    # erin's e-mail at the provider is not the one Baoxiao knows: only the number matches.
    with db.transaction() as session:
        make_person(session, world.company, username, department=None)
    add_provider(app, world, idp.issuer, match_claim=match_claim)
    assert browser.sign_in("corp", login).status_code == 303
    assert session_of(app)["username"] == username


def test_unknown_person_is_refused_without_jit(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World
) -> None:
    add_provider(app, world, idp.issuer)
    response = browser.sign_in("corp", "sub-newbie")
    assert response.status_code == 403
    assert problem_code(response) == "sso_no_account"
    assert app.get("/auth/session").status_code == 401


def test_jit_creates_the_account_with_mapped_roles(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, db: Database
) -> None:
    add_provider(app, world, idp.issuer, jit=True, group_roles={"managers": ["manager"]})
    assert browser.sign_in("corp", "sub-newbie").status_code == 303
    me = session_of(app)
    assert me["username"] == "newbie@corp.test"
    assert me["roles"] == ["employee", "manager"]
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "newbie@corp.test")).one()
        assert user.password_hash is None
        assert user.company_id == world.company.id
        assert user.employee is not None and user.employee.employee_no == "N-0001"
        assert user.employee.email == "newbie@corp.test"
        actions = list(session.scalars(select(AuditRecord.action)))
        assert "user:jit_create" in actions and "user:roles_from_idp" in actions


@pytest.mark.parametrize("login", ["sub-unchecked", "sub-denied"])
def test_an_unverified_email_matches_nobody(
    login: str,
    app: TestClient,
    browser: Browser,
    idp: OidcProvider,
    world: World,
    alice: User,
    db: Database,
) -> None:
    add_provider(app, world, idp.issuer)  # match_claim email
    response = browser.sign_in("corp", login)
    assert response.status_code == 403, response.text
    assert problem_code(response) == "sso_email_unverified"
    assert app.get("/auth/session").status_code == 401
    with db.transaction() as session:
        assert session.scalars(select(ExternalIdentity)).first() is None
        assert session.scalars(select(WebSession)).first() is None


def test_an_unverified_email_creates_no_account_by_email(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User, db: Database
) -> None:
    add_provider(app, world, idp.issuer, jit=True)
    assert problem_code(browser.sign_in("corp", "sub-unchecked")) == "sso_email_unverified"
    with db.transaction() as session:
        names = set(session.scalars(select(User.username)))
        assert not any("mallory" in n.lower() or n.startswith("alice-sso@") for n in names)


def test_jit_by_employee_number_leaves_an_unverified_email_out(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User, db: Database
) -> None:
    add_provider(app, world, idp.issuer, jit=True, match_claim="employee_number")
    assert browser.sign_in("corp", "sub-unchecked").status_code == 303
    assert session_of(app)["username"] == "corp.sub-unchecked"
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "corp.sub-unchecked")).one()
        assert user.employee is not None
        assert (user.employee.employee_no, user.employee.email) == ("M-0001", None)


def sources_of(db: Database, username: str) -> dict[str, str | None]:
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        return {a.role: a.source for a in user.roles}


def test_groups_grant_and_withdraw_mapped_roles(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, db: Database
) -> None:
    with db.transaction() as session:
        make_person(session, world.company, "alice-sso", department=None, roles=("finance",))
    add_provider(app, world, idp.issuer, group_roles={"managers": ["manager"], "it": ["admin"]})
    try:
        idp.update_users({"sub-alice": {**USERS["sub-alice"], "groups": ["managers", "it"]}})
        assert browser.sign_in("corp", "sub-alice").status_code == 303
        assert session_of(app)["roles"] == ["admin", "employee", "finance", "manager"]
        # The roles her groups gave carry the provider as their source; finance (granted
        # by hand) and employee (not in the mapping) carry none.
        assert sources_of(db, "alice-sso") == {
            "admin": "oidc:corp",
            "employee": None,
            "finance": None,
            "manager": "oidc:corp",
        }

        idp.update_users({"sub-alice": {**USERS["sub-alice"], "groups": ["managers"]}})
        assert browser.sign_in("corp", "sub-alice").status_code == 303
        assert session_of(app)["roles"] == ["employee", "finance", "manager"]  # admin gone
    finally:
        idp.update_users({"sub-alice": USERS["sub-alice"]})
    with db.transaction() as session:
        audits = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "user:roles_from_idp")
        ).all()
        assert [(a.data["granted"], a.data["withdrawn"], a.data["source"]) for a in audits] == [
            (["admin", "manager"], [], "oidc:corp"),
            ([], ["admin"], "oidc:corp"),
        ]


def test_groups_never_withdraw_a_role_granted_by_hand(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, db: Database
) -> None:
    """Admin is mapped to a group alice is not in, but an administrator granted it to
    her: the sign-in leaves it alone (and does not claim it as its own)."""
    with db.transaction() as session:
        make_person(session, world.company, "alice-sso", department=None, roles=("admin",))
    add_provider(
        app, world, idp.issuer, group_roles={"finance-team": ["finance"], "it-admins": ["admin"]}
    )
    assert browser.sign_in("corp", "sub-alice").status_code == 303
    assert session_of(app)["roles"] == ["admin", "employee", "finance"]
    assert sources_of(db, "alice-sso") == {
        "admin": None,
        "employee": None,
        "finance": "oidc:corp",
    }
    with db.transaction() as session:  # the admin page tells the two kinds apart
        admin = session.merge(world["admin"].user)
        _web, plain = sessions.start(session, admin, method="password", policy=policy_of(app))
        alice_id = session.scalars(select(User.id).where(User.username == "alice-sso")).one()
    english = {"Accept-Language": "en"}
    with TestClient(
        app.app, headers=english, cookies={deps.SESSION_COOKIE: plain}
    ) as admin_browser:
        page = admin_browser.get(f"/admin/people/{alice_id}").text
    rows = dict(re.findall(r'data-role="(\w+)".*?<td data-label="Source">(.*?)</td>', page, re.S))
    assert "Identity provider group" in rows["finance"] and "oidc:corp" in rows["finance"]
    assert rows["admin"] == "Granted by an administrator"


def test_unsafe_next_is_replaced_by_the_home_page(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice", next_path="https://evil.example/steal")
    assert browser.callback(url).headers["location"] == "/"


# Failures -----------------------------------------------------------------------------


def test_wrong_state_is_refused(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    forged = url.replace(f"state={query_of(url)['state']}", "state=forged")
    response = browser.callback(forged)
    assert response.status_code == 400 and problem_code(response) == "oidc_state_mismatch"
    assert app.get("/auth/session").status_code == 401


def test_callback_without_the_login_cookie_is_refused(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    app.cookies.clear()  # another browser, or a forged link
    response = browser.callback(url)
    assert response.status_code == 400 and problem_code(response) == "oidc_login_expired"


@pytest.mark.parametrize(
    ("changes", "status", "code", "why"),
    [
        pytest.param(
            {"code_verifier": ""}, 400, "oidc_code_rejected", "invalid_grant", id="no-pkce"
        ),
        pytest.param(
            {"code_verifier": "a-different-verifier-" + "x" * 30},
            400,
            "oidc_code_rejected",
            "invalid_grant",
            id="wrong-pkce",
        ),
        pytest.param(
            {"nonce": "the-nonce-of-another-sign-in"},
            401,
            "oidc_id_token_invalid",
            "nonce",
            id="other-nonce",
        ),
    ],
)
def test_wrong_pkce_verifier_or_nonce_is_refused(
    changes: dict[str, str],
    status: int,
    code: str,
    why: str,
    app: TestClient,
    browser: Browser,
    idp: OidcProvider,
    world: World,
    alice: User,
    settings: Settings,
) -> None:
    """Baoxiao sends no or a wrong verifier (the provider refuses the code) or expects
    another nonce (Baoxiao refuses the ID token)."""
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    reseal_login_cookie(app, settings, **changes)
    response = browser.callback(url)
    assert response.status_code == status, response.text
    assert problem_code(response) == code
    assert why in response.json()["detail"]


def test_reused_code_is_refused(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    login_cookie = app.cookies.get("bx_oidc")
    assert browser.callback(url).status_code == 303
    app.cookies.set("bx_oidc", login_cookie, path="/auth/oidc/")  # replay it all
    response = browser.callback(url)
    assert response.status_code == 400 and problem_code(response) == "oidc_code_rejected"


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        ("expired", "expired"),
        ("rogue_key", "signature"),
        ("alg_none", "signature"),
        ("wrong_aud", "aud"),
        ("wrong_iss", "iss"),
        ("bad_nonce", "nonce"),
    ],
)
def test_doctored_id_tokens_are_refused(
    mode: str,
    why: str,
    app: TestClient,
    browser: Browser,
    idp: OidcProvider,
    world: World,
    alice: User,
    db: Database,
) -> None:
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    idp.tamper_next_id_token(mode)
    try:
        response = browser.callback(url)
    finally:
        idp.tamper_next_id_token(None)
    assert response.status_code == 401, response.text
    assert problem_code(response) == "oidc_id_token_invalid"
    assert why in response.json()["detail"]
    with db.transaction() as session:
        assert session.scalars(select(WebSession)).first() is None


def test_userinfo_about_another_subject_is_refused(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User, db: Database
) -> None:
    """The ID token is fine, but userinfo (whose claims would complete it) names someone
    else: nothing of it may be mixed into the sign-in."""
    add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    idp.tamper_next_id_token("other_sub")  # the userinfo answer says sub "not-sub-alice"
    try:
        response = browser.callback(url)
    finally:
        idp.tamper_next_id_token(None)
    assert response.status_code == 401, response.text
    assert problem_code(response) == "oidc_id_token_invalid"
    assert "userinfo is about another subject" in response.json()["detail"]
    with db.transaction() as session:
        assert session.scalars(select(WebSession)).first() is None
        assert session.scalars(select(ExternalIdentity)).first() is None
    # The hook is spent: the next sign-in goes through.
    assert browser.sign_in("corp", "sub-alice").status_code == 303


def test_disabled_provider_cannot_be_used(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    provider = add_provider(app, world, idp.issuer)
    url = browser.authorize("corp", "sub-alice")
    off = app.patch(
        f"/api/v1/identity-providers/{provider['id']}",
        json={"enabled": False},
        headers=world["admin"].headers,
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert problem_code(browser.callback(url)) == "identity_provider_disabled"
    response = app.get("/auth/oidc/corp/login")
    assert response.status_code == 403 and problem_code(response) == "identity_provider_disabled"
    assert problem_code(app.get("/auth/oidc/nope/login")) == "identity_provider_not_found"


# Logout and several providers ----------------------------------------------------------


def test_rp_initiated_logout_ends_both_sessions(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    add_provider(app, world, idp.issuer)
    assert browser.sign_in("corp", "sub-alice").status_code == 303
    csrf = session_of(app)["csrf_token"]
    assert app.post("/auth/logout").status_code == 403  # no CSRF token
    response = app.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 303
    target = response.headers["location"]
    assert target.startswith(f"{idp.issuer}/session/end?")
    params = query_of(target)
    assert params["post_logout_redirect_uri"] == "http://testserver/auth/signed-out"
    assert params["id_token_hint"].count(".") == 2 and params["client_id"] == CORP.client_id
    assert app.get("/auth/session").status_code == 401  # ended on the server at once

    back = browser.logout_at_provider(response)
    assert back.headers["location"] == "http://testserver/auth/signed-out"
    assert app.get("/auth/signed-out").headers["location"] == "/"
    # The provider's own session is gone too: signing in asks for the login again.
    start = app.get("/auth/oidc/corp/login")
    page = browser.follow(start, stop_at_callback=True)
    assert page.status_code == 200 and 'name="login"' in page.text


def test_logout_works_when_the_provider_is_down(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User
) -> None:
    provider = add_provider(app, world, idp.issuer)
    assert browser.sign_in("corp", "sub-alice").status_code == 303
    csrf = session_of(app)["csrf_token"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    moved = app.patch(
        f"/api/v1/identity-providers/{provider['id']}",
        json={"issuer": dead},
        headers=world["admin"].headers,
    )
    assert moved.status_code == 200
    response = app.post("/auth/logout", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert app.get("/auth/session").status_code == 401


def test_two_providers_in_one_company(
    app: TestClient, browser: Browser, idp: OidcProvider, world: World, alice: User, db: Database
) -> None:
    second = OidcProvider(
        clients=[CORP], users={"partner-42": {"email": "alice-sso@example.com"}}
    ).start()
    try:
        add_provider(app, world, idp.issuer, key="corp")
        add_provider(app, world, second.issuer, key="partner")
        with db.transaction() as session:
            options = oidc.providers_for_login(session)
        assert [(o.key, o.display_name) for o in options] == [
            ("corp", "corp SSO"),
            ("partner", "partner SSO"),
        ]
        assert browser.sign_in("corp", "sub-alice").status_code == 303
        assert session_of(app)["method"] == "oidc:corp"
        partner = Browser(app, second)
        try:
            assert partner.sign_in("partner", "partner-42").status_code == 303
        finally:
            partner.close()
        me = session_of(app)
        assert (me["username"], me["method"]) == ("alice-sso", "oidc:partner")
        with db.transaction() as session:
            links = session.scalars(select(ExternalIdentity).order_by(ExternalIdentity.subject))
            assert [(lk.subject, lk.user_id) for lk in links] == [
                ("partner-42", alice.id),
                ("sub-alice", alice.id),
            ]
            # The second sign-in in the same browser replaced the first session.
            ended = session.scalars(select(WebSession.end_reason).order_by(WebSession.created_at))
            assert list(ended) == ["replaced", None]
    finally:
        second.stop()
