"""Identity providers per company: the admin's configuration of OpenID Connect SSO."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.identity import oidc
from baoxiao.identity.errors import ProviderNotFound
from baoxiao.identity.permissions import Right, has_right, in_companies_with_right, require_right
from baoxiao.identity.principal import Principal
from baoxiao.identity.schemas import IdentityProviderCreate, IdentityProviderUpdate
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.errors import Conflict
from baoxiao.kernel.i18n import Msg
from baoxiao.kernel.ids import new_id
from baoxiao.models.identity import IdentityProvider

# Who configures sign-in: the company's administrators (the org admin right).
ADMIN_RIGHT = Right.ORG_ADMIN


class ProviderKeyTaken(Conflict):
    code = "identity_provider_key_taken"
    message = Msg(
        "Another sign-in provider already uses this key.", "该标识已被另一个登录提供方使用。"
    )


def _secret_context(provider_id: uuid.UUID) -> str:
    return f"idp:{provider_id}"


def list_providers(session: Session, principal: Principal) -> list[IdentityProvider]:
    """The providers of the companies the caller administers."""
    stmt = (
        select(IdentityProvider)
        .where(in_companies_with_right(principal, ADMIN_RIGHT, IdentityProvider.company_id))
        .order_by(IdentityProvider.key)
    )
    return list(session.scalars(stmt))


def get(session: Session, principal: Principal, provider_id: uuid.UUID) -> IdentityProvider:
    provider = session.get(IdentityProvider, provider_id)
    if provider is None or not has_right(principal, ADMIN_RIGHT, provider.company_id):
        raise ProviderNotFound()
    return provider


def create(
    session: Session, principal: Principal, box: SecretBox, body: IdentityProviderCreate
) -> IdentityProvider:
    """Add a provider to a company."""
    company_id = body.company_id or principal.company_id
    require_right(principal, ADMIN_RIGHT, company_id)
    if body.group_roles:  # mapping IdP groups to roles grants roles at every sign-in
        require_right(principal, Right.USER_ADMIN, company_id)
    if session.scalars(select(IdentityProvider.id).where(IdentityProvider.key == body.key)).first():
        raise ProviderKeyTaken()
    provider = IdentityProvider(
        id=new_id(),
        company_id=company_id,
        key=body.key,
        display_name=body.display_name,
        issuer=body.issuer,
        client_id=body.client_id,
        scopes=_scopes(body.scopes),
        match_claim=body.match_claim,
        jit=body.jit,
        groups_claim=body.groups_claim,
        group_roles={g: list(r) for g, r in body.group_roles.items()},
        enabled=body.enabled,
    )
    if body.client_secret is not None and body.client_secret.get_secret_value():
        provider.client_secret = box.encrypt(
            body.client_secret.get_secret_value(), context=_secret_context(provider.id)
        )
    session.add(provider)
    session.flush()
    _audit(session, principal, provider, "identity_provider:create", _summary(provider))
    return provider


def update(
    session: Session,
    principal: Principal,
    box: SecretBox,
    provider_id: uuid.UUID,
    body: IdentityProviderUpdate,
) -> IdentityProvider:
    """Change a provider; the secret is replaced only when one is sent."""
    provider = get(session, principal, provider_id)
    if body.group_roles:
        require_right(principal, Right.USER_ADMIN, provider.company_id)
    changes = body.model_dump(exclude_unset=True, exclude={"client_secret"})
    for field, value in changes.items():
        if value is None:
            continue
        if field == "scopes":
            value = _scopes(value)
        setattr(provider, field, value)
    if "client_secret" in body.model_fields_set:
        plain = body.client_secret.get_secret_value() if body.client_secret else ""
        provider.client_secret = (
            box.encrypt(plain, context=_secret_context(provider.id)) if plain else None
        )
        changes["client_secret"] = "replaced" if plain else "removed"
    provider.updated_at = utcnow()
    session.flush()
    _audit(session, principal, provider, "identity_provider:update", {"changed": sorted(changes)})
    return provider


def delete(session: Session, principal: Principal, provider_id: uuid.UUID) -> None:
    """Remove a provider and its links to users (the accounts stay)."""
    provider = get(session, principal, provider_id)
    _audit(session, principal, provider, "identity_provider:delete", _summary(provider))
    session.delete(provider)
    session.flush()


def test_connection(provider: IdentityProvider, ttl: float) -> dict[str, Any]:
    """Fetch the discovery document and the key set now (bypassing the cache)."""
    oidc.cache.clear()
    metadata = oidc.discover(provider.issuer, ttl)
    keys = oidc.cache.get(metadata["jwks_uri"], ttl).get("keys")
    return {
        "ok": True,
        "issuer": metadata["issuer"],
        "authorization_endpoint": metadata["authorization_endpoint"],
        "token_endpoint": metadata["token_endpoint"],
        "userinfo_endpoint": metadata.get("userinfo_endpoint"),
        "end_session_endpoint": metadata.get("end_session_endpoint"),
        "jwks_keys": len(keys) if isinstance(keys, list) else 0,
        "scopes_supported": metadata.get("scopes_supported"),
    }


def detach_for_io(session: Session, provider: IdentityProvider) -> IdentityProvider:
    """Keep the loaded provider and end the (read-only) transaction before calling it:
    on SQLite every transaction holds the single write lock from BEGIN IMMEDIATE, which
    must not wait on a remote server. Later work in the session starts a new one."""
    session.expunge(provider)
    session.rollback()
    return provider


def _scopes(scopes: list[str]) -> list[str]:
    cleaned = [s.strip() for s in scopes if s.strip()]
    return ["openid", *[s for s in dict.fromkeys(cleaned) if s != "openid"]]


def _summary(provider: IdentityProvider) -> dict[str, Any]:
    return {
        "key": provider.key,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "match_claim": provider.match_claim,
        "jit": provider.jit,
        "enabled": provider.enabled,
    }


def _audit(
    session: Session,
    principal: Principal,
    provider: IdentityProvider,
    action: str,
    data: dict[str, Any],
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="identity_provider",
        subject_id=str(provider.id),
        company_id=str(provider.company_id),
        data=data,
    )
