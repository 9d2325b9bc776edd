"""Role assignments with data scopes, scoped API tokens, service users and deactivation."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import timedelta
from importlib import resources
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity import admin, sessions
from baoxiao.identity.errors import ReauthenticationRequired, SessionInvalid
from baoxiao.identity.service import principal_for
from baoxiao.kernel.db import Database
from baoxiao.kernel.sessions import SessionPolicy
from baoxiao.models import ApprovalTask, AuditRecord, Employee, IdentitySettings, User
from tests.api.conftest import Api
from tests.support.factories import World, make_person

V1 = "/api/v1"
EXAMPLES = resources.files("baoxiao.approvals").joinpath("examples")


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client: TestClient, world: World, who: str, scopes: list[str]) -> str:
    response = client.post(
        f"{V1}/tokens", json={"name": "script", "scopes": scopes}, headers=world[who].headers
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["access_token"]
    return token


# ---- scoped tokens ------------------------------------------------------------------------------


def test_a_read_token_reads_but_cannot_write(client: TestClient, world: World) -> None:
    token = _token(client, world, "claimant", ["claims:read"])
    assert client.get(f"{V1}/claims", headers=_bearer(token)).status_code == 200
    denied = client.post(f"{V1}/claims", json={"reason": "x", "lines": []}, headers=_bearer(token))
    assert denied.status_code == 403
    assert denied.json()["code"] == "insufficient_scope"
    assert denied.json()["required"] == "claims:write"
    assert client.get(f"{V1}/departments", headers=_bearer(token)).status_code == 403


def test_scopes_never_exceed_the_roles(client: TestClient, world: World) -> None:
    # payments:write on an employee's token does not make them a cashier.
    token = _token(client, world, "claimant", ["payments:write", "claims:read"])
    claim = client.post(
        f"{V1}/claims", json={"reason": "x", "lines": []}, headers=world["claimant"].headers
    ).json()
    paid = client.post(f"{V1}/claims/{claim['id']}/mark-paid", headers=_bearer(token))
    assert paid.status_code == 403
    assert paid.json()["code"] == "forbidden"


def test_unknown_scopes_are_refused_at_creation(client: TestClient, world: World) -> None:
    response = client.post(
        f"{V1}/tokens",
        json={"name": "x", "scopes": ["claims:everything"]},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "unknown_scope"


def test_a_scoped_token_only_mints_narrower_tokens(client: TestClient, world: World) -> None:
    token = _token(client, world, "claimant", ["claims:read"])
    wider = client.post(
        f"{V1}/tokens", json={"name": "x", "scopes": ["claims:write"]}, headers=_bearer(token)
    )
    assert wider.status_code == 403
    same = client.post(
        f"{V1}/tokens", json={"name": "x", "scopes": ["claims:read"]}, headers=_bearer(token)
    )
    assert same.status_code == 201


def test_token_list_shows_scopes_expiry_and_last_use(client: TestClient, world: World) -> None:
    token = _token(client, world, "claimant", ["claims:read", "claims:write"])
    client.get(f"{V1}/claims", headers=_bearer(token))
    listed = client.get(f"{V1}/tokens", headers=world["claimant"].headers).json()
    row = next(t for t in listed if t["name"] == "script")
    assert row["scopes"] == ["claims:read", "claims:write"]
    assert row["expires_at"] is not None and row["last_used_at"] is not None


# ---- role assignments ---------------------------------------------------------------------------


def test_admin_grants_a_department_scoped_role_and_revokes_it(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    sales_claim = api.create("outsider")
    rd_claim = api.create("claimant")
    peer = world["peer"]
    body = {
        "user_id": str(peer.user.id),
        "role": "budget_owner",
        "scope": "department",
        "department_id": str(world.departments["SALES"].id),
    }
    granted = client.post(f"{V1}/role-assignments", json=body, headers=world["admin"].headers)
    assert granted.status_code == 201, granted.text
    assert granted.json()["scope"] == "department"
    seen = {c["id"] for c in client.get(f"{V1}/claims", headers=peer.headers).json()["items"]}
    assert sales_claim["id"] in seen  # the SALES subtree
    assert rd_claim["id"] not in seen  # a teammate's claim is outside the grant
    listed = client.get(f"{V1}/role-assignments", headers=world["admin"].headers).json()
    assert any(a["id"] == granted.json()["id"] for a in listed)
    gone = client.delete(
        f"{V1}/role-assignments/{granted.json()['id']}", headers=world["admin"].headers
    )
    assert gone.status_code == 204
    seen = {c["id"] for c in client.get(f"{V1}/claims", headers=peer.headers).json()["items"]}
    assert sales_claim["id"] not in seen
    with db.transaction() as session:
        actions = set(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.subject_id == str(peer.user.id))
            )
        )
    assert {"role:grant", "role:revoke"} <= actions


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"role": "manager"}, 422, "invalid_role_assignment"),  # from the org chart
        ({"role": "cashier", "scope": "department"}, 422, "invalid_role_assignment"),
        ({"role": "cashier", "scope": "all"}, 403, "forbidden"),  # only an all-companies admin
        (
            {"role": "cashier", "company_id": "0190a000-0000-7000-8000-000000000000"},
            422,
            "validation_error",
        ),  # mass assignment: the company is the admin's
        ({"role": "wizard"}, 422, "validation_error"),
    ],
)
def test_bad_grants_are_refused(
    client: TestClient, world: World, body: dict[str, Any], status: int, code: str
) -> None:
    full = {"user_id": str(world["peer"].user.id), **body}
    response = client.post(f"{V1}/role-assignments", json=full, headers=world["admin"].headers)
    assert (response.status_code, response.json()["code"]) == (status, code)


def test_nobody_changes_their_own_roles(client: TestClient, world: World) -> None:
    body = {"user_id": str(world["admin"].user.id), "role": "cashier"}
    response = client.post(f"{V1}/role-assignments", json=body, headers=world["admin"].headers)
    assert response.json()["code"] == "own_access_change_forbidden"


def test_role_changes_from_a_browser_need_a_recent_sign_in(db: Database, world: World) -> None:
    policy = SessionPolicy()
    with db.transaction() as session:
        user = session.get(User, world["admin"].user.id)
        assert user is not None
        web, _plain = sessions.start(session, user, method="password", policy=policy)
        principal = principal_for(user)
        browser = replace(principal, web_session_id=web.id)
        admin.require_recent_reauth(session, browser, policy)  # just signed in: fine
        web.authenticated_at -= policy.reauth + timedelta(seconds=1)
        session.flush()
        with pytest.raises(ReauthenticationRequired):
            admin.require_recent_reauth(session, browser, policy)
        admin.require_recent_reauth(session, principal, policy)  # bearer tokens: no session


# ---- service users ------------------------------------------------------------------------------


def test_an_admin_creates_a_service_user_with_a_scim_token(
    client: TestClient, world: World
) -> None:
    h = world["admin"].headers
    created = client.post(
        f"{V1}/service-users", json={"username": "okta", "display_name": "Okta"}, headers=h
    )
    assert created.status_code == 201, created.text
    uid = created.json()["id"]
    issued = client.post(
        f"{V1}/service-users/{uid}/tokens", json={"name": "scim", "scopes": ["scim"]}, headers=h
    )
    assert issued.status_code == 201
    token = issued.json()["access_token"]
    assert client.get("/scim/v2/Users", headers=_bearer(token)).status_code == 200
    assert client.get(f"{V1}/claims", headers=_bearer(token)).status_code == 403  # scope
    listed = client.get(f"{V1}/service-users/{uid}/tokens", headers=h).json()
    assert [t["scopes"] for t in listed] == [["scim"]]
    revoked = client.delete(f"{V1}/service-users/{uid}/tokens/{listed[0]['id']}", headers=h)
    assert revoked.status_code == 204
    assert client.get("/scim/v2/Users", headers=_bearer(token)).status_code == 401
    # An employee is no service user.
    emp = world["claimant"].user.id
    assert client.get(f"{V1}/service-users/{emp}/tokens", headers=h).status_code == 404


def test_only_admins_give_service_users_more_than_integrator(
    client: TestClient, world: World, db: Database
) -> None:
    with db.transaction() as session:
        integ = make_person(
            session, world.company, "integ", department=None, employee=False, roles=("integrator",)
        )
    body = {"username": "bot", "display_name": "Bot", "roles": ["cashier"]}
    response = client.post(f"{V1}/service-users", json=body, headers=integ.headers)
    assert response.status_code == 403
    body["roles"] = ["integrator"]
    assert client.post(f"{V1}/service-users", json=body, headers=integ.headers).status_code == 201


# ---- deactivation ------------------------------------------------------------------------------


def test_deactivation_ends_tokens_and_sessions_at_once_and_hands_over_tasks(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    # A flow whose manager step escalates when the approver leaves (the default one skips).
    doc = yaml.safe_load(EXAMPLES.joinpath("simple-two-level.yaml").read_text(encoding="utf-8"))
    created = client.post(f"{V1}/approval-flows", json=doc, headers=world["admin"].headers)
    assert created.status_code == 201, created.text
    flow_id = created.json()["id"]
    published = client.post(
        f"{V1}/approval-flows/{flow_id}/publish", headers=world["admin"].headers
    )
    assert published.status_code == 200, published.text
    claim = api.create()
    api.submit(claim["id"])
    manager = world["manager"]
    policy = SessionPolicy()
    with db.transaction() as session:
        user = session.get(User, manager.user.id)
        assert user is not None
        _web, cookie = sessions.start(session, user, method="password", policy=policy)
        session.add(
            IdentitySettings(
                company_id=world.company.id,
                leaver_fallback_employee_id=world["outsider"].employee.id,
            )
        )  # type: ignore[union-attr]
    token = _token(client, world, "manager", ["claims:read"])
    assert client.get(f"{V1}/me", headers=manager.headers).status_code == 200
    done = client.post(
        f"{V1}/users/{manager.user.id}/deactivate",
        json={"reason": "left"},
        headers=world["admin"].headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["tasks_handed_over"] == 1
    assert done.json()["sessions_ended"] == 1
    assert done.json()["tokens_revoked"] >= 2
    # Refused on the very next request: no minute of grace.
    assert client.get(f"{V1}/me", headers=manager.headers).status_code == 401
    assert client.get(f"{V1}/claims", headers=_bearer(token)).status_code == 401
    with db.transaction() as session, pytest.raises(SessionInvalid):
        sessions.resolve(session, cookie, policy)
    with db.transaction() as session:
        open_task = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.claim_id == uuid.UUID(claim["id"]), ApprovalTask.status == "pending"
            )
        ).one()
        # The company's configured fallback, not the leaver's own manager (boss).
        assert open_task.assignee_id == world["outsider"].employee.id  # type: ignore[union-attr]
        actions = set(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.subject_id == str(manager.user.id))
            )
        )
    assert {
        "user:deactivate",
        "user:tokens_revoked",
        "user:sessions_ended",
        "user:tasks_handed_over",
    } <= actions
    again = client.post(f"{V1}/users/{manager.user.id}/deactivate", headers=world["admin"].headers)
    assert again.json()["already_inactive"] is True
    assert again.json()["tasks_handed_over"] == 0


def test_only_user_admins_deactivate_and_never_themselves(client: TestClient, world: World) -> None:
    target = world["peer"].user.id
    assert (
        client.post(f"{V1}/users/{target}/deactivate", headers=world["manager"].headers).status_code
        == 403
    )
    own = client.post(
        f"{V1}/users/{world['admin'].user.id}/deactivate", headers=world["admin"].headers
    )
    assert own.json()["code"] == "own_access_change_forbidden"
    foreign = world["foreigner"].user.id
    assert (
        client.post(f"{V1}/users/{foreign}/deactivate", headers=world["admin"].headers).status_code
        == 404
    )


# ---- local logins: created for an employee, a forgotten password reset -------------------------


def _employee_without_login(db: Database, world: World, no: str = "E-NEW-1") -> uuid.UUID:
    with db.transaction() as session:
        emp = Employee(
            company_id=world.company.id,
            employee_no=no,
            name="Wang Fang",
            department_id=world.departments["RD"].id,
        )
        session.add(emp)
        session.flush()
        return emp.id


def test_an_admin_creates_a_local_login_with_a_temporary_password(
    client: TestClient, world: World, db: Database
) -> None:
    employee_id = _employee_without_login(db, world)
    body = {"employee_id": str(employee_id), "username": "wang.fang"}
    assert (
        client.post("/api/v1/users", json=body, headers=world["finance"].headers).status_code == 403
    )
    made = client.post("/api/v1/users", json=body, headers=world["admin"].headers)
    assert made.status_code == 201, made.text
    temporary = made.json()["temporary_password"]
    assert len(temporary) == 16 and made.json()["username"] == "wang.fang"
    signed_in = client.post(
        "/api/v1/auth/token", json={"username": "wang.fang", "password": temporary}
    )
    assert signed_in.status_code == 201
    me = client.get("/api/v1/me", headers=_bearer(signed_in.json()["access_token"])).json()
    assert me["employee_id"] == str(employee_id)
    assert [r["role"] for r in me["roles"]] == ["employee"]

    again = client.post("/api/v1/users", json=body, headers=world["admin"].headers)
    assert again.status_code == 409 and again.json()["code"] == "employee_has_login"
    other = _employee_without_login(db, world, "E-NEW-2")
    taken = {"employee_id": str(other), "username": "WANG.fang"}
    clash = client.post("/api/v1/users", json=taken, headers=world["admin"].headers)
    assert clash.status_code == 409 and clash.json()["code"] == "username_taken"
    bad = {"employee_id": str(other), "username": "-x y"}
    refused = client.post("/api/v1/users", json=bad, headers=world["admin"].headers)
    assert refused.status_code == 422
    foreign = {"employee_id": str(world["foreigner"].employee.id), "username": "someone"}  # type: ignore[union-attr]
    assert (
        client.post("/api/v1/users", json=foreign, headers=world["admin"].headers).status_code
        == 404
    )
    with db.transaction() as session:
        assert (
            session.scalars(select(AuditRecord).where(AuditRecord.action == "user:create"))
            .one()
            .subject_id
            == made.json()["user_id"]
        )


def test_a_forgotten_password_is_replaced_and_sign_ins_end(
    client: TestClient, world: World, db: Database
) -> None:
    employee_id = _employee_without_login(db, world)
    made = client.post(
        "/api/v1/users",
        json={"employee_id": str(employee_id), "username": "wang.fang"},
        headers=world["admin"].headers,
    ).json()
    first = client.post(
        "/api/v1/auth/token", json={"username": "wang.fang", "password": made["temporary_password"]}
    ).json()["access_token"]
    url = f"/api/v1/users/{made['user_id']}/password-reset"
    assert client.post(url, headers=world["finance"].headers).status_code == 403
    own = client.post(
        f"/api/v1/users/{world['admin'].user.id}/password-reset", headers=world["admin"].headers
    )
    assert own.status_code == 403
    reset = client.post(url, headers=world["admin"].headers)
    assert reset.status_code == 200, reset.text
    new = reset.json()["temporary_password"]
    assert new != made["temporary_password"]
    assert client.get("/api/v1/me", headers=_bearer(first)).status_code == 401  # login token ended
    old = {"username": "wang.fang", "password": made["temporary_password"]}
    assert client.post("/api/v1/auth/token", json=old).status_code == 401
    fresh = {"username": "wang.fang", "password": new}
    assert client.post("/api/v1/auth/token", json=fresh).status_code == 201
    with db.transaction() as session:
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "user:password_reset")
        ).one()
        assert audit.actor == f"user:{world['admin'].user.id}" and new not in str(audit.data)
