"""Flow administration, pinning, simulate, and the runtime actions through the HTTP API."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.approvals.tasks import run_timers
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, OutboxEvent
from tests.api.conftest import Api
from tests.support.factories import World

FLOWS = "/api/v1/approval-flows"
TASKS = "/api/v1/approval-tasks"


def _flow(**over: Any) -> dict[str, Any]:
    doc = {
        "key": "big",
        "name": "Big claims",
        "priority": 5,
        "match": {"min_amount": "100"},
        "nodes": [
            {"id": "manager", "approvers": [{"type": "manager"}], "fallback": "escalate"},
            {"id": "boss", "approvers": [{"type": "manager", "level": 2}], "fallback": "admin"},
            {
                "id": "finance_review",
                "approvers": [{"type": "role", "role": "finance"}],
                "fallback": "admin",
            },
        ],
    }
    doc.update(over)
    return doc


def _publish(client: TestClient, world: World, doc: dict[str, Any]) -> dict[str, Any]:
    h = world["admin"].headers
    created = client.post(FLOWS, json=doc, headers=h)
    assert created.status_code == 201, created.text
    flow = created.json()
    published = client.post(f"{FLOWS}/{flow['id']}/publish", headers=h)
    assert published.status_code == 200, published.text
    return flow


def _big_claim(api: Api) -> dict[str, Any]:
    claim = api.create(
        lines=[{"category_code": "HOTEL", "expense_date": "2026-11-01", "amount": "500.00"}]
    )
    api.submit(claim["id"])
    return claim


def test_schema_is_served_and_errors_point_at_fields(client: TestClient, world: World) -> None:
    schema = client.get(f"{FLOWS}/schema", headers=world["admin"].headers).json()
    assert schema["$id"] == "urn:baoxiao:schema:approval-flow:v1"
    bad = _flow(nodes=[{"id": "x", "approvers": [{"type": "manager", "level": 0}]}])
    response = client.post(FLOWS, json=bad, headers=world["admin"].headers)
    assert response.status_code == 422
    assert response.json()["code"] == "flow_invalid"
    assert {e["field"] for e in response.json()["errors"]} == {"/nodes/0/approvers/0/level"}
    assert client.post(FLOWS, json=_flow(), headers=world["manager"].headers).status_code == 403


def test_publish_rejects_flows_that_cannot_run(client: TestClient, world: World) -> None:
    h = world["admin"].headers
    doc = _flow(nodes=[{"id": "a", "when": "claim.total >", "approvers": [{"type": "manager"}]}])
    flow = client.post(FLOWS, json=doc, headers=h).json()
    response = client.post(f"{FLOWS}/{flow['id']}/publish", headers=h)
    assert response.status_code == 422
    assert {e["field"] for e in response.json()["errors"]} == {"/nodes/0/when", "/nodes/0/fallback"}


def test_yaml_documents_are_accepted(client: TestClient, world: World) -> None:
    body = (
        "key: y\nname: Y\nnodes:\n  - id: m\n    approvers: [{type: manager}]\n    fallback: skip\n"
    )
    response = client.post(
        FLOWS,
        content=body.encode(),
        headers={**world["admin"].headers, "Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["versions"][0]["document"]["nodes"][0]["fallback"] == "skip"


def test_a_new_version_never_changes_a_claim_in_flight(
    api: Api, client: TestClient, world: World
) -> None:
    flow = _publish(client, world, _flow())
    claim = _big_claim(api)
    route = client.get(f"/api/v1/claims/{claim['id']}/route", headers=world["claimant"].headers)
    pinned = route.json()
    assert pinned["flow"]["key"] == "big" and pinned["flow"]["version"] == 1
    assert [s["node_id"] for s in pinned["steps"]] == ["manager", "boss", "finance_review"]
    h = world["admin"].headers
    v2 = _flow(
        nodes=[
            {"id": "only", "approvers": [{"type": "role", "role": "admin"}], "fallback": "admin"}
        ]
    )
    assert client.put(f"{FLOWS}/{flow['id']}/draft", json=v2, headers=h).status_code == 200
    assert client.post(f"{FLOWS}/{flow['id']}/publish", headers=h).json()["version"] == 2
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "boss")
    api.decide(claim["id"], "finance")
    after = client.get(f"/api/v1/claims/{claim['id']}/route", headers=world["claimant"].headers)
    assert after.json()["flow"]["version"] == 1
    assert after.json()["instance_status"] == "approved"


def test_simulate_explains_the_route(client: TestClient, world: World) -> None:
    _publish(client, world, _flow())
    body = {
        "claim": {
            "claimant_id": str(world["claimant"].employee.id),
            "lines": [{"category_code": "TAXI", "amount": "20"}],
        }
    }
    small = client.post(f"{FLOWS}/simulate", json=body, headers=world["admin"].headers).json()
    assert small["flow"]["builtin"] is True  # below min_amount: the default flow
    body["claim"]["lines"][0]["amount"] = "900"
    big = client.post(f"{FLOWS}/simulate", json=body, headers=world["admin"].headers).json()
    assert big["flow"]["key"] == "big"
    names = [
        [a["person"]["name"] if a["person"] else a["role"] for a in s["assignees"]]
        for s in big["steps"]
    ]
    assert names == [[world["manager"].employee.name], [world["boss"].employee.name], ["finance"]]
    assert big["nodes"][0]["reasons"] == ["no condition: always runs"]


def test_line_decision_lowers_the_approved_amount(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    task = api.task_for(claim["id"], "manager")
    body = {"lines": [{"line_id": claim["lines"][0]["id"], "approved_amount": "60.00"}]}
    too_much = client.post(
        f"{TASKS}/{task['id']}/approve", json=body, headers=world["manager"].headers
    )
    assert too_much.status_code == 422 and too_much.json()["field"] == "lines[0].approved_amount"
    body["lines"][0].update(approved_amount="30.00")
    no_reason = client.post(
        f"{TASKS}/{task['id']}/approve", json=body, headers=world["manager"].headers
    )
    assert no_reason.json()["field"] == "lines[0].reason"
    body["lines"][0]["reason"] = "taxi cap 30"
    ok = client.post(f"{TASKS}/{task['id']}/approve", json=body, headers=world["manager"].headers)
    assert ok.status_code == 200, ok.text
    view = client.get(f"/api/v1/claims/{claim['id']}", headers=world["claimant"].headers).json()
    assert (view["approved_amount"], view["lines"][0]["approved_amount"]) == ("30.00", "30.00")
    assert view["lines"][0]["approval_note"] == "taxi cap 30"
    api.decide(claim["id"], "finance")
    paid = client.post(f"/api/v1/claims/{claim['id']}/payments", headers=world["cashier"].headers)
    assert paid.status_code in (200, 201), paid.text
    assert paid.json()["amount"] == "30.00"
    route = client.get(f"/api/v1/claims/{claim['id']}/route", headers=world["claimant"].headers)
    assert route.json()["lines"][0] == {
        "line_id": claim["lines"][0]["id"],
        "claimed": "50.0000",
        "approved_amount": "30.0000",
        "reason": "taxi cap 30",
    }


def test_transfer_add_signer_and_return_to_an_earlier_node(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    task = api.task_for(claim["id"], "manager")
    moved = client.post(
        f"{TASKS}/{task['id']}/transfer",
        headers=world["manager"].headers,
        json={"to_employee_id": str(world["boss"].employee.id)},
    ).json()
    assert moved["assignee_id"] == str(world["boss"].employee.id) and moved["origin"] == "transfer"
    self_transfer = client.post(
        f"{TASKS}/{moved['id']}/transfer",
        headers=world["boss"].headers,
        json={"to_employee_id": str(world["claimant"].employee.id)},
    )
    assert self_transfer.json()["code"] == "invalid_assignee"
    added = client.post(
        f"{TASKS}/{moved['id']}/add-signer",
        headers=world["boss"].headers,
        json={"employee_id": str(world["peer"].employee.id), "position": "before"},
    )
    assert added.status_code == 200, added.text
    api.decide(claim["id"], "peer")
    api.decide(claim["id"], "boss")
    back = api.task_for(claim["id"], "finance")
    r = client.post(
        f"{TASKS}/{back['id']}/return",
        headers=world["finance"].headers,
        json={"comment": "check again", "to_node": "manager"},
    )
    assert r.status_code == 200, r.text
    claim_now = client.get(f"/api/v1/claims/{claim['id']}", headers=world["claimant"].headers)
    assert claim_now.json()["status"] == "approving"
    # The node runs again with whoever holds it now (the manager transferred it to the boss).
    redo = api.task_for(claim["id"], "boss")
    assert redo["step_name"] == "manager" and redo["origin"] == "return_to_node"


def test_delegation_routes_new_tasks_and_refuses_cycles(
    api: Api, client: TestClient, world: World
) -> None:
    now = datetime.now(UTC)
    span = {
        "starts_at": (now - timedelta(days=1)).isoformat(),
        "ends_at": (now + timedelta(days=5)).isoformat(),
    }
    h = world["manager"].headers
    made = client.post(
        "/api/v1/approval-delegations",
        headers=h,
        json={"delegate_id": str(world["peer"].employee.id), **span},
    )
    assert made.status_code == 201, made.text
    cycle = client.post(
        "/api/v1/approval-delegations",
        headers=world["peer"].headers,
        json={"delegate_id": str(world["manager"].employee.id), **span},
    )
    assert cycle.status_code == 422 and cycle.json()["field"] == "delegate_id"
    claim = api.create()
    api.submit(claim["id"])
    task = api.task_for(claim["id"], "peer")
    assert task["acting_for_id"] == str(world["manager"].employee.id)


def test_urge_comment_and_timers(api: Api, client: TestClient, world: World, db: Database) -> None:
    claim = api.create()
    api.submit(claim["id"])
    h = world["claimant"].headers
    assert client.post(f"/api/v1/claims/{claim['id']}/urge", headers=h).status_code == 200
    assert (
        client.post(f"/api/v1/claims/{claim['id']}/urge", headers=h).json()["code"]
        == "urged_too_often"
    )
    note = client.post(
        f"/api/v1/claims/{claim['id']}/comments",
        headers=world["manager"].headers,
        json={"comment": "looking"},
    )
    assert note.status_code == 204
    with db.transaction() as session:
        task = session.get(ApprovalTask, uuid.UUID(api.task_for(claim["id"], "manager")["id"]))
        assert task is not None
        task.remind_at = task.escalate_at = datetime.now(UTC) - timedelta(minutes=1)
    with db.transaction() as session:
        result = run_timers(session, datetime.now(UTC))
        assert (result.reminded, result.escalated) == (1, 1)
        types = list(
            session.scalars(
                select(OutboxEvent.type)
                .where(OutboxEvent.subject_id == claim["id"])
                .order_by(OutboxEvent.sequence)
            )
        )
    assert "approval.task.urged" in types and "approval.task.reminded" in types
    assert api.task_for(claim["id"], "boss")["origin"] == "escalation"


def test_dual_control_needs_two_distinct_people(api: Api, client: TestClient, world: World) -> None:
    doc = _flow(
        key="dual",
        match={},
        settings={"dual_control_above": "10"},
        nodes=[
            {"id": "fin", "approvers": [{"type": "role", "role": "finance"}], "fallback": "admin"}
        ],
    )
    _publish(client, world, doc)
    claim = api.create()
    api.submit(claim["id"])
    route = client.get(f"/api/v1/claims/{claim['id']}/route", headers=world["claimant"].headers)
    assert [s["node_id"] for s in route.json()["steps"]] == ["fin", "dual_control"]
    api.decide(claim["id"], "finance")
    second = api.task_for(claim["id"], "manager")  # the claimant's manager is the second person
    assert second["step_name"] == "dual_control"
    api.decide(claim["id"], "manager")
    view = client.get(f"/api/v1/claims/{claim['id']}", headers=world["claimant"].headers)
    assert view.json()["status"] == "approved"
