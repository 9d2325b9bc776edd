"""Shared pieces of the SCIM resources: who is visible, versions (ETags), audit, parsing."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from scim2_models import Context, SCIMException
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.principal import Principal
from baoxiao.identity.scim.errors import ScimError, invalid_value
from baoxiao.models.identity import User as Account
from baoxiao.models.provisioning import ScimUserLink


def visible(company_id: uuid.UUID) -> Any:
    """People the SCIM client manages: the company's users with an employee, not deleted."""
    deleted = select(ScimUserLink.user_id).where(ScimUserLink.deleted_at.is_not(None))
    return (
        select(Account)
        .where(Account.company_id == company_id, Account.employee_id.is_not(None))
        .where(Account.id.not_in(deleted))
    )


def etag(version: int) -> str:
    return f'W/"{version}"'


def check_version(version: int, if_match: str | None) -> None:
    """A stale If-Match is refused (412), so two writers cannot overwrite each other."""
    if if_match and if_match.strip() != "*" and etag(version) not in if_match:
        raise ScimError(412, "The resource changed since that version", None)


def parse(model: Any, payload: dict[str, Any], ctx: Context) -> Any:
    """Validate a request payload against a scim2-models resource; 400 with its reason."""
    try:
        return model.model_validate(payload, scim_ctx=ctx)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise invalid_value(f"{where}: {first.get('msg')}") from exc
    except SCIMException as exc:
        raise ScimError(400, str(exc), getattr(exc, "scim_type", None) or "invalidValue") from exc


def apply_patch(op: Any, resource: Any) -> None:
    """Apply a validated PatchOp in place; scim2-models' refusals become SCIM 400s."""
    try:
        op.patch(resource)
    except Exception as exc:  # SCIMException subclasses, and ValueError from validation
        raise ScimError(400, str(exc), getattr(exc, "scim_type", None) or "invalidValue") from exc


def record(
    session: Session,
    principal: Principal,
    action: str,
    subject_type: str,
    subject_id: object,
    **data: object,
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type=subject_type,
        subject_id=str(subject_id),
        company_id=str(principal.company_id),
        data={
            k: v if isinstance(v, int | bool | list) or v is None else str(v)
            for k, v in data.items()
        },
    )
