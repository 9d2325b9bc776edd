"""Tasks that move: transfer and escalation follow delegations, admin reassignment,
hand-over of a deactivated approver's tasks, and amount-range reachability at publish."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.approvals import handover, service
from baoxiao.approvals.tasks import run_timers
from baoxiao.integrations.feishu import org
from baoxiao.kernel.db import Database
from baoxiao.models import ApprovalTask, AuditRecord, IdentitySettings, OutboxEvent
from baoxiao.models.org import Employee
from tests.api.conftest import Api
from tests.support.factories import World

FLOWS = "/api/v1/approval-flows"
TASKS = "/api/v1/approval-tasks"


def _publish(client: TestClient, world: World, nodes: list[dict[str, Any]], **doc: Any) -> None:
    h = world["admin"].headers
    body = {"key": "reroute", "name": "Reroute", "priority": 5, "nodes": nodes, **doc}
    flow = client.post(FLOWS, json=body, headers=h)
    assert flow.status_code == 201, flow.text
    published = client.post(f"{FLOWS}/{flow.json()['id']}/publish", headers=h)
    assert published.status_code == 200, published.text


def _delegate(client: TestClient, world: World, who: str, to: str) -> None:
    now = datetime.now(UTC)
    made = client.post(
        "/api/v1/approval-delegations",
        headers=world[who].headers,
        json={
            "delegate_id": str(world[to].employee.id),  # type: ignore[union-attr]
            "starts_at": (now - timedelta(days=1)).isoformat(),
            "ends_at": (now + timedelta(days=5)).isoformat(),
        },
    )
    assert made.status_code == 201, made.text


def _emp(world: World, who: str) -> str:
    emp = world[who].employee
    assert emp is not None
    return str(emp.id)


def _events(db: Database, claim_id: str) -> list[tuple[str, str | None]]:
    with db.transaction() as session:
        rows = session.scalars(
            select(OutboxEvent)
            .where(OutboxEvent.subject_id == claim_id, OutboxEvent.type.like("approval.task.%"))
            .order_by(OutboxEvent.sequence)
        )
        return [(e.type, e.data.get("assignee_id")) for e in rows]


def test_publish_refuses_a_node_outside_the_matched_amounts(
    client: TestClient, world: World
) -> None:
    h = world["admin"].headers
    doc = {
        "key": "small",
        "name": "Small claims",
        "match": {"max_amount": "3000", "when": "claim.total >= 100 || claim.type == 'x'"},
        "nodes": [
            {"id": "a", "approvers": [{"type": "manager"}], "fallback": "skip"},
            {
                "id": "b",
                "when": "claim.total > 5000",
                "approvers": [{"type": "manager"}],
                "fallback": "skip",
            },
            {
                "id": "c",
                "when": "claim.total > 2000 && size(lines) > 1",
                "approvers": [{"type": "manager"}],
                "fallback": "skip",
            },
            {
                "id": "d",
                "when": "claim.total_minor > 300000 || (claim.total > 4000 && size(lines) > 1)",
                "approvers": [{"type": "manager"}],
                "fallback": "skip",
            },
        ],
    }
    flow = client.post(FLOWS, json=doc, headers=h).json()
    response = client.post(f"{FLOWS}/{flow['id']}/publish", headers=h)
    assert response.status_code == 422
    errors = response.json()["errors"]
    assert {e["field"] for e in errors} == {"/nodes/1/when", "/nodes/3/when"}
    assert all("can never hold" in e["message"] and "[-inf, 3000]" in e["message"] for e in errors)
    doc["match"] = {"min_amount": "100", "when": "claim.total < 50"}
    doc["nodes"] = doc["nodes"][:1]
    client.put(f"{FLOWS}/{flow['id']}/draft", json=doc, headers=h)
    response = client.post(f"{FLOWS}/{flow['id']}/publish", headers=h)
    assert [e["field"] for e in response.json()["errors"]] == ["/match/when"]


def test_transfer_goes_to_the_targets_delegate_never_to_the_claimant(
    api: Api, client: TestClient, world: World
) -> None:
    _delegate(client, world, "boss", "outsider")
    first = api.create()
    api.submit(first["id"])
    task = api.task_for(first["id"], "manager")
    moved = client.post(
        f"{TASKS}/{task['id']}/transfer",
        json={"to_employee_id": _emp(world, "boss")},
        headers=world["manager"].headers,
    ).json()
    assert moved["assignee_id"] == _emp(world, "outsider")
    assert moved["acting_for_id"] == _emp(world, "boss")
    assert api.task_for(first["id"], "outsider")["id"] == moved["id"]

    _delegate(client, world, "peer", "claimant")  # never hands the claimant their own claim
    second = api.create()
    api.submit(second["id"])
    task = api.task_for(second["id"], "manager")
    moved = client.post(
        f"{TASKS}/{task['id']}/transfer",
        json={"to_employee_id": _emp(world, "peer")},
        headers=world["manager"].headers,
    ).json()
    assert moved["assignee_id"] == _emp(world, "peer") and moved["acting_for_id"] is None


def test_escalation_goes_to_the_delegate_of_the_managers_manager(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    _delegate(client, world, "boss", "outsider")
    _delegate(client, world, "outsider", "peer")  # a chain is followed to its end
    claim = api.create()
    api.submit(claim["id"])
    with db.transaction() as session:
        task = session.get(ApprovalTask, uuid.UUID(api.task_for(claim["id"], "manager")["id"]))
        assert task is not None
        task.escalate_at = datetime.now(UTC) - timedelta(minutes=1)
    with db.transaction() as session:
        assert run_timers(session, datetime.now(UTC)).escalated == 1
    escalated = api.task_for(claim["id"], "peer")
    assert escalated["origin"] == "escalation"
    assert escalated["acting_for_id"] == _emp(world, "boss")


def test_an_admin_reassigns_someone_elses_task(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    claim = api.create()
    api.submit(claim["id"])
    task = api.task_for(claim["id"], "manager")
    url = f"{TASKS}/{task['id']}/reassign"
    body = {"to_employee_id": _emp(world, "boss"), "comment": "manager on leave"}
    assert client.post(url, json=body, headers=world["peer"].headers).status_code == 404
    assert client.post(url, json=body, headers=world["finance"].headers).status_code == 404
    to_claimant = client.post(
        url, json={"to_employee_id": _emp(world, "claimant")}, headers=world["admin"].headers
    )
    assert to_claimant.status_code == 422 and to_claimant.json()["code"] == "invalid_assignee"
    moved = client.post(url, json=body, headers=world["admin"].headers)
    assert moved.status_code == 200, moved.text
    assert moved.json()["assignee_id"] == _emp(world, "boss")
    assert moved.json()["origin"] == "reassign"
    again = client.post(url, json=body, headers=world["admin"].headers)
    assert again.status_code == 409 and again.json()["code"] == "task_already_decided"
    assert _events(db, claim["id"])[-2:] == [
        ("approval.task.completed", _emp(world, "manager")),
        ("approval.task.created", _emp(world, "boss")),
    ]
    with db.transaction() as session:
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "approval_task:reassign")
        ).one()
        assert audit.subject_id == claim["id"] and audit.actor.startswith("user:")
        assert audit.data["from_employee_id"] == _emp(world, "manager")
    api.decide(claim["id"], "boss")
    assert api.task_for(claim["id"], "finance")["step_name"] == "finance_review"

    own = api.create(who="admin")  # an admin never steers their own claim's route
    api.submit(own["id"], who="admin")
    fin = api.task_for(own["id"], "finance")
    mine = client.post(
        f"{TASKS}/{fin['id']}/reassign",
        json={"to_employee_id": _emp(world, "cashier")},
        headers=world["admin"].headers,
    )
    assert mine.status_code == 403 and mine.json()["code"] == "self_approval_forbidden"


def _deactivate(db: Database, world: World, who: str) -> list[ApprovalTask]:
    with db.transaction() as session:
        emp = session.get(Employee, uuid.UUID(_emp(world, who)))
        assert emp is not None
        emp.active = False
        moved = service.hand_over_tasks(session, emp.id, "system:org-sync")
        assert service.hand_over_tasks(session, emp.id, "system:org-sync") == []  # idempotent
        session.expunge_all()
        return moved


def test_hand_over_follows_the_nodes_fallback(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    _publish(
        client,
        world,
        [
            {"id": "mgr", "approvers": [{"type": "manager"}], "fallback": "escalate"},
            {
                "id": "named",
                "approvers": [{"type": "user", "user": "E-" + world["manager"].user.username}],
                "fallback": "admin",
            },
            {"id": "fin", "approvers": [{"type": "role", "role": "finance"}], "fallback": "admin"},
        ],
        settings={"skip_repeated_approver": False},
    )
    _delegate(client, world, "boss", "outsider")
    claim = api.create()
    api.submit(claim["id"])
    before = _events(db, claim["id"])
    moved = _deactivate(db, world, "manager")
    assert [(t.step_name, t.status, t.origin) for t in moved] == [
        ("mgr", "pending", "hand_over"),  # escalate: the leaver's manager, via their delegate
        ("named", "waiting", "hand_over"),  # admin fallback, still waiting its turn
    ]
    assert moved[0].assignee_id == uuid.UUID(_emp(world, "outsider"))
    assert moved[0].acting_for_id == uuid.UUID(_emp(world, "boss"))
    assert moved[1].assignee_id is None and moved[1].candidate_role == "admin"
    assert _events(db, claim["id"])[len(before) :] == [
        ("approval.task.completed", _emp(world, "manager")),
        ("approval.task.created", _emp(world, "outsider")),
    ]
    api.decide(claim["id"], "outsider")
    api.decide(claim["id"], "admin")
    api.decide(claim["id"], "finance")
    final = client.get(f"/api/v1/claims/{claim['id']}", headers=world["claimant"].headers)
    assert final.json()["status"] == "approved"
    with db.transaction() as session:
        actions = session.scalars(
            select(AuditRecord.action).where(AuditRecord.subject_id == claim["id"])
        ).all()
    assert actions.count("approval_task:hand_over") == 2


def test_hand_over_skip_drops_the_task_only_when_someone_else_decides(
    api: Api, world: World, db: Database
) -> None:
    claim = api.create()  # built-in flow: manager (fallback skip), then finance
    api.submit(claim["id"])
    assert _deactivate(db, world, "manager") == []
    assert api.task_for(claim["id"], "finance")["step_name"] == "finance_review"
    with db.transaction() as session:
        tasks = session.scalars(
            select(ApprovalTask).where(ApprovalTask.claim_id == uuid.UUID(claim["id"]))
        ).all()
        dropped = next(t for t in tasks if t.step_name == "manager")
        assert dropped.status == "cancelled" and "hand-over" in (dropped.comment or "")


def test_hand_over_gives_a_delegates_task_back_to_the_approver(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    _delegate(client, world, "manager", "peer")
    claim = api.create()
    api.submit(claim["id"])
    assert api.task_for(claim["id"], "peer")["acting_for_id"] == _emp(world, "manager")
    moved = _deactivate(db, world, "peer")
    assert [(t.assignee_id, t.acting_for_id) for t in moved] == [
        (uuid.UUID(_emp(world, "manager")), None)
    ]
    api.decide(claim["id"], "manager")


def test_hand_over_moves_every_open_task_however_many_in_batches(
    api: Api, client: TestClient, world: World, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handover, "BATCH", 2)  # five tasks: three rounds, not one capped read
    _publish(
        client, world, [{"id": "mgr", "approvers": [{"type": "manager"}], "fallback": "escalate"}]
    )
    claims = [api.create(reason=f"visit {i}") for i in range(5)]
    for claim in claims:
        api.submit(claim["id"])
    moved = _deactivate(db, world, "manager")
    assert sorted(str(t.claim_id) for t in moved) == sorted(c["id"] for c in claims)
    assert {t.assignee_id for t in moved} == {uuid.UUID(_emp(world, "boss"))}
    with db.transaction() as session:
        left = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.assignee_id == uuid.UUID(_emp(world, "manager")),
                ApprovalTask.status.in_(("pending", "waiting")),
            )
        ).all()
    assert left == []


def test_org_sync_hands_a_leaver_without_login_to_the_configured_fallback(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    _publish(
        client, world, [{"id": "mgr", "approvers": [{"type": "manager"}], "fallback": "escalate"}]
    )
    with db.transaction() as session:
        lead = Employee(
            company_id=world.company.id,
            employee_no="E-NOLOGIN",
            name="Wang Lead",
            department_id=world.departments["RD"].id,
            manager_id=uuid.UUID(_emp(world, "boss")),
        )
        session.add(lead)
        session.flush()
        claimant = session.get(Employee, uuid.UUID(_emp(world, "claimant")))
        assert claimant is not None
        claimant.manager_id = lead.id  # an approver Feishu knows but who never signed in
        session.add(
            IdentitySettings(
                company_id=world.company.id,
                leaver_fallback_employee_id=uuid.UUID(_emp(world, "outsider")),
            )
        )
        lead_id = lead.id
    claim = api.create()
    api.submit(claim["id"])
    with db.transaction() as session:
        lead = session.get(Employee, lead_id)
        assert lead is not None
        org.deactivate_employee(session, lead, actor="connector:feishu:test", reason="left")
    with db.transaction() as session:
        task = session.scalars(
            select(ApprovalTask).where(
                ApprovalTask.claim_id == uuid.UUID(claim["id"]), ApprovalTask.status == "pending"
            )
        ).one()
        # The company's configured fallback, as for a leaver with a login; not the boss.
        assert task.assignee_id == uuid.UUID(_emp(world, "outsider"))
        audit = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "identity:deactivate")
        ).one()
    assert audit.data["fallback_employee_id"] == _emp(world, "outsider")
    assert audit.data["tasks_handed_over"] == 1
