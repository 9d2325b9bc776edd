"""Listing with filter and pagination (RFC 7644 §3.4.2).

Equality on the attributes an IdP looks people up by (userName, externalId,
emails, id; for groups displayName, externalId, id, members.value) narrows
the rows in SQL; the whole filter is then evaluated by scim2-models on the
narrowed resources, so every operator it knows works, and exactly.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from scim2_models import Group, SCIMException, ScimFilter
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
)
from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from baoxiao.identity.principal import Principal
from baoxiao.identity.scim import groups, users
from baoxiao.identity.scim.common import visible
from baoxiao.identity.scim.discovery import DEFAULT_COUNT, MAX_RESULTS
from baoxiao.identity.scim.errors import ScimError
from baoxiao.models.identity import User as Account
from baoxiao.models.org import Employee
from baoxiao.models.provisioning import ScimGroup, ScimGroupMember, ScimUserLink


def _eq_terms(node: FilterNode) -> list[tuple[str, Any]]:
    """(attribute path, value) of the top-level `eq` comparisons joined by `and`."""
    terms = (
        node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    )
    out = []
    for term in terms:
        if (
            isinstance(term, Comparison)
            and term.op == CompareOperator.eq
            and isinstance(term.value, str)
        ):
            path: AttrPath = term.attr_path
            out.append(
                (
                    (f"{path.attr}.{path.sub_attr}" if path.sub_attr else path.attr).lower(),
                    term.value,
                )
            )
    return out


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _user_clause(attr: str, value: str) -> Any:
    if attr == "username":
        return func.lower(Account.username) == value.lower()
    if attr == "externalid":
        return Account.id.in_(select(ScimUserLink.user_id).where(ScimUserLink.external_id == value))
    if attr in ("emails", "emails.value"):
        in_link = select(ScimUserLink.user_id).where(
            func.lower(cast(ScimUserLink.data, String)).contains(value.lower())
        )
        in_emp = select(Employee.id).where(func.lower(Employee.email) == value.lower())
        return or_(Account.employee_id.in_(in_emp), Account.id.in_(in_link))
    if attr == "id":
        return Account.id == _uuid_or_none(value)
    return None


def _group_clause(attr: str, value: str) -> Any:
    if attr == "displayname":
        return func.lower(ScimGroup.display_name) == value.lower()
    if attr == "externalid":
        return ScimGroup.external_id == value
    if attr == "id":
        return ScimGroup.id == _uuid_or_none(value)
    if attr == "members.value":
        return exists().where(
            ScimGroupMember.group_id == ScimGroup.id,
            ScimGroupMember.user_id == _uuid_or_none(value),
        )
    return None


def _bound_filter(model: Any, text: str | None) -> ScimFilter[Any] | None:
    if not text:
        return None
    try:
        return ScimFilter[model](text)
    except (SCIMException, ValueError) as exc:
        raise ScimError(400, f"Invalid filter: {exc}", "invalidFilter") from exc


def search(
    session: Session,
    principal: Principal,
    kind: str,
    text: str | None,
    start_index: int | None,
    count: int | None,
    base: str,
) -> tuple[int, list[Any]]:
    """(totalResults, resources of the requested page), 1-based startIndex."""
    start = max(1, start_index or 1)
    size = DEFAULT_COUNT if count is None else max(0, min(count, MAX_RESULTS))
    if kind == "User":
        model: Any = users.ScimUser
        stmt: Any = visible(principal.company_id).order_by(Account.created_at, Account.id)
        clause: Callable[[str, str], Any] = _user_clause
        build: Callable[[Any], Any] = lambda row: users.to_resource(session, row, base)  # noqa: E731
    else:
        model = Group
        stmt = (
            select(ScimGroup)
            .where(ScimGroup.company_id == principal.company_id)
            .order_by(ScimGroup.created_at, ScimGroup.id)
        )
        clause = _group_clause
        build = lambda row: groups.to_resource(session, row, base)  # noqa: E731
    flt = _bound_filter(model, text)
    if flt is None:
        total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
        rows = session.scalars(stmt.offset(start - 1).limit(size)).all() if size else []
        return int(total or 0), [build(r) for r in rows]
    for attr, value in _eq_terms(flt.ast):
        sql = clause(attr, value)
        if sql is not None:
            stmt = stmt.where(sql)
    matched = [res for res in (build(r) for r in session.scalars(stmt)) if flt.match(res)]
    return len(matched), matched[start - 1 : start - 1 + size]


def search_all(
    session: Session,
    principal: Principal,
    text: str | None,
    start_index: int | None,
    count: int | None,
    base: str,
) -> tuple[int, list[Any]]:
    """Users then Groups: at most MAX_RESULTS of each are considered."""
    start = max(1, start_index or 1)
    size = DEFAULT_COUNT if count is None else max(0, min(count, MAX_RESULTS))
    n_users, found = search(session, principal, "User", text, 1, MAX_RESULTS, base)
    n_groups, more = search(session, principal, "Group", text, 1, MAX_RESULTS, base)
    return n_users + n_groups, (found + more)[start - 1 : start - 1 + size]
