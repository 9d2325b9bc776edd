"""Read an uploaded file as an invoice, by its sniffed type."""

from __future__ import annotations

from baoxiao.invoices.einvoice_xml import read_xml
from baoxiao.invoices.fields import InvoiceFields
from baoxiao.invoices.ofd import read_ofd
from baoxiao.invoices.pdf import read_pdf
from baoxiao.invoices.qr import read_image


def read_invoice(data: bytes, content_type: str) -> InvoiceFields | None:
    """The invoice in a file, None for a receipt without one; hostile files raise (4xx)."""
    if content_type.startswith("image/"):
        return read_image(data)
    if content_type == "application/pdf":
        return read_pdf(data)
    if content_type == "application/xml":
        return read_xml(data)
    if content_type == "application/ofd":
        return read_ofd(data)
    return None
