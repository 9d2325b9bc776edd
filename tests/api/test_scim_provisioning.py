"""SCIM provisioning as an IdP uses it: users with the enterprise extension, filters,
pages, role groups, deactivation and deletion."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity.service import issue_token
from baoxiao.kernel.db import Database
from baoxiao.models import Employee, RoleAssignment, User
from tests.support.factories import World, make_person

SCIM = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def idp(db: Database, world: World) -> dict[str, str]:
    with db.transaction() as session:
        bot = make_person(
            session,
            world.company,
            "azure-ad",
            department=None,
            employee=False,
            roles=("integrator",),
        )
        _t, plain = issue_token(session, bot.user, name="scim", scopes=["scim"])
    return {"Authorization": f"Bearer {plain}", "Content-Type": "application/scim+json"}


def _user(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [CORE, ENT],
        "userName": name,
        "displayName": f"{name} Wang",
        "externalId": f"ext-{name}",
        "active": True,
        "emails": [{"value": f"{name}@corp.example", "primary": True, "type": "work"}],
        **extra,
    }


def _create(client: TestClient, idp: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{SCIM}/Users", json=body, headers=idp)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    created: dict[str, Any] = response.json()
    return created


def test_auth_needs_a_token_with_the_scim_right(
    client: TestClient, world: World, idp: dict[str, str]
) -> None:
    none = client.get(f"{SCIM}/Users")
    assert none.status_code == 401
    assert none.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert client.get(f"{SCIM}/Users", headers=world["admin"].headers).status_code == 403
    assert client.get(f"{SCIM}/Users", headers=idp).status_code == 200


def test_a_user_maps_to_an_employee_with_department_and_manager(
    client: TestClient, world: World, idp: dict[str, str], db: Database
) -> None:
    boss_id = str(world["manager"].user.id)
    body = _user(
        "li.lei",
        **{ENT: {"employeeNumber": "E-9001", "department": "RD", "manager": {"value": boss_id}}},
    )
    created = _create(client, idp, body)
    assert created[ENT]["manager"]["value"] == boss_id
    assert created["meta"]["version"] == created["meta"]["version"]
    with db.transaction() as session:
        user = session.get(User, uuid.UUID(created["id"]))
        assert user is not None and user.employee_id is not None
        emp = session.get(Employee, user.employee_id)
        assert emp is not None
        assert (emp.employee_no, emp.department_id, emp.manager_id, emp.email) == (
            "E-9001",
            world.departments["RD"].id,
            world["manager"].employee.id,  # type: ignore[union-attr]
            "li.lei@corp.example",
        )
        assert [r.role for r in user.roles] == ["employee"]


@pytest.mark.parametrize(
    "flt",
    [
        'userName eq "LI.LEI"',
        'externalId eq "ext-li.lei"',
        'emails eq "li.lei@corp.example"',
        'emails[value eq "li.lei@corp.example"]',
        'userName eq "li.lei" and active eq true',
    ],
)
def test_filters_find_the_user(client: TestClient, idp: dict[str, str], flt: str) -> None:
    _create(client, idp, _user("li.lei"))
    _create(client, idp, _user("han.mei"))
    found = client.get(f"{SCIM}/Users", params={"filter": flt}, headers=idp).json()
    assert found["totalResults"] == 1
    assert [r["userName"] for r in found["Resources"]] == ["li.lei"]


def test_a_bad_filter_is_a_scim_400(client: TestClient, idp: dict[str, str]) -> None:
    response = client.get(f"{SCIM}/Users", params={"filter": "userName eq"}, headers=idp)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_pages(client: TestClient, world: World, idp: dict[str, str]) -> None:
    for i in range(5):
        _create(client, idp, _user(f"p{i}"))
    everyone = client.get(f"{SCIM}/Users", headers=idp).json()
    total = everyone["totalResults"]
    assert (
        total
        == len(
            [
                p
                for p in world.people.values()
                if p.employee is not None and p.user.company_id == world.company.id
            ]
        )
        + 5
    )
    page = client.get(f"{SCIM}/Users", params={"startIndex": 3, "count": 2}, headers=idp).json()
    assert (page["startIndex"], page["itemsPerPage"], page["totalResults"]) == (3, 2, total)
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][2:4]]


def test_role_groups_grant_and_take_away_roles(
    client: TestClient, world: World, idp: dict[str, str], db: Database
) -> None:
    user = _create(client, idp, _user("zhou.li"))
    group = client.post(
        f"{SCIM}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Cashiers",
            "members": [{"value": user["id"]}],
        },
        headers=idp,
    )
    assert group.status_code == 201, group.text

    def roles() -> set[str]:
        with db.transaction() as session:
            return set(
                session.scalars(
                    select(RoleAssignment.role).where(
                        RoleAssignment.user_id == uuid.UUID(user["id"])
                    )
                )
            )

    assert roles() == {"employee", "cashier"}
    removed = client.patch(
        f"{SCIM}/Groups/{group.json()['id']}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "remove", "path": f'members[value eq "{user["id"]}"]'}],
        },
        headers=idp,
    )
    assert removed.status_code == 200, removed.text
    assert roles() == {"employee"}
    # A group that names no role grants nothing.
    other = client.post(
        f"{SCIM}/Groups",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
            "displayName": "Sales EMEA",
            "members": [{"value": user["id"]}],
        },
        headers=idp,
    )
    assert other.status_code == 201
    assert roles() == {"employee"}


def test_scim_cannot_grant_roles_through_user_attributes(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    body = _user("mallory", roles=[{"value": "admin"}], password="x")
    response = client.post(f"{SCIM}/Users", json=body, headers=idp)
    assert response.status_code in (201, 400)
    if response.status_code == 201:
        with db.transaction() as session:
            user = session.get(User, uuid.UUID(response.json()["id"]))
            assert user is not None
            assert [r.role for r in user.roles] == ["employee"]
            assert user.password_hash is None


def test_active_false_deactivates_and_delete_frees_the_username(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    created = _create(client, idp, _user("leaver"))
    with db.transaction() as session:
        account = session.get(User, uuid.UUID(created["id"]))
        assert account is not None
        _t, plain = issue_token(session, account, name="cli")
    mine = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    off = client.patch(
        f"{SCIM}/Users/{created['id']}",
        json={
            "schemas": [PATCH],
            "Operations": [{"op": "replace", "path": "active", "value": False}],
        },
        headers=idp,
    )
    assert off.status_code == 200, off.text
    assert off.json()["active"] is False
    assert client.get("/api/v1/me", headers=mine).status_code == 401
    stale = client.delete(f"{SCIM}/Users/{created['id']}", headers={**idp, "If-Match": 'W/"1"'})
    assert stale.status_code == 412
    gone = client.delete(f"{SCIM}/Users/{created['id']}", headers=idp)
    assert gone.status_code == 204
    assert client.get(f"{SCIM}/Users/{created['id']}", headers=idp).status_code == 404
    again = _create(client, idp, _user("leaver"))
    assert again["id"] != created["id"]


def test_duplicate_usernames_are_a_uniqueness_conflict(
    client: TestClient, idp: dict[str, str]
) -> None:
    _create(client, idp, _user("twin"))
    response = client.post(f"{SCIM}/Users", json=_user("twin"), headers=idp)
    assert (response.status_code, response.json()["scimType"]) == (409, "uniqueness")
