"""Admin endpoints for the company's OpenID Connect providers."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request, status

from baoxiao.identity import admin, providers
from baoxiao.identity.deps import CurrentPrincipal, DbSession
from baoxiao.identity.principal import Principal
from baoxiao.identity.schemas import (
    ConnectionTest,
    IdentityProviderCreate,
    IdentityProviderRead,
    IdentityProviderUpdate,
)
from baoxiao.identity.sso_web import base_url, callback_uri, signed_out_uri
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.routing import TransactionalRoute
from baoxiao.models.identity import IdentityProvider

router = APIRouter(
    prefix="/identity-providers", route_class=TransactionalRoute, tags=["identity providers"]
)


def _box(request: Request) -> SecretBox:
    box: SecretBox = request.app.state.settings.secret_box
    return box


def _read(request: Request, provider: IdentityProvider) -> IdentityProviderRead:
    base = base_url(request)
    return IdentityProviderRead(
        id=provider.id,
        company_id=provider.company_id,
        key=provider.key,
        display_name=provider.display_name,
        issuer=provider.issuer,
        client_id=provider.client_id,
        has_client_secret=provider.client_secret is not None,
        scopes=list(provider.scopes),
        match_claim=provider.match_claim,
        jit=provider.jit,
        groups_claim=provider.groups_claim,
        group_roles={g: list(r) for g, r in (provider.group_roles or {}).items()},
        enabled=provider.enabled,
        redirect_uri=callback_uri(base, provider.key),
        post_logout_redirect_uri=signed_out_uri(base),
        created_at=provider.created_at,
        updated_at=provider.updated_at,
    )


def _reauth(request: Request, session: DbSession, principal: Principal) -> None:
    """Who signs in as whom is decided here: a sensitive change, like roles."""
    admin.require_recent_reauth(session, principal, request.app.state.settings.session_policy)


@router.get("", response_model=list[IdentityProviderRead])
def list_providers(
    request: Request, principal: CurrentPrincipal, session: DbSession
) -> list[IdentityProviderRead]:
    """The sign-in providers of the companies you administer (secrets are never shown)."""
    return [_read(request, p) for p in providers.list_providers(session, principal)]


@router.post("", response_model=IdentityProviderRead, status_code=status.HTTP_201_CREATED)
def create_provider(
    body: IdentityProviderCreate, request: Request, principal: CurrentPrincipal, session: DbSession
) -> IdentityProviderRead:
    """Add an OpenID Connect provider; the response gives the redirect URI to register."""
    _reauth(request, session, principal)
    return _read(request, providers.create(session, principal, _box(request), body))


@router.get("/{provider_id}", response_model=IdentityProviderRead)
def get_provider(
    provider_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> IdentityProviderRead:
    """One provider."""
    return _read(request, providers.get(session, principal, provider_id))


@router.patch("/{provider_id}", response_model=IdentityProviderRead)
def update_provider(
    provider_id: uuid.UUID,
    body: IdentityProviderUpdate,
    request: Request,
    principal: CurrentPrincipal,
    session: DbSession,
) -> IdentityProviderRead:
    """Change a provider (turn it off with `enabled: false`)."""
    _reauth(request, session, principal)
    provider = providers.update(session, principal, _box(request), provider_id, body)
    return _read(request, provider)


@router.delete("/{provider_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_provider(
    provider_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> None:
    """Remove a provider; accounts stay, their links to it go."""
    _reauth(request, session, principal)
    providers.delete(session, principal, provider_id)


@router.post("/{provider_id}/test", response_model=ConnectionTest)
def test_connection(
    provider_id: uuid.UUID, request: Request, principal: CurrentPrincipal, session: DbSession
) -> ConnectionTest:
    """Fetch the provider's discovery document and keys now, to check the configuration."""
    provider = providers.detach_for_io(session, providers.get(session, principal, provider_id))
    ttl = float(request.app.state.settings.oidc_cache_seconds)
    return ConnectionTest(**providers.test_connection(provider, ttl))
