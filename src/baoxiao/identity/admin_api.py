"""Admin endpoints: the permission table, role assignments, deactivation, second-factor
resets, service users."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request, status

from baoxiao.identity import admin, service_users
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.identity.permissions import (
    ASSIGNABLE_ROLES,
    DATA_SCOPED,
    ROLE_LABELS,
    ROLE_RIGHTS,
    Right,
    require_right,
)
from baoxiao.identity.principal import Principal
from baoxiao.identity.schemas import (
    AssignmentCreate,
    AssignmentRead,
    DeactivateBody,
    DeactivationRead,
    IdentitySettingsBody,
    IdentitySettingsRead,
    LoginCreate,
    PermissionTable,
    RoleInfo,
    ServiceTokenCreate,
    ServiceUserCreate,
    ServiceUserRead,
    TemporaryPassword,
    TokenIssued,
    TokenRead,
    TotpResetRead,
)
from baoxiao.identity.scopes import SCOPES
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.identity import ApiToken, DataScope, RoleAssignment, User

router = APIRouter(route_class=TransactionalRoute, tags=["identity admin"])


def _reauth(request: Request, session: DbSession, principal: Principal) -> None:
    admin.require_recent_reauth(session, principal, request.app.state.settings.session_policy)


@router.get("/roles", response_model=PermissionTable)
def permission_table(principal: CurrentPrincipal) -> PermissionTable:
    """The permission table: every role's rights, the data scopes and the token scopes."""
    return PermissionTable(
        roles=[
            RoleInfo(
                role=role.value,
                label=ROLE_LABELS[role],
                rights=sorted(r.value for r in rights),
                assignable=role in ASSIGNABLE_ROLES,
            )
            for role, rights in ROLE_RIGHTS.items()
        ],
        data_scopes=[s.value for s in DataScope],
        data_scoped_rights=sorted(r.value for r in DATA_SCOPED),
        token_scopes=dict(SCOPES),
    )


@router.get("/role-assignments", response_model=list[AssignmentRead])
def list_assignments(principal: CurrentPrincipal, session: DbSession) -> list[RoleAssignment]:
    """Every role assignment in the caller's company."""
    return list(admin.list_assignments(session, principal))


@router.post(
    "/role-assignments", response_model=AssignmentRead, status_code=status.HTTP_201_CREATED
)
def grant_role(
    body: AssignmentCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> RoleAssignment:
    """Grant a role with a data scope (or change the scope of one already held)."""
    _reauth(request, session, principal)
    return admin.grant(
        session,
        principal,
        user_id=body.user_id,
        role=body.role,
        scope=body.scope,
        department_id=body.department_id,
    )


@router.delete("/role-assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_role(
    assignment_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Take a role away."""
    _reauth(request, session, principal)
    admin.revoke(session, principal, assignment_id)


@router.post("/users/{user_id}/deactivate", response_model=DeactivationRead)
def deactivate(
    user_id: uuid.UUID,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
    body: DeactivateBody | None = None,
) -> DeactivationRead:
    """Deactivate a leaver: tokens revoked, sessions ended, open tasks handed over."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    _reauth(request, session, principal)
    done = admin.deactivate(session, principal, user_id, body.reason if body else "admin")
    return DeactivationRead(**done.__dict__)


@router.post("/users", response_model=TemporaryPassword, status_code=status.HTTP_201_CREATED)
def create_login(
    body: LoginCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> TemporaryPassword:
    """A local login for an employee who has none, with the employee role and a
    temporary password (in the answer only, once)."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    _reauth(request, session, principal)
    user, password = admin.create_login(session, principal, body.employee_id, body.username)
    return TemporaryPassword(user_id=user.id, username=user.username, temporary_password=password)


@router.post("/users/{user_id}/password-reset", response_model=TemporaryPassword)
def reset_password(
    user_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> TemporaryPassword:
    """A forgotten password: a new temporary one (in the answer only, once); the person's
    browser sessions and login tokens end. Audited as user:password_reset."""
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    _reauth(request, session, principal)
    user, password = admin.reset_password(session, principal, user_id)
    return TemporaryPassword(user_id=user.id, username=user.username, temporary_password=password)


@router.post("/users/{user_id}/totp/reset", response_model=TotpResetRead)
def reset_totp(
    user_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> TotpResetRead:
    """Clear a person's authenticator app and recovery codes (a lost phone).

    They sign in with their password alone until they enrol again; a repeated reset
    answers the same and changes nothing. Audited as user:totp_reset.
    """
    require_right(principal, Right.USER_ADMIN, principal.company_id)
    _reauth(request, session, principal)
    cleared = admin.reset_totp(session, principal, user_id)
    return TotpResetRead(user_id=user_id, totp_enabled=False, cleared=cleared)


@router.get("/identity-settings", response_model=IdentitySettingsRead)
def get_settings(principal: CurrentPrincipal, session: DbSession) -> IdentitySettingsRead:
    """The company's identity settings (who takes leavers' tasks)."""
    return IdentitySettingsRead.model_validate(admin.get_settings(session, principal))


@router.put("/identity-settings", response_model=IdentitySettingsRead)
def put_settings(
    body: IdentitySettingsBody, request: Request, principal: CurrentPrincipal, session: DbSession
) -> IdentitySettingsRead:
    """Set who takes leavers' open approval tasks."""
    _reauth(request, session, principal)
    row = admin.set_leaver_fallback(session, principal, body.leaver_fallback_employee_id)
    return IdentitySettingsRead.model_validate(row)


@router.get("/service-users", response_model=list[ServiceUserRead])
def list_service_users(principal: CurrentPrincipal, session: DbSession) -> list[User]:
    """Users for systems in the caller's company."""
    return list(service_users.list_service_users(session, principal))


@router.post("/service-users", response_model=ServiceUserRead, status_code=201)
def create_service_user(
    body: ServiceUserCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> User:
    """Create a user for a system (an IdP's SCIM client, an OA connector)."""
    _reauth(request, session, principal)
    return service_users.create_service_user(
        session, principal, username=body.username, display_name=body.display_name, roles=body.roles
    )


@router.post("/service-users/{user_id}/tokens", response_model=TokenIssued, status_code=201)
def issue_service_token(
    user_id: uuid.UUID,
    body: ServiceTokenCreate,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> TokenIssued:
    """Issue a scoped token for a service user; the value is shown once."""
    _reauth(request, session, principal)
    ttl = timedelta(days=body.expires_in_days)
    token, plain = service_users.issue_service_token(
        session, principal, user_id, name=body.name, scopes=body.scopes, ttl=ttl
    )
    return TokenIssued(id=token.id, access_token=plain, expires_at=token.expires_at)


@router.get("/service-users/{user_id}/tokens", response_model=list[TokenRead])
def list_service_tokens(
    user_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> list[ApiToken]:
    """A service user's tokens with their scopes, expiry and last use."""
    return list(service_users.list_service_tokens(session, principal, user_id))


@router.delete("/service-users/{user_id}/tokens/{token_id}", status_code=204)
def revoke_service_token(
    user_id: uuid.UUID, token_id: uuid.UUID, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Revoke a service user's token."""
    service_users.revoke_service_token(session, principal, user_id, token_id)
