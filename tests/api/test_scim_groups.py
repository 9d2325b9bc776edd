"""SCIM Groups: business-role groups grant and take away roles (audited, source scim:group);
groups named for admin or integrator grant nothing; deleted users leave their groups."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, RoleAssignment
from tests.api.scim_support import (
    SCIM,
    create_group,
    create_user,
    idp_headers,
    patch_op,
    user_body,
)
from tests.support.factories import World


@pytest.fixture
def idp(db: Database, world: World) -> dict[str, str]:
    return idp_headers(db, world)


def _grants(db: Database, user_id: str) -> dict[str, tuple[str, str | None, str]]:
    """role -> (scope, source, company id) of every assignment the user holds."""
    with db.transaction() as session:
        rows = session.scalars(
            select(RoleAssignment).where(RoleAssignment.user_id == uuid.UUID(user_id))
        )
        return {r.role: (r.scope, r.source, str(r.company_id)) for r in rows}


def _role_audits(db: Database, user_id: str) -> list[tuple[str, dict[str, Any]]]:
    with db.transaction() as session:
        rows = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.subject_id == user_id, AuditRecord.action.like("role:%"))
            .order_by(AuditRecord.seq)
        )
        return [(r.action, dict(r.data)) for r in rows]


def test_role_groups_grant_and_take_away_roles_audited(
    client: TestClient, world: World, idp: dict[str, str], db: Database
) -> None:
    user = create_user(client, idp, user_body("zhou.li"))
    group = create_group(client, idp, "Cashiers", user["id"])
    company = str(world.company.id)
    assert _grants(db, user["id"]) == {
        "employee": ("company", None, company),
        "cashier": ("company", "scim:group", company),
    }
    removed = client.patch(
        f"{SCIM}/Groups/{group['id']}",
        json=patch_op({"op": "remove", "path": f'members[value eq "{user["id"]}"]'}),
        headers=idp,
    )
    assert removed.status_code == 200, removed.text
    assert set(_grants(db, user["id"])) == {"employee"}
    # A group that names no role grants nothing.
    create_group(client, idp, "Sales EMEA", user["id"])
    assert set(_grants(db, user["id"])) == {"employee"}
    source = {"role": "cashier", "source": "scim:group"}
    assert _role_audits(db, user["id"]) == [("role:grant", source), ("role:revoke", source)]


@pytest.mark.parametrize("name", ["Admins", "admin", "Baoxiao-Admins", "Integrators"])
def test_groups_named_for_admin_or_integrator_grant_nothing(
    client: TestClient, idp: dict[str, str], db: Database, name: str
) -> None:
    user = create_user(client, idp, user_body("mallory"))
    group = create_group(client, idp, name, user["id"])
    assert [m["value"] for m in group["members"]] == [user["id"]]  # kept as a plain group
    assert set(_grants(db, user["id"])) == {"employee"}
    assert _role_audits(db, user["id"]) == []
    replaced = client.put(
        f"{SCIM}/Groups/{group['id']}",
        json={**group, "displayName": f"{name} EMEA"},
        headers=idp,
    )
    assert replaced.status_code == 200, replaced.text
    assert set(_grants(db, user["id"])) == {"employee"}


def test_a_hand_granted_admin_survives_leaving_an_admins_group(
    client: TestClient, world: World, idp: dict[str, str], db: Database
) -> None:
    admin_id = str(world["admin"].user.id)
    group = create_group(client, idp, "Admins", admin_id)
    gone = client.delete(f"{SCIM}/Groups/{group['id']}", headers=idp)
    assert gone.status_code == 204
    assert _grants(db, admin_id)["admin"] == ("company", None, str(world.company.id))


def test_deleting_a_group_revokes_its_roles(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    first = create_user(client, idp, user_body("auditor.one"))
    second = create_user(client, idp, user_body("auditor.two"))
    group = create_group(client, idp, "baoxiao-auditors", first["id"], second["id"])
    create_group(client, idp, "Auditor", second["id"])  # the same role from another group
    assert "auditor" in _grants(db, first["id"]) and "auditor" in _grants(db, second["id"])
    gone = client.delete(f"{SCIM}/Groups/{group['id']}", headers=idp)
    assert gone.status_code == 204
    assert set(_grants(db, first["id"])) == {"employee"}
    assert _role_audits(db, first["id"])[-1] == (
        "role:revoke",
        {"role": "auditor", "source": "scim:group"},
    )
    assert _grants(db, second["id"])["auditor"][1] == "scim:group"  # still in "Auditor"
    assert client.get(f"{SCIM}/Groups/{group['id']}", headers=idp).status_code == 404


def test_a_deleted_user_leaves_their_groups(
    client: TestClient, idp: dict[str, str], db: Database
) -> None:
    leaver = create_user(client, idp, user_body("leaver"))
    stayer = create_user(client, idp, user_body("stayer"))
    group = create_group(client, idp, "Cashiers", leaver["id"])
    url = f"{SCIM}/Groups/{group['id']}"
    assert client.delete(f"{SCIM}/Users/{leaver['id']}", headers=idp).status_code == 204
    after = client.get(url, headers=idp).json()
    assert after.get("members") is None
    assert after["meta"]["version"] != group["meta"]["version"]
    assert set(_grants(db, leaver["id"])) == {"employee"}
    added = client.patch(
        url,
        json=patch_op({"op": "add", "path": "members", "value": [{"value": stayer["id"]}]}),
        headers=idp,
    )
    assert added.status_code == 200, added.text
    assert [m["value"] for m in added.json()["members"]] == [stayer["id"]]
    assert "cashier" in _grants(db, stayer["id"])
