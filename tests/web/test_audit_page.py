"""The audit trail page: auditors see their company's records, filter them, page back
and check the hash chain; others get the 403 page and no menu entry."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.audit.service import record
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord
from tests.support.factories import World, make_person
from tests.web.conftest import Browser

Open = Callable[..., Browser]
LINE = {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "50.00"}


def _claims(anonymous: TestClient, world: World, who: str, count: int) -> list[str]:
    ids = []
    for _ in range(count):
        made = anonymous.post(
            "/api/v1/claims", json={"reason": "trip", "lines": [LINE]}, headers=world[who].headers
        )
        assert made.status_code == 201, made.text
        ids.append(made.json()["id"])
    return ids


def _rows(html: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<tr id="audit-(\d+)">', html)]


def test_an_auditor_pages_back_through_their_companys_trail(
    browser_for: Open, anonymous: TestClient, db: Database, world: World
) -> None:
    with db.transaction() as session:
        world.people["auditor"] = make_person(
            session, world.company, "auditor-1", department=None, roles=("auditor",)
        )
    mine = _claims(anonymous, world, "claimant", 3)
    theirs = _claims(anonymous, world, "foreigner", 2)
    with db.transaction() as session:  # more than a page of them
        for n in range(60):
            record(
                session,
                actor="system",
                action="budget:import",
                subject_type="budget",
                subject_id=f"b{n}",
                company_id=str(world.company.id),
            )
    me = browser_for("auditor", "zh-CN")
    first = me.get("/audit")
    assert first.status_code == 200
    assert 'href="/audit"' in first.text and "审计日志" in first.text
    older = re.search(r'href="(/audit\?[^"]+)" id="older"', first.text)
    assert older, "more than one page of records"
    second = me.get(older.group(1).replace("&amp;", "&"))
    seen = _rows(first.text) + _rows(second.text)
    with db.transaction() as session:
        own = session.scalars(
            select(AuditRecord.seq).where(AuditRecord.company_id == str(world.company.id))
        ).all()
    assert len(_rows(first.text)) == 50
    assert seen == sorted(own, reverse=True)[:100]  # newest first, this company's only
    everything = first.text + second.text + me.get("/audit", params={"action": "claim:*"}).text
    assert mine[-1] in everything and not any(t in everything for t in theirs)
    filtered = me.get("/audit", params={"action": "claim:*", "subject_id": mine[0]}).text
    assert _rows(filtered) and mine[0] in filtered and mine[1] not in filtered


def test_the_chain_check_is_shown_and_others_are_refused(
    browser_for: Open, db: Database, world: World
) -> None:
    me = browser_for("admin")
    ok = me.get("/audit", params={"check": "1"})
    assert ok.status_code == 200 and 'id="chain-ok"' in ok.text
    with db.transaction() as session:
        first = session.scalars(select(AuditRecord).order_by(AuditRecord.seq)).first()
        assert first is not None
        first.actor = "user:someone-else"
        seq = first.seq
    broken = me.get("/audit", params={"check": "1"}).text
    assert 'id="chain-broken"' in broken and f"record {seq}:" in broken
    employee = browser_for("claimant")
    assert employee.get("/audit").status_code == 403
    assert 'href="/audit"' not in employee.get("/claims").text
