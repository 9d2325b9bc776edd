"""Payment errors."""

from baoxiao.kernel.errors import Conflict, NotFound
from baoxiao.kernel.i18n import Msg


class PaymentNotFound(NotFound):
    code = "payment_not_found"
    message = Msg("Payment not found.", "未找到该付款记录。")


class PaymentAlreadyCompleted(Conflict):
    code = "payment_already_completed"
    message = Msg("This payment already {current_status}.", "该付款已处理(状态:{current_status})。")
