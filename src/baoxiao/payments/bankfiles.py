"""Bank files of a payment batch: a generic CSV, and ICBC's batch-transfer sheet.

ICBC (中国工商银行) corporate e-banking, 批量转账 / 批量代发 upload: the column
headers below are the template's as best known to us (see
docs/guide/finance.md); compare with the template your ICBC e-banking offers
for download before the first production upload.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Callable
from decimal import Decimal

from openpyxl import Workbook
from sqlalchemy.orm import Session

from baoxiao.identity.principal import Principal
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.payment import PaymentBatch
from baoxiao.payments import bankaccounts, batches
from baoxiao.payments.batches import Item
from baoxiao.payments.errors import BankFormatUnknown

CSV_HEADER = [
    "batch_reference",
    "payment_reference",
    "claim_number",
    "payee_name",
    "account_number",
    "bank_name",
    "branch_name",
    "bank_code",
    "amount",
    "currency",
    "purpose",
]
ICBC_HEADER = [
    "币种",
    "日期",
    "明细标志",
    "顺序号",
    "付款账号开户行",
    "付款账号/卡号",
    "付款账号名称/卡名称",
    "收款账号开户行",
    "收款账号省份",
    "收款账号地市",
    "收款账号地区码",
    "收款账号",
    "收款账号名称",
    "金额",
    "汇款用途",
    "备注信息",
    "汇款方式",
    "收款账户短信通知手机号码",
    "自定义序号",
]
CURRENCY_ZH = {"CNY": "人民币"}


def _amount(value: Decimal) -> str:
    return f"{value:.2f}"


def generic_csv(batch: PaymentBatch, items: list[Item], box: SecretBox) -> tuple[bytes, str]:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for item in items:
        if item.account is None or item.payment.amount <= 0:
            continue  # nothing to transfer: fully offset by advances
        writer.writerow(
            [
                batch.reference,
                item.payment.reference,
                item.claim.number,
                item.account.holder_name,
                bankaccounts.reveal(box, item.account),
                item.account.bank_name,
                item.account.branch_name or "",
                item.account.bank_code or "",
                _amount(item.payment.amount),
                item.payment.currency,
                f"报销款 {item.claim.number}",
            ]
        )
    # UTF-8 with BOM: Excel on Chinese Windows opens it with the right characters.
    return ("\ufeff" + out.getvalue()).encode("utf-8"), "text/csv; charset=utf-8"


def icbc_xlsx(batch: PaymentBatch, items: list[Item], box: SecretBox) -> tuple[bytes, str]:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "批量转账"
    sheet.append(ICBC_HEADER)
    day = (batch.created_at).strftime("%Y%m%d")
    seq = 0
    for item in items:
        if item.account is None or item.payment.amount <= 0:
            continue
        seq += 1
        sheet.append(
            [
                CURRENCY_ZH.get(item.payment.currency, item.payment.currency),
                day,
                "明细",
                seq,
                batch.payer_bank or "",
                batch.payer_account or "",
                "",
                item.account.bank_name,
                "",
                "",
                item.account.bank_code or "",
                bankaccounts.reveal(box, item.account),
                item.account.holder_name,
                _amount(item.payment.amount),
                "报销款",
                item.payment.reference,
                "普通",
                "",
                item.payment.reference,
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue(), XLSX


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS: dict[
    str, tuple[Callable[[PaymentBatch, list[Item], SecretBox], tuple[bytes, str]], str]
] = {
    "csv": (generic_csv, "csv"),
    "icbc": (icbc_xlsx, "xlsx"),
}


def render(
    fmt: str, batch: PaymentBatch, items: list[Item], box: SecretBox
) -> tuple[bytes, str, str]:
    """(content, media type, file name) of the batch in a bank's format."""
    if fmt not in FORMATS:
        raise BankFormatUnknown(format=fmt)
    writer, ext = FORMATS[fmt]
    content, media = writer(batch, items, box)
    return content, media, f"{batch.reference}-{fmt}.{ext}"


def export(
    session: Session, principal: Principal, batch_id: uuid.UUID, fmt: str, box: SecretBox
) -> tuple[bytes, str, str]:
    """The batch's bank file for the API and the finance page: checked, audited, rendered."""
    batch = batches.get(session, principal, batch_id)
    batches.mark_exported(session, principal, batch, fmt)
    return render(fmt, batch, batches.items(session, batch), box)
