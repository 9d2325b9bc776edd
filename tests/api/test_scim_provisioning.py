"""SCIM provisioning as an IdP uses it: users with the enterprise extension, filters,
pages, versions, deactivation and deletion (groups: test_scim_groups.py)."""

from __future__ import annotations

import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity.service import issue_token
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, Employee, User
from tests.api.scim_support import ENT, SCIM, create_user, idp_headers, patch_op, user_body
from tests.support.factories import World


@pytest.fixture
def idp(db: Database, world: World) -> dict[str, str]:
    return idp_headers(db, world)


def test_auth_needs_a_token_with_the_scim_right(
    client: TestClient, world: World, idp: dict[str, str]
) -> None:
    none = client.get(f"{SCIM}/Users")
    assert none.status_code == 401
    assert none.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert client.get(f"{SCIM}/Users", headers=world["admin"].headers).status_code == 403
    assert client.get(f"{SCIM}/Users", headers=idp).status_code == 200


def test_an_integrator_token_without_the_scim_scope_is_refused(
    client: TestClient, world: World, db: Database
) -> None:
    narrow = idp_headers(db, world, scopes=["integrations:admin"], username="connector-bot")
    refused = client.get(f"{SCIM}/Users", headers=narrow)
    assert refused.status_code == 403
    assert refused.json()["status"] == "403"
    assert "scim scope" in refused.json()["detail"]
    assert client.post(f"{SCIM}/Users", json=user_body("x"), headers=narrow).status_code == 403


def test_a_user_maps_to_an_employee_with_department_and_manager(
    client: TestClient, world: World, idp: dict[str, str], db: Database
) -> None:
    boss_id = str(world["manager"].user.id)
    body = user_body(
        "li.lei",
        **{ENT: {"employeeNumber": "E-9001", "department": "RD", "manager": {"value": boss_id}}},
    )
    created = create_user(client, idp, body)
    assert created[ENT]["manager"]["value"] == boss_id
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


def test_versions_change_on_write_and_a_stale_if_match_is_refused(
    client: TestClient, idp: dict[str, str]
) -> None:
    response = client.post(f"{SCIM}/Users", json=user_body("etag"), headers=idp)
    first = response.json()["meta"]["version"]
    assert response.headers["ETag"] == first and first.startswith('W/"')
    url = f"{SCIM}/Users/{response.json()['id']}"
    assert client.get(url, headers=idp).json()["meta"]["version"] == first  # reads change nothing
    rename = patch_op({"op": "replace", "path": "displayName", "value": "Etag Li"})
    patched = client.patch(url, json=rename, headers={**idp, "If-Match": first})
    assert patched.status_code == 200, patched.text
    second = patched.json()["meta"]["version"]
    assert second != first and patched.headers["ETag"] == second
    late = patch_op({"op": "replace", "path": "displayName", "value": "Overwritten"})
    stale = client.patch(url, json=late, headers={**idp, "If-Match": first})
    assert stale.status_code == 412
    assert stale.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert client.get(url, headers=idp).json()["displayName"] == "Etag Li"
    put = client.put(url, json=user_body("etag"), headers={**idp, "If-Match": first})
    assert put.status_code == 412
    fresh = client.put(url, json=user_body("etag"), headers={**idp, "If-Match": second})
    assert fresh.status_code == 200, fresh.text
    assert fresh.json()["meta"]["version"] not in (first, second)


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
    create_user(client, idp, user_body("li.lei"))
    create_user(client, idp, user_body("han.mei"))
    found = client.get(f"{SCIM}/Users", params={"filter": flt}, headers=idp).json()
    assert found["totalResults"] == 1
    assert [r["userName"] for r in found["Resources"]] == ["li.lei"]


def test_a_bad_filter_is_a_scim_400(client: TestClient, idp: dict[str, str]) -> None:
    response = client.get(f"{SCIM}/Users", params={"filter": "userName eq"}, headers=idp)
    assert response.status_code == 400
    assert response.json()["scimType"] == "invalidFilter"


def test_pages(client: TestClient, world: World, idp: dict[str, str]) -> None:
    for i in range(5):
        create_user(client, idp, user_body(f"p{i}"))
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


def test_scim_cannot_grant_roles_through_user_attributes(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    body = user_body("mallory", roles=[{"value": "admin"}], password="x")
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
    created = create_user(client, idp, user_body("leaver"))
    with db.transaction() as session:
        account = session.get(User, uuid.UUID(created["id"]))
        assert account is not None
        _t, plain = issue_token(session, account, name="cli")
    mine = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=mine).status_code == 200
    off = client.patch(
        f"{SCIM}/Users/{created['id']}",
        json=patch_op({"op": "replace", "path": "active", "value": False}),
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
    again = create_user(client, idp, user_body("leaver"))
    assert again["id"] != created["id"]


def test_only_an_explicit_active_true_reactivates(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    created = create_user(client, idp, user_body("returner"))
    url = f"{SCIM}/Users/{created['id']}"
    off = patch_op({"op": "replace", "path": "active", "value": False})
    assert client.patch(url, json=off, headers=idp).json()["active"] is False
    silent = {k: v for k, v in user_body("returner").items() if k != "active"}
    put = client.put(url, json=silent, headers=idp)  # an IdP that leaves active out
    assert put.status_code == 200, put.text
    assert put.json()["active"] is False
    with db.transaction() as session:
        account = session.get(User, uuid.UUID(created["id"]))
        assert account is not None and account.active is False
    rename = patch_op({"op": "replace", "path": "displayName", "value": "Back Again"})
    assert client.patch(url, json=rename, headers=idp).json()["active"] is False
    back = client.put(url, json=user_body("returner"), headers=idp)  # active: true
    assert back.json()["active"] is True
    with db.transaction() as session:
        account = session.get(User, uuid.UUID(created["id"]))
        assert account is not None and account.active is True
        actions = session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.subject_id == created["id"], AuditRecord.action.like("user:%"))
            .order_by(AuditRecord.seq)
        ).all()
    assert actions == ["user:deactivate", "user:reactivate"]


def test_patch_removing_active_unsets_it_which_means_active(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    """scim2-tester's remove check: the attribute comes back unassigned. An unset active
    means active, so an explicit remove (unlike a PUT that leaves it out) reactivates."""
    created = create_user(client, idp, user_body("remover", active=False))
    url = f"{SCIM}/Users/{created['id']}"
    assert created["active"] is False
    removed = client.patch(url, json=patch_op({"op": "remove", "path": "active"}), headers=idp)
    assert removed.status_code == 200, removed.text
    assert "active" not in removed.json()
    assert "active" not in client.get(url, headers=idp).json()
    with db.transaction() as session:
        account = session.get(User, uuid.UUID(created["id"]))
        assert account is not None and account.active is True


def test_duplicate_usernames_are_a_uniqueness_conflict(
    client: TestClient, idp: dict[str, str]
) -> None:
    create_user(client, idp, user_body("twin"))
    response = client.post(f"{SCIM}/Users", json=user_body("twin"), headers=idp)
    assert (response.status_code, response.json()["scimType"]) == (409, "uniqueness")
