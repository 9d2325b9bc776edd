"""Identity errors."""

from baoxiao.kernel.errors import Forbidden, NotFound, Unauthorized, ValidationFailed
from baoxiao.kernel.i18n import Msg


class InvalidCredentials(Unauthorized):
    code = "invalid_credentials"
    message = Msg("Wrong username or password.", "用户名或密码错误。")


class InvalidToken(Unauthorized):
    code = "invalid_token"
    message = Msg(
        "The access token is invalid, expired or revoked.", "访问令牌无效、已过期或已撤销。"
    )


class TokenNotFound(NotFound):
    code = "token_not_found"
    message = Msg("No such token among yours.", "您的令牌中没有这一个。")


class SessionInvalid(Unauthorized):
    code = "session_invalid"
    message = Msg(
        "Your session has ended or expired; please sign in again.",
        "会话已结束或已过期,请重新登录。",
    )


class CsrfFailed(Forbidden):
    code = "csrf_failed"
    message = Msg(
        "The form is out of date or did not come from this site; reload the page and try again.",
        "表单已过期或并非来自本站,请刷新页面后重试。",
    )


class ReauthenticationRequired(Forbidden):
    code = "reauthentication_required"
    message = Msg(
        "Please confirm your password again before making this change.",
        "进行此项修改前,请再次确认您的密码。",
    )


class UnknownScope(ValidationFailed):
    code = "unknown_scope"
    message = Msg("Unknown token scope.", "未知的令牌权限范围。")


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message = Msg(
        "This token's scopes do not allow this request.", "此令牌的权限范围不允许该请求。"
    )
