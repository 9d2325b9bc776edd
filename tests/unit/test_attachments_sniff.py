"""claims.attachments: the real type of an upload from its bytes, and a safe display name."""

from __future__ import annotations

import io
import zipfile

import pytest

from baoxiao.claims.attachments import EXTENSIONS, MAX_OFD_ENTRIES, clean_filename, sniff

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\n%%EOF\n"
INVOICE_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    "<EInvoice><Amount>128.50</Amount><Seller>上海某某</Seller></EInvoice>"
)


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()


OFD = _zip({"OFD.xml": b"<ofd:OFD/>", "Doc_0/Document.xml": b"<ofd:Document/>"})


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (JPEG, "image/jpeg"),
        (b"\xff\xd8\xff\xdb" + b"\x00" * 16, "image/jpeg"),
        (PNG, "image/png"),
        (WEBP, "image/webp"),
        (PDF, "application/pdf"),
        (INVOICE_XML.encode(), "application/xml"),
        (b"\xef\xbb\xbf" + INVOICE_XML.encode(), "application/xml"),  # UTF-8 BOM
        (b"\n  \t" + INVOICE_XML.encode(), "application/xml"),  # leading whitespace
        (OFD, "application/ofd"),
    ],
    ids=["jpeg", "jpeg-dqt", "png", "webp", "pdf", "xml", "xml-bom", "xml-space", "ofd"],
)
def test_sniff_accepts(data: bytes, expected: str) -> None:
    assert sniff(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(
            b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 48, id="exe"
        ),
        pytest.param(b"\x7fELF\x02\x01\x01" + b"\x00" * 16, id="elf"),
        pytest.param(b"GIF89a\x01\x00\x01\x00", id="gif"),
        pytest.param(b"<html><body>hello</body></html>", id="html"),
        pytest.param(b"<EInvoice/>", id="xml-without-declaration"),
        pytest.param(b"hello, world", id="text"),
        pytest.param(b"RIFF\x24\x00\x00\x00WAVEfmt ", id="riff-wave"),
        pytest.param(b"%PDF", id="truncated-pdf-magic"),
        pytest.param(b"\xff\xd8", id="truncated-jpeg-magic"),
        pytest.param(
            b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">]>\n<lolz>&lol;</lolz>',
            id="xml-doctype",
        ),
        pytest.param(b'<?xml version="1.0"?>\n<!doctype html><a/>', id="xml-doctype-lowercase"),
        pytest.param(b'<?xml version="1.0"?><a><!ENTITY x "y"></a>', id="xml-entity"),
        pytest.param(
            b'<?xml version="1.0" encoding="GBK"?><a>\xc9\xcf\xba\xa3\xff</a>', id="xml-not-utf8"
        ),
        pytest.param(
            _zip({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<t/>"}), id="plain-zip"
        ),
        pytest.param(_zip({"OFD.xml": b"<ofd/>", "../evil.sh": b"rm -rf /"}), id="zip-dotdot"),
        pytest.param(_zip({"OFD.xml": b"<ofd/>", "Doc/../../x": b"x"}), id="zip-nested-dotdot"),
        pytest.param(_zip({"OFD.xml": b"<ofd/>", "/etc/cron.d/x": b"x"}), id="zip-absolute"),
        pytest.param(_zip({"Doc_0/OFD.xml": b"<ofd/>"}), id="zip-ofd-not-at-root"),
        pytest.param(b"PK\x03\x04" + b"\x00" * 40, id="corrupt-zip"),
    ],
)
def test_sniff_refuses(data: bytes) -> None:
    assert sniff(data) is None


def test_sniff_refuses_zip_with_too_many_entries() -> None:
    entries = {f"Doc_0/p{i}.xml": b"" for i in range(MAX_OFD_ENTRIES)}
    entries["OFD.xml"] = b"<ofd/>"
    assert sniff(_zip(entries)) is None
    del entries["Doc_0/p0.xml"]
    assert sniff(_zip(entries)) == "application/ofd"


def test_sniff_ignores_what_the_name_claims() -> None:
    # Only bytes decide: a PDF is a PDF whatever it is called, and an exe stays refused.
    assert sniff(PDF) == "application/pdf"
    assert clean_filename("invoice.exe", "application/pdf") == "invoice.pdf"


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("receipt.jpg", "image/jpeg", "receipt.jpg"),
        ("receipt.JPEG", "image/jpeg", "receipt.jpg"),
        ("invoice.exe", "application/pdf", "invoice.pdf"),
        ("scan.pdf.exe", "image/png", "scan.pdf.png"),
        ("../../etc/passwd", "application/pdf", "passwd.pdf"),
        ("/var/www/shell.php", "image/webp", "shell.webp"),
        ("C:\\Users\\li.na\\Desktop\\发票.PDF", "application/pdf", "发票.pdf"),
        ("..\\..\\boot.ini", "application/xml", "boot.xml"),
        ("a\x00b\nc\td\x1b.jpg", "image/jpeg", "abcd.jpg"),
        ("evil\u202egpj.exe", "image/jpeg", "evilgpj.jpg"),  # right-to-left override dropped
        ("   .hidden  ", "image/png", "hidden.png"),
        ("noextension", "application/ofd", "noextension.ofd"),
        ("电子发票.ofd", "application/ofd", "电子发票.ofd"),
        ("", "image/png", "attachment.png"),
        (None, "application/pdf", "attachment.pdf"),
        ("...", "application/xml", "attachment.xml"),
        ("dir/", "image/jpeg", "attachment.jpg"),
        ("\x00\x01", "image/jpeg", "attachment.jpg"),
    ],
)
def test_clean_filename(name: str | None, content_type: str, expected: str) -> None:
    assert clean_filename(name, content_type) == expected


def test_clean_filename_normalises_unicode_to_nfc() -> None:
    decomposed = "cafe\u0301.pdf"
    assert clean_filename(decomposed, "application/pdf") == "caf\u00e9.pdf"


def test_clean_filename_caps_the_length() -> None:
    result = clean_filename("a" * 300 + ".pdf", "application/pdf")
    assert result == "a" * 200 + ".pdf"
    assert len(clean_filename("b" * 150 + ".jpg", "image/jpeg")) == 154


def test_every_accepted_type_has_an_extension() -> None:
    accepted = {
        "image/jpeg",
        "image/png",
        "image/webp",
        "application/pdf",
        "application/xml",
        "application/ofd",
    }
    assert set(EXTENSIONS) == accepted
    for content_type in accepted:
        assert clean_filename("x.bin", content_type) == "x" + EXTENSIONS[content_type]
