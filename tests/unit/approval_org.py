"""Small in-memory org charts for the pure engine's tests."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from baoxiao.approvals.definition import parse
from baoxiao.approvals.engine import Facts
from baoxiao.approvals.orgview import Delegation, DeptInfo, InMemoryOrg, PersonInfo

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def pid(n: int) -> uuid.UUID:
    return uuid.UUID(int=n)


def person(
    n: int, manager: int | None, dept: int | None = None, grade: str = "P5", active: bool = True
) -> PersonInfo:
    return PersonInfo(
        pid(n),
        f"p{n}",
        f"E{n:04d}",
        pid(manager) if manager else None,
        pid(1000 + dept) if dept else None,
        grade,
        active,
    )


def chain_org(**extra: Any) -> InMemoryOrg:
    """1 (M3, CEO) <- 2 (M2) <- 3 (M1) <- 4 (P5 claimant); 5 finance; 6 admin; 7 peer of 4.

    Departments: 1001 HQ (head 1) <- 1002 RD (head 2) <- 1003 PLAT (head 3).
    """
    people = [
        person(1, None, 1, "M3"),
        person(2, 1, 2, "M2"),
        person(3, 2, 3, "M1"),
        person(4, 3, 3),
        person(5, 1, 1),
        person(6, 1, 1),
        person(7, 3, 3),
    ]
    depts = {
        pid(1001): DeptInfo(pid(1001), "HQ", None, pid(1)),
        pid(1002): DeptInfo(pid(1002), "RD", pid(1001), pid(2)),
        pid(1003): DeptInfo(pid(1003), "PLAT", pid(1002), pid(3)),
    }
    org = InMemoryOrg(
        people={p.id: p for p in people},
        departments=depts,
        cost_centers={pid(2001): pid(7)},
        roles={"finance": frozenset({pid(5)}), "admin": frozenset({pid(6)})},
        delegations=list(extra.get("delegations", [])),
    )
    return org


def facts(
    claimant: int = 4,
    total: str = "100",
    dept: int | None = 1003,
    categories: tuple[str, ...] = ("TAXI",),
    **activation: Any,
) -> Facts:
    act: dict[str, Any] = {
        "claim": {"total": float(total), "categories": list(categories), "type": "general"},
        "claimant": {"grade": "P5"},
        "lines": [],
        "policy": {"flags": []},
        "budget": {"status": "unknown"},
    }
    act.update(activation)
    return Facts(
        None,
        pid(claimant),
        pid(dept) if dept else None,
        pid(2001),
        Decimal(total),
        "general",
        frozenset(categories),
        ("PLAT", "RD", "HQ"),
        "CC1",
        act,
    )


def flow(*nodes: dict[str, Any], **top: Any) -> Any:
    return parse({"key": "t", "name": "t", "nodes": list(nodes), **top})


def delegation(a: int, b: int) -> Delegation:
    return Delegation(
        pid(a), pid(b), datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    )
