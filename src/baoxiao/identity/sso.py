"""Who an OpenID Connect sign-in is: match (or create) the user, map groups to roles.

A user is found by the link to their `sub` at this provider, set at their first
sign-in; before that, by the provider's match claim (email, employee number or
sub) within the provider's company; an e-mail counts only when the provider says it
verified it. With just-in-time creation on, an unknown person gets an employee record
and an account. Roles named in the provider's group mapping follow the IdP's groups
at every sign-in: granted with the source `oidc:<key>`, and withdrawn only when that
source granted them, so a role an administrator (or SCIM) granted stays whatever the
groups say.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity.errors import SsoAccountInactive, SsoEmailUnverified, SsoNoAccount
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.ids import new_id
from baoxiao.models.identity import ExternalIdentity, IdentityProvider, Role, RoleAssignment, User
from baoxiao.models.org import Employee

MATCH_CLAIMS = ("email", "employee_number", "sub")


def sign_in_user(session: Session, provider: IdentityProvider, claims: dict[str, Any]) -> User:
    """The account this provider's person signs in to, with roles from their groups."""
    subject = str(claims["sub"])
    link = _link(session, provider, subject)
    user = (
        session.get(User, link.user_id) if link is not None else _match(session, provider, claims)
    )
    if user is None:
        if not provider.jit:
            raise SsoNoAccount()
        user = _create(session, provider, claims)
    if not user.active:
        raise SsoAccountInactive()
    if link is None:
        link = ExternalIdentity(
            id=new_id(), provider_id=provider.id, user_id=user.id, subject=subject
        )
        session.add(link)
    link.last_login_at = utcnow()
    sync_roles(session, provider, user, claims)
    session.flush()
    return user


def _link(session: Session, provider: IdentityProvider, subject: str) -> ExternalIdentity | None:
    return session.scalars(
        select(ExternalIdentity).where(
            ExternalIdentity.provider_id == provider.id, ExternalIdentity.subject == subject
        )
    ).first()


def linked_user_id(
    session: Session, provider: IdentityProvider, claims: dict[str, Any]
) -> uuid.UUID | None:
    """The account this provider's subject is linked to (by an earlier sign-in), if any."""
    link = _link(session, provider, str(claims["sub"]))
    return link.user_id if link is not None else None


def _match(session: Session, provider: IdentityProvider, claims: dict[str, Any]) -> User | None:
    if provider.match_claim == "sub":
        return session.scalars(
            select(User).where(
                User.company_id == provider.company_id, User.username == str(claims["sub"])
            )
        ).first()
    if provider.match_claim == "email":
        email = claims.get("email")
        if not isinstance(email, str):
            return None
        if not email_verified(claims):
            # Neither a match nor a new account: anyone can type a colleague's address
            # into a provider that does not check it.
            raise SsoEmailUnverified()
        where = func.lower(Employee.email) == email.strip().lower()
    else:
        number = claims.get("employee_number")
        if not isinstance(number, str | int):
            return None
        where = Employee.employee_no == str(number)
    users = list(
        session.scalars(
            select(User)
            .join(Employee, User.employee_id == Employee.id)
            .where(Employee.company_id == provider.company_id, where)
            .limit(2)
        )
    )
    return users[0] if len(users) == 1 else None  # ambiguous is no match


def email_verified(claims: dict[str, Any]) -> bool:
    """Only an address the provider says it checked (`email_verified` true) identifies
    anyone; a missing claim is not a yes."""
    return isinstance(claims.get("email"), str) and claims.get("email_verified") is True


def _create(session: Session, provider: IdentityProvider, claims: dict[str, Any]) -> User:
    subject = str(claims["sub"])
    # An unchecked address neither names the account nor goes on the employee record.
    email = str(claims["email"]) if email_verified(claims) else None
    name = str(claims.get("name") or email or subject)[:100]
    number = claims.get("employee_number")
    employee = Employee(
        id=new_id(),
        company_id=provider.company_id,
        employee_no=str(number)[:64] if number else f"sso-{subject}"[:64],
        name=name,
        email=email,
    )
    session.add(employee)
    user = User(
        id=new_id(),
        company_id=provider.company_id,
        username=_free_username(session, email or f"{provider.key}.{subject}"),
        password_hash=None,
        employee_id=employee.id,
        display_name=name,
    )
    session.add(user)
    session.flush()
    session.add(RoleAssignment(user_id=user.id, role=Role.EMPLOYEE, company_id=provider.company_id))
    session.flush()
    session.refresh(user, ["roles"])
    audit(
        session,
        actor=f"idp:{provider.key}",
        action="user:jit_create",
        subject_type="user",
        subject_id=str(user.id),
        company_id=str(provider.company_id),
        data={"provider": provider.key, "subject": subject, "username": user.username},
    )
    return user


def _free_username(session: Session, wanted: str) -> str:
    base = re.sub(r"[^\w.@+-]", "_", wanted)[:140] or "user"
    candidate, n = base, 1
    while session.scalars(select(User.id).where(User.username == candidate)).first():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def roles_for_groups(provider: IdentityProvider, claims: dict[str, Any]) -> set[str]:
    raw = claims.get(provider.groups_claim or "groups")
    groups = [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []
    mapping = provider.group_roles or {}
    return {str(role) for group in groups for role in mapping.get(str(group), [])}


def role_source(provider: IdentityProvider) -> str:
    """What RoleAssignment.source says of a role this provider's groups granted."""
    return f"oidc:{provider.key}"


def sync_roles(
    session: Session, provider: IdentityProvider, user: User, claims: dict[str, Any]
) -> None:
    """Grant the mapped roles the person's groups give, withdraw those this provider
    granted that the groups no longer give."""
    source = role_source(provider)
    managed = {str(role) for roles in (provider.group_roles or {}).values() for role in roles}
    wanted = roles_for_groups(provider, claims)
    held = {a.role: a for a in user.roles if a.company_id == provider.company_id}
    granted = sorted(wanted - held.keys())
    withdrawn = sorted(r for r in (managed - wanted) & held.keys() if held[r].source == source)
    for role in granted:
        user.roles.append(RoleAssignment(role=role, company_id=provider.company_id, source=source))
    for role in withdrawn:
        user.roles.remove(held[role])
    if granted or withdrawn:
        session.flush()
        audit(
            session,
            actor=f"idp:{provider.key}",
            action="user:roles_from_idp",
            subject_type="user",
            subject_id=str(user.id),
            company_id=str(provider.company_id),
            data={"granted": granted, "withdrawn": withdrawn, "source": source},
        )
