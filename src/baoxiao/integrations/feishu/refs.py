"""External references of one connector instance: employee open_ids, departments, instances."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.kernel.clock import utcnow
from baoxiao.models.integration import ExternalRef

EMPLOYEE = "employee"  # external id: open_id
EMPLOYEE_USER_ID = "employee_user_id"  # external id: the tenant's user_id (quick approval)
DEPARTMENT = "department"  # external id: open_department_id
CLAIM = "claim"  # external id: the approval instance code


def of_subject(
    session: Session, connector_id: uuid.UUID, kind: str, subject_id: uuid.UUID
) -> ExternalRef | None:
    return session.scalars(
        select(ExternalRef).where(
            ExternalRef.connector_id == connector_id,
            ExternalRef.subject_type == kind,
            ExternalRef.subject_id == subject_id,
        )
    ).first()


def of_external(
    session: Session, connector_id: uuid.UUID, kind: str, external_id: str
) -> ExternalRef | None:
    return session.scalars(
        select(ExternalRef).where(
            ExternalRef.connector_id == connector_id,
            ExternalRef.subject_type == kind,
            ExternalRef.external_id == external_id,
        )
    ).first()


def many(
    session: Session, connector_id: uuid.UUID, kind: str, subject_ids: set[uuid.UUID]
) -> dict[uuid.UUID, ExternalRef]:
    if not subject_ids:
        return {}
    rows = session.scalars(
        select(ExternalRef).where(
            ExternalRef.connector_id == connector_id,
            ExternalRef.subject_type == kind,
            ExternalRef.subject_id.in_(subject_ids),
        )
    )
    return {r.subject_id: r for r in rows}


def all_of(session: Session, connector_id: uuid.UUID, kind: str) -> dict[str, ExternalRef]:
    rows = session.scalars(
        select(ExternalRef).where(
            ExternalRef.connector_id == connector_id, ExternalRef.subject_type == kind
        )
    )
    return {r.external_id: r for r in rows}


def put(
    session: Session,
    connector_id: uuid.UUID,
    kind: str,
    subject_id: uuid.UUID,
    external_id: str,
    data: dict[str, Any] | None = None,
) -> ExternalRef:
    """Link a subject to its external id (one each way), updating an existing link."""
    ref = of_subject(session, connector_id, kind, subject_id)
    other = of_external(session, connector_id, kind, external_id)
    if other is not None and other is not ref:
        session.delete(other)  # the external id moved to another subject
        session.flush()
    if ref is None:
        ref = ExternalRef(
            connector_id=connector_id, subject_type=kind, subject_id=subject_id, external_id=""
        )
        session.add(ref)
    ref.external_id = external_id
    ref.data = {**(ref.data or {}), **(data or {})}
    ref.seen_at = utcnow()
    session.flush()
    return ref
