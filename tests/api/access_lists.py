"""What a company-function list may return: the oracle reads the rows from the database
and keeps those of the companies where the caller holds the right (ROLE_RIGHTS)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, select, true

from baoxiao.identity.permissions import Right
from baoxiao.models import (
    ApprovalFlow,
    ConnectorInstance,
    IdentityProvider,
    Invoice,
    PaymentBatch,
    PolicyStandard,
    RoleAssignment,
    User,
    Voucher,
)
from tests.api.access_world import AccessWorld, holds_in

# kind -> (model, which of its rows the list is about)
LISTED: dict[str, tuple[Any, ColumnElement[bool]]] = {
    "flow": (ApprovalFlow, true()),
    "standard": (PolicyStandard, true()),
    "invoice": (Invoice, true()),
    "connector": (ConnectorInstance, true()),
    "assignment": (RoleAssignment, true()),
    "service_user": (User, User.employee_id.is_(None)),
    "batch": (PaymentBatch, true()),
    "voucher": (Voucher, true()),
    "provider": (IdentityProvider, true()),
}


def visible_ids(aw: AccessWorld, kind: str, right: Right, who: str) -> set[str]:
    """The ids of the rows of `kind` in the companies where `who` holds `right`."""
    model, which = LISTED[kind]
    with aw.db.transaction() as session:
        rows = session.execute(select(model.id, model.company_id).where(which)).all()
    return {
        str(row_id)
        for row_id, company_id in rows
        if holds_in(aw.world, who, right, str(company_id))
    }


def listed_ids(kind: str, body: Any) -> set[str]:
    key = "voucher_id" if kind == "voucher" else "id"
    return {str(row[key]) for row in body}
