"""PDF e-invoices: the QR code embedded as an image, and the text layer (pypdf, no binaries).

The QR gives the identity (type, code, number, date, amount, check code); the
text layer adds what the QR lacks: tax, total, seller and buyer. A PDF with
neither is a plain receipt, not an error.
"""

from __future__ import annotations

import io
import re

from pypdf import PdfReader
from pypdf.errors import PyPdfError

from baoxiao.invoices.errors import InvoiceInvalid, InvoiceUnreadable
from baoxiao.invoices.fields import InvoiceFields, date_or_none, decimal_or_none, validate
from baoxiao.invoices.qr import MAX_PIXELS, decode_image, first_invoice

MAX_PAGES = 3
MAX_IMAGES = 20
_PARSER_ERRORS = (
    PyPdfError,
    ValueError,
    KeyError,
    TypeError,
    IndexError,
    AttributeError,
    OSError,
    AssertionError,
    NotImplementedError,
    RecursionError,
    ZeroDivisionError,
)
_NUMBER = re.compile(r"发票号码[::]\s*(\d{20}|\d{8})")
_CODE = re.compile(r"发票代码[::]\s*(\d{12}|\d{10})")
_DATE = re.compile(r"开票日期[::]\s*(\d{4})\s*[年-]\s*(\d{1,2})\s*[月-]\s*(\d{1,2})")
_CHECK = re.compile(r"校\s*验\s*码[::]\s*([\d ]{20,30})")
_TOTAL = re.compile(r"价税合计[^¥¥\n]*[¥¥]\s*([\d,]+\.\d{2})")
_SUMS = re.compile(r"合\s*计\s*[¥¥]\s*([\d,]+\.\d{2})\s*[¥¥]\s*([\d,]+\.\d{2})")
_NAME = re.compile(r"名\s*称[::]\s*(\S+)")
_TAX_ID = re.compile(r"纳税人识别号[::]\s*([0-9A-Z]{15,20})")


def _type_from_text(text: str, number: str) -> str:
    special = "专用发票" in text
    if len(number) == 20:
        return "31" if special else "32"
    if "电子" in text:
        return "08" if special else "10"
    return "01" if special else "04"


def fields_from_text(text: str) -> InvoiceFields | None:
    """Invoice fields from a text layer; None when it does not read as an invoice."""
    number = _NUMBER.search(text)
    if number is None:
        return None
    code, when, check = _CODE.search(text), _DATE.search(text), _CHECK.search(text)
    total, sums = _TOTAL.search(text), _SUMS.search(text)
    names, tax_ids = _NAME.findall(text), _TAX_ID.findall(text)
    fields = InvoiceFields(
        invoice_type=_type_from_text(text, number.group(1)),
        invoice_number=number.group(1),
        invoice_code=code.group(1) if code else None,
        issue_date=date_or_none("".join(f"{int(g):02d}" for g in when.groups())) if when else None,
        amount=decimal_or_none(sums.group(1), "amount") if sums else None,
        tax_amount=decimal_or_none(sums.group(2), "tax amount") if sums else None,
        total_amount=decimal_or_none(total.group(1), "total") if total else None,
        check_code=check.group(1).replace(" ", "") if check else None,
        buyer_name=names[0] if names else None,
        seller_name=names[1] if len(names) > 1 else None,
        buyer_tax_id=tax_ids[0] if tax_ids else None,
        seller_tax_id=tax_ids[1] if len(tax_ids) > 1 else None,
        source="pdf",
    )
    try:
        return validate(fields)
    except InvoiceInvalid:
        return None


def _merge(from_qr: InvoiceFields, from_text: InvoiceFields | None) -> InvoiceFields:
    if from_text is None or from_text.key != from_qr.key:
        return from_qr
    merged = InvoiceFields(
        invoice_type=from_qr.invoice_type,
        invoice_code=from_qr.invoice_code,
        invoice_number=from_qr.invoice_number,
        issue_date=from_qr.issue_date or from_text.issue_date,
        amount=from_qr.amount if from_qr.amount is not None else from_text.amount,
        tax_amount=from_text.tax_amount,
        total_amount=from_text.total_amount,
        check_code=from_qr.check_code or from_text.check_code,
        seller_name=from_text.seller_name,
        seller_tax_id=from_text.seller_tax_id,
        buyer_name=from_text.buyer_name,
        buyer_tax_id=from_text.buyer_tax_id,
        source="pdf",
    )
    return validate(merged)


def read_pdf(data: bytes) -> InvoiceFields | None:
    """Fields of a PDF e-invoice, or None for a PDF that is not one."""
    texts: list[str] = []
    payloads: list[str] = []
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise InvoiceUnreadable(kind="PDF", reason="it is encrypted")
        for page in reader.pages[:MAX_PAGES]:
            texts.append(page.extract_text() or "")
            for index, image in enumerate(page.images):
                if index >= MAX_IMAGES:
                    break
                width, height = image.image.size if image.image else (0, 0)
                if image.image is not None and 0 < width * height <= MAX_PIXELS:
                    payloads += decode_image(image.image)
    except InvoiceUnreadable:
        raise
    except _PARSER_ERRORS as exc:
        raise InvoiceUnreadable(kind="PDF", reason="it is damaged or truncated") from exc
    from_text = fields_from_text("\n".join(texts))
    from_qr = first_invoice(payloads, "pdf")
    if from_qr is not None:
        return _merge(from_qr, from_text)
    return from_text
