"""Invoice errors: each with a stable code and a message in zh-CN and en."""

from __future__ import annotations

from baoxiao.kernel.errors import Conflict, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class InvoiceInvalid(ValidationFailed):
    code = "invoice_invalid"
    message = Msg("The invoice data is not valid: {reason}.", "发票数据无效:{reason}。")


class InvoiceUnreadable(ValidationFailed):
    code = "invoice_unreadable"
    message = Msg(
        "The file could not be read as a {kind}: {reason}.", "无法按 {kind} 读取该文件:{reason}。"
    )


class InvoiceFileRejected(ValidationFailed):
    code = "invoice_file_rejected"
    message = Msg("The file was refused for safety: {reason}.", "出于安全原因拒绝该文件:{reason}。")


class InvoiceNotFound(NotFound):
    code = "invoice_not_found"
    message = Msg("Invoice not found.", "未找到该发票。")


class InvoiceNotUsable(Conflict):
    code = "invoice_not_usable"
    message = Msg(
        "Invoice {invoice_key} is {current_status} and cannot back a claim line.",
        "发票 {invoice_key} 当前为 {current_status} 状态,不能用于报销。",
    )


class InvoiceNotVoidable(Conflict):
    code = "invoice_not_voidable"
    message = Msg(
        "Invoice {invoice_key} is {current_status}; a reimbursed invoice cannot be voided.",
        "发票 {invoice_key} 当前为 {current_status} 状态,已报销的发票不能作废。",
    )


_WHERE = Msg(
    "Invoice {invoice_key} already backs a claim line (claim {used_in_claim}).",
    "发票 {invoice_key} 已用于报销单 {used_in_claim},不能重复报销。",
)


class InvoiceDuplicate(Conflict):
    """The invoice backs another live claim line. Where, only for those who may see it."""

    code = "invoice_duplicate"
    message = Msg(
        "Invoice {invoice_key} already backs another claim line.",
        "发票 {invoice_key} 已用于其他报销,不能重复报销。",
    )

    def render(self, lang: str) -> str:
        if self.params.get("used_in_claim"):
            return _WHERE.render(lang, **self.params)
        return super().render(lang)
