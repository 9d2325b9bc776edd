"""Payment, batch, bank account, advance and voucher errors."""

from baoxiao.kernel.errors import AppError, Conflict, Forbidden, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = Msg("Payment not found.", "未找到该付款记录。")


class PaymentAlreadyCompleted(Conflict):
    code = "payment_already_completed"
    message = Msg("This payment already {current_status}.", "该付款已处理(状态:{current_status})。")


class PaymentOutcomeUnknown(Conflict):
    code = "payment_outcome_unknown"
    message = Msg(
        "Payment {reference} is still awaiting the bank's answer; query or resend it, "
        "never start a new one.",
        "付款 {reference} 尚未得到银行结果,请先查询或按原业务参考号重发,不能新建付款。",
    )


class PaymentAmountMismatch(Conflict):
    code = "payment_amount_mismatch"
    message = Msg(
        "The bank reports {reported} for payment {reference}, which is for {expected}.",
        "银行回报付款 {reference} 金额为 {reported},与应付 {expected} 不一致。",
    )


class PayeeChanged(Conflict):
    code = "payee_changed"
    message = Msg(
        "The payee's bank account changed after payment {reference} was sent; "
        "record its outcome before paying to the new account.",
        "付款 {reference} 发出后收款账户已变更,请先登记原付款结果,再向新账户付款。",
    )


class BankAccountMissing(ValidationFailed):
    code = "bank_account_missing"
    message = Msg(
        "{name} has no bank account on file (claim {number}).",
        "{name} 尚未登记收款银行账户(报销单 {number})。",
    )


class BankAccountNotFound(NotFound):
    code = "bank_account_not_found"
    message = Msg("No bank account on file.", "未登记收款银行账户。")


class BankAccountInvalid(ValidationFailed):
    code = "bank_account_invalid"
    message = Msg("Invalid bank account: {reason}.", "银行账户无效:{reason}。")


class ReauthenticationFailed(Forbidden):
    code = "reauthentication_failed"
    message = Msg(
        "Your current password is required to change bank details, and it did not match.",
        "修改银行账户须验证当前登录密码,密码不正确。",
    )


class ConfirmationRequired(Forbidden):
    code = "bank_account_confirmation_required"
    message = Msg(
        "You sign in with single sign-on: confirm who you are with your sign-in provider "
        "first (on the bank account page), then save the account within a few minutes.",
        "您通过单点登录登录:请先在银行账户页面通过登录提供方确认身份,然后在几分钟内保存账户。",
    )


class BatchNotFound(NotFound):
    code = "payment_batch_not_found"
    message = Msg("Payment batch not found.", "未找到该付款批次。")


class BatchEmpty(ValidationFailed):
    code = "payment_batch_empty"
    message = Msg("A payment batch needs at least one claim.", "付款批次至少需要一张报销单。")


class BankFormatUnknown(ValidationFailed):
    code = "bank_format_unknown"
    message = Msg("Unknown bank file format {format}.", "未知的银行文件格式 {format}。")


class AdvanceNotFound(NotFound):
    code = "advance_not_found"
    message = Msg("Advance not found.", "未找到该借款。")


class OffsetInvalid(AppError):
    status = 422
    code = "offset_invalid"
    message = Msg("Cannot offset this advance: {reason}.", "无法核销该借款:{reason}。")


class RepaymentInvalid(AppError):
    status = 422
    code = "repayment_invalid"
    message = Msg("Cannot record this repayment: {reason}.", "无法登记该还款:{reason}。")


class VoucherNotFound(NotFound):
    code = "voucher_not_found"
    message = Msg("Voucher not found.", "未找到该凭证。")
