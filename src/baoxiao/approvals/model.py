"""The facts the pure engine routes on (built by facts.py from the claim and providers)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class Facts:
    """What the engine knows about the claim: ids for routing, CEL activation for conditions."""

    claim_id: uuid.UUID | None
    claimant_id: uuid.UUID
    department_id: uuid.UUID | None
    cost_center_id: uuid.UUID | None
    total: Decimal
    claim_type: str
    category_codes: frozenset[str]
    department_codes: tuple[str, ...]  # own department first, then its ancestors
    cost_center_code: str | None
    activation: dict[str, Any]
    budget_owner_id: uuid.UUID | None = None
