"""Admin pages for the organisation: the department tree, people and roles, categories."""

from __future__ import annotations

from fastapi import Request, Response

from baoxiao.identity.deps import DbSession, WebPrincipal
from baoxiao.identity.permissions import Right, require_right
from baoxiao.models.catalog import ExpenseCategory
from baoxiao.models.org import Department
from baoxiao.org import directory, service
from baoxiao.web.pages import page_router, render

router = page_router(prefix="/admin")


@router.get("")
def admin_home(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """The organisation at a glance, with links to flows and integrations."""
    require_right(principal, Right.ORG_ADMIN, principal.company_id)
    people = directory.people(session, principal)
    departments = service.list_in_company(session, principal, Department)
    return render(
        request,
        "org/admin.html",
        company=service.company(session, principal),
        tree=directory.tree(session, principal),
        people=people,
        departments={d.id: d for d in departments},
        categories=service.list_in_company(session, principal, ExpenseCategory),
    )
