"""What the SCIM tests share: an IdP's token and the payloads it sends."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from baoxiao.identity.service import issue_token
from baoxiao.kernel.db import Database
from tests.support.factories import World, make_person

SCIM = "/scim/v2"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def idp_headers(
    db: Database, world: World, scopes: list[str] | None = None, username: str = "azure-ad"
) -> dict[str, str]:
    """Headers of an IdP's provisioning client: an integrator service user's token."""
    with db.transaction() as session:
        bot = make_person(
            session,
            world.company,
            username,
            department=None,
            employee=False,
            roles=("integrator",),
        )
        _t, plain = issue_token(
            session, bot.user, name="scim", scopes=["scim"] if scopes is None else scopes
        )
    return {"Authorization": f"Bearer {plain}", "Content-Type": "application/scim+json"}


def user_body(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "schemas": [CORE, ENT],
        "userName": name,
        "displayName": f"{name} Wang",
        "externalId": f"ext-{name}",
        "active": True,
        "emails": [{"value": f"{name}@corp.example", "primary": True, "type": "work"}],
        **extra,
    }


def create_user(client: TestClient, idp: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = client.post(f"{SCIM}/Users", json=body, headers=idp)
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    created: dict[str, Any] = response.json()
    return created


def create_group(
    client: TestClient, idp: dict[str, str], name: str, *member_ids: str
) -> dict[str, Any]:
    body = {
        "schemas": [GROUP],
        "displayName": name,
        "members": [{"value": m} for m in member_ids],
    }
    response = client.post(f"{SCIM}/Groups", json=body, headers=idp)
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def patch_op(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(operations)}
