"""Helpers for the finance tests: budgets, bank accounts and paying through the API."""

from __future__ import annotations

from typing import Any

import jsonschema
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.integrations import catalog
from baoxiao.kernel.db import Database
from baoxiao.models import OutboxEvent
from tests.support.factories import World

BUDGETS = "/api/v1/budgets"


def budget_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "code": "RD-2026-11",
        "name": "R&D November",
        "period_kind": "month",
        "period": "2026-11",
        "amount": "100.00",
        "control": "block",
        "department_code": "RD",
    }
    body.update(overrides)
    return body


def create_budget(
    client: TestClient, world: World, who: str = "finance", **overrides: Any
) -> dict[str, Any]:
    response = client.post(BUDGETS, json=budget_body(**overrides), headers=world[who].headers)
    assert response.status_code == 201, response.text
    return response.json()


def position(client: TestClient, world: World, budget_id: str) -> dict[str, Any]:
    response = client.get(f"{BUDGETS}/{budget_id}", headers=world["finance"].headers)
    assert response.status_code == 200, response.text
    return response.json()


def figures(client: TestClient, world: World, budget_id: str) -> tuple[str, str, str, str]:
    p = position(client, world, budget_id)
    return p["total"], p["occupied"], p["consumed"], p["available"]


def entries(client: TestClient, world: World, budget_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{BUDGETS}/{budget_id}/entries", headers=world["finance"].headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def set_bank_account(
    client: TestClient,
    world: World,
    who: str,
    number: str = "6222020200112233445",
    password: str = "pw-secret-1",
) -> Any:
    person = world[who]
    assert person.employee is not None
    return client.put(
        f"/api/v1/employees/{person.employee.id}/bank-account",
        json={
            "holder_name": person.user.display_name,
            "bank_name": "中国工商银行",
            "branch_name": "上海分行",
            "account_number": number,
            "current_password": password,
        },
        headers=person.headers,
    )


def validate_events(db: Database, types: set[str]) -> int:
    """Every outbox event of these types matches its catalog schema; returns how many."""
    checked = 0
    with db.transaction() as session:
        for event in session.scalars(select(OutboxEvent).where(OutboxEvent.type.in_(types))):
            envelope = {
                "id": event.id,
                "type": event.type,
                "occurred_at": event.occurred_at.isoformat(),
                "company_id": event.company_id,
                "subject": {"type": event.subject_type, "id": event.subject_id},
                "subject_type": event.subject_type,
                "subject_id": event.subject_id,
                "sequence": event.sequence,
                "schema_version": event.schema_version,
                "data": event.data,
            }
            jsonschema.validate(envelope, catalog.schemas()[event.type])
            checked += 1
    return checked
