"""Expense standards: load the one in force, evaluate claims, store results; manage versions.

The rules themselves are pure (engine.py); this module only gathers facts from
the database, runs the engine and persists what it says.
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, object_session

from baoxiao.approvals import facts as approval_facts
from baoxiao.audit.service import record as audit
from baoxiao.identity import permissions
from baoxiao.identity.principal import Principal
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.money import convert
from baoxiao.models.catalog import Currency
from baoxiao.models.claim import Claim, ClaimLine, ClaimStatus
from baoxiao.models.invoice import LIVE_STATUSES, Invoice
from baoxiao.models.org import Company, Employee
from baoxiao.models.policy import Outcome, PolicyResult, PolicyStandard, StandardStatus
from baoxiao.policies import engine
from baoxiao.policies.errors import PolicyBlocked
from baoxiao.policies.rules import StandardRules

CAP_RULES = frozenset({"cap", "per_diem", "hotel_night"})


# ---- facts -----------------------------------------------------------------------------------


def local_day(company: Company, at: datetime) -> date:
    return at.astimezone(ZoneInfo(company.timezone)).date()


def published(session: Session, company_id: uuid.UUID) -> PolicyStandard | None:
    """The version in force for a company, if any."""
    return session.scalars(
        select(PolicyStandard).where(
            PolicyStandard.company_id == company_id,
            PolicyStandard.status == StandardStatus.PUBLISHED,
        )
    ).first()


def claimed_amount(session: Session, line: ClaimLine) -> Decimal:
    """The line in the claim currency as claimed, before any cap reduced it."""
    if line.capped_from is not None:
        return line.capped_from
    base = session.get(Currency, line.claim.currency)
    assert base is not None
    return convert(line.amount, line.exchange_rate, base.minor_units)


def build_facts(session: Session, claim: Claim, filed_on: date) -> engine.ClaimFacts:
    """Everything the rules look at, as plain data."""
    company = session.get(Company, claim.company_id)
    claimant = session.get(Employee, claim.claimant_id)
    assert company is not None and claimant is not None
    receipts = {a.line_id for a in claim.attachments if a.line_id is not None}
    invoices = {
        inv.line_id: inv
        for inv in session.scalars(
            select(Invoice).where(Invoice.claim_id == claim.id, Invoice.status.in_(LIVE_STATUSES))
        )
    }
    lines = []
    for line in claim.lines:
        invoice = invoices.get(line.id)
        lines.append(
            engine.LineFacts(
                line_id=str(line.id),
                category=line.category.code,
                amount=claimed_amount(session, line),
                currency=claim.currency,
                expense_date=line.expense_date,
                city=line.city,
                days=line.days,
                has_receipt=line.id in receipts or invoice is not None,
                justification=line.justification,
                has_invoice=invoice is not None,
                buyer_name=invoice.buyer_name if invoice else None,
                buyer_tax_id=invoice.buyer_tax_id if invoice else None,
            )
        )
    return engine.ClaimFacts(
        grade=claimant.grade,
        company_name=company.name,
        company_tax_id=company.tax_id,
        filed_on=filed_on,
        lines=tuple(lines),
    )


# ---- evaluation ------------------------------------------------------------------------------


def _apply_caps(session: Session, claim: Claim, checks: list[engine.Check]) -> None:
    """Reduce lines the standard caps; restore lines no longer over their cap."""
    reduce_to = {c.line_id: c.reduce_to for c in checks if c.reduce_to is not None}
    for line in claim.lines:
        claimed = claimed_amount(session, line)
        target = reduce_to.get(str(line.id))
        if target is not None and target < claimed:
            line.capped_from, line.amount_base = claimed, target
        elif line.capped_from is not None:
            line.amount_base, line.capped_from = line.capped_from, None
    claim.recompute_total()


def evaluate_claim(session: Session, claim: Claim) -> list[PolicyResult]:
    """Check every line against the standard in force and store the results with the claim."""
    company = session.get(Company, claim.company_id)
    assert company is not None
    session.execute(delete(PolicyResult).where(PolicyResult.claim_id == claim.id))
    standard = published(session, claim.company_id)
    if standard is None:
        _apply_caps(session, claim, [])
        return []
    rules = StandardRules.model_validate(standard.rules)
    now = utcnow()
    checks = engine.evaluate(rules, build_facts(session, claim, local_day(company, now)))
    _apply_caps(session, claim, checks)
    results = [
        PolicyResult(
            claim_id=claim.id,
            line_id=uuid.UUID(c.line_id) if c.line_id else None,
            standard_id=standard.id,
            standard_version=standard.version,
            rule=c.rule,
            outcome=c.outcome.value,
            message_en=c.text("en"),
            message_zh=c.text("zh-CN"),
            trace={"en": c.trace_text("en"), "zh": c.trace_text("zh-CN"), "params": c.params},
            evaluated_at=now,
        )
        for c in checks
    ]
    session.add_all(results)
    session.flush()
    return results


def enforce_for_submit(session: Session, claim: Claim) -> list[PolicyResult]:
    """Evaluate at submission; any block refuses it (422 policy_blocked, listing the failures)."""
    results = evaluate_claim(session, claim)
    blocks = [r for r in results if r.outcome == Outcome.BLOCK]
    if blocks:
        positions = {line.id: line.position for line in claim.lines}
        failures = [
            {
                "line_id": str(r.line_id) if r.line_id else None,
                "position": positions.get(r.line_id) if r.line_id else None,
                "rule": r.rule,
                "message_en": r.message_en,
                "message_zh": r.message_zh,
            }
            for r in blocks
        ]
        raise PolicyBlocked(
            errors=failures,
            count=len(blocks),
            summary=" ".join(r.message_en for r in blocks),
            summary_zh="".join(r.message_zh for r in blocks),
        )
    return results


def results_for(session: Session, claim: Claim) -> list[PolicyResult]:
    return list(
        session.scalars(
            select(PolicyResult)
            .where(PolicyResult.claim_id == claim.id)
            .order_by(PolicyResult.line_id, PolicyResult.rule)
        )
    )


def facts_for(claim: Claim, session: Session | None = None) -> dict[str, Any]:
    """The claim's policy flags as plain data, for approval conditions (issue #3) and reports.

    A hypothetical claim (simulate) has no stored checks yet: it gets a clean verdict.
    """
    session = session or object_session(claim)
    assert session is not None, "facts_for needs a session for a claim not attached to one"
    results = results_for(session, claim)
    flagged = [r for r in results if r.outcome != Outcome.PASS]
    by_rule = {r.rule for r in flagged}
    counts = Counter(r.outcome for r in results)
    reduced = sum(
        (ln.capped_from - ln.amount_base for ln in claim.lines if ln.capped_from is not None),
        Decimal(0),
    )
    return {
        "standard_version": results[0].standard_version if results else None,
        "outcome": engine.worst_outcome([Outcome(r.outcome) for r in results]).value,
        "warnings": counts[Outcome.WARN],
        "blocks": counts[Outcome.BLOCK],
        "rules_flagged": sorted(by_rule),
        "over_cap": bool(by_rule & CAP_RULES),
        "over_cap_lines": len({r.line_id for r in flagged if r.rule in CAP_RULES}),
        "reduced_amount": str(reduced),
        "late_filing": "filing_deadline" in by_rule,
        "missing_receipt": "receipt" in by_rule,
        "weekend": "weekend" in by_rule,
        "holiday": "holiday" in by_rule,
        "title_mismatch": "invoice_title" in by_rule,
    }


def approval_condition_facts(session: Session, claim: Claim) -> dict[str, Any]:
    """The `policy` variable of approval conditions: facts_for plus the engine's two keys."""
    policy = facts_for(claim, session)
    return {
        **policy,
        "flags": policy["rules_flagged"],
        "violations": policy["blocks"] + policy["warnings"],
    }


