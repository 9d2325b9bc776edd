"""Invoice parsers on files generated to the published layouts, and on hostile files."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from decimal import Decimal

import pytest

from baoxiao.invoices import qr
from baoxiao.invoices.errors import InvoiceFileRejected, InvoiceInvalid, InvoiceUnreadable
from baoxiao.invoices.fields import InvoiceFields, validate
from baoxiao.invoices.ofd import read_ofd
from baoxiao.invoices.reader import read_invoice
from baoxiao.invoices.vat import deductible
from tests.support import invoice_samples as s


def test_qr_payload_of_a_classic_electronic_invoice() -> None:
    fields = qr.parse_payload("01,10,011001605111,80100798,64.9,20161018,85342965681116380258,")
    assert fields.invoice_type == "10"
    assert fields.invoice_code == "011001605111"
    assert fields.invoice_number == "80100798"
    assert fields.amount == Decimal("64.90")
    assert fields.issue_date == date(2016, 10, 18)
    assert fields.check_code == "85342965681116380258"
    assert fields.key == "011001605111:80100798"


def test_qr_payload_of_a_fully_digital_invoice_has_no_code() -> None:
    fields = qr.parse_payload("01,32,,23442000000014209621,112,20230215,,74AE")
    assert fields.invoice_code is None and fields.check_code is None
    assert fields.key == "23442000000014209621"
    assert fields.fully_digital


def test_qr_payload_of_a_special_invoice() -> None:
    fields = qr.parse_payload("01,01,1200154130,03630024,94339.62,20160621,,9335,")
    assert (fields.invoice_type, fields.amount) == ("01", Decimal("94339.62"))


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ("02,10,011001605111,80100798,64.9,20161018,1,", "version"),
        ("01,10,011001605111,80100798", "fewer than 7"),
        ("01,10,,80100798,64.9,20161018,,", "8-digit invoice number needs"),
        ("01,32,011001605111,23442000000014209621,1,20230215,,", "no invoice code"),
        ("01,10,011001605111,801007,64.9,20161018,,", "8 or 20 digits"),
        ("01,10,011001605111,80100798,6x,20161018,,", "amount"),
        ("01,10,011001605111,80100798,6.123,20161018,,", "2 decimals"),
        ("01,10,011001605111,80100798,64.9,20161318,,", "date"),
        ("01,1,011001605111,80100798,64.9,20161018,,", "type code"),
        ("01,10,011001605111,80100798,-5,20161018,,", "negative"),
        ("01," + "9" * 600, "too long"),
    ],
)
def test_bad_qr_payloads_are_refused_with_a_reason(payload: str, reason: str) -> None:
    with pytest.raises(InvoiceInvalid) as caught:
        qr.parse_payload(payload)
    assert reason in caught.value.render("en")
    assert caught.value.render("zh-CN").startswith("发票数据无效")


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_qr_is_read_from_a_photo(fmt: str) -> None:
    fields = read_invoice(s.qr_png(s.qr_payload(s.DIGITAL), fmt=fmt), f"image/{fmt.lower()}")
    assert fields is not None and fields.key == s.DIGITAL.key
    assert fields.amount == Decimal("400.00") and fields.source == "qr"


def test_an_image_without_a_qr_is_a_plain_receipt() -> None:
    blank = io.BytesIO()
    qr.Image.new("RGB", (200, 200), "white").save(blank, format="PNG")
    assert read_invoice(blank.getvalue(), "image/png") is None
    other = s.qr_png("https://example.com/menu")
    assert read_invoice(other, "image/png") is None


def test_broken_and_oversized_images_are_refused() -> None:
    with pytest.raises(InvoiceUnreadable):
        read_invoice(s.truncated(s.qr_png(s.qr_payload(s.Sample())), 0.5), "image/png")
    huge = io.BytesIO()
    qr.Image.new("1", (9000, 9000)).save(huge, format="PNG")  # 81 MP, a few KB compressed
    with pytest.raises(InvoiceFileRejected):
        read_invoice(huge.getvalue(), "image/png")


def test_pdf_gives_qr_identity_and_text_layer_extras() -> None:
    fields = read_invoice(s.invoice_pdf(s.Sample()), "application/pdf")
    assert fields is not None
    assert fields.key == s.Sample().key and fields.source == "pdf"
    assert (fields.amount, fields.tax_amount, fields.total_amount) == (
        Decimal("400.00"),
        Decimal("24.00"),
        Decimal("424.00"),
    )
    assert (fields.seller_name, fields.seller_tax_id) == (s.SELLER, s.SELLER_TAX_ID)
    assert (fields.buyer_name, fields.buyer_tax_id) == (s.BUYER, s.BUYER_TAX_ID)


def test_pdf_with_only_a_qr_or_only_text() -> None:
    qr_only = read_invoice(s.invoice_pdf(s.DIGITAL, with_text=False), "application/pdf")
    assert qr_only is not None and qr_only.key == s.DIGITAL.key and qr_only.tax_amount is None
    text_only = read_invoice(s.invoice_pdf(s.DIGITAL, with_qr=False), "application/pdf")
    assert text_only is not None and text_only.invoice_type == "32"
    assert text_only.total_amount == Decimal("424.00")
    plain = read_invoice(
        s.invoice_pdf(s.Sample(), with_qr=False, with_text=False), "application/pdf"
    )
    assert plain is None


def test_truncated_pdf_is_refused() -> None:
    with pytest.raises(InvoiceUnreadable):
        read_invoice(s.truncated(s.invoice_pdf(s.Sample())), "application/pdf")


def test_fully_digital_xml() -> None:
    fields = read_invoice(s.einvoice_xml(), "application/xml")
    assert fields is not None
    assert (fields.invoice_type, fields.key, fields.issue_date) == (
        "32",
        s.DIGITAL.key,
        date(2026, 10, 28),
    )
    assert fields.total_amount == Decimal("424.00") and fields.buyer_tax_id == s.BUYER_TAX_ID
    special = read_invoice(s.einvoice_xml(special=True), "application/xml")
    assert special is not None and special.invoice_type == "31"


@pytest.mark.parametrize("make", [s.xml_with_dtd, s.xml_external_entity])
def test_xml_with_dtd_or_entities_is_refused(make: object) -> None:
    with pytest.raises(InvoiceFileRejected):
        read_invoice(make(), "application/xml")  # type: ignore[operator]


def test_xml_that_is_not_an_einvoice_or_not_well_formed() -> None:
    assert read_invoice(b'<?xml version="1.0"?><Invoice/>', "application/xml") is None
    with pytest.raises(InvoiceUnreadable):
        read_invoice(s.truncated(s.einvoice_xml(), 0.5), "application/xml")


def test_ofd_from_custom_data_and_from_embedded_xml() -> None:
    classic = read_invoice(s.ofd_package(), "application/ofd")
    assert classic is not None and classic.key == s.Sample().key and classic.source == "ofd"
    assert classic.total_amount == Decimal("424.00")
    digital = read_invoice(s.ofd_package(s.DIGITAL, embed_xml=True), "application/ofd")
    assert digital is not None and digital.key == s.DIGITAL.key
    assert digital.seller_name == s.SELLER


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (s.zip_bomb_ofd(), "zip bomb"),
        (s.many_entries_ofd(), "more than 500 entries"),
        (s.traversal_ofd(), "unsafe path"),
        (s.traversal_ofd("/etc/passwd"), "unsafe path"),
        (s.traversal_ofd("C:/Windows/evil.dll"), "unsafe path"),
        (s.traversal_ofd("Doc_0\\..\\evil"), "unsafe path"),
    ],
)
def test_hostile_ofd_packages_are_refused_before_extraction(data: bytes, reason: str) -> None:
    with pytest.raises(InvoiceFileRejected) as caught:
        read_ofd(data)
    assert reason in caught.value.render("en")


def test_ofd_entry_that_lies_about_its_size_is_refused() -> None:
    data = bytearray(s.ofd_package())
    # Shrink the declared size of OFD.xml in the central directory (offset 24 of its record).
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))
    central = bytes(data).rfind(b"PK\x01\x02", 0, bytes(data).find(b"OFD.xml", 100) + 1)
    assert archive.getinfo("OFD.xml").file_size > 10
    data[central + 24 : central + 28] = (10).to_bytes(4, "little")
    with pytest.raises((InvoiceFileRejected, InvoiceUnreadable)):
        read_ofd(bytes(data))


def test_truncated_or_fake_ofd_is_refused() -> None:
    with pytest.raises(InvoiceUnreadable):
        read_ofd(s.truncated(s.ofd_package()))
    with pytest.raises(InvoiceUnreadable):
        read_ofd(b"PK\x03\x04 not really a zip")


def test_deductible_input_vat() -> None:
    special = validate(InvoiceFields("01", "03630024", "3100194130", tax_amount=Decimal("6.00")))
    assert deductible(special, "HOTEL") == Decimal("6.00")
    rail = InvoiceFields("51", "24312000000012345678", total_amount=Decimal("109.00"))
    assert deductible(rail, "TRAIN") == Decimal("9.00")
    air = InvoiceFields("61", "24312000000012345679", total_amount=Decimal("1250.00"))
    assert deductible(air, "FLIGHT") == Decimal("103.21")
    taxi = InvoiceFields("10", "80100798", "031001900211", tax_amount=Decimal("0.87"))
    assert deductible(taxi, "TAXI") == Decimal("0.87")
    assert deductible(taxi, "MEAL") is None  # ordinary invoice outside transport
    ordinary = InvoiceFields("04", "80100798", "3100194130", tax_amount=Decimal("3.00"))
    assert deductible(ordinary, "TAXI") is None
