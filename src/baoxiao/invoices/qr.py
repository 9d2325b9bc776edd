"""The QR code on Chinese VAT invoices: its payload (pure) and reading it from images.

Payload layout, comma separated (published by the tax administration and
widely documented, e.g. codeprj.com/zh/blog/5d77841 and
blog.csdn.net/yiqinuliba/article/details/131490667):

    01,10,011001605111,80100798,64.90,20161018,85342965681116380258,ABCD,
    |  |  |            |        |     |        |                    +- CRC / check digits
    |  |  |            |        |     |        +- check code (校验码; empty on 专票 and 数电)
    |  |  |            |        |     +- issue date YYYYMMDD
    |  |  |            |        +- amount before tax (不含税金额)
    |  |  |            +- invoice number: 8 digits, or 20 digits for fully digital invoices
    |  |  +- invoice code: 10 or 12 digits, empty for fully digital (数电) invoices
    |  +- invoice type code: 01 专票, 04 普票, 10 电子普票, 31/32 数电专票/普票, ...
    +- version "01"
"""

from __future__ import annotations

import io
import warnings

import zxingcpp
from PIL import Image, UnidentifiedImageError

from baoxiao.invoices.errors import InvoiceFileRejected, InvoiceInvalid, InvoiceUnreadable
from baoxiao.invoices.fields import InvoiceFields, date_or_none, decimal_or_none, validate

MAX_PAYLOAD = 512
MAX_PIXELS = 40_000_000  # a phone photo is ~12 MP; more is a decompression bomb


def parse_payload(text: str, *, source: str = "qr") -> InvoiceFields:
    """Fields of an invoice QR payload; InvoiceInvalid names what does not fit."""
    if len(text) > MAX_PAYLOAD:
        raise InvoiceInvalid(reason="the QR payload is too long")
    parts = [p.strip() for p in text.strip().split(",")]
    if len(parts) < 7:
        raise InvoiceInvalid(reason="the QR payload has fewer than 7 fields")
    if parts[0] != "01":
        raise InvoiceInvalid(reason=f"unknown QR payload version {parts[0][:8]!r}")
    fields = InvoiceFields(
        invoice_type=parts[1],
        invoice_code=parts[2] or None,
        invoice_number=parts[3],
        amount=decimal_or_none(parts[4], "amount"),
        issue_date=date_or_none(parts[5]),
        check_code=parts[6] or None,
        source=source,
    )
    if fields.issue_date is None:
        raise InvoiceInvalid(reason="the QR payload has no issue date")
    return validate(fields)


def open_image(data: bytes) -> Image.Image:
    """Decode an image safely: bounded pixel count, whole file read."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise InvoiceFileRejected(reason=f"the image is too large ({width}x{height})")
            image.load()
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise InvoiceFileRejected(reason="the image is a decompression bomb") from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InvoiceUnreadable(kind="image", reason="it is damaged or truncated") from exc
    return image


def decode_image(image: Image.Image) -> list[str]:
    """The texts of the QR codes zxing-cpp finds in an image."""
    found = zxingcpp.read_barcodes(image.convert("L"))
    return [c.text for c in found if c.valid and c.text and "QR" in str(c.format)]


def first_invoice(payloads: list[str], source: str) -> InvoiceFields | None:
    """The first QR payload that is an invoice; other QR codes (URLs, ...) are ignored."""
    for payload in payloads:
        if payload.startswith("01,"):
            return parse_payload(payload, source=source)
    return None


def read_image(data: bytes) -> InvoiceFields | None:
    return first_invoice(decode_image(open_image(data)), "qr")
