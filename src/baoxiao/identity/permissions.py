"""Who may do what: the one place every read and write asks.

Two kinds of right decide everything:
- relationship rights: the claimant acts on their own claims; a manager sees
  the claims of their direct reports and a department head those of the
  department's subtree (the "manager" role is implicit from the org); an
  assigned approver sees and decides the claims routed to them;
- rights from roles, listed in ROLE_RIGHTS, the one permission table. A role
  is held per company with a data scope (RoleAssignment.scope): the claim
  rights (CLAIM_VIEW_ALL, CLAIM_PAY) reach the holder's own claims, a
  department subtree, the company or every company; every other right is a
  company-level function and needs company or all scope.
Segregation of duties is checked here too: nobody approves or pays their own
claim, the payer is never an approver of the same claim, auditors only read.
API tokens are narrowed per endpoint by their scopes (identity/scopes.py).
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select, true
from sqlalchemy.orm import Session, aliased

from baoxiao.identity.principal import Grant, Principal
from baoxiao.kernel.errors import Forbidden, NotFound
from baoxiao.kernel.i18n import Msg
from baoxiao.models.approval import ApprovalTask, TaskStatus
from baoxiao.models.claim import Claim
from baoxiao.models.identity import DataScope, Role
from baoxiao.models.org import Department, Employee


class Right(StrEnum):
    CLAIM_VIEW_ALL = "claim:view_all"  # read claims within the grant's data scope
    CLAIM_PAY = "claim:pay"  # pay claims within the grant's data scope (cashier)
    ORG_VIEW = "org:view"
    ORG_ADMIN = "org:admin"  # approval flows, reassignment, delegations for others
    AUDIT_READ = "audit:read"
    INTEGRATIONS_ADMIN = "integrations:admin"  # connectors, deliveries, replay
    POLICY_MANAGE = "policy:manage"  # expense standards: draft, dry-run, publish
    INVOICE_MANAGE = "invoice:manage"  # the invoice registry: list, void
    USER_ADMIN = "user:admin"  # role assignments, deactivation, identity settings
    SCIM_PROVISION = "scim:provision"  # act as the SCIM server's client (the IdP)
    SERVICE_ACCOUNTS = "service_accounts:manage"  # system users and their tokens
    BUDGET_VIEW = "budget:view"  # every budget of the company, its ledger
    BUDGET_MANAGE = "budget:manage"  # create, adjust, import and export budgets
    PAYMENT_BATCH = "payment:batch"  # build payment batches, export bank files
    BANK_ACCOUNT_REVEAL = "bank_account:reveal"  # see payee account numbers unmasked
    VOUCHER_EXPORT = "voucher:export"  # list and export vouchers, edit account mappings


# Rights whose reach is the grant's data scope; the others are company functions.
DATA_SCOPED: frozenset[Right] = frozenset({Right.CLAIM_VIEW_ALL, Right.CLAIM_PAY})

ROLE_LABELS: dict[Role, str] = {
    Role.EMPLOYEE: "employee",
    Role.MANAGER: "manager (implicit from the org)",
    Role.FINANCE: "finance reviewer",
    Role.CASHIER: "cashier",
    Role.BUDGET_OWNER: "budget owner",
    Role.AUDITOR: "auditor",
    Role.ADMIN: "admin",
    Role.INTEGRATOR: "integrator",
}

_READ = frozenset({Right.ORG_VIEW})
ROLE_RIGHTS: dict[Role, frozenset[Right]] = {
    Role.EMPLOYEE: _READ,
    Role.MANAGER: _READ,
    Role.FINANCE: _READ
    | {
        Right.CLAIM_VIEW_ALL,
        Right.POLICY_MANAGE,
        Right.INVOICE_MANAGE,
        Right.BUDGET_VIEW,
        Right.BUDGET_MANAGE,
        Right.VOUCHER_EXPORT,
    },
    Role.CASHIER: _READ
    | {Right.CLAIM_VIEW_ALL, Right.CLAIM_PAY, Right.PAYMENT_BATCH, Right.BANK_ACCOUNT_REVEAL},
    Role.BUDGET_OWNER: _READ | {Right.CLAIM_VIEW_ALL, Right.BUDGET_VIEW},
    Role.AUDITOR: _READ | {Right.CLAIM_VIEW_ALL, Right.AUDIT_READ, Right.BUDGET_VIEW},
    Role.ADMIN: _READ
    | {
        Right.ORG_ADMIN,
        Right.CLAIM_VIEW_ALL,
        Right.AUDIT_READ,
        Right.INTEGRATIONS_ADMIN,
        Right.POLICY_MANAGE,
        Right.INVOICE_MANAGE,
        Right.USER_ADMIN,
        Right.SERVICE_ACCOUNTS,
        Right.BUDGET_VIEW,
    },
    Role.INTEGRATOR: _READ
    | {Right.INTEGRATIONS_ADMIN, Right.SCIM_PROVISION, Right.SERVICE_ACCOUNTS},
}

# Roles an admin may grant (the manager role comes from the org, not from a grant).
ASSIGNABLE_ROLES: frozenset[Role] = frozenset(ROLE_RIGHTS) - {Role.MANAGER}


def rights_of(role: str) -> frozenset[Right]:
    """The rights of a stored role name; an unknown name grants nothing."""
    try:
        return ROLE_RIGHTS.get(Role(role), frozenset())
    except ValueError:
        return frozenset()


def _covers_company(grant: Grant, company_id: object) -> bool:
    return grant.scope == DataScope.ALL or grant.company_id == company_id


def _function_grants(principal: Principal, right: Right) -> list[Grant]:
    """Grants that give `right` as a company function (company or all scope)."""
    wide = (DataScope.COMPANY, DataScope.ALL)
    return [
        g
        for g in principal.all_grants
        if right in rights_of(g.role) and (right in DATA_SCOPED or g.scope in wide)
    ]


def has_right(principal: Principal, right: Right, company_id: object) -> bool:
    """Does the principal hold `right` in that company (for claim rights: at any scope)?"""
    return any(_covers_company(g, company_id) for g in _function_grants(principal, right))


def has_right_anywhere(principal: Principal, right: Right) -> bool:
    """Does the principal hold `right` in some company (for claim rights: at any scope)?"""
    return bool(_function_grants(principal, right))


def companies_with_right(principal: Principal, right: Right) -> set[uuid.UUID] | None:
    """The companies where the principal holds `right`; None means every company
    (a grant at `all` scope)."""
    grants = _function_grants(principal, right)
    if any(g.scope == DataScope.ALL for g in grants):
        return None
    return {g.company_id for g in grants}


def in_companies_with_right(
    principal: Principal, right: Right, company: ColumnElement[Any] | Any
) -> ColumnElement[bool]:
    """A WHERE clause: the row's company is one where the principal holds `right`."""
    companies = companies_with_right(principal, right)
    return true() if companies is None else company.in_(companies)


