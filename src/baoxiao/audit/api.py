"""The audit trail for auditors: list and filter records, check the hash chain."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query

from baoxiao.audit import queries
from baoxiao.audit.schemas import AuditPage, AuditRecordRead, AuditVerification
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute

router = APIRouter(prefix="/audit-records", route_class=TransactionalRoute, tags=["audit"])


@router.get("", response_model=AuditPage)
def list_records(
    principal: CurrentPrincipal,
    session: DbSession,
    action: Annotated[str | None, Query(max_length=64, examples=["claim:*"])] = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
    subject_id: Annotated[str | None, Query(max_length=64)] = None,
    actor: Annotated[str | None, Query(max_length=80)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AuditPage:
    """The audit trail of the companies where you hold audit:read, newest first.

    `action` is exact or a family (`claim:*`); `since`/`until` bound occurred_at; pass
    next_cursor to page on."""
    flt = queries.AuditFilter(action, subject_type, subject_id, actor, since, until)
    rows, next_cursor = queries.list_records(session, principal, flt, cursor=cursor, limit=limit)
    return AuditPage(
        items=[AuditRecordRead.model_validate(r) for r in rows], next_cursor=next_cursor
    )


@router.get("/verification", response_model=AuditVerification)
def verify_chain(principal: CurrentPrincipal, session: DbSession) -> AuditVerification:
    """Walk the whole hash chain now (as `baoxiao audit verify` does) and report the first
    record that was edited, removed or reordered."""
    result = queries.verify_chain(session, principal)
    return AuditVerification(
        ok=result.ok, checked=result.checked, broken_seq=result.broken_seq, reason=result.reason
    )
