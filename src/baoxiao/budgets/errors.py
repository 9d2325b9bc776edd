"""Budget errors."""

from baoxiao.kernel.errors import AppError, Conflict, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class BudgetNotFound(NotFound):
    code = "budget_not_found"
    message = Msg("Budget not found.", "未找到该预算。")


class BudgetExceeded(AppError):
    status = 422
    code = "budget_exceeded"
    message = Msg(
        "Budget {budget} has {available} {currency} left; this claim needs {requested}.",
        "预算 {budget} 剩余 {available} {currency},本报销单需要 {requested},超出预算。",
    )


class BudgetInvalid(ValidationFailed):
    code = "budget_invalid"
    message = Msg("Invalid budget: {field}: {reason}.", "预算无效:{field}:{reason}。")


class BudgetCodeTaken(Conflict):
    code = "budget_code_taken"
    message = Msg("A budget with code {code} already exists.", "预算编码 {code} 已存在。")


class BudgetInUse(Conflict):
    code = "budget_in_use"
    message = Msg(
        "Budget {code} already has ledger entries; its scope and period cannot change.",
        "预算 {code} 已有台账记录,不能再修改其范围和期间。",
    )


class BudgetBelowCommitted(Conflict):
    code = "budget_below_committed"
    message = Msg(
        "Budget {code} cannot go below what is occupied and consumed ({committed}).",
        "预算 {code} 不能调减到已占用与已执行金额({committed})以下。",
    )


class BudgetImportInvalid(ValidationFailed):
    code = "budget_import_invalid"
    message = Msg(
        "The budget sheet has errors; nothing was imported.", "预算表有错误,未导入任何数据。"
    )
