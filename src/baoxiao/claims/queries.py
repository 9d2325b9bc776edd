"""Reading claims: one claim, its timeline, lists with filters and cursors, allowed actions."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, selectinload

from baoxiao.approvals import service as approvals
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import BadRequest, Forbidden
from baoxiao.models.approval import ApprovalTask
from baoxiao.models.claim import Claim, ClaimAction, ClaimActivity

MAX_LIMIT = 100


def get_claim(session: Session, principal: Principal, claim_id: uuid.UUID) -> Claim:
    return permissions.load_visible_claim(session, principal, claim_id)


def history(session: Session, principal: Principal, claim_id: uuid.UUID) -> list[ClaimActivity]:
    claim = permissions.load_visible_claim(session, principal, claim_id)
    return list(
        session.scalars(
            select(ClaimActivity)
            .where(ClaimActivity.claim_id == claim.id)
            .order_by(ClaimActivity.at, ClaimActivity.id)
        )
    )


@dataclass
class ClaimFilter:
    status: list[str] = field(default_factory=list)
    claimant_id: uuid.UUID | None = None
    department_id: uuid.UUID | None = None
    mine: bool = False
    created_from: datetime | None = None
    created_to: datetime | None = None
    q: str | None = None


class InvalidCursor(BadRequest):
    code = "invalid_cursor"


def _encode_cursor(claim: Claim) -> str:
    raw = json.dumps([claim.created_at.isoformat(), str(claim.id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created, ident = json.loads(raw)
        at = datetime.fromisoformat(created)
        if at.tzinfo is None:  # cursors we issue carry their UTC offset
            raise ValueError("naive timestamp in cursor")
        return at, uuid.UUID(ident)
    except (ValueError, TypeError, AttributeError, binascii.Error) as exc:
        raise InvalidCursor("The cursor is not one this API issued.") from exc


def list_claims(
    session: Session, principal: Principal, flt: ClaimFilter, *, cursor: str | None, limit: int
) -> tuple[list[Claim], str | None]:
    """Claims the caller may see, newest first, with a cursor for the next page."""
    limit = max(1, min(limit, MAX_LIMIT))
    stmt = (
        select(Claim)
        .where(permissions.claim_visibility(principal))
        .options(selectinload(Claim.claimant))
    )
    if flt.status:
        stmt = stmt.where(Claim.status.in_(flt.status))
    if flt.mine:
        stmt = stmt.where(Claim.claimant_id == principal.employee_id)
    if flt.claimant_id:
        stmt = stmt.where(Claim.claimant_id == flt.claimant_id)
    if flt.department_id:
        stmt = stmt.where(Claim.department_id == flt.department_id)
    if flt.created_from:
        stmt = stmt.where(Claim.created_at >= flt.created_from)
    if flt.created_to:
        stmt = stmt.where(Claim.created_at < flt.created_to)
    if flt.q:
        like = f"%{flt.q.strip()}%"
        stmt = stmt.where(or_(Claim.number.ilike(like), Claim.reason.ilike(like)))
    if cursor:
        created, ident = _decode_cursor(cursor)
        stmt = stmt.where(
            or_(Claim.created_at < created, and_(Claim.created_at == created, Claim.id < ident))
        )
    rows = list(
        session.scalars(stmt.order_by(Claim.created_at.desc(), Claim.id.desc()).limit(limit + 1))
    )
    next_cursor = _encode_cursor(rows[limit - 1]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def allowed_actions(session: Session, principal: Principal, claim: Claim) -> list[str]:
    """What the caller may do next, for clients to show the right buttons."""
    actions: list[str] = []
    is_claimant = principal.employee_id == claim.claimant_id
    tasks: list[ApprovalTask] | None = None  # the current round's tasks, read once if needed
    if is_claimant:
        if claim.is_editable:
            actions += ["edit", "submit", "cancel"]
        if claim.can(ClaimAction.WITHDRAW):
            tasks = approvals.round_tasks(session, claim)
            if not approvals.anyone_acted(session, claim, tasks):
                actions.append("withdraw")
    elif approvals.open_task_for(session, principal, claim, tasks) is not None:
        actions += ["approve", "reject", "return"]
    if claim.can(ClaimAction.START_PAYMENT):
        try:
            permissions.require_payer(session, principal, claim)
            actions.append("pay")
        except Forbidden:
            pass
    return actions
