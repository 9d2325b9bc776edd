"""Sensitive changes over the API need a fresh sign-in, as they do in the browser.

Roles, sign-in providers and new credentials: a login token counts as a fresh sign-in
only within the re-authentication window; after it, the caller signs in again (or
sends the password when creating a token). A personal token passes: it was itself
made under re-authentication, for the scopes it carries. Lending rights to a system
(a service user's token, a connector's acting user) takes the user-admin right.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.crypto import token_digest
from baoxiao.kernel.db import Database
from baoxiao.models import User
from baoxiao.models.identity import ApiToken
from tests.support.factories import Person, World, make_person

V1 = "/api/v1"
PASSWORD = "correct horse battery"
STALE = timedelta(minutes=6)  # the default re-authentication window is 5 minutes


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(client: TestClient, db: Database, world: World, who: str) -> str:
    with db.transaction() as session:
        user = session.get(User, world[who].user.id)
        assert user is not None
        user.password_hash = hash_password(PASSWORD)
    response = client.post(
        f"{V1}/auth/token", json={"username": world[who].user.username, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


def _grant(client: TestClient, world: World, token: str) -> tuple[int, str | None]:
    body = {"user_id": str(world["peer"].user.id), "role": "auditor"}
    response = client.post(f"{V1}/role-assignments", json=body, headers=_bearer(token))
    return response.status_code, response.json().get("code")


def test_a_fresh_login_token_grants_a_stale_one_must_sign_in_again(
    client: TestClient, db: Database, world: World, frozen: list[datetime]
) -> None:
    token = _login(client, db, world, "admin")
    frozen[0] += STALE
    assert _grant(client, world, token) == (403, "reauthentication_required")
    fresh = _login(client, db, world, "admin")
    assert _grant(client, world, fresh)[0] == 201


def test_a_personal_token_with_the_users_scope_grants(client: TestClient, world: World) -> None:
    made = client.post(
        f"{V1}/tokens",
        json={"name": "role sync", "scopes": ["users:admin"]},
        headers=world["admin"].headers,
    )
    assert made.status_code == 201, made.text
    assert _grant(client, world, made.json()["access_token"])[0] == 201


def test_a_new_token_from_a_stale_login_needs_the_password(
    client: TestClient, db: Database, world: World, frozen: list[datetime]
) -> None:
    token = _login(client, db, world, "claimant")
    frozen[0] += STALE
    body: dict[str, object] = {"name": "script", "scopes": ["claims:read"]}
    refused = client.post(f"{V1}/tokens", json=body, headers=_bearer(token))
    assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
    wrong = client.post(
        f"{V1}/tokens", json={**body, "current_password": "not it"}, headers=_bearer(token)
    )
    assert (wrong.status_code, wrong.json()["code"]) == (401, "invalid_credentials")
    made = client.post(
        f"{V1}/tokens", json={**body, "current_password": PASSWORD}, headers=_bearer(token)
    )
    assert made.status_code == 201, made.text


def test_every_token_expires_and_only_its_digest_is_stored(
    client: TestClient, db: Database, world: World
) -> None:
    h = world["claimant"].headers
    forever = {"name": "forever", "scopes": ["claims:read"], "expires_in_days": None}
    assert client.post(f"{V1}/tokens", json=forever, headers=h).status_code == 422
    too_long = {**forever, "expires_in_days": 367}
    assert client.post(f"{V1}/tokens", json=too_long, headers=h).status_code == 422
    made = client.post(f"{V1}/tokens", json={"name": "d", "scopes": ["claims:read"]}, headers=h)
    assert made.status_code == 201
    plain = made.json()["access_token"]
    assert made.json()["expires_at"] is not None
    with db.transaction() as session:
        stored = session.get(ApiToken, uuid.UUID(made.json()["id"]))
        assert stored is not None
        assert stored.digest == token_digest(plain) != plain
        assert plain not in {stored.digest, stored.prefix, stored.name}
        rows = session.scalars(select(ApiToken.digest)).all()
        assert plain not in rows


def test_provider_changes_need_a_fresh_sign_in(
    client: TestClient, db: Database, world: World, frozen: list[datetime]
) -> None:
    token = _login(client, db, world, "admin")
    frozen[0] += STALE
    body = {
        "key": "corp",
        "display_name": "Corp SSO",
        "issuer": "https://idp.example.com",
        "client_id": "baoxiao",
    }
    refused = client.post(f"{V1}/identity-providers", json=body, headers=_bearer(token))
    assert (refused.status_code, refused.json()["code"]) == (403, "reauthentication_required")
    made = client.post(f"{V1}/identity-providers", json=body, headers=world["admin"].headers)
    assert made.status_code == 201, made.text


def _service_user(client: TestClient, world: World, roles: list[str]) -> str:
    made = client.post(
        f"{V1}/service-users",
        json={"username": f"svc-{uuid.uuid4().hex[:6]}", "display_name": "bank", "roles": roles},
        headers=world["admin"].headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


@pytest.fixture
def integrator(db: Database, world: World) -> Person:
    """An integrator without the user-admin right: sets up connectors and service users."""
    with db.transaction() as session:
        return make_person(
            session, world.company, "integ", department=None, roles=("integrator",), employee=False
        )


def test_only_a_user_admin_issues_tokens_that_act_with_more_than_integrator(
    client: TestClient, world: World, integrator: Person
) -> None:
    cashier_svc = _service_user(client, world, ["cashier"])
    integrator_svc = _service_user(client, world, ["integrator"])
    body = {"name": "t", "scopes": ["payments:write"]}
    denied = client.post(
        f"{V1}/service-users/{cashier_svc}/tokens", json=body, headers=_bearer(integrator.token)
    )
    assert denied.status_code == 403
    allowed = client.post(
        f"{V1}/service-users/{integrator_svc}/tokens",
        json={"name": "t", "scopes": ["integrations:admin"]},
        headers=_bearer(integrator.token),
    )
    assert allowed.status_code == 201, allowed.text
    by_admin = client.post(
        f"{V1}/service-users/{cashier_svc}/tokens", json=body, headers=world["admin"].headers
    )
    assert by_admin.status_code == 201, by_admin.text


def test_only_a_user_admin_names_a_person_as_a_connectors_acting_user(
    client: TestClient, world: World, integrator: Person
) -> None:
    integrator_svc = _service_user(client, world, ["integrator"])

    def create(actor: str, headers: dict[str, str]) -> tuple[int, str | None]:
        response = client.post(
            f"{V1}/connectors",
            json={
                "kind": "webhook",
                "name": "erp",
                "config": {"url": "https://erp.example.com/hook", "secret": "s" * 32},
                "actor_user_id": actor,
            },
            headers=headers,
        )
        return response.status_code, response.json().get("code")

    cashier = str(world["cashier"].user.id)
    assert create(cashier, _bearer(integrator.token)) == (403, "actor_needs_user_admin")
    assert create(integrator_svc, _bearer(integrator.token))[0] == 201
    assert create(cashier, world["admin"].headers)[0] == 201
    extra = client.post(
        f"{V1}/connectors",
        json={"kind": "webhook", "name": "x", "config": {}, "company_id": str(uuid.uuid4())},
        headers=world["admin"].headers,
    )
    assert extra.status_code == 422


def test_a_right_password_clears_the_failures_as_a_sign_in_does(
    client: TestClient, db: Database, world: World, frozen: list[datetime]
) -> None:
    token = _login(client, db, world, "claimant")
    frozen[0] += STALE
    body: dict[str, object] = {"name": "script", "scopes": ["claims:read"]}

    def attempt(password: str) -> int:
        response = client.post(
            f"{V1}/tokens", json={**body, "current_password": password}, headers=_bearer(token)
        )
        return response.status_code

    for _ in range(2):  # four failures each round: one short of the lock, twice over
        assert [attempt("wrong") for _ in range(4)] == [401] * 4
        assert attempt(PASSWORD) == 201
    assert [attempt("wrong") for _ in range(5)] == [401] * 5
    assert attempt(PASSWORD) == 429  # now five in a row: locked
