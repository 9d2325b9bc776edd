"""Reading the audit trail: the records of the companies where the caller holds
audit:read, filtered and paged newest first."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, select, true
from sqlalchemy.orm import Session

from baoxiao.audit.service import VerifyResult, verify
from baoxiao.identity.permissions import Right, companies_with_right, has_right_anywhere
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import BadRequest, Forbidden
from baoxiao.models.audit import AuditRecord


@dataclass(frozen=True)
class AuditFilter:
    """What to narrow the trail to; every field is optional."""

    action: str | None = None  # exact ("claim:submit") or a family ("claim:*")
    subject_type: str | None = None
    subject_id: str | None = None
    actor: str | None = None  # "user:<id>", "system", "connector:<id>"
    since: datetime | None = None
    until: datetime | None = None


def _visible(principal: Principal) -> ColumnElement[bool]:
    """Records of the companies where the caller audits; records of no company (system
    acts) only for an audit grant at `all` scope."""
    companies = companies_with_right(principal, Right.AUDIT_READ)
    if companies is None:
        return true()
    if not companies:
        return false()
    return AuditRecord.company_id.in_([str(c) for c in companies])


def _filtered(flt: AuditFilter) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if flt.action:
        if flt.action.endswith(":*"):
            where.append(AuditRecord.action.startswith(flt.action[:-1], autoescape=True))
        else:
            where.append(AuditRecord.action == flt.action)
    for column, value in (
        (AuditRecord.subject_type, flt.subject_type),
        (AuditRecord.subject_id, flt.subject_id),
        (AuditRecord.actor, flt.actor),
    ):
        if value:
            where.append(column == value)
    if flt.since is not None:
        where.append(AuditRecord.occurred_at >= flt.since)
    if flt.until is not None:
        where.append(AuditRecord.occurred_at < flt.until)
    return where


class InvalidAuditCursor(BadRequest):
    code = "invalid_cursor"


def list_records(
    session: Session, principal: Principal, flt: AuditFilter, *, cursor: str | None, limit: int
) -> tuple[Sequence[AuditRecord], str | None]:
    """The caller's part of the trail, newest first; the cursor is the last seq seen."""
    _require_auditor(principal)
    stmt = select(AuditRecord).where(_visible(principal), *_filtered(flt))
    if cursor:
        if not cursor.isdigit() or len(cursor) > 18:
            raise InvalidAuditCursor("The cursor is not one this API issued.")
        stmt = stmt.where(AuditRecord.seq < int(cursor))
    rows = session.scalars(stmt.order_by(AuditRecord.seq.desc()).limit(limit + 1)).all()
    next_cursor = str(rows[limit - 1].seq) if len(rows) > limit else None
    return rows[:limit], next_cursor


def verify_chain(session: Session, principal: Principal) -> VerifyResult:
    """Walk the whole hash chain now, as `baoxiao audit verify` does (auditors only)."""
    _require_auditor(principal)
    return verify(session)


def _require_auditor(principal: Principal) -> None:
    if not has_right_anywhere(principal, Right.AUDIT_READ):
        raise Forbidden()
