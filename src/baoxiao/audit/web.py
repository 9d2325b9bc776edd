"""The audit trail page for auditors (and admins): filter, page back, check the chain."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated

from fastapi import Query, Request, Response

from baoxiao.audit import queries
from baoxiao.identity.deps import DbSession, WebPrincipal
from baoxiao.web.pages import page_router, render

router = page_router(prefix="/audit")
PAGE = 50


def _day(value: str, *, end: bool = False) -> datetime | None:
    """A yyyy-mm-dd from the filter form as a UTC bound (`end`: the next midnight)."""
    try:
        day = date.fromisoformat(value) if value else None
    except ValueError:
        return None
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), tzinfo=UTC)


@router.get("")
def trail(
    request: Request,
    principal: WebPrincipal,
    session: DbSession,
    action: Annotated[str, Query(max_length=64)] = "",
    subject_id: Annotated[str, Query(max_length=64)] = "",
    actor: Annotated[str, Query(max_length=80)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    cursor: Annotated[str, Query(max_length=40)] = "",
    check: Annotated[str, Query(max_length=1)] = "",
) -> Response:
    """The records of the companies you audit, newest first; `check=1` walks the chain."""
    flt = queries.AuditFilter(
        action=action.strip() or None,
        subject_id=subject_id.strip() or None,
        actor=actor.strip() or None,
        since=_day(since),
        until=_day(until, end=True),
    )
    rows, next_cursor = queries.list_records(
        session, principal, flt, cursor=cursor or None, limit=PAGE
    )
    filters = {"action": action, "subject_id": subject_id, "actor": actor}
    return render(
        request,
        "audit/trail.html",
        records=rows,
        next_cursor=next_cursor,
        filters={**filters, "since": since, "until": until},
        verification=queries.verify_chain(session, principal) if check else None,
    )
