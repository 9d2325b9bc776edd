"""Policy errors: each with a stable code and a message in zh-CN and en."""

from baoxiao.kernel.errors import Conflict, NotFound, ValidationFailed
from baoxiao.kernel.i18n import Msg


class StandardNotFound(NotFound):
    code = "standard_not_found"
    message = Msg("Expense standard not found.", "未找到该费用标准。")


class StandardNotDraft(Conflict):
    code = "standard_not_draft"
    message = Msg(
        "Version {version} is {current_status}; only a draft can be changed or published.",
        "版本 {version} 当前为 {current_status} 状态,只有草稿可以修改或发布。",
    )


class PolicyBlocked(ValidationFailed):
    code = "policy_blocked"
    message = Msg(
        "The claim breaks {count} rule(s) of the expense standard and cannot be submitted: "
        "{summary}",
        "报销单有 {count} 项不符合费用标准,不能提交:{summary_zh}",
    )


class DryRunPeriodInvalid(ValidationFailed):
    code = "dry_run_period_invalid"
    message = Msg(
        "The dry-run period must start before it ends and span at most 366 days.",
        "试运行区间的开始日期须早于结束日期,且不超过 366 天。",
    )
