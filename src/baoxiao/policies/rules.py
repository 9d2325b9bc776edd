"""The rule document of an expense standard, validated (pure data, no I/O).

A standard version is one JSON document. Caps are matched on category x
employee grade x city tier, the most specific match winning; "*" matches any.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Flag = Literal["off", "warn", "block"]
Severity = Literal["warn", "block"]
Per = Literal["line", "day", "night"]
OverCap = Literal["reduce", "justify", "block"]
ANY = "*"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CapRule(_Doc):
    category: str = Field(min_length=1, max_length=32, description="Expense category code.")
    grade: str = Field(default=ANY, max_length=32, description='Employee grade, or "*".')
    tier: str = Field(default=ANY, max_length=16, description='City tier, or "*".')
    amount: Decimal = Field(gt=0, le=Decimal("100000000"), decimal_places=2)
    per: Per = Field(default="line", description="line, day (per-diem) or night (hotel).")
    over_cap: OverCap = Field(
        default="justify",
        description="reduce: cut the line to the cap; justify: keep it with a written reason "
        "(warn), block without one; block: refuse.",
    )

    @property
    def specificity(self) -> int:
        return (2 if self.grade != ANY else 0) + (1 if self.tier != ANY else 0)


class ReceiptRule(_Doc):
    above: Decimal = Field(ge=0, decimal_places=2, description="A receipt is needed above this.")
    outcome: Severity = "block"


class DeadlineRule(_Doc):
    days: int = Field(ge=1, le=3650, description="Days after the expense date to file it.")
    outcome: Severity = "block"


class CalendarRule(_Doc):
    weekend: Flag = "warn"
    holiday: Flag = "warn"
    holidays: list[date] = Field(default_factory=list, max_length=1000)
    workdays: list[date] = Field(
        default_factory=list, max_length=1000, description="Weekend days worked (调休)."
    )
    categories: list[str] = Field(
        default_factory=list, description="Categories the flags apply to; empty: all."
    )


class InvoiceTitleRule(_Doc):
    outcome: Severity = "block"
    require_tax_id: bool = Field(
        default=True, description="The buyer tax id must match too, when the invoice shows one."
    )


class StandardRules(_Doc):
    currency: str = Field(default="CNY", pattern=r"^[A-Z]{3}$")
    city_tiers: dict[str, list[str]] = Field(
        default_factory=dict, description='Tier -> city names, e.g. {"1": ["北京", "上海"]}.'
    )
    default_tier: str = Field(default="3", max_length=16)
    caps: list[CapRule] = Field(default_factory=list, max_length=2000)
    receipts: ReceiptRule | None = None
    filing_deadline: DeadlineRule | None = None
    calendar: CalendarRule | None = None
    invoice_title: InvoiceTitleRule | None = None

    @field_validator("caps")
    @classmethod
    def _no_duplicate_caps(cls, caps: list[CapRule]) -> list[CapRule]:
        seen: set[tuple[str, str, str, str]] = set()
        for cap in caps:
            key = (cap.category, cap.grade, cap.tier, cap.per)
            if key in seen:
                raise ValueError(f"two caps for {'/'.join(key)}")
            seen.add(key)
        return caps

    @field_validator("city_tiers")
    @classmethod
    def _city_in_one_tier(cls, tiers: dict[str, list[str]]) -> dict[str, list[str]]:
        owner: dict[str, str] = {}
        for tier, cities in tiers.items():
            for city in cities:
                key = normalise_city(city)
                if key in owner and owner[key] != tier:
                    raise ValueError(f"{city} is in tiers {owner[key]} and {tier}")
                owner[key] = tier
        return tiers


def normalise_city(name: str) -> str:
    """北京市 and 北京 are one city; case and spaces do not matter."""
    cleaned = "".join(name.split()).lower()
    return cleaned[:-1] if cleaned.endswith("市") and len(cleaned) > 1 else cleaned
