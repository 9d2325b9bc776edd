"""Admin pages: org tree and roles, the flow editor with simulate, the sync monitor, replay."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pyotp
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from baoxiao.identity import totp
from baoxiao.identity.passwords import hash_password
from baoxiao.kernel import clock
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, Delivery, Employee, RoleAssignment, User, WebSession
from baoxiao.models.integration import DeliveryStatus
from tests.support.factories import World
from tests.support.integrations import create_webhook
from tests.support.signin import post_login
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


# ---- one person: roles with data scopes, second factor, deactivation ---------------------------


def _assignments(page: str) -> set[tuple[str, str]]:
    return set(
        re.findall(r'<tr id="assignment-[0-9a-f-]{36}" data-role="(\w+)" data-scope="(\w+)">', page)
    )


def test_an_admin_grants_a_scoped_role_and_removes_it_on_the_page(
    browser_for: Open, world: World, db: Database
) -> None:
    admin = browser_for("admin")
    claimant = world["claimant"].user
    home = admin.get("/admin").text
    assert f'href="/admin/people/{claimant.id}"' in home
    url = f"/admin/people/{claimant.id}"
    page = admin.get(url)
    assert page.status_code == 200 and claimant.username in page.text
    assert _assignments(page.text) == {("employee", "company")}
    assert 'id="reauth"' not in page.text  # just signed in
    chinese = browser_for("admin", "zh-CN").get(url).text
    assert "角色与数据范围" in chinese and "授予角色" in chinese and "整个公司" in chinese

    sales = world.departments["SALES"].id
    missing = admin.post(f"{url}/roles", {"role": "finance", "scope": "department"})
    assert missing.status_code == 422 and 'id="person-problem"' in missing.text
    bogus = admin.post(f"{url}/roles", {"role": "overlord", "scope": "company"})
    assert bogus.status_code == 422
    granted = admin.post(
        f"{url}/roles", {"role": "finance", "scope": "department", "department_id": str(sales)}
    )
    assert granted.status_code == 303 and granted.headers["location"] == f"{url}?done=granted"
    page = admin.get(granted.headers["location"]).text
    assert _assignments(page) == {("employee", "company"), ("finance", "department")}
    assert "Role saved." in page
    with db.transaction() as session:
        row = session.scalars(
            select(RoleAssignment).where(
                RoleAssignment.user_id == claimant.id, RoleAssignment.role == "finance"
            )
        ).one()
        assert (row.scope, row.department_id) == ("department", sales)
        assigned = row.id
        actions = set(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.subject_id == str(claimant.id))
            )
        )
        assert "role:grant" in actions
    # Only an all-companies admin may grant all-companies reach.
    assert admin.post(f"{url}/roles", {"role": "auditor", "scope": "all"}).status_code == 403
    assert '<option value="all"' not in page

    removed = admin.post(f"{url}/roles/{assigned}/revoke")
    assert removed.status_code == 303
    assert _assignments(admin.get(url).text) == {("employee", "company")}
    assert admin.post(f"{url}/roles/{assigned}/revoke").status_code == 404  # already gone


def test_the_person_page_is_for_user_admins_and_never_for_ones_own_access(
    browser_for: Open, world: World
) -> None:
    url = f"/admin/people/{world['claimant'].user.id}"
    for who in ("claimant", "manager", "finance", "cashier"):
        assert browser_for(who).get(url).status_code == 403, who
    admin = browser_for("admin")
    other = admin.get(f"/admin/people/{world['foreigner'].user.id}")
    assert other.status_code == 404  # another company's account does not exist here
    mine = admin.get(f"/admin/people/{world['admin'].user.id}").text
    assert 'id="own-account"' in mine and 'id="grant-form"' not in mine
    assert 'id="deactivate-form"' not in mine
    own = admin.post(f"/admin/people/{world['admin'].user.id}/roles", {"role": "auditor"})
    assert own.status_code == 403
    no_token = admin.client.post(f"{url}/roles", data={"role": "auditor"}, follow_redirects=False)
    assert no_token.status_code == 403


def test_changes_from_an_old_sign_in_need_the_password_again(
    browser_for: Open, world: World, db: Database
) -> None:
    with db.transaction() as session:
        user = session.get(User, world["admin"].user.id)
        assert user is not None
        user.password_hash = hash_password("admin-Pa55word!")
        world["admin"].user.password_hash = user.password_hash
    admin = browser_for("admin")
    with db.transaction() as session:
        session.execute(
            update(WebSession)
            .where(WebSession.user_id == world["admin"].user.id)
            .values(authenticated_at=clock.utcnow() - timedelta(hours=1))
        )
    url = f"/admin/people/{world['claimant'].user.id}"
    page = admin.get(url).text
    assert 'id="reauth"' in page and f'name="next" value="{url}"' in page
    refused = admin.post(f"{url}/roles", {"role": "auditor", "scope": "company"})
    assert refused.status_code == 403 and "confirm your password" in refused.text
    wrong = admin.post("/auth/confirm", {"password": "not it", "next": url})
    assert wrong.status_code == 401
    confirmed = admin.post("/auth/confirm", {"password": "admin-Pa55word!", "next": url})
    assert confirmed.status_code == 303 and confirmed.headers["location"] == url
    assert 'id="reauth"' not in admin.get(url).text
    assert admin.post(f"{url}/roles", {"role": "auditor", "scope": "company"}).status_code == 303


def test_an_admin_resets_a_second_factor_and_deactivates_a_leaver(
    browser_for: Open, world: World, db: Database
) -> None:
    claimant = world["claimant"].user
    with db.transaction() as session:
        user = session.get(User, claimant.id)
        assert user is not None
        secret, _uri = totp.enroll(session, user)
        totp.confirm(session, user, pyotp.TOTP(secret).now())
    leaver = browser_for("claimant")
    assert leaver.get("/").status_code == 200
    admin = browser_for("admin")
    url = f"/admin/people/{claimant.id}"
    page = admin.get(url).text
    assert 'id="totp-reset-form"' in page
    reset = admin.post(f"{url}/totp-reset")
    assert reset.status_code == 303 and reset.headers["location"] == f"{url}?done=totp_reset"
    page = admin.get(f"{url}?done=totp_reset").text
    assert 'id="totp-reset-form"' not in page and '<span id="totp-state">off</span>' in page
    with db.transaction() as session:
        user = session.get(User, claimant.id)
        assert user is not None and user.totp_secret is None and user.totp_enabled_at is None

    gone = admin.post(f"{url}/deactivate", {"reason": "left the company"})
    assert gone.status_code == 303
    page = admin.get(f"{url}?done=deactivated").text
    assert 'id="person-status">Inactive' in page and 'id="deactivate-form"' not in page
    # Their browser is signed out at once.
    after = leaver.client.get("/", follow_redirects=False)
    assert after.status_code == 303 and after.headers["location"].startswith("/login")
    with db.transaction() as session:
        user = session.get(User, claimant.id)
        assert user is not None and not user.active
        actions = set(
            session.scalars(
                select(AuditRecord.action).where(AuditRecord.subject_id == str(claimant.id))
            )
        )
        assert {"user:totp_reset", "user:deactivate"} <= actions


def test_an_admin_creates_a_login_and_later_sets_a_temporary_password(
    browser_for: Open, world: World, db: Database, anonymous: TestClient
) -> None:
    with db.transaction() as session:
        emp = Employee(
            company_id=world.company.id,
            employee_no="E-WEB-9",
            name="Zhao Lei",
            department_id=world.departments["SALES"].id,
        )
        session.add(emp)
        session.flush()
        employee_id = emp.id
    admin = browser_for("admin")
    home = admin.get("/admin").text
    assert f'name="employee_id" value="{employee_id}"' in home and 'value="e-web-9"' in home
    made = admin.post("/admin/people", {"employee_id": str(employee_id), "username": "zhao.lei"})
    assert made.status_code == 200 and 'id="temporary-password"' in made.text
    first = re.search(r'<code id="temporary-value">([^<]+)</code>', made.text)
    assert first
    assert made.headers["cache-control"] == "private, no-store"
    signed_in = post_login(anonymous, {"username": "zhao.lei", "password": first.group(1)})
    assert signed_in.status_code == 303
    with db.transaction() as session:
        user = session.scalars(select(User).where(User.username == "zhao.lei")).one()
        user_id = user.id
    page = admin.get(f"/admin/people/{user_id}").text
    assert 'id="temporary-password"' not in page  # shown only once
    reset = admin.post(f"/admin/people/{user_id}/password-reset")
    second = re.search(r'<code id="temporary-value">([^<]+)</code>', reset.text)
    assert reset.status_code == 200 and second and second.group(1) != first.group(1)
    assert anonymous.get("/", follow_redirects=False).status_code == 303  # signed out by the reset
    duplicate = admin.post("/admin/people", {"employee_id": str(employee_id), "username": "z2"})
    assert duplicate.status_code == 409
