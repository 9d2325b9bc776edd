"""TOTP two-step sign-in, recovery codes, the password policy and change, re-authentication."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pyotp
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity import sessions
from baoxiao.identity.deps import SESSION_COOKIE
from baoxiao.identity.passwords import hash_password
from baoxiao.kernel import clock
from baoxiao.kernel.db import Database
from baoxiao.models import ApiToken, AuditRecord, RecoveryCode, User, WebSession
from baoxiao.settings import Settings
from tests.support.factories import Person, World, make_person

PASSWORD = "a long and unusual passphrase"


@pytest.fixture
def tina(db: Database, world: World) -> Person:
    with db.transaction() as session:
        return make_person(
            session,
            world.company,
            "tina-2fa",
            department=None,
            password_hash=hash_password(PASSWORD),
        )


def token_login(client: TestClient, password: str = PASSWORD, **extra: Any) -> Any:
    return client.post(
        "/api/v1/auth/token", json={"username": "tina-2fa", "password": password, **extra}
    )


def enable_totp(client: TestClient, person: Person) -> tuple[pyotp.TOTP, list[str]]:
    enrolled = client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=person.headers)
    assert enrolled.status_code == 201, enrolled.text
    body = enrolled.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/Baoxiao:tina-2fa?secret=")
    totp = pyotp.TOTP(body["secret"])
    confirmed = client.post(
        "/api/v1/me/totp/confirm", json={"code": totp.at(clock.utcnow())}, headers=person.headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return totp, confirmed.json()["recovery_codes"]


def test_totp_enrolment_and_sign_in(
    client: TestClient, tina: Person, db: Database, frozen: list[datetime]
) -> None:
    assert client.get("/api/v1/me/totp", headers=tina.headers).json() == {
        "enabled": False,
        "pending": False,
        "recovery_codes_left": 0,
    }
    totp, codes = enable_totp(client, tina)
    assert len(codes) == 10 and len(set(codes)) == 10
    with db.transaction() as session:
        user = session.get(User, tina.user.id)
        assert user is not None and user.totp_secret is not None
        assert totp.secret not in user.totp_secret  # encrypted at rest
        digests = set(session.scalars(select(RecoveryCode.digest)))
        assert all(code not in digests for code in codes)  # only digests are stored

    assert token_login(client).json()["code"] == "totp_required"
    assert token_login(client, totp_code="000000").json()["code"] == "totp_invalid"
    frozen[0] += timedelta(seconds=30)
    code = totp.at(frozen[0])
    assert token_login(client, totp_code=code).status_code == 201
    assert token_login(client, totp_code=code).json()["code"] == "totp_invalid"  # replayed
    frozen[0] += timedelta(seconds=30)
    assert token_login(client, totp_code=totp.at(frozen[0])).status_code == 201

    assert token_login(client, totp_code=codes[0]).status_code == 201
    assert token_login(client, totp_code=codes[0]).json()["code"] == "totp_invalid"  # used up
    assert client.get("/api/v1/me/totp", headers=tina.headers).json()["recovery_codes_left"] == 9


def test_wrong_totp_codes_count_towards_the_lock(
    client: TestClient, tina: Person, frozen: list[datetime]
) -> None:
    enable_totp(client, tina)
    for _ in range(5):
        assert token_login(client, totp_code="123456").status_code == 401
    response = token_login(client, totp_code="123456")
    assert response.status_code == 429 and response.json()["code"] == "account_locked"


def test_disabling_totp_needs_the_password(
    client: TestClient, tina: Person, db: Database, frozen: list[datetime]
) -> None:
    enable_totp(client, tina)
    wrong = client.post(
        "/api/v1/me/totp/disable", json={"password": "wrong password"}, headers=tina.headers
    )
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    ok = client.post("/api/v1/me/totp/disable", json={"password": PASSWORD}, headers=tina.headers)
    assert ok.status_code == 204
    assert token_login(client).status_code == 201
    with db.transaction() as session:
        assert session.scalars(select(RecoveryCode)).first() is None
        actions = list(session.scalars(select(AuditRecord.action)))
        assert "user:totp_enable" in actions and "user:totp_disable" in actions


def test_an_admin_resets_a_lost_second_factor(
    client: TestClient, tina: Person, world: World, db: Database, frozen: list[datetime]
) -> None:
    """Tina lost her phone: a user admin clears her TOTP and recovery codes, she signs
    in with her password and can enrol again. Nobody else may, nor on themselves."""
    enable_totp(client, tina)
    url = f"/api/v1/users/{tina.user.id}/totp/reset"
    for who in ("claimant", "finance", "manager"):
        assert client.post(url, headers=world[who].headers).status_code == 403, who
    foreign = client.post(url, headers=world["foreign_finance"].headers)
    assert foreign.status_code == 403
    own = client.post(
        f"/api/v1/users/{world['admin'].user.id}/totp/reset", headers=world["admin"].headers
    )
    assert own.status_code == 403 and own.json()["code"] == "own_access_change_forbidden"
    assert token_login(client).json()["code"] == "totp_required"

    done = client.post(url, headers=world["admin"].headers)
    assert done.status_code == 200, done.text
    assert done.json() == {"user_id": str(tina.user.id), "totp_enabled": False, "cleared": True}
    again = client.post(url, headers=world["admin"].headers)
    assert again.status_code == 200 and again.json()["cleared"] is False
    assert token_login(client).status_code == 201
    assert client.get("/api/v1/me/totp", headers=tina.headers).json()["enabled"] is False
    with db.transaction() as session:
        assert (
            session.scalars(
                select(RecoveryCode).where(RecoveryCode.user_id == tina.user.id)
            ).first()
            is None
        )
        resets = list(
            session.scalars(select(AuditRecord).where(AuditRecord.action == "user:totp_reset"))
        )
        assert [r.actor for r in resets] == [f"user:{world['admin'].user.id}"]
        assert resets[0].subject_id == str(tina.user.id)
    enable_totp(client, tina)  # she enrols her new phone
    assert token_login(client).json()["code"] == "totp_required"


def test_enrolment_rules(client: TestClient, tina: Person) -> None:
    assert (
        client.post(
            "/api/v1/me/totp/confirm", json={"code": "123456"}, headers=tina.headers
        ).json()["code"]
        == "totp_not_enrolled"
    )
    client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=tina.headers)
    bad = client.post("/api/v1/me/totp/confirm", json={"code": "123456"}, headers=tina.headers)
    assert bad.json()["code"] == "totp_invalid"
    assert client.get("/api/v1/me/totp", headers=tina.headers).json()["pending"] is True
    assert token_login(client).status_code == 201  # not on until confirmed
    enable_totp(client, tina)
    again = client.post("/api/v1/me/totp", json={"password": PASSWORD}, headers=tina.headers)
    assert again.status_code == 409 and again.json()["code"] == "totp_already_enabled"
    fresh = client.post(
        "/api/v1/me/totp/recovery-codes", json={"password": PASSWORD}, headers=tina.headers
    )
    assert fresh.status_code == 200 and len(fresh.json()["recovery_codes"]) == 10


@pytest.mark.parametrize(
    ("new_password", "reason"),
    [
        ("short1234", "too_short"),
        ("my-tina-2fa-password", "contains_username"),
        ("Password1234", "common"),
        ("qwertyuiop", "common"),
    ],
)
def test_password_policy(client: TestClient, tina: Person, new_password: str, reason: str) -> None:
    response = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers={**tina.headers, "Accept-Language": "zh-CN"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "password_too_weak"
    assert response.json()["reason"] == reason
    assert "请换一个密码" in response.json()["detail"]


def test_password_change_ends_other_sign_ins(
    client: TestClient, tina: Person, db: Database, settings: Settings
) -> None:
    other_login = token_login(client).json()["access_token"]
    with db.transaction() as session:
        user = session.get(User, tina.user.id)
        assert user is not None
        other_web, _plain = sessions.start(
            session, user, method="password", policy=settings.session_policy
        )
        other_web_id = other_web.id
    wrong = client.post(
        "/api/v1/me/password",
        json={"current_password": "not it at all", "new_password": "another fine passphrase"},
        headers=tina.headers,
    )
    assert wrong.status_code == 401
    changed = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": "another fine passphrase"},
        headers=tina.headers,
    )
    assert changed.status_code == 200 and changed.json() == {"sign_ins_ended": 2}
    assert (
        client.get("/api/v1/me", headers={"Authorization": f"Bearer {other_login}"}).status_code
        == 401
    )
    assert client.get("/api/v1/me", headers=tina.headers).status_code == 200  # this token stays
    assert token_login(client).status_code == 401
    assert token_login(client, password="another fine passphrase").status_code == 201
    with db.transaction() as session:
        web = session.get(WebSession, other_web_id)
        assert web is not None and web.end_reason == "password_change"
        revoked = session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_not(None)))
        assert [t.kind for t in revoked] == ["login"]


def test_confirm_restarts_the_reauthentication_window(
    client: TestClient, tina: Person, db: Database, settings: Settings, frozen: list[datetime]
) -> None:
    with db.transaction() as session:
        user = session.get(User, tina.user.id)
        assert user is not None
        web, plain = sessions.start(
            session, user, method="password", policy=settings.session_policy
        )
        csrf, web_id = web.csrf_token, web.id
    client.cookies.set(SESSION_COOKIE, plain)
    frozen[0] += timedelta(minutes=10)
    headers = {"X-CSRF-Token": csrf}
    assert client.post("/auth/confirm", json={"password": PASSWORD}).status_code == 403  # no CSRF
    wrong = client.post("/auth/confirm", json={"password": "not it"}, headers=headers)
    assert wrong.status_code == 401 and wrong.json()["code"] == "invalid_credentials"
    ok = client.post("/auth/confirm", json={"password": PASSWORD}, headers=headers)
    assert ok.status_code == 200, ok.text
    with db.transaction() as session:
        confirmed = session.get(WebSession, web_id)
        assert confirmed is not None and confirmed.authenticated_at == frozen[0]
        sessions.require_recent_authentication(confirmed, settings.session_policy)

    form = client.post(
        "/auth/confirm",
        data={"password": PASSWORD, "csrf_token": csrf, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert form.status_code == 303 and form.headers["location"] == "/"
