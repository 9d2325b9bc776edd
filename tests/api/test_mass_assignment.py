"""Mass assignment is closed: no write accepts status, approved amounts, the claimant,
the company, owner fields or payment data it does not own (ASVS 15.3.3).

Every write schema forbids unknown fields, so a smuggled field is a 422 and the
stored row is unchanged; the tests check both.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import LINE, Api
from tests.support.factories import World

V1 = "/api/v1"
OTHER = "0190a000-0000-7000-8000-000000000000"

SMUGGLED_CLAIM_FIELDS = [
    {"status": "approved"},
    {"approved_amount": "99999.00"},
    {"total_amount": "0.01"},
    {"claimant_id": OTHER},
    {"company_id": OTHER},
    {"created_by_id": OTHER},
    {"number": "BX-HACK"},
    {"paid_at": "2026-01-01T00:00:00Z"},
    {"payee_account": "6222 0000 0000 0000"},
    {"version": 99},
]


@pytest.mark.parametrize("extra", SMUGGLED_CLAIM_FIELDS, ids=lambda e: next(iter(e)))
def test_creating_a_claim_refuses_server_owned_fields(
    client: TestClient, world: World, extra: dict[str, Any]
) -> None:
    body = {"reason": "trip", "lines": [LINE], **extra}
    response = client.post(f"{V1}/claims", json=body, headers=world["claimant"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"
    assert [e["field"] for e in response.json()["errors"]] == [f"body.{next(iter(extra))}"]


@pytest.mark.parametrize("extra", SMUGGLED_CLAIM_FIELDS, ids=lambda e: next(iter(e)))
def test_editing_a_claim_refuses_server_owned_fields(
    api: Api, client: TestClient, world: World, extra: dict[str, Any]
) -> None:
    claim = api.create()
    response = client.patch(
        f"{V1}/claims/{claim['id']}", json=extra, headers=world["claimant"].headers
    )
    assert response.status_code == 422
    after = client.get(f"{V1}/claims/{claim['id']}", headers=world["claimant"].headers).json()
    for key in ("status", "total_amount", "claimant", "company_id", "number", "version"):
        assert after[key] == claim[key]


@pytest.mark.parametrize(
    "extra",
    [{"claim_id": OTHER}, {"converted_amount": "1.00"}, {"policy_outcome": "pass"}, {"id": OTHER}],
)
def test_lines_refuse_server_owned_fields(
    api: Api, client: TestClient, world: World, extra: dict[str, Any]
) -> None:
    claim = api.create()
    added = client.post(
        f"{V1}/claims/{claim['id']}/lines",
        json={**LINE, **extra},
        headers=world["claimant"].headers,
    )
    assert added.status_code == 422
    line = claim["lines"][0]["id"]
    edited = client.patch(
        f"{V1}/claims/{claim['id']}/lines/{line}", json=extra, headers=world["claimant"].headers
    )
    assert edited.status_code == 422


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tokens", {"name": "x", "scopes": ["claims:read"], "user_id": OTHER}),
        ("/tokens", {"name": "x", "scopes": ["claims:read"], "kind": "service"}),
        ("/role-assignments", {"user_id": OTHER, "role": "cashier", "source": "scim:group"}),
        ("/service-users", {"username": "svc", "display_name": "s", "employee_id": OTHER}),
        ("/service-users", {"username": "svc", "display_name": "s", "company_id": OTHER}),
        ("/identity-settings", {"leaver_fallback_employee_id": None, "company_id": OTHER}),
    ],
)
def test_identity_writes_refuse_owner_fields(
    client: TestClient, world: World, path: str, body: dict[str, Any]
) -> None:
    method = "PUT" if path == "/identity-settings" else "POST"
    response = client.request(method, f"{V1}{path}", json=body, headers=world["admin"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


def test_paying_takes_no_payee_or_amount_from_the_client(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.approved_claim()
    body = {"external_reference": "TX-1", "amount": "1.00", "payee_account": "6222"}
    response = client.post(
        f"{V1}/claims/{claim['id']}/mark-paid", json=body, headers=world["cashier"].headers
    )
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"body.amount", "body.payee_account"}
