"""Who may do what: the one place every read and write asks.

Two kinds of right decide everything:
- relationship rights: the claimant acts on their own claims; a manager sees
  the claims of their direct reports; an assigned approver sees and decides
  the claims routed to them;
- company-wide rights from roles, listed in ROLE_RIGHTS (a role is held per
  company, which is its data scope until issue #5 makes scopes finer).
Segregation of duties is checked here too: nobody approves or pays their own
claim, and the payer is never an approver of the same claim.
"""

from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ColumnElement, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from baoxiao.identity.principal import Principal
from baoxiao.kernel.errors import Forbidden, NotFound
from baoxiao.kernel.i18n import Msg
from baoxiao.models.approval import ApprovalTask, TaskStatus
from baoxiao.models.claim import Claim
from baoxiao.models.identity import Role
from baoxiao.models.org import Employee


class Right(StrEnum):
    CLAIM_VIEW_ALL = "claim:view_all"
    CLAIM_PAY = "claim:pay"
    ORG_VIEW = "org:view"
    ORG_ADMIN = "org:admin"
    AUDIT_READ = "audit:read"
    INTEGRATIONS_ADMIN = "integrations:admin"
    POLICY_MANAGE = "policy:manage"  # expense standards: draft, dry-run, publish
    INVOICE_MANAGE = "invoice:manage"  # the invoice registry: list, void
    # Finance (issue #7); the lead maps these to budget owner / cashier roles at merge.
    BUDGET_VIEW = "budget:view"  # every budget of the company, its ledger
    BUDGET_MANAGE = "budget:manage"  # create, adjust, import and export budgets
    PAYMENT_BATCH = "payment:batch"  # build payment batches, export bank files
    BANK_ACCOUNT_REVEAL = "bank_account:reveal"  # see payee account numbers unmasked
    VOUCHER_EXPORT = "voucher:export"  # list and export vouchers, edit account mappings


ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.EMPLOYEE: frozenset({Right.ORG_VIEW}),
    Role.MANAGER: frozenset({Right.ORG_VIEW}),
    Role.FINANCE: frozenset(
        {
            Right.ORG_VIEW,
            Right.CLAIM_VIEW_ALL,
            Right.CLAIM_PAY,
            Right.POLICY_MANAGE,
            Right.INVOICE_MANAGE,
            Right.BUDGET_VIEW,
            Right.BUDGET_MANAGE,
            Right.PAYMENT_BATCH,
            Right.BANK_ACCOUNT_REVEAL,
            Right.VOUCHER_EXPORT,
        }
    ),
    Role.ADMIN: frozenset(
        {
            Right.ORG_VIEW,
            Right.ORG_ADMIN,
            Right.CLAIM_VIEW_ALL,
            Right.AUDIT_READ,
            Right.INTEGRATIONS_ADMIN,
            Right.POLICY_MANAGE,
            Right.INVOICE_MANAGE,
            Right.BUDGET_VIEW,
        }
    ),
}


class SelfApprovalForbidden(Forbidden):
    code = "self_approval_forbidden"
    message = Msg("You cannot approve or pay your own claim.", "不能审批或支付自己的报销单。")


class PayerWasApprover(Forbidden):
    code = "payer_was_approver"
    message = Msg(
        "You approved this claim, so someone else must pay it.",
        "您审批过此报销单,须由其他人付款。",
    )


class NotClaimant(Forbidden):
    code = "not_claimant"
    message = Msg("Only the claimant can do this.", "只有报销人本人可以执行此操作。")


class ClaimNotFound(NotFound):
    code = "claim_not_found"
    message = Msg("Claim not found.", "未找到该报销单。")


def has_right(principal: Principal, right: Right, company_id: object) -> bool:
    return any(
        right in ROLE_RIGHTS.get(Role(name), frozenset())
        for name, company in principal.roles
        if company == company_id
    )


def companies_with_right(principal: Principal, right: Right) -> set[object]:
    return {
        company
        for name, company in principal.roles
        if right in ROLE_RIGHTS.get(Role(name), frozenset())
    }


def require_right(principal: Principal, right: Right, company_id: object) -> None:
    if not has_right(principal, right, company_id):
        raise Forbidden()


def task_for_me(principal: Principal) -> ColumnElement[bool]:
    mine = [ApprovalTask.assignee_id == principal.employee_id] if principal.employee_id else []
    for name, company in principal.roles:
        mine.append(and_(ApprovalTask.candidate_role == name, ApprovalTask.company_id == company))
    return or_(*mine) if mine else false()


def claim_visibility(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the claims this principal may see."""
    clauses: list[ColumnElement[bool]] = []
    companies = companies_with_right(principal, Right.CLAIM_VIEW_ALL)
    if companies:
        clauses.append(Claim.company_id.in_(companies))
    if principal.employee_id is not None:
        clauses.append(Claim.claimant_id == principal.employee_id)
        clauses.append(
            Claim.claimant_id.in_(
                select(Employee.id).where(Employee.manager_id == principal.employee_id)
            )
        )
    clauses.append(
        exists().where(
            ApprovalTask.claim_id == Claim.id,
            ApprovalTask.status != TaskStatus.WAITING,
            task_for_me(principal),
        )
    )
    return or_(*clauses)


def load_visible_claim(
    session: Session, principal: Principal, claim_id: object, *, lock: bool = False
) -> Claim:
    """Fetch a claim the principal may see; 404 otherwise, so existence does not leak."""
    stmt = select(Claim).where(Claim.id == claim_id, claim_visibility(principal))
    if lock:
        stmt = stmt.with_for_update()
    claim = session.scalars(stmt).first()
    if claim is None:
        raise ClaimNotFound()
    return claim


def require_claimant(principal: Principal, claim: Claim) -> None:
    if principal.employee_id is None or claim.claimant_id != principal.employee_id:
        raise NotClaimant()


def can_act_on_task(principal: Principal, task: ApprovalTask) -> bool:
    if task.assignee_id is not None:
        return task.assignee_id == principal.employee_id
    return (
        task.candidate_role is not None
        and (task.candidate_role, task.company_id) in principal.roles
    )


def require_not_claimant(principal: Principal, claim: Claim) -> None:
    if principal.employee_id is not None and claim.claimant_id == principal.employee_id:
        raise SelfApprovalForbidden()


def require_payer(session: Session, principal: Principal, claim: Claim) -> None:
    """Finance of the claim's company, not the claimant, not one of its approvers."""
    require_right(principal, Right.CLAIM_PAY, claim.company_id)
    require_not_claimant(principal, claim)
    approved_it = session.scalar(
        select(
            exists().where(
                ApprovalTask.claim_id == claim.id,
                ApprovalTask.decided_by_id == principal.user_id,
                ApprovalTask.status == TaskStatus.APPROVED,
            )
        )
    )
    if approved_it:
        raise PayerWasApprover()
