"""Admin pages: org tree and roles, the flow editor with simulate, the sync monitor, replay."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from sqlalchemy import select, update

from baoxiao.kernel.db import Database
from baoxiao.models import Delivery
from baoxiao.models.integration import DeliveryStatus
from tests.support.factories import World
from tests.support.integrations import create_webhook
from tests.web.conftest import Browser
from tests.web.test_claim_pages import submitted_claim

Open = Callable[..., Browser]
FLOW = """schema: baoxiao.approval-flow/v1
key: web-flow
name: Web flow
claim_type: "*"
priority: 5
nodes:
  - id: manager
    name: Direct manager
    approvers: [{type: manager, level: 1}]
    fallback: escalate
"""


def test_the_admin_page_shows_the_org_tree_people_and_roles(
    browser_for: Open, world: World
) -> None:
    page = browser_for("admin", "zh-CN").get("/admin").text
    assert "组织架构" in page and world["claimant"].user.username in page
    assert "财务" in page  # the finance role, localized
    assert page.count("<li><strong>") >= 4  # ROOT and its three departments


def test_a_flow_is_created_checked_simulated_and_published(browser_for: Open, world: World) -> None:
    admin = browser_for("admin")
    broken = admin.post("/admin/flows/new", {"document": "key: [unclosed"})
    assert (
        broken.status_code == 422 and 'id="flow-problems"' in broken.text and "YAML" in broken.text
    )
    invalid = admin.post("/admin/flows/new", {"document": "key: x\n"})
    assert invalid.status_code == 422 and "<li>" in invalid.text
    created = admin.post("/admin/flows/new", {"document": FLOW})
    assert created.status_code == 303
    flow_id = re.search(r"/admin/flows/([0-9a-f-]{36})", created.headers["location"])
    assert flow_id
    editor = admin.get(created.headers["location"])
    assert "web-flow" in editor.text and 'id="simulate-form"' in editor.text
    simulated = admin.htmx(
        "/admin/flows/simulate",
        {
            "document": FLOW,
            "claimant_id": str(world["claimant"].employee.id),  # type: ignore[union-attr]
            "category_code": "TAXI",
            "amount": "80.00",
        },
    )
    assert simulated.status_code == 200 and "Direct manager" in simulated.text
    assert world["manager"].user.username in simulated.text  # the manager by name
    bad_sim = admin.htmx("/admin/flows/simulate", {"document": FLOW, "claimant_id": "x"})
    assert "error-box" in bad_sim.text
    published = admin.post(
        f"/admin/flows/{flow_id.group(1)}/draft", {"document": FLOW, "publish": "1"}
    )
    assert published.status_code == 303 and "done=published" in published.headers["location"]
    assert "published" in admin.get("/admin/flows").text


def test_the_sync_monitor_lists_dead_letters_and_replays_them(
    browser_for: Open, world: World, db: Database
) -> None:
    admin = browser_for("admin")
    hook = create_webhook(admin.client, world["admin"].headers, "http://127.0.0.1:9/hook", "s" * 32)
    hook_id = uuid.UUID(hook["id"])
    submitted_claim(browser_for("claimant"))
    with db.transaction() as session:
        ids = list(session.scalars(select(Delivery.id).where(Delivery.connector_id == hook_id)))
        assert ids, "the submitted claim's events fan out to the webhook"
        # The state the dispatcher leaves after the last failed attempt.
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids))
            .values(status=DeliveryStatus.DEAD, attempts=8, last_error="connection refused")
        )
    monitor = admin.get("/admin/integrations").text
    assert "ERP hook" in monitor and "connection refused" in monitor
    fragment = admin.get("/admin/integrations", headers={"HX-Request": "true"}).text
    assert fragment.lstrip().startswith('<section id="monitor"')
    dead = admin.get(f"/admin/integrations/{hook['id']}").text
    assert dead.count('name="delivery_id"') == len(ids)
    replayed = admin.post(
        f"/admin/integrations/{hook['id']}/replay", {"delivery_id": [str(ids[0])]}
    )
    assert replayed.headers["location"].endswith("replayed=1")
    rest = admin.post(f"/admin/integrations/{hook['id']}/replay", {"everything": "1"})
    assert rest.headers["location"].endswith(f"replayed={len(ids) - 1}")
    with db.transaction() as session:
        statuses = set(session.scalars(select(Delivery.status).where(Delivery.id.in_(ids))))
        assert statuses == {DeliveryStatus.PENDING}


def test_the_dashboard_charts_what_the_person_may_see(browser_for: Open) -> None:
    me, manager, finance = browser_for("claimant"), browser_for("manager"), browser_for("finance")
    submitted_claim(me)
    manager.post(
        "/inbox/batch",
        {"task_id": re.findall(r'name="task_id" value="([^"]+)"', manager.get("/inbox").text)},
    )
    finance.post(
        "/inbox/batch",
        {"task_id": re.findall(r'name="task_id" value="([^"]+)"', finance.get("/inbox").text)},
    )
    page = me.get("/").text
    data = re.search(r'<script type="application/json" id="chart-by-category">(.*?)</script>', page)
    assert data and '"values": ["50.00"]' in data.group(1) and '"TAXI"' in data.group(1)
    assert "echarts.min.js" in page
    outsider = browser_for("outsider").get("/").text
    assert '"values": []' in outsider  # nothing of the claimant's is shown to a peer elsewhere
