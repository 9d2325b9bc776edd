"""The real sign-in form (POST /login of create_app): its login-CSRF pair, and a new
sign-in replacing the session the browser already had."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.identity import deps
from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.db import Database
from baoxiao.models import User, WebSession
from baoxiao.settings import Settings
from tests.support.factories import World, make_person
from tests.support.signin import login_csrf_field, post_login

PASSWORD = "sign-in form passphrase"


@pytest.fixture
def username(db: Database, world: World) -> str:
    with db.transaction() as session:
        person = make_person(
            session,
            world.company,
            f"form-{world.company.code}",
            department=world.departments["RD"],
            password_hash=hash_password(PASSWORD),
        )
        return person.user.username


@pytest.fixture
def https(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings, db), base_url="https://testserver") as client:
        yield client


def sessions_of(db: Database, username: str) -> list[WebSession]:
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        stmt = select(WebSession).where(WebSession.user_id == user.id)
        return list(session.scalars(stmt.order_by(WebSession.created_at)))


def test_the_sign_in_form_works_with_its_own_pair(
    anonymous: TestClient, username: str, db: Database
) -> None:
    page = anonymous.get("/login")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("bx_login=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    assert "Path=/" in cookie and "secure" not in cookie.lower()  # plain http: the demo
    field = login_csrf_field(anonymous, page.text)
    assert field != anonymous.cookies["bx_login"]  # the field is the MAC, not a copy
    # Reloading keeps the cookie, so a second tab's form stays valid.
    assert login_csrf_field(anonymous) == field

    response = post_login(anonymous, {"username": username, "password": PASSWORD})
    assert response.status_code == 303 and response.headers["location"] == "/"
    assert [w.method for w in sessions_of(db, username)] == ["password"]


@pytest.mark.parametrize("case", ["no-field", "wrong-field", "no-cookie", "other-browser"])
def test_a_sign_in_post_without_the_matching_pair_is_refused(
    case: str, anonymous: TestClient, username: str, db: Database, settings: Settings
) -> None:
    field = login_csrf_field(anonymous)
    data = {"username": username, "password": PASSWORD, "login_csrf": field}
    if case == "no-field":
        del data["login_csrf"]
    elif case == "wrong-field":
        data["login_csrf"] = field[:-2] + ("AA" if not field.endswith("AA") else "BB")
    elif case == "no-cookie":  # a forged form on another site: the victim has no cookie
        anonymous.cookies.clear()
    else:  # the attacker's own valid pair, posted from the victim's browser
        with TestClient(create_app(settings, db)) as attacker:
            data["login_csrf"] = login_csrf_field(attacker)
    response = anonymous.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 403, response.text
    assert 'data-code="csrf_failed"' in response.text
    assert deps.SESSION_COOKIE not in response.headers.get("set-cookie", "")
    assert sessions_of(db, username) == []


def test_over_https_the_cookie_is_secure_and_host_only(https: TestClient, username: str) -> None:
    cookie = https.get("/login").headers["set-cookie"]
    assert cookie.startswith("__Host-bx_login=") and "Secure" in cookie and "Path=/" in cookie
    assert "Domain" not in cookie
    assert post_login(https, {"username": username, "password": PASSWORD}).status_code == 303


def test_a_failed_sign_in_renders_a_form_that_still_works(
    anonymous: TestClient, username: str
) -> None:
    wrong = post_login(anonymous, {"username": username, "password": "not the password"})
    assert wrong.status_code == 401 and 'data-code="invalid_credentials"' in wrong.text
    retry = {"username": username, "password": PASSWORD}
    retry["login_csrf"] = login_csrf_field(anonymous, wrong.text)
    assert anonymous.post("/login", data=retry, follow_redirects=False).status_code == 303


def test_a_new_sign_in_ends_the_session_the_browser_had(
    anonymous: TestClient, username: str, db: Database
) -> None:
    """Two tabs with the sign-in form, say, or the next person at a shared computer:
    the second sign-in replaces the first session instead of leaving it alive."""
    field = login_csrf_field(anonymous)
    data = {"username": username, "password": PASSWORD, "login_csrf": field}
    assert anonymous.post("/login", data=data, follow_redirects=False).status_code == 303
    old_cookie = anonymous.cookies[deps.SESSION_COOKIE]
    assert anonymous.get("/", follow_redirects=False).status_code == 200

    again = anonymous.post("/login", data=data, follow_redirects=False)
    assert again.status_code == 303
    new_cookie = anonymous.cookies[deps.SESSION_COOKIE]
    assert new_cookie != old_cookie

    first, second = sessions_of(db, username)
    assert first.id != second.id
    assert (first.end_reason, second.end_reason) == ("replaced", None)
    assert first.ended_at is not None and second.ended_at is None
    assert anonymous.get("/", follow_redirects=False).status_code == 200
    anonymous.cookies.clear()
    anonymous.cookies.set(deps.SESSION_COOKIE, old_cookie)  # a copy of the old cookie
    refused = anonymous.get("/", follow_redirects=False)
    assert refused.status_code == 303 and refused.headers["location"] == "/login?next=/"


def test_a_failed_sign_in_leaves_the_current_session_alone(
    anonymous: TestClient, username: str, db: Database
) -> None:
    field = login_csrf_field(anonymous)  # the form, loaded before signing in
    data = {"username": username, "password": PASSWORD, "login_csrf": field}
    assert anonymous.post("/login", data=data, follow_redirects=False).status_code == 303
    assert anonymous.post("/login", data={**data, "password": "wrong"}).status_code == 401
    assert [w.end_reason for w in sessions_of(db, username)] == [None]
    assert anonymous.get("/", follow_redirects=False).status_code == 200
