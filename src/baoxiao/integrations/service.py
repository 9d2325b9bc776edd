"""Connector instances: configure them per company, keep their secrets encrypted.

A config is validated by the connector's own Pydantic schema. Fields typed
SecretStr are stored encrypted with the instance's SecretBox (AES-GCM bound
to the instance and field name) and are never returned; every read masks them.
"""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import SecretStr, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.audit.service import record as audit
from baoxiao.connectors import registry
from baoxiao.connectors.base import Connector, ConnectorContext
from baoxiao.identity import permissions, service_users
from baoxiao.identity.principal import Principal
from baoxiao.integrations.errors import (
    ActorNeedsUserAdmin,
    ActorNotInCompany,
    ConnectorConfigInvalid,
    ConnectorNotFound,
    UnknownConnectorKind,
)
from baoxiao.integrations.schemas import MASK, ConnectorCreate, ConnectorUpdate
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.identity import User
from baoxiao.models.integration import ConnectorInstance
from baoxiao.outbox import broker

SCALARS = ("name", "event_types", "enabled", "allow_private_network", "rate_limit_qps")


def connector_class(kind: str) -> type[Connector]:
    cls = registry.get(kind)
    if cls is None:
        raise UnknownConnectorKind(kind=kind)
    return cls


def _context_key(instance_id: uuid.UUID, field: str) -> str:
    return f"connector:{instance_id}:{field}"


def decrypted_config(box: SecretBox, instance: ConnectorInstance) -> dict[str, Any]:
    plain = dict(instance.config)
    for field, token in instance.secrets.items():
        plain[field] = box.decrypt(token, context=_context_key(instance.id, field))
    return plain


def context(box: SecretBox, instance: ConnectorInstance) -> ConnectorContext:
    """What a connector gets for this instance: validated config with secrets in clear."""
    cls = connector_class(instance.kind)
    plain = decrypted_config(box, instance)
    if broker.is_broker(instance) and not plain.get("url"):
        plain["url"] = broker.url()  # the operator's BAOXIAO_BROKER_URL
    return ConnectorContext(
        connector_id=instance.id,
        company_id=instance.company_id,
        config=cls.config_schema.model_validate(plain),
        allow_private_network=instance.allow_private_network,
    )


def _store_config(
    box: SecretBox, instance: ConnectorInstance, cls: type[Connector], raw: dict[str, Any]
) -> None:
    try:
        validated = cls.config_schema.model_validate(raw)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in exc.errors(include_input=False, include_url=False)
        ]
        raise ConnectorConfigInvalid(errors=errors) from None
    secret_fields = set(cls.secret_fields())
    config: dict[str, Any] = {}
    secrets: dict[str, str] = {}
    for field, value in validated.model_dump(mode="json").items():
        if field not in secret_fields:
            config[field] = value
            continue
        secret = getattr(validated, field)
        if isinstance(secret, SecretStr):
            secrets[field] = box.encrypt(
                secret.get_secret_value(), context=_context_key(instance.id, field)
            )
    instance.config, instance.secrets = config, secrets


def masked_config(instance: ConnectorInstance) -> dict[str, Any]:
    return {**instance.config, **dict.fromkeys(instance.secrets, MASK)}


def _check_actor(
    session: Session, principal: Principal, company_id: uuid.UUID, user_id: uuid.UUID | None
) -> None:
    """Callbacks act with the acting user's rights: naming a person, or a user holding
    more than the integrator role, lends the connector those rights, which takes the
    user-admin right (as issuing that user a token would)."""
    if user_id is None:
        return
    user = session.get(User, user_id)
    if user is None or user.company_id != company_id or not user.active:
        raise ActorNotInCompany()
    if not service_users.may_lend_rights_of(principal, user):
        raise ActorNeedsUserAdmin()


def _audit(
    session: Session, principal: Principal, action: str, instance: ConnectorInstance
) -> None:
    audit(
        session,
        actor=principal.actor,
        action=action,
        subject_type="connector",
        subject_id=str(instance.id),
        company_id=str(instance.company_id),
        data={
            "kind": instance.kind,
            "name": instance.name,
            "config": masked_config(instance),
            "event_types": instance.event_types,
            "enabled": instance.enabled,
            "allow_private_network": instance.allow_private_network,
            "rate_limit_qps": instance.rate_limit_qps,
        },
    )


