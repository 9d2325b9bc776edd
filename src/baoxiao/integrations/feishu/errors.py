"""Errors of the Feishu glue (sign-in, quick approval)."""

from __future__ import annotations

from baoxiao.kernel.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from baoxiao.kernel.i18n import Msg


class NotAFeishuConnector(NotFound):
    code = "feishu_connector_not_found"
    message = Msg("No enabled Feishu connector with this id.", "未找到启用的飞书连接器。")


class SignInStateInvalid(Unauthorized):
    code = "feishu_sign_in_state_invalid"
    message = Msg(
        "The Feishu sign-in expired or was not started here. Please sign in again.",
        "飞书登录已过期或并非从本站发起。请重新登录。",
    )


class SignInFailed(Unauthorized):
    code = "feishu_sign_in_failed"
    message = Msg("Feishu did not confirm who you are.", "飞书未能确认您的身份。")


class NoEmployeeForFeishuUser(Forbidden):
    code = "feishu_user_not_linked"
    message = Msg(
        "Your Feishu account is not linked to an active employee of this company.",
        "您的飞书账号未关联本公司的在职员工。",
    )


class QuickApprovalInvalid(ValidationFailed):
    code = "feishu_quick_approval_invalid"
    message = Msg(
        "The approval action does not match a pending task.", "该审批操作没有对应的待办。"
    )