def require_right(principal: Principal, right: Right, company_id: object) -> None:
    if not has_right(principal, right, company_id):
        raise Forbidden()


def department_subtree(roots: Select[Any], name: str) -> Select[Any]:
    """The ids of the departments in `roots` and all below them (a recursive CTE)."""
    tree = select(Department.id).where(Department.id.in_(roots)).cte(name, recursive=True)
    tree = tree.union_all(select(Department.id).where(Department.parent_id == tree.c.id))
    return select(tree.c.id)


def _scope_clause(principal: Principal, right: Right) -> ColumnElement[bool]:
    """Claims that the principal's grants of a data-scoped right reach."""
    clauses: list[ColumnElement[bool]] = []
    departments: set[uuid.UUID] = set()
    for g in principal.all_grants:
        if right not in rights_of(g.role):
            continue
        if g.scope == DataScope.ALL:
            return true()
        if g.scope == DataScope.COMPANY:
            clauses.append(Claim.company_id == g.company_id)
        elif g.scope == DataScope.DEPARTMENT and g.department_id is not None:
            departments.add(g.department_id)
        elif g.scope == DataScope.SELF and principal.employee_id is not None:
            clauses.append(Claim.claimant_id == principal.employee_id)
    if departments:
        roots = select(Department.id).where(Department.id.in_(departments))
        clauses.append(Claim.department_id.in_(department_subtree(roots, f"scope_{right.name}")))
    return or_(*clauses) if clauses else false()


def claims_within(principal: Principal, right: Right) -> ColumnElement[bool]:
    """A WHERE clause on Claim: the claims a data-scoped right of the principal reaches."""
    if right not in DATA_SCOPED:
        raise ValueError(f"{right} is a company function, not a data-scoped right")
    return _scope_clause(principal, right)


def right_on_claim(principal: Principal, right: Right, claim: Claim) -> ColumnElement[bool]:
    """A WHERE clause: does a data-scoped right reach this claim?"""
    return and_(Claim.id == claim.id, _scope_clause(principal, right))


def require_right_on_claim(
    session: Session, principal: Principal, right: Right, claim: Claim
) -> None:
    """Refuse unless a grant of `right` reaches this claim through its data scope."""
    found = session.scalar(select(Claim.id).where(right_on_claim(principal, right, claim)))
    if found is None:
        raise Forbidden()


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


def task_for_me(principal: Principal) -> ColumnElement[bool]:
    """Tasks assigned to the caller, or in a role pool a grant of theirs reaches.

    A pool task (candidate_role) is the role holders' whose grant's data scope
    reaches the claim: company or all scope reach every claim, a department grant
    the claims of its subtree, a self grant none (nobody decides their own claim).
    """
    mine = [ApprovalTask.assignee_id == principal.employee_id] if principal.employee_id else []
    by_role: dict[str, set[uuid.UUID]] = {}
    for grant in principal.all_grants:
        in_pool = ApprovalTask.candidate_role == grant.role
        if grant.scope == DataScope.ALL:
            mine.append(in_pool)
        elif grant.scope == DataScope.COMPANY:
            mine.append(and_(in_pool, ApprovalTask.company_id == grant.company_id))
        elif grant.scope == DataScope.DEPARTMENT and grant.department_id is not None:
            by_role.setdefault(grant.role, set()).add(grant.department_id)
    for n, (role, roots) in enumerate(sorted(by_role.items())):
        pooled = aliased(Claim)
        heads = select(Department.id).where(Department.id.in_(roots))
        tree = department_subtree(heads, f"pool_reach_{n}")
        mine.append(
            and_(
                ApprovalTask.candidate_role == role,
                ApprovalTask.claim_id.in_(select(pooled.id).where(pooled.department_id.in_(tree))),
            )
        )
    return or_(*mine) if mine else false()


