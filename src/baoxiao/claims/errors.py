"""Claim errors: each with a stable code and a message in zh-CN and en."""

from baoxiao.identity.permissions import ClaimNotFound
from baoxiao.kernel.errors import (
    Conflict,
    NotFound,
    PayloadTooLarge,
    UnsupportedMediaType,
    ValidationFailed,
)
from baoxiao.kernel.i18n import Msg
from baoxiao.models.claim import ClaimNotEditable, IllegalTransition

__all__ = [
    "AttachmentNotFound",
    "AttachmentTooLarge",
    "AttachmentTypeRejected",
    "CategoryUnknown",
    "ClaimEmpty",
    "ClaimNotEditable",
    "ClaimNotFound",
    "CurrencyUnknown",
    "ExchangeRateMissing",
    "IllegalTransition",
    "InvalidAmount",
    "LineNotFound",
    "ReferenceUnknown",
    "WithdrawTooLate",
]


class InvalidAmount(ValidationFailed):
    code = "invalid_amount"
    message = Msg("Invalid amount at {field}: {reason}.", "{field} 的金额无效:{reason}。")


class CategoryUnknown(ValidationFailed):
    code = "unknown_category"
    message = Msg(
        "Expense category {category} does not exist or is inactive.",
        "费用类别 {category} 不存在或已停用。",
    )


class CurrencyUnknown(ValidationFailed):
    code = "unknown_currency"
    message = Msg("Currency {currency} is not enabled.", "币种 {currency} 未启用。")


class ReferenceUnknown(ValidationFailed):
    code = "unknown_reference"
    message = Msg(
        "{field} does not name an active record of this company.", "{field} 不是本公司的有效记录。"
    )


class ExchangeRateMissing(ValidationFailed):
    code = "exchange_rate_missing"
    message = Msg(
        "No exchange rate from {currency} to {base} on {date}; give one on the line.",
        "{date} 没有 {currency} 兑 {base} 的汇率,请在明细中填写汇率。",
    )


class ClaimEmpty(Conflict):
    code = "claim_empty"
    message = Msg(
        "A claim needs at least one line before it is submitted.",
        "报销单至少需要一条明细才能提交。",
    )


class WithdrawTooLate(Conflict):
    code = "withdraw_too_late"
    message = Msg(
        "An approver has already acted on this claim; it can no longer be withdrawn.",
        "审批人已处理此报销单,不能再撤回。",
    )


class LineNotFound(NotFound):
    code = "line_not_found"
    message = Msg("Claim line not found.", "未找到该报销明细。")


class AttachmentNotFound(NotFound):
    code = "attachment_not_found"
    message = Msg("Attachment not found.", "未找到该附件。")


class AttachmentTooLarge(PayloadTooLarge):
    code = "attachment_too_large"


class AttachmentTypeRejected(UnsupportedMediaType):
    code = "attachment_type_rejected"
