"""SQL statements per request of the claim life cycle stay within a budget.

The ceilings are generous (about 1.5 times what each call costs today) so that
features can grow, but an N+1 or a cache that stopped working fails here
rather than only in `make bench`. Measured when this was written, counting the two
SAVEPOINT statements of the test's transaction per request: create 20, submit 42,
inbox 6, approve 21 and 23, mark paid 25 (before the work of issue #2: 41, 75, 10,
27, 32 and 35). Finance (issue #7) then added real work to the last two calls: the
accrual voucher on the final approval (32 with one read of the account mappings), and
on payment the budget consumption, advance offsets and the payment voucher (41).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from baoxiao.kernel.db import Database
from tests.api.conftest import Api
from tests.support.factories import World

CEILING = {
    "create": 30,
    "submit": 60,
    "inbox": 8,
    "approve (manager)": 30,
    "approve (finance)": 48,
    "mark paid": 60,
}
LINES = [
    {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": "12.30"},
    {"category_code": "HOTEL", "expense_date": "2026-11-01", "amount": "480.00"},
    {"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "65.50"},
]


@contextmanager
def counted(db: Database) -> Iterator[list[int]]:
    """Counts the statements sent while the block runs: the list holds one number."""
    seen = [0]

    def on_execute(*_args: Any) -> None:
        seen[0] += 1

    event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", on_execute)


def test_the_life_cycle_stays_within_its_statement_budget(
    db: Database, api: Api, client: TestClient, world: World
) -> None:
    api.approved_claim()  # warm: the first request of a process fills per-process caches
    used: dict[str, int] = {}
    with counted(db) as n:
        claim = api.create(lines=LINES)
    used["create"] = n[0]
    with counted(db) as n:
        api.submit(claim["id"])
    used["submit"] = n[0]
    with counted(db) as n:
        api.task_for(claim["id"], "manager")
    used["inbox"] = n[0]
    for who in ("manager", "finance"):
        task = api.task_for(claim["id"], who)
        with counted(db) as n:
            response = client.post(
                f"/api/v1/approval-tasks/{task['id']}/approve", headers=world[who].headers
            )
        assert response.status_code == 200, response.text
        used[f"approve ({who})"] = n[0]
    with counted(db) as n:
        paid = client.post(
            f"/api/v1/claims/{claim['id']}/mark-paid", headers=world["cashier"].headers
        )
    assert paid.status_code == 201, paid.text
    used["mark paid"] = n[0]

    over = {
        call: (used[call], ceiling) for call, ceiling in CEILING.items() if used[call] > ceiling
    }
    assert over == {}, f"statements (used, ceiling): {over}; all: {used}"
    assert all(count > 0 for count in used.values()), used
