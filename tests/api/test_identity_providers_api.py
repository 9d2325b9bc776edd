"""Admin API for identity providers: CRUD, secrets never returned, test connection."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, IdentityProvider
from baoxiao.settings import Settings
from tests.support.factories import World
from tests.support.oidc import Client, OidcProvider

SECRET = "very-secret-client-secret"
URL = "/api/v1/identity-providers"


@pytest.fixture(scope="module")
def idp() -> Iterator[OidcProvider]:
    provider = OidcProvider(clients=[Client("admin-test", SECRET, ["corp"])], users={}).start()
    yield provider
    provider.stop()


def body(**fields: Any) -> dict[str, Any]:
    return {
        "key": "corp",
        "display_name": "Corp SSO",
        "issuer": "https://login.example.com",
        "client_id": "baoxiao",
        "client_secret": SECRET,
        "group_roles": {"fin": ["finance"]},
        **fields,
    }


def test_crud_never_shows_the_secret(
    client: TestClient, world: World, db: Database, settings: Settings
) -> None:
    admin = world["admin"].headers
    created = client.post(URL, json=body(), headers=admin)
    assert created.status_code == 201, created.text
    read = created.json()
    assert SECRET not in created.text
    assert read["has_client_secret"] is True
    assert read["redirect_uri"] == "http://testserver/auth/oidc/corp/callback"
    assert read["post_logout_redirect_uri"] == "http://testserver/auth/signed-out"
    assert read["scopes"] == ["openid", "email", "profile"]
    assert read["company_id"] == str(world.company.id)
    with db.transaction() as session:
        row = session.scalars(select(IdentityProvider)).one()
        assert row.client_secret is not None and SECRET not in row.client_secret
        assert settings.secret_box.decrypt(row.client_secret, context=f"idp:{row.id}") == SECRET

    assert client.post(URL, json=body(), headers=admin).json()["code"] == (
        "identity_provider_key_taken"
    )
    listed = client.get(URL, headers=admin)
    assert [p["key"] for p in listed.json()] == ["corp"] and SECRET not in listed.text

    changed = client.patch(
        f"{URL}/{read['id']}",
        json={"client_secret": "", "match_claim": "employee_number", "jit": True},
        headers=admin,
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["has_client_secret"] is False
    assert (changed.json()["match_claim"], changed.json()["jit"]) == ("employee_number", True)

    assert client.delete(f"{URL}/{read['id']}", headers=admin).status_code == 204
    assert client.get(f"{URL}/{read['id']}", headers=admin).status_code == 404
    with db.transaction() as session:
        actions = list(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.subject_type == "identity_provider")
            )
        )
        assert actions == [
            "identity_provider:create",
            "identity_provider:update",
            "identity_provider:delete",
        ]


def test_only_administrators_configure_sign_in(client: TestClient, world: World) -> None:
    created = client.post(URL, json=body(), headers=world["admin"].headers)
    provider_id = created.json()["id"]
    for who in ("claimant", "finance"):
        headers = world[who].headers
        assert client.post(URL, json=body(key="mine"), headers=headers).status_code == 403
        assert client.get(URL, headers=headers).json() == []
        assert client.get(f"{URL}/{provider_id}", headers=headers).status_code == 404
        assert client.delete(f"{URL}/{provider_id}", headers=headers).status_code == 404


@pytest.mark.parametrize(
    "bad",
    [
        {"match_claim": "phone"},
        {"key": "Has Spaces"},
        {"issuer": "ftp://idp.example.com"},
        {"group_roles": {"g": ["superuser"]}},
    ],
)
def test_invalid_configuration_is_refused(
    client: TestClient, world: World, bad: dict[str, Any]
) -> None:
    response = client.post(URL, json=body(**bad), headers=world["admin"].headers)
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_connection_test_reads_discovery_and_keys(
    client: TestClient, world: World, idp: OidcProvider
) -> None:
    admin = world["admin"].headers
    provider = client.post(URL, json=body(issuer=idp.issuer), headers=admin).json()
    response = client.post(f"{URL}/{provider['id']}/test", headers=admin)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["ok"] is True and result["issuer"] == idp.issuer
    assert result["token_endpoint"] == f"{idp.issuer}/token"
    assert result["end_session_endpoint"] == f"{idp.issuer}/session/end"
    assert result["jwks_keys"] == 1
    assert {"openid", "email", "groups"} <= set(result["scopes_supported"])


def test_connection_test_reports_an_unreachable_or_wrong_issuer(
    client: TestClient, world: World, idp: OidcProvider
) -> None:
    admin = world["admin"].headers
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    down = client.post(URL, json=body(key="down", issuer=dead), headers=admin).json()
    response = client.post(f"{URL}/{down['id']}/test", headers=admin)
    assert response.status_code == 502
    assert response.json()["code"] == "identity_provider_unreachable"
    # The provider answers, but says it is another issuer (a trailing slash differs).
    wrong = client.post(URL, json=body(key="wrong", issuer=idp.issuer + "/"), headers=admin).json()
    response = client.post(f"{URL}/{wrong['id']}/test", headers=admin)
    assert response.status_code == 502 and "issuer is" in response.json()["detail"]