def create(
    session: Session, principal: Principal, box: SecretBox, body: ConnectorCreate
) -> ConnectorInstance:
    """Configure a new connector instance in the caller's company."""
    company_id = principal.company_id
    permissions.require_right(principal, permissions.Right.INTEGRATIONS_ADMIN, company_id)
    cls = connector_class(body.kind)
    _check_actor(session, principal, company_id, body.actor_user_id)
    now = utcnow()
    instance = ConnectorInstance(
        id=uuid.uuid4(),
        company_id=company_id,
        kind=body.kind,
        name=body.name,
        event_types=body.event_types,
        enabled=body.enabled,
        allow_private_network=body.allow_private_network,
        rate_limit_qps=body.rate_limit_qps,
        rate_burst=body.rate_burst,
        rate_tokens=float(body.rate_burst),
        actor_user_id=body.actor_user_id,
        created_at=now,
        updated_at=now,
    )
    _store_config(box, instance, cls, body.config)
    session.add(instance)
    session.flush()
    _audit(session, principal, "connector:create", instance)
    if instance.enabled:
        cls.prepare_inbound()
    return instance


def get(
    session: Session, principal: Principal, connector_id: uuid.UUID, *, lock: bool = False
) -> ConnectorInstance:
    """An instance of a company where the caller administers integrations; 404 otherwise."""
    stmt = select(ConnectorInstance).where(ConnectorInstance.id == connector_id)
    if lock:
        stmt = stmt.with_for_update()
    instance = session.scalars(stmt).first()
    if instance is None or not permissions.has_right(
        principal, permissions.Right.INTEGRATIONS_ADMIN, instance.company_id
    ):
        raise ConnectorNotFound()
    return instance


def list_instances(session: Session, principal: Principal) -> list[ConnectorInstance]:
    right = permissions.Right.INTEGRATIONS_ADMIN
    return list(
        session.scalars(
            select(ConnectorInstance)
            .where(
                permissions.in_companies_with_right(principal, right, ConnectorInstance.company_id)
            )
            .order_by(ConnectorInstance.created_at)
        )
    )


def update(
    session: Session,
    principal: Principal,
    box: SecretBox,
    connector_id: uuid.UUID,
    body: ConnectorUpdate,
) -> ConnectorInstance:
    """Change an instance; re-enabling it resumes its paused deliveries."""
    instance = get(session, principal, connector_id, lock=True)
    changes = body.model_dump(exclude_unset=True)
    if "actor_user_id" in changes:
        _check_actor(session, principal, instance.company_id, body.actor_user_id)
        instance.actor_user_id = body.actor_user_id
    for field in (*SCALARS, "rate_burst"):
        if changes.get(field) is not None:
            setattr(instance, field, changes[field])
    if body.enabled:
        instance.disabled_reason = None
    elif body.enabled is False:
        instance.disabled_reason = "disabled by an administrator"
    if body.config is not None:
        merged = decrypted_config(box, instance)
        # Fields left out keep their value (secrets included); null clears an optional one.
        merged.update(body.config)
        _store_config(box, instance, connector_class(instance.kind), merged)
    instance.updated_at = utcnow()
    session.flush()
    _audit(session, principal, "connector:update", instance)
    if instance.enabled:
        connector_class(instance.kind).prepare_inbound()
    return instance


def prepare_inbound(session: Session) -> list[str]:
    """Let the connector kinds of the enabled instances load what their callbacks need,
    so the first callback after a start is answered in time; returns those kinds."""
    kinds = sorted(
        set(
            session.scalars(
                select(ConnectorInstance.kind).where(ConnectorInstance.enabled.is_(True))
            )
        )
    )
    for kind in kinds:
        cls = registry.get(kind)
        if cls is not None:
            cls.prepare_inbound()
    return kinds


def delete(session: Session, principal: Principal, connector_id: uuid.UUID) -> None:
    """Remove an instance with its deliveries and inbox (the outbox events stay)."""
    instance = get(session, principal, connector_id, lock=True)
    _audit(session, principal, "connector:delete", instance)
    session.delete(instance)
    session.flush()
