"""Connector instances, deliveries to a real receiver, the monitor and /metrics."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import select

from baoxiao.connectors.webhook import crypto
from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel.db import Database
from baoxiao.models.integration import ConnectorInstance, Delivery
from baoxiao.models.org import Company
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support.factories import make_person
from tests.support.integrations import create_webhook, fast_settings
from tests.support.receiver import Receiver

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def secret() -> str:
    return crypto.new_secret()


@pytest.fixture
def receiver(secret: str) -> Iterator[Receiver]:
    rec = Receiver(secret).start()
    yield rec
    rec.stop()


def drain(db: Database, settings: Settings, passes: int = 10) -> None:
    dispatcher = Dispatcher(db, fast_settings(settings))
    try:
        for _ in range(passes):
            if not dispatcher.run_once():
                break
    finally:
        dispatcher.close()


def test_admin_configures_a_webhook_and_secrets_never_leave(
    api: Api, db: Database, receiver: Receiver, secret: str
) -> None:
    admin = api.world["admin"].headers
    created = create_webhook(api.client, admin, receiver.url, secret, event_types=["claim.*"])
    assert created["config"]["secret"] == "********"
    assert created["config"]["url"] == receiver.url
    assert created["callback_url"].endswith(f"/api/v1/integrations/{created['id']}/events")
    with db.transaction() as session:
        row = session.get(ConnectorInstance, uuid.UUID(created["id"]))
        assert row is not None
        assert secret not in json.dumps(row.secrets) and secret not in json.dumps(row.config)
        assert row.secrets["secret"].startswith("v1.")
    listed = api.client.get("/api/v1/connectors", headers=admin).json()
    assert [c["id"] for c in listed] == [created["id"]]
    assert secret not in api.client.get(f"/api/v1/connectors/{created['id']}", headers=admin).text

    # A PATCH without the secret keeps it; adding previous_secret starts a rotation.
    old = crypto.new_secret()
    patched = api.client.patch(
        f"/api/v1/connectors/{created['id']}",
        json={"config": {"previous_secret": old}, "name": "ERP"},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["config"] == {
        **created["config"],
        "previous_secret": "********",
    }
    assert patched.json()["name"] == "ERP"
    with db.transaction() as session:
        row = session.get(ConnectorInstance, uuid.UUID(created["id"]))
        assert row is not None and set(row.secrets) == {"secret", "previous_secret"}
    ended = api.client.patch(
        f"/api/v1/connectors/{created['id']}",
        json={"config": {"previous_secret": None}},
        headers=admin,
    )
    assert ended.json()["config"] == created["config"]


def test_only_integration_admins_manage_connectors(api: Api, secret: str) -> None:
    body = {"kind": "webhook", "name": "x", "config": {"url": "https://e.com", "secret": secret}}
    for who in ("claimant", "finance", "manager"):
        response = api.client.post("/api/v1/connectors", json=body, headers=api.world[who].headers)
        assert response.status_code == 403, who
        assert api.client.get("/api/v1/connectors", headers=api.world[who].headers).json() == []
    created = create_webhook(api.client, api.world["admin"].headers, "https://e.com/h", secret)
    response = api.client.get(
        f"/api/v1/connectors/{created['id']}", headers=api.world["finance"].headers
    )
    assert response.status_code == 404
    assert response.json()["code"] == "connector_not_found"
    admin = api.world["admin"].headers
    assert (
        api.client.delete(f"/api/v1/connectors/{created['id']}", headers=admin).status_code == 204
    )
    assert api.client.get(f"/api/v1/connectors/{created['id']}", headers=admin).status_code == 404


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "fax", "config": {}}, "unknown_connector_kind"),
        ({"kind": "webhook", "config": {"url": "ftp://x", "secret": "whsec_QUFB"}}, None),
        ({"kind": "webhook", "config": {"url": "https://x.com"}}, "connector_config_invalid"),
    ],
)
def test_config_is_validated_by_the_connector_schema(
    api: Api, body: dict[str, object], code: str | None
) -> None:
    response = api.client.post(
        "/api/v1/connectors", json={"name": "n", **body}, headers=api.world["admin"].headers
    )
    assert response.status_code == 422
    assert response.json()["code"] == (code or "connector_config_invalid")
    assert "whsec_QUFB" not in response.text


def test_events_reach_the_receiver_signed_and_in_order(
    api: Api, db: Database, settings: Settings, receiver: Receiver, secret: str
) -> None:
    admin = api.world["admin"].headers
    # Claim and approval events only: vouchers (voucher.created) have subjects of their own.
    hook = create_webhook(
        api.client, admin, receiver.url, secret, event_types=["claim.*", "approval.*"]
    )
    second = Receiver(secret).start()
    try:
        only_claims = create_webhook(
            api.client, admin, second.url, secret, event_types=["claim.approved"]
        )
        claim = api.approved_claim()
        drain(db, settings)
    finally:
        second.stop()
    assert [receiver.applied[i]["type"] for i in receiver.order] == [
        "claim.submitted",
        "approval.task.created",
        "approval.task.completed",
        "approval.task.created",
        "approval.task.completed",
        "claim.approved",
    ]
    assert receiver.sequences_by_subject() == {claim["id"]: [1, 2, 3, 4, 5, 6]}
    assert [e["type"] for e in second.applied.values()] == ["claim.approved"]
    assert receiver.bad_signatures == 0 and len(receiver.wire) == 6
    first = receiver.applied[receiver.order[0]]
    assert first["data"]["claim_id"] == claim["id"] and first["data"]["status"] == "submitted"
    with db.transaction() as session:
        rows = session.scalars(select(Delivery)).all()
        assert sorted((str(r.connector_id), r.status, r.attempts) for r in rows) == sorted(
            [(hook["id"], "delivered", 1)] * 6 + [(only_claims["id"], "delivered", 1)]
        )

    monitor = api.client.get("/api/v1/integrations/monitor", headers=admin).json()
    counts = {c["connector_id"]: (c["delivered"], c["pending"]) for c in monitor["connectors"]}
    assert counts == {hook["id"]: (6, 0), only_claims["id"]: (1, 0)}
    settings.metrics_token = SecretStr("scrape-token")  # the test client is not loopback
    assert api.client.get("/metrics").status_code == 401
    wrong = {"Authorization": "Bearer not-it"}
    assert api.client.get("/metrics", headers=wrong).status_code == 401
    scrape = {"Authorization": "Bearer scrape-token"}
    metrics = api.client.get("/metrics", headers=scrape).text
    assert (
        f'baoxiao_delivery_backlog{{connector_id="{hook["id"]}",connector_kind="webhook"}} 0.0'
        in (metrics)
    )
    assert "baoxiao_delivery_latency_seconds_bucket" in metrics


def test_permanent_refusal_is_dead_lettered_then_replayed(
    api: Api, db: Database, settings: Settings, receiver: Receiver, secret: str
) -> None:
    admin = api.world["admin"].headers
    hook = create_webhook(api.client, admin, receiver.url, secret, event_types=["claim.submitted"])
    receiver.behaviour.statuses = [400]
    claim = api.create()
    api.submit(claim["id"])
    drain(db, settings)
    dead = api.client.get(
        f"/api/v1/connectors/{hook['id']}/deliveries?status=dead", headers=admin
    ).json()
    assert len(dead) == 1 and dead[0]["last_status_code"] == 400 and dead[0]["attempts"] == 1
    assert receiver.applied == {}
    replay = api.client.post(f"/api/v1/connectors/{hook['id']}/replay", headers=admin)
    assert replay.json() == {"replayed": 1}
    drain(db, settings)
    assert [e["type"] for e in receiver.applied.values()] == ["claim.submitted"]
    done = api.client.get(f"/api/v1/connectors/{hook['id']}/deliveries", headers=admin).json()
    assert [(d["status"], d["attempts"]) for d in done] == [("delivered", 2)]


def test_gone_disables_the_subscription(
    api: Api, db: Database, settings: Settings, receiver: Receiver, secret: str
) -> None:
    admin = api.world["admin"].headers
    hook = create_webhook(api.client, admin, receiver.url, secret)
    receiver.behaviour.statuses = [410]
    claim = api.create()
    api.submit(claim["id"])
    drain(db, settings)
    state = api.client.get(f"/api/v1/connectors/{hook['id']}", headers=admin).json()
    assert state["enabled"] is False and "410" in state["disabled_reason"]
    assert receiver.applied == {}
    # Re-enabled, the paused deliveries go out in order.
    api.client.patch(f"/api/v1/connectors/{hook['id']}", json={"enabled": True}, headers=admin)
    drain(db, settings)
    assert [receiver.applied[i]["sequence"] for i in receiver.order] == [1, 2]


def test_blocked_destination_is_refused_unless_allowed(
    api: Api, receiver: Receiver, secret: str
) -> None:
    admin = api.world["admin"].headers
    hook = create_webhook(api.client, admin, receiver.url, secret, allow_private_network=False)
    health = api.client.post(f"/api/v1/connectors/{hook['id']}/test", headers=admin).json()
    assert health["ok"] is False and "internal address" in health["detail"]
    api.client.patch(
        f"/api/v1/connectors/{hook['id']}", json={"allow_private_network": True}, headers=admin
    )
    health = api.client.post(f"/api/v1/connectors/{hook['id']}/test", headers=admin).json()
    assert health == {"ok": True, "detail": "reachable (HTTP 200)"}


def test_event_catalog_is_served_and_matches_docs(api: Api) -> None:
    catalog = api.client.get("/api/v1/event-types").json()["event_types"]
    names = {entry["type"] for entry in catalog}
    assert {"claim.submitted", "claim.paid", "approval.task.created", "payment.failed"} <= names
    for entry in catalog:
        on_disk = json.loads((ROOT / "docs" / "events" / f"{entry['type']}.json").read_text())
        assert on_disk == entry["schema"]
    one = api.client.get("/api/v1/event-types/claim.paid").json()
    assert one["properties"]["type"] == {"const": "claim.paid"}
    assert api.client.get("/api/v1/event-types/claim.nope").status_code == 404


def test_an_all_scope_integrator_manages_every_companys_connectors(
    api: Api, db: Database, secret: str
) -> None:
    """A group IT integrator (integrator at `all` scope) lists and reads the connectors of
    every company, and so does the monitor; a company's own admin only sees their own."""
    world = api.world
    with db.transaction() as session:
        other = session.get(Company, world["foreigner"].user.company_id)
        assert other is not None
        world.people["foreign_admin"] = make_person(
            session, other, f"fadmin-{other.code}", department=None, roles=("admin",)
        )
        world.people["group_it"] = make_person(
            session,
            world.company,
            f"groupit-{world.company.code}",
            department=None,
            employee=False,
            scoped_roles=(("integrator", "all", None),),
        )
    theirs = create_webhook(api.client, world["foreign_admin"].headers, "https://e.com/b", secret)
    ours = create_webhook(api.client, world["admin"].headers, "https://e.com/a", secret)

    def listed(who: str) -> set[str]:
        got = api.client.get("/api/v1/connectors", headers=world[who].headers)
        assert got.status_code == 200, got.text
        return {c["id"] for c in got.json()} & {theirs["id"], ours["id"]}

    assert listed("group_it") == {theirs["id"], ours["id"]}
    assert listed("admin") == {ours["id"]}
    assert listed("foreign_admin") == {theirs["id"]}
    url = f"/api/v1/connectors/{theirs['id']}"
    assert api.client.get(url, headers=world["group_it"].headers).status_code == 200
    assert api.client.get(url, headers=world["admin"].headers).status_code == 404
    monitor = api.client.get("/api/v1/integrations/monitor", headers=world["group_it"].headers)
    assert monitor.status_code == 200, monitor.text
    seen = {c["connector_id"] for c in monitor.json()["connectors"]}
    assert {theirs["id"], ours["id"]} <= seen
