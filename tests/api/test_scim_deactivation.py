"""Deactivation through SCIM (PATCH or PUT active=false, DELETE) ends the person's access
at once and hands over their tasks; it never removes the company's last active admin."""

from __future__ import annotations

import uuid
from importlib import resources
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity import deps, lifecycle, sessions
from baoxiao.identity.service import issue_token
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, AuditRecord, IdentitySettings, User
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.api.scim_support import SCIM, idp_headers, patch_op
from tests.support.factories import World, make_person

EXAMPLES = resources.files("baoxiao.approvals").joinpath("examples")
OFF = patch_op({"op": "replace", "path": "active", "value": False})


@pytest.fixture
def idp(db: Database, world: World) -> dict[str, str]:
    return idp_headers(db, world)


def _publish_escalating_flow(client: TestClient, world: World) -> None:
    """The manager step escalates when its approver leaves (the built-in one skips)."""
    doc = yaml.safe_load(EXAMPLES.joinpath("simple-two-level.yaml").read_text(encoding="utf-8"))
    h = world["admin"].headers
    created = client.post("/api/v1/approval-flows", json=doc, headers=h)
    assert created.status_code == 201, created.text
    published = client.post(f"/api/v1/approval-flows/{created.json()['id']}/publish", headers=h)
    assert published.status_code == 200, published.text


def _deprovision(client: TestClient, idp: dict[str, str], how: str, user_id: str) -> Any:
    url = f"{SCIM}/Users/{user_id}"
    if how == "patch":
        return client.patch(url, json=OFF, headers=idp)
    if how == "put":
        current = client.get(url, headers=idp).json()
        current.pop("meta")
        return client.put(url, json={**current, "active": False}, headers=idp)
    return client.delete(url, headers=idp)


def _actions(db: Database, subject: str) -> set[str]:
    with db.transaction() as session:
        return set(
            session.scalars(select(AuditRecord.action).where(AuditRecord.subject_id == subject))
        )


@pytest.mark.parametrize(
    ("how", "status", "scim_action"),
    [
        ("patch", 200, "scim:user_patch"),
        ("put", 200, "scim:user_replace"),
        ("delete", 204, "scim:user_delete"),
    ],
)
def test_scim_deactivation_ends_access_and_hands_over_tasks(
    api: Api,
    client: TestClient,
    world: World,
    db: Database,
    settings: Settings,
    idp: dict[str, str],
    how: str,
    status: int,
    scim_action: str,
) -> None:
    _publish_escalating_flow(client, world)
    claim = api.create()
    api.submit(claim["id"])
    leaver, fallback = world["manager"], world["outsider"].employee
    assert fallback is not None
    with db.transaction() as session:
        user = session.get(User, leaver.user.id)
        assert user is not None
        _web, cookie = sessions.start(
            session, user, method="password", policy=settings.session_policy
        )
        _t, plain = issue_token(session, user, name="cli")
        session.add(
            IdentitySettings(company_id=world.company.id, leaver_fallback_employee_id=fallback.id)
        )
    personal = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/me", headers=personal).status_code == 200
    client.cookies.set(deps.SESSION_COOKIE, cookie)
    assert client.get("/", follow_redirects=False).status_code == 200

    done = _deprovision(client, idp, how, str(leaver.user.id))

    assert done.status_code == status, done.text
    # Refused on the very next request: the token, the browser session.
    assert client.get("/api/v1/me", headers=personal).status_code == 401
    page = client.get("/", follow_redirects=False)
    client.cookies.clear()
    assert page.status_code in (302, 303) and "/login" in page.headers["location"]
    with db.transaction() as session:
        open_task = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.claim_id == uuid.UUID(claim["id"]), ApprovalTask.status == "pending"
            )
        ).one()
        assert open_task.assignee_id == fallback.id  # the configured fallback, not the boss
        assert open_task.origin == "hand_over"
    assert {
        "user:deactivate",
        "user:tokens_revoked",
        "user:sessions_ended",
        "user:tasks_handed_over",
        scim_action,
    } <= _actions(db, str(leaver.user.id))


@pytest.mark.parametrize("how", ["patch", "put", "delete"])
def test_scim_never_deactivates_the_last_active_admin(
    client: TestClient, world: World, db: Database, idp: dict[str, str], how: str
) -> None:
    admin = world["admin"]
    refused = _deprovision(client, idp, how, str(admin.user.id))
    assert refused.status_code == 400, refused.text
    assert refused.json()["scimType"] == "mutability"
    assert "last active administrator" in refused.json()["detail"]
    assert client.get("/api/v1/me", headers=admin.headers).status_code == 200
    assert client.get(f"{SCIM}/Users/{admin.user.id}", headers=idp).json()["active"] is True
    assert "user:deactivate" not in _actions(db, str(admin.user.id))


def test_scim_deprovisions_an_admin_who_left_while_another_remains(
    client: TestClient, world: World, db: Database, idp: dict[str, str]
) -> None:
    with db.transaction() as session:
        make_person(session, world.company, "second-admin", department=None, roles=("admin",))
    admin = world["admin"]
    gone = client.delete(f"{SCIM}/Users/{admin.user.id}", headers=idp)
    assert gone.status_code == 204, gone.text
    assert client.get("/api/v1/me", headers=admin.headers).status_code == 401
    assert "user:deactivate" in _actions(db, str(admin.user.id))


def test_refuse_last_admin_counts_active_company_and_all_scope_admins(
    db: Database, world: World
) -> None:
    with db.transaction() as session:
        admin = session.get(User, world["admin"].user.id)
        assert admin is not None
        with pytest.raises(lifecycle.LastAdmin):
            lifecycle.refuse_last_admin(session, admin)
        peer = session.get(User, world["peer"].user.id)
        assert peer is not None
        lifecycle.refuse_last_admin(session, peer)  # not an admin: nothing to keep
        # An admin at department scope administers nobody; one at `all` scope (even of
        # another company) does.
        make_person(
            session,
            world.company,
            "dept-admin",
            department=None,
            scoped_roles=(("admin", "department", world.departments["RD"].id),),
        )
        with pytest.raises(lifecycle.LastAdmin):
            lifecycle.refuse_last_admin(session, admin)
        assert world.other_company is not None
        make_person(
            session,
            world.other_company,
            "group-admin",
            department=None,
            scoped_roles=(("admin", "all", None),),
        )
        lifecycle.refuse_last_admin(session, admin)
