"""Deductible input VAT (进项税额) of an invoice backing a claim line (pure).

- Special VAT invoices (01, 08, 31): the tax shown on the invoice.
- Domestic passenger transport (财政部 税务总局 海关总署公告2019年第39号):
  rail e-tickets (51) and air e-itineraries (61): total / (1 + 9%) x 9%;
  electronic ordinary invoices (10, 32) for a transport category: the tax shown.
Anything else: not deductible (None).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from baoxiao.invoices.fields import InvoiceFields

SPECIAL = frozenset({"01", "08", "31"})
TICKETS_9 = frozenset({"51", "61"})
ORDINARY_ELECTRONIC = frozenset({"10", "32"})
TRANSPORT_CATEGORIES = frozenset({"TAXI", "TRAIN", "FLIGHT", "BUS", "TRANSPORT", "TRAVEL"})
CENT = Decimal("0.01")


def deductible(fields: InvoiceFields, category_code: str | None) -> Decimal | None:
    """The input VAT this invoice lets the company deduct, if any."""
    if fields.invoice_type in SPECIAL:
        return fields.tax_amount
    if fields.invoice_type in TICKETS_9:
        base = fields.total_amount
        if base is None:
            return None
        return (base / Decimal("1.09") * Decimal("0.09")).quantize(CENT, rounding=ROUND_HALF_UP)
    if fields.invoice_type in ORDINARY_ELECTRONIC and category_code in TRANSPORT_CATEGORIES:
        return fields.tax_amount
    return None
