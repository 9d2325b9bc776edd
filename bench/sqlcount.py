"""SQL statements per request of the claim lifecycle, counted in-process.

The timed benchmark drives a separate server, whose statements we cannot see;
this runs a few lifecycles through the same application in this process
(FastAPI's TestClient over the bench database, the same engine settings as
`baoxiao serve`) and counts what the engine sends for each call. The count is
a robust figure: unlike throughput it does not depend on what else the shared
machine is doing.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import URL, event

from baoxiao.app import create_app
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings


@dataclass
class StatementCounter:
    """Counts statements and commits on an engine while attached."""

    statements: int = 0
    commits: int = 0
    texts: list[str] = field(default_factory=list)
    keep_texts: bool = False

    def on_execute(self, _conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        self.statements += 1
        if self.keep_texts:
            self.texts.append(statement)

    def on_commit(self, _conn: Any) -> None:
        self.commits += 1


class CountingClient(TestClient):
    """A TestClient that notes how many statements and commits each request cost."""

    def __init__(self, counter: StatementCounter, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.counter = counter
        self.per_request: list[tuple[int, int]] = []

    def request(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        before = (self.counter.statements, self.counter.commits)
        response = super().request(*args, **kwargs)
        self.per_request.append(
            (self.counter.statements - before[0], self.counter.commits - before[1])
        )
        return response


@dataclass(frozen=True)
class Counts:
    statements: dict[str, float]  # mean per call
    commits: dict[str, float]


def count_lifecycles(
    db_url: URL,
    calls: Sequence[str],
    run_one: Callable[[Any, int, dict[str, list[float]]], None],
    lifecycles: int = 3,
) -> Counts:
    """Run `lifecycles` through `run_one(client, index, timings)`, averaged per call type.

    `run_one` issues the calls of one lifecycle in the order of `calls`, with bearer
    tokens the caller already has (no logins here).
    """
    with tempfile.TemporaryDirectory(prefix="bx-sqlcount-") as tmp:
        settings = Settings(
            database_url=db_url.render_as_string(hide_password=False), var_dir=Path(tmp)
        )
        db = Database.from_url(settings.resolved_database_url, pool_size=settings.db_pool_size)
        counter = StatementCounter()
        event.listen(db.engine, "before_cursor_execute", counter.on_execute)
        event.listen(db.engine, "commit", counter.on_commit)
        try:
            with CountingClient(counter, create_app(settings, db)) as client:
                timings: dict[str, list[float]] = {call: [] for call in calls}
                for index in range(lifecycles):
                    run_one(client, index, timings)
                rows = client.per_request
        finally:
            db.dispose()
    n = len(calls)
    if len(rows) != n * lifecycles:
        raise RuntimeError(f"expected {n * lifecycles} requests, saw {len(rows)}")

    def mean(column: int, k: int) -> float:
        return sum(rows[i][column] for i in range(k, len(rows), n)) / lifecycles

    return Counts(
        {c: mean(0, k) for k, c in enumerate(calls)}, {c: mean(1, k) for k, c in enumerate(calls)}
    )
