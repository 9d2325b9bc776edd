"""The one road for a claim's state change: transition, timeline, audit, outbox.

Used by the claims, approvals and payments services alike, so every
transition is written the same way in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.invoices.service import follow_transition as invoices_follow
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.events import DomainEvent
from baoxiao.models.claim import Claim, ClaimAction, ClaimActivity
from baoxiao.outbox.service import publish
from baoxiao.payments.follow import follow_transition as finance_follow


def apply(
    session: Session,
    claim: Claim,
    action: ClaimAction,
    *,
    actor: str,
    actor_user_id: Any = None,
    comment: str | None = None,
    extra: dict[str, Any] | None = None,
) -> DomainEvent | None:
    """Transition the claim and record it; returns the published event, if any."""
    now = utcnow()
    before = claim.status
    event = claim.transition(action, at=now)
    note(
        session,
        claim,
        f"claim:{action.value}",
        actor=actor,
        actor_user_id=actor_user_id,
        comment=comment,
        from_status=before,
        to_status=claim.status,
        extra=extra,
    )
    invoices_follow(session, claim, action, actor=actor)
    finance_follow(session, claim, action, actor=actor)  # budgets, advance offsets, vouchers
    if event is not None:
        if extra:
            event = replace(event, data={**event.data, **extra})
        publish(session, event, at=now)
    return event


def note(
    session: Session,
    claim: Claim,
    action: str,
    *,
    actor: str,
    actor_user_id: Any = None,
    comment: str | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    extra: dict[str, Any] | None = None,
) -> None:
    """Record an act on the claim (timeline and audit) without a transition."""
    now = utcnow()
    session.add(
        ClaimActivity(
            claim_id=claim.id,
            at=now,
            actor_user_id=actor_user_id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            comment=comment,
        )
    )
    audit(
        session,
        actor=actor,
        action=action,
        subject_type="claim",
        subject_id=str(claim.id),
        company_id=str(claim.company_id),
        at=now,
        data={
            "number": claim.number,
            "from": from_status,
            "to": to_status,
            "comment": comment,
            "total_amount": str(claim.total_amount),
            **(extra or {}),
        },
    )
