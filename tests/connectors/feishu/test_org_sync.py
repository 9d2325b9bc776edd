"""Org sync from contact v3: a full sync of 2,000 users and 200 departments, then
incremental changes from contact events (created, updated, deleted)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from baoxiao.integrations.feishu import refs, sync
from baoxiao.kernel.db import Database
from baoxiao.models.identity import User, WebSession
from baoxiao.models.integration import ExternalRef
from baoxiao.models.org import Department, Employee
from tests.connectors.feishu.harness import Env, Running, inbox, start_env

USERS, DEPTS = 2000, 200


@pytest.fixture
def big_org(committing_db: Database, tmp_path: Path) -> Iterator[Env]:
    env = start_env(
        committing_db, tmp_path, "feishu", sim_args=("--generate-org", f"{USERS},{DEPTS}")
    )
    try:
        yield env
    finally:
        env.http.close()
        env.server.stop()
        env.sim.close()


def _count(env: Env, model: type, *where: object) -> int:
    with env.db.transaction() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_full_then_incremental_sync(big_org: Env, capsys: pytest.CaptureFixture[str]) -> None:
    env = big_org
    connector_id = uuid.UUID(env.connector_id)
    seen: dict[str, int] = {}
    started = time.perf_counter()
    report = sync.sync_org(
        env.db,
        env.box,
        connector_id,
        lambda phase, n: seen.__setitem__(phase, seen.get(phase, 0) + n),
    )
    full_seconds = time.perf_counter() - started
    assert report.departments_created == DEPTS  # the world's ROOT/RD/SALES/FIN match by code
    assert report.employees_created == USERS and report.deactivated == 0
    assert seen["users"] == USERS + 8 and seen["departments"] == DEPTS + 4
    links = _count(env, ExternalRef, ExternalRef.subject_type == refs.EMPLOYEE)
    assert links == USERS + 8
    with env.db.transaction() as session:
        emp = session.scalars(select(Employee).where(Employee.employee_no == "E000500")).one()
        leader = session.get(Employee, emp.manager_id)
        assert leader is not None and leader.employee_no == f"E{500 % DEPTS:06d}"
        dept = session.get(Department, emp.department_id)
        assert dept is not None and dept.name == f"Dept {500 % DEPTS}"
        assert dept.parent_id is not None and dept.head_id is not None
    again = time.perf_counter()
    second = sync.sync_org(env.db, env.box, connector_id)
    resync_seconds = time.perf_counter() - again
    assert (second.employees_created, second.employees_updated, second.deactivated) == (0, 0, 0)

    running = Running(env.dispatcher)
    try:
        started = time.perf_counter()
        new = env.sim.post(
            "/contact/users",
            {
                "open_id": "ou_newbie",
                "name": "Newbie",
                "email": "newbie@sim.example",
                "departments": ["od-gen00003"],
                "leader": "ou_gen000003",
            },
        )
        env.sim.control("PATCH", "/contact/users/ou_gen000007", {"name": "Renamed"})
        env.sim.control("DELETE", "/contact/users/ou_gen000009")
        env.sim.post(
            "/contact/departments",
            {"open_department_id": "od-new", "name": "New", "parent": "od-gen00001"},
        )
        env.sim.control("DELETE", "/contact/departments/od-gen00199")
        env.sim.wait_for(
            lambda: len([s for t, s, _ in inbox(env) if s == "applied"]) >= 5,
            30,
            "five contact events applied",
        )
        incremental_seconds = time.perf_counter() - started
    finally:
        running.stop()
    with env.db.transaction() as session:
        newbie = session.scalars(select(Employee).where(Employee.email == new["email"])).one()
        assert newbie.manager_id is not None and newbie.active
        renamed = session.scalars(select(Employee).where(Employee.employee_no == "E000007")).one()
        assert renamed.name == "Renamed"
        gone = session.scalars(select(Employee).where(Employee.employee_no == "E000009")).one()
        account = session.scalars(select(User).where(User.employee_id == gone.id)).one()
        assert not gone.active and not account.active
        assert (
            session.scalars(
                select(WebSession).where(
                    WebSession.user_id == account.id, WebSession.ended_at.is_(None)
                )
            ).all()
            == []
        )
        assert (
            not session.scalars(select(Department).where(Department.name == "Dept 199"))
            .one()
            .active
        )
    with capsys.disabled():
        print(
            f"\n[feishu org sync] full {USERS} users/{DEPTS} depts: {full_seconds:.1f} s; "
            f"re-sync (no changes): {resync_seconds:.1f} s; "
            f"5 contact events pushed and applied: {incremental_seconds:.2f} s"
        )