def claim_visibility(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause selecting exactly the claims this principal may see."""
    clauses: list[ColumnElement[bool]] = [_scope_clause(principal, Right.CLAIM_VIEW_ALL)]
    if principal.employee_id is not None:
        me = principal.employee_id
        clauses.append(Claim.claimant_id == me)
        clauses.append(Claim.claimant_id.in_(select(Employee.id).where(Employee.manager_id == me)))
        headed = select(Department.id).where(Department.head_id == me)
        clauses.append(
            and_(
                exists().where(Department.head_id == me),
                Claim.department_id.in_(department_subtree(headed, "headed_departments")),
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


class ReadOnlyAccess(Forbidden):
    code = "read_only_access"
    message = Msg(
        "You may read this claim but not take part in it (auditors only read).",
        "您可以查看此报销单,但不能参与处理(审计员仅可查看)。",
    )


# Roles that read and never write: a claim they reach through such a grant alone is
# theirs to read, not to comment on.
READ_ONLY_ROLES: frozenset[str] = frozenset({Role.AUDITOR.value})


def load_claim_to_take_part(
    session: Session, principal: Principal, claim_id: object, *, lock: bool = False
) -> Claim:
    """A claim the principal may see through more than a read-only role (to comment on);
    404 if invisible, 403 read_only_access if only an auditor grant reaches it."""
    claim = load_visible_claim(session, principal, claim_id, lock=lock)
    grants = principal.all_grants
    if not any(g.role in READ_ONLY_ROLES for g in grants):
        return claim
    taking_part = replace(
        principal,
        roles=frozenset(r for r in principal.roles if r[0] not in READ_ONLY_ROLES),
        grants=frozenset(g for g in grants if g.role not in READ_ONLY_ROLES),
    )
    reach = select(Claim.id).where(Claim.id == claim.id, claim_visibility(taking_part))
    if session.scalar(reach) is None:
        raise ReadOnlyAccess()
    return claim


def require_claimant(principal: Principal, claim: Claim) -> None:
    if principal.employee_id is None or claim.claimant_id != principal.employee_id:
        raise NotClaimant()


def can_act_on_task(
    session: Session, principal: Principal, task: ApprovalTask, claim: Claim
) -> bool:
    """May the caller decide this task: theirs by assignment, or a pool their grant reaches?"""
    if task.assignee_id is not None:
        return task.assignee_id == principal.employee_id
    pool = [g for g in principal.all_grants if g.role == task.candidate_role]
    return _grants_reach(session, pool, task.company_id, claim.department_id, own=False)


def _grants_reach(
    session: Session,
    grants: list[Grant],
    company_id: uuid.UUID,
    department_id: uuid.UUID | None,
    *,
    own: bool,
) -> bool:
    """Does one of the grants' data scopes reach something of that company and department
    (`own`: it is the holder's own, which a self-scoped grant reaches)? One query at most."""
    roots: set[uuid.UUID] = set()
    for grant in grants:
        if grant.scope == DataScope.ALL:
            return True
        if grant.company_id != company_id:
            continue
        if grant.scope == DataScope.COMPANY or (grant.scope == DataScope.SELF and own):
            return True
        if grant.scope == DataScope.DEPARTMENT and grant.department_id is not None:
            roots.add(grant.department_id)
    if not roots or department_id is None:
        return False
    tree = department_subtree(select(Department.id).where(Department.id.in_(roots)), "reach")
    found = session.scalar(
        select(exists().where(Department.id.in_(tree), Department.id == department_id))
    )
    return bool(found)


def require_not_claimant(principal: Principal, claim: Claim) -> None:
    if principal.employee_id is not None and claim.claimant_id == principal.employee_id:
        raise SelfApprovalForbidden()


def require_payer(session: Session, principal: Principal, claim: Claim) -> None:
    """A cashier whose scope reaches the claim, not the claimant, not one of its approvers."""
    require_right(principal, Right.CLAIM_PAY, claim.company_id)
    require_not_claimant(principal, claim)
    require_right_on_claim(session, principal, Right.CLAIM_PAY, claim)
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


def right_reaches_employee(
    session: Session, principal: Principal, right: Right, employee: Employee
) -> bool:
    """Does a grant of a data-scoped right reach this employee (as it would their claims)?"""
    return _grants_reach(
        session,
        _function_grants(principal, right),
        employee.company_id,
        employee.department_id,
        own=employee.id == principal.employee_id,
    )
