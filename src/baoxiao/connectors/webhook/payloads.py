"""The webhook's wire formats: the event body out, the callback body in."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from baoxiao.connectors.base import EventEnvelope, InboundEvent, PayloadInvalid


def event_body(event: EventEnvelope) -> bytes:
    """The POSTed body: the event envelope as canonical JSON (see docs/events/)."""
    return event.to_json()


class ApprovalDecision(BaseModel):
    """An external approval system decided the claim's pending step."""

    type: Literal["approval.decision"]
    claim_id: uuid.UUID
    decision: Literal["approve", "reject", "return"]
    comment: str | None = Field(default=None, max_length=2000)
    decided_by: str | None = Field(
        default=None, max_length=150, description="Username acting; default the configured user."
    )


class PaymentSucceeded(BaseModel):
    type: Literal["payment.succeeded"]
    payment_id: uuid.UUID
    external_reference: str | None = Field(default=None, max_length=200)


class PaymentFailed(BaseModel):
    type: Literal["payment.failed"]
    payment_id: uuid.UUID
    reason: str = Field(min_length=1, max_length=2000)


Callback = Annotated[
    ApprovalDecision | PaymentSucceeded | PaymentFailed, Field(discriminator="type")
]
_CALLBACK: TypeAdapter[Callback] = TypeAdapter(Callback)


def parse_callback(msg_id: str, body: bytes) -> InboundEvent:
    try:
        parsed = _CALLBACK.validate_python(json.loads(body))
    except (ValueError, ValidationError) as exc:
        raise PayloadInvalid(errors=[{"message": str(exc)[:500]}]) from exc
    data = parsed.model_dump(mode="json")
    return InboundEvent(external_id=msg_id, type=data.pop("type"), data=data)
