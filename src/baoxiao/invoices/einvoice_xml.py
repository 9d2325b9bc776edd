"""The XML of fully digital invoices (数电发票), parsed safely.

Root <EInvoice>: <Header> (EIid, EInvoiceTag, Version, InherentLabel with the
invoice type), <EInvoiceData> (SellerInformation: SellerIdNum, SellerName;
BuyerInformation: BuyerIdNum, BuyerName; BasicInformation: TotalAmWithoutTax,
TotalTaxAm, TotalTax-includedAmount; IssuItemInformation), <TaxSupervisionInfo>
(InvoiceNumber, 20 digits; IssueTime) and <TaxBureauSignature>. Element names
follow the MoF accounting data standard for fully digital invoices (see
docs/guide/invoices.md for the sources).

defusedxml refuses DTDs, entity declarations and external references, so
billion-laughs and XXE payloads fail before anything is expanded.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from baoxiao.invoices.errors import InvoiceFileRejected, InvoiceInvalid, InvoiceUnreadable
from baoxiao.invoices.fields import InvoiceFields, date_or_none, decimal_or_none, validate

MAX_XML_BYTES = 2 * 1024 * 1024


def parse_xml(data: bytes) -> Element:
    """Parse untrusted XML: no DTD, no entities, no external references, bounded size."""
    if len(data) > MAX_XML_BYTES:
        raise InvoiceFileRejected(reason="the XML document is too large")
    try:
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True)
    except DefusedXmlException as exc:
        raise InvoiceFileRejected(reason="XML with a DTD or entities is not accepted") from exc
    except (ParseError, ValueError) as exc:
        raise InvoiceUnreadable(kind="XML", reason="it is not well-formed") from exc
    return root


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def find_text(root: Element, *path: str) -> str | None:
    """Text of the first element along a path of local names (namespaces ignored)."""
    node: Element | None = root
    for name in path:
        if node is None:
            return None
        node = next((child for child in node if local(child.tag) == name), None)
    if node is None or node.text is None:
        return None
    return node.text.strip() or None


def _type_code(root: Element) -> str:
    label = find_text(root, "Header", "InherentLabel", "EInvoiceType", "LabelName") or ""
    code = find_text(root, "Header", "InherentLabel", "EInvoiceType", "LabelCode") or ""
    return "31" if "专用" in label or code == "01" else "32"


def read_einvoice(root: Element, *, source: str = "xml") -> InvoiceFields:
    """Fields of a parsed <EInvoice> document."""
    if local(root.tag) != "EInvoice":
        raise InvoiceUnreadable(kind="fully digital invoice", reason="the root is not <EInvoice>")
    number = find_text(root, "TaxSupervisionInfo", "InvoiceNumber") or find_text(
        root, "Header", "EIid"
    )
    if not number:
        raise InvoiceInvalid(reason="the e-invoice has no invoice number")
    data = ("EInvoiceData",)
    fields = InvoiceFields(
        invoice_type=_type_code(root),
        invoice_number=number,
        issue_date=date_or_none(find_text(root, "TaxSupervisionInfo", "IssueTime")),
        amount=decimal_or_none(
            find_text(root, *data, "BasicInformation", "TotalAmWithoutTax"), "amount"
        ),
        tax_amount=decimal_or_none(
            find_text(root, *data, "BasicInformation", "TotalTaxAm"), "tax amount"
        ),
        total_amount=decimal_or_none(
            find_text(root, *data, "BasicInformation", "TotalTax-includedAmount"), "total"
        ),
        seller_name=find_text(root, *data, "SellerInformation", "SellerName"),
        seller_tax_id=find_text(root, *data, "SellerInformation", "SellerIdNum"),
        buyer_name=find_text(root, *data, "BuyerInformation", "BuyerName"),
        buyer_tax_id=find_text(root, *data, "BuyerInformation", "BuyerIdNum"),
        source=source,
    )
    return validate(fields)


def read_xml(data: bytes) -> InvoiceFields | None:
    """Fields of a fully digital invoice; None for well-formed XML of another kind."""
    root = parse_xml(data)
    return read_einvoice(root) if local(root.tag) == "EInvoice" else None
