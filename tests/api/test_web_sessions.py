"""Browser sessions: start, resolve, timeouts, logout, CSRF and re-authentication.

The routes below are a small page app built on the real dependencies of
identity/deps.py and the real request transaction, served by TestClient.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from fastapi import APIRouter, FastAPI, Form, Request, Response
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity import deps, sessions
from baoxiao.identity.passwords import hash_password
from baoxiao.identity.service import check_password
from baoxiao.kernel import problems
from baoxiao.kernel.db import Database
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models import AuditRecord, User, WebSession
from baoxiao.settings import Settings
from tests.support.factories import World, make_person

PASSWORD = "correct horse battery"


def page_app(settings: Settings, db: Database) -> FastAPI:
    app = FastAPI()
    app.state.settings = settings
    app.state.db = db
    router = APIRouter(route_class=TransactionalRoute)

    @router.post("/login")
    def login(
        request: Request, session: deps.DbSession, username: str = Form(), password: str = Form()
    ) -> Response:
        user = check_password(session, username, password)
        _web, plain = sessions.start(
            session, user, method="password", policy=settings.session_policy, ip="127.0.0.1"
        )
        response = Response(status_code=204)
        deps.set_session_cookie(request, response, plain)
        return response

    @router.get("/whoami")
    def whoami(principal: deps.WebPrincipal, web: deps.CurrentWebSession) -> dict[str, str]:
        return {"username": principal.username, "csrf": web.csrf_token}

    @router.post("/change", dependencies=[deps.CsrfProtected])
    def change(principal: deps.WebPrincipal, note: str = Form("")) -> dict[str, str]:
        return {"changed_by": principal.username, "note": note}

    @router.post("/bank-account", dependencies=[deps.CsrfProtected])
    def sensitive(web: deps.CurrentWebSession) -> dict[str, bool]:
        sessions.require_recent_authentication(web, settings.session_policy)
        return {"ok": True}

    @router.post("/logout", dependencies=[deps.CsrfProtected])
    def logout(web: deps.CurrentWebSession, session: deps.DbSession) -> Response:
        sessions.end(session, web)
        response = Response(status_code=204)
        deps.clear_session_cookie(response)
        return response

    app.include_router(router)
    problems.install(app)
    return app


@pytest.fixture
def person_name(db: Database, world: World) -> str:
    with db.transaction() as session:
        person = make_person(
            session,
            world.company,
            f"web-{world.company.code}",
            department=world.departments["RD"],
            password_hash=hash_password(PASSWORD),
        )
        return person.user.username


@pytest.fixture
def browser(db: Database, settings: Settings) -> Iterator[TestClient]:
    with TestClient(page_app(settings, db), base_url="https://testserver") as test_client:
        yield test_client


def sign_in(browser: TestClient, username: str) -> str:
    response = browser.post("/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 204, response.text
    return str(browser.get("/whoami").json()["csrf"])


def test_sign_in_sets_a_hardened_cookie_and_stores_only_its_digest(
    browser: TestClient, person_name: str, db: Database
) -> None:
    response = browser.post("/login", data={"username": person_name, "password": PASSWORD})
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{deps.SESSION_COOKIE}=")
    lowered = cookie.lower()
    assert "httponly" in lowered and "secure" in lowered and "samesite=lax" in lowered
    plain = browser.cookies[deps.SESSION_COOKIE]
    with db.transaction() as session:
        stored = session.scalars(select(WebSession)).all()
        assert [w.method for w in stored] == ["password"]
        assert stored[0].digest != plain and len(stored[0].digest) == 64
        actions = session.scalars(select(AuditRecord.action)).all()
        assert "session:start" in actions
    assert browser.get("/whoami").json()["username"] == person_name


def test_every_sign_in_gets_a_new_session(browser: TestClient, person_name: str) -> None:
    sign_in(browser, person_name)
    first = browser.cookies[deps.SESSION_COOKIE]
    sign_in(browser, person_name)
    assert browser.cookies[deps.SESSION_COOKIE] != first


def test_no_cookie_or_a_forged_one_is_401(browser: TestClient, person_name: str) -> None:
    response = browser.get("/whoami")
    assert response.status_code == 401 and response.json()["code"] == "session_invalid"
    browser.cookies.set(deps.SESSION_COOKIE, "forged-value")
    assert browser.get("/whoami").json()["code"] == "session_invalid"


def test_wrong_password_starts_no_session(
    browser: TestClient, person_name: str, db: Database
) -> None:
    response = browser.post("/login", data={"username": person_name, "password": "nope"})
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
    with db.transaction() as session:
        assert session.scalars(select(WebSession)).all() == []


def test_post_without_or_with_a_wrong_csrf_token_is_refused(
    browser: TestClient, person_name: str
) -> None:
    csrf = sign_in(browser, person_name)
    missing = browser.post("/change", data={"note": "x"})
    assert missing.status_code == 403 and missing.json()["code"] == "csrf_failed"
    forged = csrf[:-1] + ("B" if csrf.endswith("A") else "A")
    wrong = browser.post("/change", data={"note": "x", "csrf_token": forged})
    assert wrong.json()["code"] == "csrf_failed"
    ok = browser.post("/change", data={"note": "x", "csrf_token": csrf})
    assert ok.status_code == 200 and ok.json() == {"changed_by": person_name, "note": "x"}
    by_header = browser.post("/change", headers={"X-CSRF-Token": csrf})
    assert by_header.status_code == 200


def test_another_sessions_csrf_token_does_not_work(
    db: Database, settings: Settings, person_name: str
) -> None:
    with (
        TestClient(page_app(settings, db), base_url="https://testserver") as one,
        TestClient(page_app(settings, db), base_url="https://testserver") as two,
    ):
        csrf_one = sign_in(one, person_name)
        sign_in(two, person_name)
        assert two.post("/change", data={"csrf_token": csrf_one}).json()["code"] == "csrf_failed"


def test_idle_timeout_ends_the_session(
    browser: TestClient, person_name: str, settings: Settings, frozen: list[datetime]
) -> None:
    sign_in(browser, person_name)
    frozen[0] += settings.session_policy.idle - timedelta(seconds=1)
    assert browser.get("/whoami").status_code == 200  # activity keeps it alive
    frozen[0] += settings.session_policy.idle - timedelta(seconds=1)
    assert browser.get("/whoami").status_code == 200
    frozen[0] += settings.session_policy.idle
    assert browser.get("/whoami").json()["code"] == "session_invalid"


def test_absolute_timeout_ends_even_an_active_session(
    browser: TestClient, person_name: str, settings: Settings, frozen: list[datetime]
) -> None:
    sign_in(browser, person_name)
    started = frozen[0]
    step = settings.session_policy.idle / 2
    while frozen[0] + step < started + settings.session_policy.absolute:
        frozen[0] += step
        assert browser.get("/whoami").status_code == 200
    frozen[0] = started + settings.session_policy.absolute
    assert browser.get("/whoami").status_code == 401


def test_logout_ends_the_session_on_the_server(browser: TestClient, person_name: str) -> None:
    csrf = sign_in(browser, person_name)
    plain = browser.cookies[deps.SESSION_COOKIE]
    assert browser.post("/logout", data={"csrf_token": csrf}).status_code == 204
    browser.cookies.set(deps.SESSION_COOKIE, plain)  # a copied cookie is dead too
    assert browser.get("/whoami").status_code == 401


def test_end_all_for_user_and_deactivation_end_every_session(
    db: Database, settings: Settings, person_name: str
) -> None:
    with (
        TestClient(page_app(settings, db), base_url="https://testserver") as one,
        TestClient(page_app(settings, db), base_url="https://testserver") as two,
    ):
        sign_in(one, person_name)
        sign_in(two, person_name)
        with db.transaction() as session:
            user = session.scalars(select(User).where(User.username == person_name)).one()
            assert sessions.end_all_for_user(session, user.id, "deactivated") == 2
        assert one.get("/whoami").status_code == 401
        assert two.get("/whoami").status_code == 401
        sign_in(one, person_name)
        with db.transaction() as session:
            user = session.scalars(select(User).where(User.username == person_name)).one()
            user.active = False
        assert one.get("/whoami").status_code == 401


def test_sensitive_change_needs_a_recent_sign_in(
    browser: TestClient, person_name: str, settings: Settings, frozen: list[datetime], db: Database
) -> None:
    csrf = sign_in(browser, person_name)
    assert browser.post("/bank-account", data={"csrf_token": csrf}).status_code == 200
    frozen[0] += settings.session_policy.reauth + timedelta(seconds=1)
    stale = browser.post("/bank-account", data={"csrf_token": csrf})
    assert stale.status_code == 403 and stale.json()["code"] == "reauthentication_required"
    with db.transaction() as session:
        web = session.scalars(select(WebSession)).one()
        sessions.confirm_identity(session, web)
    assert browser.post("/bank-account", data={"csrf_token": csrf}).status_code == 200


def test_plain_http_gets_no_secure_flag_unless_configured(
    db: Database, settings: Settings, person_name: str
) -> None:
    with TestClient(page_app(settings, db), base_url="http://testserver") as plain_http:
        response = plain_http.post("/login", data={"username": person_name, "password": PASSWORD})
        assert "secure" not in response.headers["set-cookie"].lower()
    forced = settings.model_copy(update={"session_cookie_secure": True})
    with TestClient(page_app(forced, db), base_url="http://testserver") as plain_http:
        response = plain_http.post("/login", data={"username": person_name, "password": PASSWORD})
        assert "secure" in response.headers["set-cookie"].lower()


def test_an_https_public_url_sets_the_secure_flag_behind_a_tls_proxy(
    db: Database, settings: Settings, person_name: str
) -> None:
    """TLS ends at the proxy, so the request Baoxiao sees is http: the public URL decides."""
    behind_proxy = settings.model_copy(update={"public_url": "https://baoxiao.example.com"})
    with TestClient(page_app(behind_proxy, db), base_url="http://testserver") as plain_http:
        response = plain_http.post("/login", data={"username": person_name, "password": PASSWORD})
        assert "; secure" in response.headers["set-cookie"].lower()
    # An explicit false wins (a test rig on https without certificates, say).
    off = behind_proxy.model_copy(update={"session_cookie_secure": False})
    with TestClient(page_app(off, db), base_url="https://testserver") as https:
        response = https.post("/login", data={"username": person_name, "password": PASSWORD})
        assert "secure" not in response.headers["set-cookie"].lower()
