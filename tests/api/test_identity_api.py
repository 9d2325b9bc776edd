"""Sign-in, bearer tokens and /me."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baoxiao.identity.passwords import hash_password
from baoxiao.identity.service import issue_token
from baoxiao.kernel.db import Database
from baoxiao.models import User
from tests.support.factories import Person, World, make_person

PASSWORD = "correct horse battery staple"


@pytest.fixture
def alice(db: Database, world: World) -> Person:
    """An employee with a local password."""
    with db.transaction() as session:
        return make_person(
            session,
            world.company,
            f"alice-{world.company.code}",
            department=world.departments["RD"],
            password_hash=hash_password(PASSWORD),
        )


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# ---- login -----------------------------------------------------------------------------


def test_login_with_the_right_password(client: TestClient, alice: Person) -> None:
    before = datetime.now(UTC)
    response = _login(client, alice.user.username, PASSWORD)
    assert response.status_code == 201, response.text
    issued = response.json()
    assert issued["token_type"] == "bearer"
    assert issued["access_token"].startswith("bx_")
    assert len(issued["access_token"]) > 40
    expires = _parse(issued["expires_at"])
    assert (
        before + timedelta(hours=11, minutes=59) < expires < before + timedelta(hours=12, minutes=1)
    )
    me = client.get("/api/v1/me", headers=_bearer(issued["access_token"]))
    assert me.status_code == 200
    assert me.json()["username"] == alice.user.username
    tokens = client.get("/api/v1/tokens", headers=_bearer(issued["access_token"])).json()
    login_tokens = [t for t in tokens if t["id"] == issued["id"]]
    assert [(t["kind"], t["name"]) for t in login_tokens] == [("login", "login")]


def test_each_login_issues_a_new_token(client: TestClient, alice: Person) -> None:
    first = _login(client, alice.user.username, PASSWORD).json()
    second = _login(client, alice.user.username, PASSWORD).json()
    assert first["access_token"] != second["access_token"]
    assert first["id"] != second["id"]


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("{alice}", "wrong password"),
        ("{alice}", PASSWORD.upper()),
        ("nobody-at-all", PASSWORD),
        ("{claimant}", PASSWORD),  # an account with no local password
    ],
    ids=["wrong-password", "wrong-case", "unknown-user", "no-password-set"],
)
def test_login_is_refused(
    client: TestClient, world: World, alice: Person, username: str, password: str
) -> None:
    name = username.format(alice=alice.user.username, claimant=world["claimant"].user.username)
    response = _login(client, name, password)
    assert response.status_code == 401
    problem = response.json()
    assert problem["code"] == "invalid_credentials"
    assert problem["detail"] == "Wrong username or password."
    assert "access_token" not in problem


def test_inactive_user_cannot_log_in(client: TestClient, alice: Person, db: Database) -> None:
    with db.transaction() as session:
        user = session.get(User, alice.user.id)
        assert user is not None
        user.active = False
    response = _login(client, alice.user.username, PASSWORD)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_credentials"
    # Their existing tokens stop working too.
    me = client.get("/api/v1/me", headers=alice.headers)
    assert me.status_code == 401
    assert me.json()["code"] == "invalid_token"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "a"},
        {"password": "b"},
        {"username": "", "password": "b"},
        {"username": "a", "password": ""},
        {"username": "a", "password": "b", "remember": True},
    ],
)
def test_login_body_is_validated(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/api/v1/auth/token", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# ---- authentication of requests ---------------------------------------------------------


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        (None, "unauthorized"),
        ("", "unauthorized"),
        ("Bearer", "unauthorized"),
        ("Bearer    ", "unauthorized"),
        ("Basic YWxpY2U6cGFzcw==", "unauthorized"),
        ("Bearer not-one-of-ours", "invalid_token"),
        ("Bearer bx_doesnotexist", "invalid_token"),
    ],
)
def test_requests_without_a_valid_token_are_refused(
    client: TestClient, authorization: str | None, code: str
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = client.get("/api/v1/me", headers=headers)
    assert response.status_code == 401
    assert response.json()["code"] == code


def test_scheme_is_case_insensitive(client: TestClient, world: World) -> None:
    response = client.get(
        "/api/v1/me", headers={"Authorization": f"bearer {world['claimant'].token}"}
    )
    assert response.status_code == 200


# ---- /me -----------------------------------------------------------------------------------


def test_me_describes_the_caller(client: TestClient, world: World) -> None:
    person = world["finance"]
    response = client.get("/api/v1/me", headers=person.headers)
    assert response.status_code == 200
    me = response.json()
    assert me["user_id"] == str(person.user.id)
    assert me["username"] == person.user.username
    assert me["display_name"] == person.user.display_name
    assert me["company_id"] == str(world.company.id)
    assert me["employee_id"] == str(person.employee.id)
    assert sorted((r["role"], r["company_id"]) for r in me["roles"]) == [
        ("employee", str(world.company.id)),
        ("finance", str(world.company.id)),
    ]


def test_me_of_another_company(client: TestClient, world: World) -> None:
    me = client.get("/api/v1/me", headers=world["foreigner"].headers).json()
    assert world.other_company is not None
    assert me["company_id"] == str(world.other_company.id)
    assert me["roles"] == [{"role": "employee", "company_id": str(world.other_company.id)}]


def test_me_of_an_account_without_employee(client: TestClient, world: World, db: Database) -> None:
    with db.transaction() as session:
        robot = make_person(
            session, world.company, f"robot-{world.company.code}", department=None, employee=False
        )
    me = client.get("/api/v1/me", headers=robot.headers).json()
    assert me["employee_id"] is None
    assert me["username"] == robot.user.username


# ---- personal tokens ---------------------------------------------------------------------------


def test_create_list_and_use_a_token(client: TestClient, world: World) -> None:
    h = world["claimant"].headers
    before = datetime.now(UTC)
    created = client.post(
        "/api/v1/tokens", json={"name": "expense script", "scopes": ["claims:read"]}, headers=h
    )
    assert created.status_code == 201, created.text
    issued = created.json()
    plain = issued["access_token"]
    assert plain.startswith("bx_")
    expires = _parse(issued["expires_at"])
    assert before + timedelta(days=90) - timedelta(minutes=1) < expires
    assert expires < before + timedelta(days=90, minutes=1)

    listing = client.get("/api/v1/tokens", headers=h)
    assert listing.status_code == 200
    assert plain not in listing.text  # the value is never shown again
    mine = {t["id"]: t for t in listing.json()}
    token = mine[issued["id"]]
    assert token["name"] == "expense script"
    assert token["prefix"] == plain[:10]
    assert token["kind"] == "personal"
    assert token["revoked_at"] is None
    assert token["last_used_at"] is None
    assert set(token) == {
        "id",
        "name",
        "prefix",
        "kind",
        "created_at",
        "expires_at",
        "last_used_at",
        "revoked_at",
        "scopes",
    }
    assert token["scopes"] == ["claims:read"]
    assert len(mine) == 2  # the factory's token and this one

    me = client.get("/api/v1/me", headers=_bearer(plain))
    assert me.status_code == 200
    assert me.json()["user_id"] == str(world["claimant"].user.id)
    used = {t["id"]: t for t in client.get("/api/v1/tokens", headers=h).json()}[issued["id"]]
    assert used["last_used_at"] is not None


def test_a_token_without_expiry_is_refused(client: TestClient, world: World) -> None:
    response = client.post(
        "/api/v1/tokens",
        json={"name": "ci", "expires_in_days": None, "scopes": ["claims:read"]},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "x", "expires_in_days": 0},
        {"name": "x", "expires_in_days": 367},
        {"name": "x", "kind": "login"},
        {"name": "x", "user_id": "0190a000-0000-7000-8000-000000000000"},
        {"name": "x"},  # tokens made through the API always name their scopes
        {"name": "x", "scopes": []},
    ],
)
def test_token_body_is_validated(client: TestClient, world: World, body: dict[str, Any]) -> None:
    response = client.post("/api/v1/tokens", json=body, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_tokens_list_only_the_callers_own(client: TestClient, world: World) -> None:
    client.post(
        "/api/v1/tokens",
        json={"name": "peer script", "scopes": ["claims:read"]},
        headers=world["peer"].headers,
    )
    names = [
        t["name"] for t in client.get("/api/v1/tokens", headers=world["claimant"].headers).json()
    ]
    assert names == ["test"]


def test_revoked_token_stops_working(client: TestClient, world: World) -> None:
    h = world["claimant"].headers
    issued = client.post(
        "/api/v1/tokens", json={"name": "temp", "scopes": ["claims:read"]}, headers=h
    ).json()
    assert client.get("/api/v1/me", headers=_bearer(issued["access_token"])).status_code == 200

    response = client.delete(f"/api/v1/tokens/{issued['id']}", headers=h)
    assert response.status_code == 204
    assert response.content == b""
    refused = client.get("/api/v1/me", headers=_bearer(issued["access_token"]))
    assert refused.status_code == 401
    assert refused.json()["code"] == "invalid_token"
    listed = {t["id"]: t for t in client.get("/api/v1/tokens", headers=h).json()}
    assert listed[issued["id"]]["revoked_at"] is not None
    # Revoking again is harmless; the caller's own token still works.
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=h).status_code == 204
    assert client.get("/api/v1/me", headers=h).status_code == 200


def test_a_token_can_revoke_itself(client: TestClient, world: World) -> None:
    issued = client.post(
        "/api/v1/tokens",
        json={"name": "self", "scopes": ["claims:read"]},
        headers=world["claimant"].headers,
    ).json()
    own = _bearer(issued["access_token"])
    assert client.delete(f"/api/v1/tokens/{issued['id']}", headers=own).status_code == 204
    assert client.get("/api/v1/me", headers=own).status_code == 401


def test_someone_elses_token_cannot_be_revoked(client: TestClient, world: World) -> None:
    peer_token = client.post(
        "/api/v1/tokens",
        json={"name": "peer", "scopes": ["claims:read"]},
        headers=world["peer"].headers,
    ).json()
    response = client.delete(
        f"/api/v1/tokens/{peer_token['id']}", headers=world["claimant"].headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "token_not_found"
    # Nothing happened to it.
    assert client.get("/api/v1/me", headers=_bearer(peer_token["access_token"])).status_code == 200
    listed = {
        t["id"]: t for t in client.get("/api/v1/tokens", headers=world["peer"].headers).json()
    }
    assert listed[peer_token["id"]]["revoked_at"] is None


def test_unknown_token_id_cannot_be_revoked(client: TestClient, world: World) -> None:
    response = client.delete(
        "/api/v1/tokens/0190a000-0000-7000-8000-000000000000", headers=world["claimant"].headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "token_not_found"
    assert client.get("/api/v1/me", headers=world["claimant"].headers).status_code == 200


def test_expired_token_is_refused(client: TestClient, world: World, db: Database) -> None:
    with db.transaction() as session:
        user = session.get(User, world["claimant"].user.id)
        assert user is not None
        _token, plain = issue_token(session, user, name="old", ttl=timedelta(seconds=-1))
    response = client.get("/api/v1/me", headers=_bearer(plain))
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_token"
    assert response.json()["detail"] == "The access token is invalid, expired or revoked."