# Approval conditions see the expense standard's verdict. Registered here, where the
# facts are made: claims import this module for every check, so no route is resolved
# without it.
approval_facts.register_provider("policy", approval_condition_facts)


# ---- standards -------------------------------------------------------------------------------


def require_manager(principal: Principal) -> uuid.UUID:
    permissions.require_right(principal, permissions.Right.POLICY_MANAGE, principal.company_id)
    return principal.company_id


def record_standard(
    session: Session, principal: Principal, standard: PolicyStandard, action: str, **data: Any
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=f"policy:{action}",
        subject_type="policy_standard",
        subject_id=str(standard.id),
        company_id=str(standard.company_id),
        data={"version": standard.version, "status": standard.status, **data},
    )


def next_version(session: Session, company_id: uuid.UUID) -> int:
    last = session.scalar(
        select(func.max(PolicyStandard.version)).where(PolicyStandard.company_id == company_id)
    )
    return int(last or 0) + 1


def claims_submitted_between(
    session: Session, company: Company, period_from: date, period_to: date
) -> list[Claim]:
    zone = ZoneInfo(company.timezone)
    start = datetime.combine(period_from, datetime.min.time(), zone)
    end = datetime.combine(period_to, datetime.max.time(), zone)
    return list(
        session.scalars(
            select(Claim)
            .where(
                Claim.company_id == company.id,
                Claim.submitted_at >= start,
                Claim.submitted_at <= end,
                Claim.status != ClaimStatus.DRAFT,
            )
            .order_by(Claim.submitted_at)
            .limit(5000)
        )
    )
