"""Use cases on expense-standard versions: draft, change, publish, dry-run."""

from __future__ import annotations

import uuid
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.models.claim import Claim, ClaimLine
from baoxiao.models.org import Company
from baoxiao.models.policy import PolicyStandard, StandardStatus
from baoxiao.policies import engine
from baoxiao.policies.errors import DryRunPeriodInvalid, StandardNotDraft, StandardNotFound
from baoxiao.policies.rules import StandardRules
from baoxiao.policies.schemas import (
    DryRunChange,
    DryRunReport,
    LineOutcome,
    StandardCreate,
    StandardUpdate,
)
from baoxiao.policies.service import (
    build_facts,
    claims_submitted_between,
    local_day,
    next_version,
    published,
    record_standard,
    require_manager,
)


def list_standards(session: Session, principal: Principal) -> list[PolicyStandard]:
    """Every version of the caller's company's standard, newest first."""
    company_id = require_manager(principal)
    return list(
        session.scalars(
            select(PolicyStandard)
            .where(PolicyStandard.company_id == company_id)
            .order_by(PolicyStandard.version.desc())
        )
    )


def get_standard(
    session: Session, principal: Principal, standard_id: uuid.UUID, *, lock: bool = False
) -> PolicyStandard:
    company_id = require_manager(principal)
    stmt = select(PolicyStandard).where(
        PolicyStandard.id == standard_id, PolicyStandard.company_id == company_id
    )
    standard = session.scalars(stmt.with_for_update() if lock else stmt).first()
    if standard is None:
        raise StandardNotFound()
    return standard


def current_standard(session: Session, principal: Principal) -> PolicyStandard:
    """The version in force, readable by everyone of the company."""
    standard = published(session, principal.company_id)
    if standard is None:
        raise StandardNotFound()
    return standard


def create_standard(session: Session, principal: Principal, data: StandardCreate) -> PolicyStandard:
    """A new draft version; without rules it starts as a copy of the published one."""
    company_id = require_manager(principal)
    if data.rules is not None:
        rules = data.rules.model_dump(mode="json")
    else:
        current = published(session, company_id)
        rules = dict(current.rules) if current else StandardRules().model_dump(mode="json")
    standard = PolicyStandard(
        company_id=company_id,
        version=next_version(session, company_id),
        name=data.name,
        status=StandardStatus.DRAFT,
        rules=rules,
        note=data.note,
        created_by_id=principal.user_id,
        created_at=utcnow(),
    )
    session.add(standard)
    session.flush()
    record_standard(session, principal, standard, "create")
    return standard


def _ensure_draft(standard: PolicyStandard) -> None:
    if standard.status != StandardStatus.DRAFT:
        raise StandardNotDraft(version=standard.version, current_status=standard.status)


def update_standard(
    session: Session, principal: Principal, standard_id: uuid.UUID, data: StandardUpdate
) -> PolicyStandard:
    """Change a draft; published and retired versions never change."""
    standard = get_standard(session, principal, standard_id, lock=True)
    _ensure_draft(standard)
    changes = data.model_dump(exclude_unset=True)
    if data.name is not None:
        standard.name = data.name
    if data.rules is not None:
        standard.rules = data.rules.model_dump(mode="json")
    if "note" in changes:
        standard.note = data.note
    record_standard(session, principal, standard, "update", fields=sorted(changes))
    return standard


def publish(session: Session, principal: Principal, standard_id: uuid.UUID) -> PolicyStandard:
    """Put a draft in force; the previous version is retired in the same transaction."""
    standard = get_standard(session, principal, standard_id, lock=True)
    _ensure_draft(standard)
    previous = session.scalars(
        select(PolicyStandard)
        .where(
            PolicyStandard.company_id == standard.company_id,
            PolicyStandard.status == StandardStatus.PUBLISHED,
        )
        .with_for_update()
    ).first()
    if previous is not None:
        previous.status = StandardStatus.RETIRED
        session.flush()  # the one-published index must see the old row retired first
        record_standard(session, principal, previous, "retire")
    standard.status = StandardStatus.PUBLISHED
    standard.published_at, standard.published_by_id = utcnow(), principal.user_id
    session.flush()
    record_standard(
        session, principal, standard, "publish", replaces=previous.version if previous else None
    )
    return standard


def _line_outcome(checks: list[engine.Check]) -> LineOutcome:
    reduce_to = next((c.reduce_to for c in checks if c.reduce_to is not None), None)
    flagged = [c for c in checks if c.outcome.value != "pass"]
    return LineOutcome(
        outcome=engine.worst(checks).value,
        rules={c.rule: c.outcome.value for c in checks},
        reduce_to=reduce_to,
        messages_en=[c.text("en") for c in flagged],
        messages_zh=[c.text("zh-CN") for c in flagged],
    )


def _comparable(outcome: LineOutcome | None) -> object:
    return None if outcome is None else (outcome.rules, outcome.reduce_to)


def dry_run(
    session: Session,
    principal: Principal,
    standard_id: uuid.UUID,
    period_from: date,
    period_to: date,
) -> DryRunReport:
    """Run a version over the claims submitted in a past period; report lines whose outcome
    differs from the published version. Nothing is written."""
    candidate = get_standard(session, principal, standard_id)
    if period_to < period_from or (period_to - period_from).days > 366:
        raise DryRunPeriodInvalid()
    company = session.get(Company, candidate.company_id)
    assert company is not None
    current = published(session, company.id)
    after_rules = StandardRules.model_validate(candidate.rules)
    before_rules = StandardRules.model_validate(current.rules) if current else None
    claims = claims_submitted_between(session, company, period_from, period_to)
    changes: list[DryRunChange] = []
    lines_checked = 0
    for claim in claims:
        assert claim.submitted_at is not None
        facts = build_facts(session, claim, local_day(company, claim.submitted_at))
        after = engine.evaluate(after_rules, facts)
        before = engine.evaluate(before_rules, facts) if before_rules else None
        for line in claim.lines:
            lines_checked += 1
            change = _compare(claim, line, before, after)
            if change is not None:
                changes.append(change)
    return DryRunReport(
        standard_id=candidate.id,
        version=candidate.version,
        compared_with_version=current.version if current else None,
        period_from=period_from,
        period_to=period_to,
        claims_checked=len(claims),
        lines_checked=lines_checked,
        lines_changed=len(changes),
        changes=changes,
    )


def _compare(
    claim: Claim,
    line: ClaimLine,
    before: list[engine.Check] | None,
    after: list[engine.Check],
) -> DryRunChange | None:
    key = str(line.id)
    new = _line_outcome([c for c in after if c.line_id == key])
    old = _line_outcome([c for c in before if c.line_id == key]) if before is not None else None
    if _comparable(old) == _comparable(new):
        return None
    return DryRunChange(
        claim_id=claim.id,
        claim_number=claim.number,
        line_id=line.id,
        position=line.position,
        category_code=line.category.code,
        amount=line.amount,
        before=old,
        after=new,
    )
