"""Expense-standard endpoints under /api/v1/policy-standards (finance and admin)."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, status

from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.policy import PolicyStandard
from baoxiao.policies import standards
from baoxiao.policies.rules import StandardRules
from baoxiao.policies.schemas import (
    DryRunReport,
    DryRunRequest,
    StandardCreate,
    StandardRead,
    StandardUpdate,
)

router = APIRouter(
    prefix="/policy-standards", route_class=TransactionalRoute, tags=["policy standards"]
)


def _read(standard: PolicyStandard) -> StandardRead:
    return StandardRead(
        id=standard.id,
        version=standard.version,
        name=standard.name,
        status=standard.status,
        rules=StandardRules.model_validate(standard.rules),
        note=standard.note,
        created_at=standard.created_at,
        published_at=standard.published_at,
    )


@router.get("", response_model=list[StandardRead])
def list_standards(principal: CurrentPrincipal, session: DbSession) -> list[StandardRead]:
    """Every version of the company's expense standard, newest first."""
    return [_read(s) for s in standards.list_standards(session, principal)]


@router.get("/current", response_model=StandardRead)
def current_standard(principal: CurrentPrincipal, session: DbSession) -> StandardRead:
    """The version in force; everyone of the company may read it."""
    return _read(standards.current_standard(session, principal))


@router.post("", response_model=StandardRead, status_code=status.HTTP_201_CREATED)
def create_standard(
    body: StandardCreate, principal: CurrentPrincipal, session: DbSession
) -> StandardRead:
    """Start a new draft version (a copy of the published rules when none are given)."""
    return _read(standards.create_standard(session, principal, body))


@router.get("/{standard_id}", response_model=StandardRead)
def get_standard(
    standard_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> StandardRead:
    """One version."""
    return _read(standards.get_standard(session, principal, standard_id))


@router.patch("/{standard_id}", response_model=StandardRead)
def update_standard(
    standard_id: uuid.UUID, body: StandardUpdate, principal: CurrentPrincipal, session: DbSession
) -> StandardRead:
    """Change a draft version."""
    return _read(standards.update_standard(session, principal, standard_id, body))


@router.post("/{standard_id}/publish", response_model=StandardRead)
def publish_standard(
    standard_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> StandardRead:
    """Put a draft in force; the previous version is retired."""
    return _read(standards.publish(session, principal, standard_id))


@router.post("/{standard_id}/dry-run", response_model=DryRunReport)
def dry_run(
    standard_id: uuid.UUID, body: DryRunRequest, principal: CurrentPrincipal, session: DbSession
) -> DryRunReport:
    """Run this version over the claims submitted in a period; list lines whose outcome
    would change against the published version. Writes nothing."""
    return standards.dry_run(session, principal, standard_id, body.period_from, body.period_to)
