"""The one connector interface, and the plain data it receives and returns.

A connector is registered under the entry point group `baoxiao.connectors`
(name = its slug, value = its class), so a third party can ship one in its
own distribution. The dispatcher gives it an `EventEnvelope` per delivery
and a `ConnectorContext` with the instance's validated config and decrypted
secrets; inbound callbacks arrive as an `InboundRequest`.

Outcomes:
- `handle` returns a DeliveryResult when the other side accepted the event;
- it raises ConnectorError otherwise: `retryable` says whether trying again
  can help, `retry_after` (seconds) when, `disable` that the subscription is
  gone for good (HTTP 410) and must be switched off.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID

from pydantic import BaseModel, SecretStr

from baoxiao.kernel.errors import Unauthorized
from baoxiao.kernel.i18n import Msg


@dataclass(frozen=True)
class EventEnvelope:
    """An outbox event as connectors see it (the public event format)."""

    id: str
    type: str
    occurred_at: datetime
    company_id: str
    subject_type: str
    subject_id: str
    sequence: int
    schema_version: int
    data: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["occurred_at"] = self.occurred_at.isoformat().replace("+00:00", "Z")
        out["subject"] = {"type": self.subject_type, "id": self.subject_id}
        return out

    def to_json(self) -> bytes:
        """Canonical bytes: the same event always serialises identically (stable signatures)."""
        return json.dumps(
            self.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()


@dataclass(frozen=True)
class ConnectorContext:
    """One configured instance: its id, validated config (secrets decrypted) and limits."""

    connector_id: UUID
    company_id: UUID
    config: BaseModel
    allow_private_network: bool = False


@dataclass(frozen=True)
class DeliveryResult:
    status_code: int | None = None
    detail: str = ""


class ConnectorError(Exception):
    """A delivery failed; says whether and when a retry can help."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        status_code: int | None = None,
        disable: bool = False,
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status_code = status_code
        self.disable = disable


@dataclass(frozen=True)
class InboundRequest:
    headers: dict[str, str]  # lower-case names
    body: bytes
    received_at: datetime


@dataclass(frozen=True)
class InboundEvent:
    """A verified callback: its external id (the dedupe key), type and data."""

    external_id: str
    type: str
    data: dict[str, Any] = field(default_factory=dict)


class InboundRejected(Unauthorized):
    """The callback failed verification (401): a bad signature or a stale timestamp."""

    code = "callback_rejected"
    message = Msg("The callback could not be verified.", "回调验证失败。")


class SignatureInvalid(InboundRejected):
    code = "signature_invalid"
    message = Msg("The callback signature is invalid.", "回调签名无效。")


class TimestampStale(InboundRejected):
    code = "timestamp_out_of_tolerance"
    message = Msg(
        "The callback timestamp is outside the accepted window.", "回调时间戳超出允许范围。"
    )


class PayloadInvalid(InboundRejected):
    status = 400
    code = "callback_payload_invalid"
    message = Msg("The callback body is not a valid event.", "回调内容不是有效的事件。")


@dataclass(frozen=True)
class HealthResult:
    ok: bool
    detail: str = ""


class Connector(ABC):
    """What every connector provides. Hooks with a default are optional."""

    name: ClassVar[str]
    title: ClassVar[str]
    config_schema: ClassVar[type[BaseModel]]

    @classmethod
    def secret_fields(cls) -> tuple[str, ...]:
        """Config fields typed SecretStr: stored encrypted, never returned by the API."""
        return tuple(
            name
            for name, info in cls.config_schema.model_fields.items()
            if info.annotation in (SecretStr, SecretStr | None)
        )

    @classmethod
    def runs_approval(cls, config: dict[str, Any]) -> bool:
        """Does an instance with this (non-secret) config run the approval itself?

        True hands a claim's whole approval to the outside system: Baoxiao creates no
        approval tasks and only follows the decision the connector reports back.
        """
        return False

    @classmethod  # noqa: B027 - optional hook with an empty default
    def prepare_inbound(cls) -> None:
        """Load what answering a callback needs before the first one arrives.

        Some platforms give a callback one second (Feishu's url_verification); a
        connector whose verification loads a heavy SDK loads it here. The server calls
        it at start-up for the kinds it has enabled instances of, and when an instance
        is configured.
        """

    @abstractmethod
    def handle(self, ctx: ConnectorContext, event: EventEnvelope) -> DeliveryResult:
        """Deliver one event; raise ConnectorError when it did not arrive."""

    def verify_and_parse(self, ctx: ConnectorContext, request: InboundRequest) -> InboundEvent:
        """Check an inbound callback's authenticity and turn it into an InboundEvent.

        The default refuses every callback: a connector without inbound support.
        """
        raise InboundRejected()

    def health_check(self, ctx: ConnectorContext) -> HealthResult:
        """Can the instance reach its system with its credentials? Default: not checked."""
        return HealthResult(ok=True, detail="no health check for this connector")

    def reconcile(self, ctx: ConnectorContext, subjects: list[str]) -> list[InboundEvent]:
        """Pull the remote state of in-flight subjects and report drift as inbound events.

        Default: nothing to reconcile (push-only systems such as a plain webhook).
        """
        return []

    def sync_org(self, ctx: ConnectorContext) -> list[dict[str, Any]]:
        """Fetch users and departments from the external directory. Default: none."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook with an empty default
        """Release pooled connections (the worker calls it on shutdown)."""
