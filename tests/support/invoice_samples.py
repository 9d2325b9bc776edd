"""Invoice test files built in code, to the published layouts (see docs/guide/invoices.md).

QR payloads as printed on VAT invoices, PDFs made with reportlab carrying a
text layer and the QR image, fully digital invoice XML (<EInvoice>) and OFD
packages; plus hostile and broken files.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from decimal import Decimal

import qrcode
from PIL import Image
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"
pdfmetrics.registerFont(UnicodeCIDFont(FONT))

BUYER = "A公司有限公司"
BUYER_TAX_ID = "91310000MA1FL8XQ3B"
SELLER = "上海某某酒店管理有限公司"
SELLER_TAX_ID = "91310101MA1FP0XX2K"


@dataclass(frozen=True)
class Sample:
    invoice_type: str = "10"
    code: str = "031001900211"
    number: str = "80100798"
    amount: Decimal = Decimal("400.00")
    tax: Decimal = Decimal("24.00")
    date: str = "20261028"
    check: str = "85342965681116380258"
    buyer: str = BUYER
    buyer_tax_id: str = BUYER_TAX_ID
    seller: str = SELLER
    seller_tax_id: str = SELLER_TAX_ID

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax

    @property
    def key(self) -> str:
        return f"{self.code}:{self.number}" if self.code else self.number


DIGITAL = Sample(invoice_type="32", code="", number="24312000000012345678", check="")
SPECIAL = Sample(invoice_type="01", code="3100194130", number="03630024", check="")


def qr_payload(s: Sample) -> str:
    """01,type,code,number,amount,date,check,crc, as on the invoice."""
    return f"01,{s.invoice_type},{s.code},{s.number},{s.amount},{s.date},{s.check},74AE,"


def qr_png(payload: str, *, fmt: str = "PNG") -> bytes:
    image = qrcode.make(payload).get_image().convert("RGB")
    out = io.BytesIO()
    image.save(out, format=fmt)
    return out.getvalue()


def invoice_pdf(s: Sample, *, with_qr: bool = True, with_text: bool = True) -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont(FONT, 10)
    if with_text:
        title = "电子发票(普通发票)" if len(s.number) == 20 else "增值税电子普通发票"
        y = 800
        lines = [
            title,
            f"发票代码:{s.code}" if s.code else "",
            f"发票号码:{s.number}",
            f"开票日期:{s.date[:4]}年{s.date[4:6]}月{s.date[6:]}日",
            f"校验码:{s.check}" if s.check else "",
            f"购买方 名称:{s.buyer}",
            f"统一社会信用代码/纳税人识别号:{s.buyer_tax_id}",
            f"销售方 名称:{s.seller}",
            f"统一社会信用代码/纳税人识别号:{s.seller_tax_id}",
            f"合 计 ¥{s.amount} ¥{s.tax}",
            f"价税合计(大写) 肆佰贰拾肆圆整 (小写)¥{s.total}",
        ]
        for text in lines:
            if text:
                page.drawString(40, y, text)
                y -= 18
    if with_qr:
        page.drawImage(ImageReader(io.BytesIO(qr_png(qr_payload(s)))), 440, 700, 100, 100)
    page.save()
    return out.getvalue()


def einvoice_xml(s: Sample = DIGITAL, *, special: bool = False) -> bytes:
    label = "增值税专用发票" if special else "普通发票"
    date = f"{s.date[:4]}-{s.date[4:6]}-{s.date[6:]}"
    return f"""<?xml version="1.0" encoding="utf-8"?>
