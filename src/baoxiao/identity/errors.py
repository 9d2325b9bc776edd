"""Identity errors."""

from baoxiao.kernel.errors import NotFound, Unauthorized
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
