"""Deactivation through SCIM (PATCH or PUT active=false, DELETE) never removes the
company's last active admin."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.identity import lifecycle
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, User
from tests.api.scim_support import SCIM, idp_headers, patch_op
from tests.support.factories import World, make_person

OFF = patch_op({"op": "replace", "path": "active", "value": False})


@pytest.fixture
def idp(db: Database, world: World) -> dict[str, str]:
    return idp_headers(db, world)


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
