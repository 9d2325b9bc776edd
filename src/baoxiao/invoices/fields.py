"""What an invoice says, as plain data, whatever it was read from (pure)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from baoxiao.invoices.errors import InvoiceInvalid

# Invoice type codes (发票种类代码) as printed in the QR payload and the e-invoice data.
TYPE_NAMES: dict[str, tuple[str, str]] = {
    "01": ("增值税专用发票", "special VAT invoice"),
    "04": ("增值税普通发票", "ordinary VAT invoice"),
    "08": ("增值税电子专用发票", "electronic special VAT invoice"),
    "10": ("增值税电子普通发票", "electronic ordinary VAT invoice"),
    "11": ("增值税普通发票(卷式)", "ordinary VAT invoice (roll)"),
    "14": ("增值税电子普通发票(通行费)", "electronic ordinary VAT invoice (tolls)"),
    "31": ("电子发票(增值税专用发票)", "fully digital special VAT invoice"),
    "32": ("电子发票(普通发票)", "fully digital ordinary invoice"),
    "51": ("电子发票(铁路电子客票)", "fully digital railway e-ticket"),
    "61": ("电子发票(航空运输电子客票行程单)", "fully digital air e-itinerary"),
}
FULLY_DIGITAL = frozenset({"31", "32", "51", "61"})
_CODE = re.compile(r"^(\d{10}|\d{12})$")
_NUMBER = re.compile(r"^(\d{8}|\d{20})$")
_TAX_ID = re.compile(r"^[0-9A-Z]{15,20}$")


@dataclass(frozen=True)
class InvoiceFields:
    invoice_type: str
    invoice_number: str
    invoice_code: str | None = None
    issue_date: date | None = None
    amount: Decimal | None = None  # before tax
    tax_amount: Decimal | None = None
    total_amount: Decimal | None = None  # tax included
    check_code: str | None = None
    seller_name: str | None = None
    seller_tax_id: str | None = None
    buyer_name: str | None = None
    buyer_tax_id: str | None = None
    source: str = "manual"

    @property
    def key(self) -> str:
        """The identity of the invoice: code:number, or the 20-digit number alone."""
        if self.invoice_code:
            return f"{self.invoice_code}:{self.invoice_number}"
        return self.invoice_number

    @property
    def fully_digital(self) -> bool:
        return len(self.invoice_number) == 20

    def as_json(self) -> dict[str, Any]:
        return {
            k: (str(v) if isinstance(v, Decimal) else v.isoformat() if isinstance(v, date) else v)
            for k, v in asdict(self).items()
        }

    def completed(self) -> InvoiceFields:
        """Derive the missing one of amount / tax / total when the other two are known."""
        amount, tax, total = self.amount, self.tax_amount, self.total_amount
        if total is None and amount is not None and tax is not None:
            total = amount + tax
        if amount is None and total is not None and tax is not None:
            amount = total - tax
        if tax is None and total is not None and amount is not None:
            tax = total - amount
        return replace(self, amount=amount, tax_amount=tax, total_amount=total)


def decimal_or_none(raw: str | None, field: str) -> Decimal | None:
    if raw is None or not raw.strip():
        return None
    text = raw.strip().replace(",", "").replace("¥", "").replace("¥", "")
    try:
        value = Decimal(text)
    except InvalidOperation as exc:
        raise InvoiceInvalid(reason=f"{field} is not an amount") from exc
    if not value.is_finite() or value != value.quantize(Decimal("0.01")) or abs(value) >= 10**12:
        raise InvoiceInvalid(reason=f"{field} is not an amount with at most 2 decimals")
    return value.quantize(Decimal("0.01"))


def date_or_none(raw: str | None, field: str = "issue date") -> date | None:
    if raw is None or not raw.strip():
        return None
    digits = re.sub(r"\D", "", raw)[:8]
    try:
        if len(digits) != 8:
            raise ValueError(raw)
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError as exc:
        raise InvoiceInvalid(reason=f"{field} is not a date") from exc


def validate(fields: InvoiceFields) -> InvoiceFields:
    """Check the identity fields; raise InvoiceInvalid naming what is wrong."""
    if not re.fullmatch(r"\d{2}", fields.invoice_type):
        raise InvoiceInvalid(reason="the invoice type code must be 2 digits")
    if not _NUMBER.match(fields.invoice_number):
        raise InvoiceInvalid(reason="the invoice number must be 8 or 20 digits")
    if fields.fully_digital and fields.invoice_code:
        raise InvoiceInvalid(reason="a 20-digit (fully digital) invoice has no invoice code")
    if not fields.fully_digital and not (fields.invoice_code and _CODE.match(fields.invoice_code)):
        raise InvoiceInvalid(reason="an 8-digit invoice number needs a 10 or 12 digit code")
    for name in ("seller_tax_id", "buyer_tax_id"):
        value = getattr(fields, name)
        if value is not None and not _TAX_ID.match(value):
            raise InvoiceInvalid(reason=f"{name} is not a taxpayer id")
    for name in ("amount", "tax_amount", "total_amount"):
        value = getattr(fields, name)
        if value is not None and value < 0:
            raise InvoiceInvalid(reason=f"{name} is negative (red-letter invoices are not claims)")
    return fields.completed()
