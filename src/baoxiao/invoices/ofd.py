"""OFD e-invoices (GB/T 33190): a ZIP package, checked before anything is extracted.

Limits are checked on the central directory first (entry count, declared
sizes, compression ratio, names), and every read is bounded again, since a
hostile archive can lie in its headers. Fields come from an embedded fully
digital invoice XML (<EInvoice>) when the package carries one, else from the
invoice's CustomData entries in OFD.xml (发票代码, 发票号码, 开票日期, 合计金额, ...).
"""

from __future__ import annotations

import io
import stat
import zipfile
from xml.etree.ElementTree import Element

from baoxiao.invoices.einvoice_xml import local, parse_xml, read_einvoice
from baoxiao.invoices.errors import InvoiceFileRejected, InvoiceInvalid, InvoiceUnreadable
from baoxiao.invoices.fields import InvoiceFields, date_or_none, decimal_or_none, validate

MAX_ENTRIES = 500
MAX_TOTAL_BYTES = 20 * 1024 * 1024
MAX_ENTRY_BYTES = 5 * 1024 * 1024
MAX_RATIO = 100  # uncompressed / compressed: invoices compress ~5x, bombs ~1000x

CUSTOM = {
    "发票代码": "invoice_code",
    "发票号码": "invoice_number",
    "开票日期": "issue_date",
    "合计金额": "amount",
    "合计税额": "tax_amount",
    "价税合计": "total_amount",
    "校验码": "check_code",
    "购买方名称": "buyer_name",
    "购买方纳税人识别号": "buyer_tax_id",
    "销售方名称": "seller_name",
    "销售方纳税人识别号": "seller_tax_id",
    "发票种类代码": "invoice_type",
}


def _unsafe_name(name: str) -> bool:
    parts = name.split("/")
    return (
        name.startswith(("/", "\\"))
        or "\\" in name
        or ".." in parts
        or (len(name) > 1 and name[1] == ":")
        or "\x00" in name
    )


def check_archive(archive: zipfile.ZipFile) -> list[zipfile.ZipInfo]:
    """Refuse the package before extraction: too many entries, too big, bombs, bad names."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InvoiceFileRejected(reason=f"the OFD package has more than {MAX_ENTRIES} entries")
    total = 0
    for info in infos:
        if _unsafe_name(info.filename):
            raise InvoiceFileRejected(reason=f"unsafe path in the OFD package: {info.filename!r}")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise InvoiceFileRejected(reason="the OFD package contains a symbolic link")
        if info.file_size > MAX_RATIO * max(info.compress_size, 1) and info.file_size > 1024:
            raise InvoiceFileRejected(reason="the OFD package is a zip bomb")
        if info.file_size > MAX_ENTRY_BYTES:
            raise InvoiceFileRejected(reason=f"entry {info.filename!r} is too large")
        total += info.file_size
    if total > MAX_TOTAL_BYTES:
        raise InvoiceFileRejected(reason="the OFD package is too large uncompressed")
    return infos


def _read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    with archive.open(info) as handle:
        data = handle.read(MAX_ENTRY_BYTES + 1)
    if len(data) > MAX_ENTRY_BYTES or len(data) != info.file_size:
        raise InvoiceFileRejected(reason=f"entry {info.filename!r} is not the size it declares")
    return data


def _custom_datas(root: Element) -> dict[str, str]:
    values: dict[str, str] = {}
    for node in root.iter():
        if local(node.tag) == "CustomData" and node.get("Name") in CUSTOM and node.text:
            values[CUSTOM[node.get("Name", "")]] = node.text.strip()
    return values


def _from_custom(values: dict[str, str]) -> InvoiceFields:
    number = values.get("invoice_number")
    if not number:
        raise InvoiceInvalid(reason="the OFD invoice data has no invoice number")
    code = values.get("invoice_code") or None
    default_type = "32" if len(number) == 20 else "10"
    fields = InvoiceFields(
        invoice_type=values.get("invoice_type") or default_type,
        invoice_code=code,
        invoice_number=number,
        issue_date=date_or_none(values.get("issue_date")),
        amount=decimal_or_none(values.get("amount"), "amount"),
        tax_amount=decimal_or_none(values.get("tax_amount"), "tax amount"),
        total_amount=decimal_or_none(values.get("total_amount"), "total"),
        check_code=(values.get("check_code") or "").replace(" ", "") or None,
        seller_name=values.get("seller_name"),
        seller_tax_id=values.get("seller_tax_id"),
        buyer_name=values.get("buyer_name"),
        buyer_tax_id=values.get("buyer_tax_id"),
        source="ofd",
    )
    return validate(fields)


def read_ofd(data: bytes) -> InvoiceFields | None:
    """Fields of an OFD e-invoice (None for an OFD document that is not one); hostile or
    broken packages are refused."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise InvoiceUnreadable(kind="OFD package", reason="it is not a valid ZIP") from exc
    with archive:
        infos = check_archive(archive)
        by_name = {info.filename: info for info in infos}
        if "OFD.xml" not in by_name:
            raise InvoiceUnreadable(kind="OFD package", reason="it has no OFD.xml")
        try:
            root = parse_xml(_read_entry(archive, by_name["OFD.xml"]))
            for info in infos:
                if info.filename.lower().endswith(".xml") and info.filename != "OFD.xml":
                    body = _read_entry(archive, info)
                    if b"<EInvoice" in body[:4096]:
                        return read_einvoice(parse_xml(body), source="ofd")
        except (zipfile.BadZipFile, EOFError, OSError, RuntimeError) as exc:
            raise InvoiceUnreadable(kind="OFD package", reason="an entry is damaged") from exc
    values = _custom_datas(root)
    return _from_custom(values) if values.get("invoice_number") else None