<EInvoice>
  <Header>
    <EIid>{s.number}</EIid>
    <EInvoiceTag>SWEI3100</EInvoiceTag>
    <Version>0.1</Version>
    <InherentLabel>
      <EInvoiceType><LabelCode>{"01" if special else "02"}</LabelCode>
        <LabelName>{label}</LabelName></EInvoiceType>
    </InherentLabel>
  </Header>
  <EInvoiceData>
    <SellerInformation><SellerIdNum>{s.seller_tax_id}</SellerIdNum>
      <SellerName>{s.seller}</SellerName></SellerInformation>
    <BuyerInformation><BuyerIdNum>{s.buyer_tax_id}</BuyerIdNum>
      <BuyerName>{s.buyer}</BuyerName></BuyerInformation>
    <BasicInformation>
      <TotalAmWithoutTax>{s.amount}</TotalAmWithoutTax>
      <TotalTaxAm>{s.tax}</TotalTaxAm>
      <TotalTax-includedAmount>{s.total}</TotalTax-includedAmount>
    </BasicInformation>
    <IssuItemInformation><ItemName>*住宿服务*住宿费</ItemName>
      <Amount>{s.amount}</Amount></IssuItemInformation>
  </EInvoiceData>
  <TaxSupervisionInfo>
    <InvoiceNumber>{s.number}</InvoiceNumber>
    <IssueTime>{date} 10:21:07</IssueTime>
    <TaxBureauCode>13100000000</TaxBureauCode>
    <TaxBureauName>国家税务总局上海市税务局</TaxBureauName>
  </TaxSupervisionInfo>
  <TaxBureauSignature><SignatureValue>MEUCIQ==</SignatureValue></TaxBureauSignature>
</EInvoice>
""".encode()


def _ofd_xml(s: Sample) -> bytes:
    custom = {
        "发票代码": s.code,
        "发票号码": s.number,
        "开票日期": f"{s.date[:4]}年{s.date[4:6]}月{s.date[6:]}日",
        "合计金额": str(s.amount),
        "合计税额": str(s.tax),
        "校验码": s.check,
        "购买方名称": s.buyer,
        "购买方纳税人识别号": s.buyer_tax_id,
        "销售方纳税人识别号": s.seller_tax_id,
    }
    datas = "".join(f'<ofd:CustomData Name="{k}">{v}</ofd:CustomData>' for k, v in custom.items())
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" DocType="OFD" Version="1.0">
  <ofd:DocBody>
    <ofd:DocInfo><ofd:DocID>2195d5df959c419cb575dab5eeabb065</ofd:DocID>
      <ofd:CustomDatas>{datas}</ofd:CustomDatas></ofd:DocInfo>
    <ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>
  </ofd:DocBody>
</ofd:OFD>""".encode()


def ofd_package(s: Sample = Sample(), *, embed_xml: bool = False) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", _ofd_xml(s))
        z.writestr("Doc_0/Document.xml", b'<?xml version="1.0"?><ofd:Document/>')
        z.writestr("Doc_0/Pages/Page_0/Content.xml", b'<?xml version="1.0"?><ofd:Page/>')
        if embed_xml:
            z.writestr("Doc_0/Attachs/original_invoice.xml", einvoice_xml(s))
    return out.getvalue()


def receipt_image(fmt: str = "PNG") -> bytes:
    """A tiny real image with no QR code: a plain receipt photo."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "white").save(out, format=fmt)
    return out.getvalue()


def receipt_pdf(text: str = "Taxi receipt 50.00") -> bytes:
    """A real one-page PDF that is not an invoice."""
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(50, 800, text)
    page.save()
    return out.getvalue()


# ---- hostile and broken files ---------------------------------------------------------------


def zip_bomb_ofd() -> bytes:
    """A valid-looking OFD whose one entry inflates 1000x (50 MB of zeros)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("OFD.xml", _ofd_xml(Sample()))
        z.writestr("Doc_0/bomb.bin", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def many_entries_ofd(count: int = 600) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
        z.writestr("OFD.xml", _ofd_xml(Sample()))
        for index in range(count):
            z.writestr(f"Doc_0/Res/{index}.xml", b"<a/>")
    return out.getvalue()


def traversal_ofd(name: str = "../../etc/cron.d/evil") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("OFD.xml", _ofd_xml(Sample()))
        z.writestr(name, b"* * * * * root rm -rf /")
    return out.getvalue()


def xml_with_dtd() -> bytes:
    return b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<EInvoice><Header><EIid>&lol2;</EIid></Header></EInvoice>"""


def xml_external_entity() -> bytes:
    return b"""<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<EInvoice><Header><EIid>&xxe;</EIid></Header></EInvoice>"""


def truncated(data: bytes, keep: float = 0.4) -> bytes:
    return data[: int(len(data) * keep)]
