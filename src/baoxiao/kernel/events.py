"""The domain event value that state changes return and the outbox stores."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class DomainEvent:
    """Something that happened, in the past tense: `claim.submitted`."""

    type: str
    subject_type: str
    subject_id: str
    company_id: str
    data: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1
