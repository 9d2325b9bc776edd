"""The audit trail for auditors: their companies' records only, filters, paging, and a
hash-chain check that names the first tampered record."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from baoxiao.audit.service import record
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord
from baoxiao.models.identity import DataScope
from tests.api.conftest import Api
from tests.support.factories import World, make_person

URL = "/api/v1/audit-records"


def _auditors(db: Database, world: World) -> tuple[dict[str, str], dict[str, str]]:
    """A company-scoped auditor of company A and an all-scope auditor; their headers."""
    with db.transaction() as session:
        company = make_person(
            session, world.company, "aud-company", department=None, roles=("auditor",)
        )
        everywhere = make_person(
            session,
            world.company,
            "aud-all",
            department=None,
            scoped_roles=(("auditor", DataScope.ALL.value, None),),
        )
    return company.headers, everywhere.headers


def _seed(db: Database, client: TestClient, world: World) -> tuple[str, str]:
    """A submitted claim in each company and one system record; the two claim ids."""
    api = Api(client, world)
    mine = api.create()["id"]
    api.submit(mine)
    theirs = api.create(who="foreigner")["id"]
    api.submit(theirs, who="foreigner")
    with db.transaction() as session:
        record(
            session,
            actor="system",
            action="system:maintenance",
            subject_type="system",
            subject_id="purge",
            company_id=None,
        )
    return mine, theirs


def _all_pages(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = client.get(URL, params=query, headers=headers)
        assert page.status_code == 200, page.text
        items += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return items


def test_an_auditor_reads_their_companys_trail_only(
    client: TestClient, db: Database, world: World
) -> None:
    company_auditor, all_auditor = _auditors(db, world)
    mine, theirs = _seed(db, client, world)
    with db.transaction() as session:
        every = session.scalars(select(AuditRecord)).all()
        own = {r.seq for r in every if r.company_id == str(world.company.id)}
    seen = _all_pages(client, company_auditor, limit=3)
    assert {r["seq"] for r in seen} == own
    assert [r["seq"] for r in seen] == sorted(own, reverse=True)  # newest first, no repeats
    assert mine in {r["subject_id"] for r in seen}
    assert theirs not in {r["subject_id"] for r in seen}
    everything = _all_pages(client, all_auditor, limit=500)
    assert {r["seq"] for r in everything} == {r.seq for r in every}
    assert "system:maintenance" in {r["action"] for r in everything}


def test_filters_narrow_the_trail(client: TestClient, db: Database, world: World) -> None:
    company_auditor, _ = _auditors(db, world)
    mine, _theirs = _seed(db, client, world)
    claims = _all_pages(client, company_auditor, action="claim:*")
    assert claims and all(r["action"].startswith("claim:") for r in claims)
    submits = _all_pages(client, company_auditor, action="claim:submit", subject_id=mine)
    assert [(r["action"], r["subject_id"]) for r in submits] == [("claim:submit", mine)]
    actor = f"user:{world['claimant'].user.id}"
    by_claimant = _all_pages(client, company_auditor, actor=actor)
    assert by_claimant and {r["actor"] for r in by_claimant} == {actor}
    later = _all_pages(client, company_auditor, since="2999-01-01T00:00:00Z")
    assert later == []
    bad = client.get(URL, params={"cursor": "abc"}, headers=company_auditor)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_cursor")


def test_only_audit_rights_and_the_audit_scope_reach_it(
    client: TestClient, db: Database, world: World
) -> None:
    company_auditor, _ = _auditors(db, world)
    assert client.get(URL, headers=world["claimant"].headers).status_code == 403
    assert client.get(URL, headers=world["finance"].headers).status_code == 403
    assert client.get(URL, headers=world["admin"].headers).status_code == 200
    for scopes, status in ((["claims:read"], 403), (["audit:read"], 200)):
        token = client.post(
            "/api/v1/tokens", json={"name": "t", "scopes": scopes}, headers=company_auditor
        ).json()["access_token"]
        response = client.get(URL, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == status


def test_the_chain_check_names_the_first_tampered_record(
    client: TestClient, db: Database, world: World
) -> None:
    company_auditor, _ = _auditors(db, world)
    _seed(db, client, world)
    fine = client.get(f"{URL}/verification", headers=company_auditor)
    assert fine.status_code == 200
    assert fine.json()["ok"] is True and fine.json()["checked"] > 0
    assert client.get(f"{URL}/verification", headers=world["claimant"].headers).status_code == 403
    with db.transaction() as session:
        target = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "claim:submit")
        ).first()
        assert target is not None
        seq = target.seq
        target.data = {**target.data, "edited": True}
    broken = client.get(f"{URL}/verification", headers=company_auditor).json()
    assert broken["ok"] is False
    assert broken["broken_seq"] == seq
    assert broken["reason"] == "content does not match its hash"
