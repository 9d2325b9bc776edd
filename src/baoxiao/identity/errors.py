"""Identity errors."""

from baoxiao.kernel.errors import (
    AppError,
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
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


class TotpRequired(Unauthorized):
    code = "totp_required"
    message = Msg(
        "Enter the 6-digit code from your authenticator app (or a recovery code).",
        "请输入身份验证器应用中的 6 位验证码(或一个恢复码)。",
    )


class TotpInvalid(Unauthorized):
    code = "totp_invalid"
    message = Msg("The authentication code is wrong or was already used.", "验证码错误或已被使用。")


class _RetryLater(AppError):
    status = 429

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.params.get("retry_after", 60))}


class AccountLocked(_RetryLater):
    code = "account_locked"
    message = Msg(
        "Too many failed sign-ins: this account is locked for {retry_after} seconds.",
        "登录失败次数过多:该账户已锁定 {retry_after} 秒。",
    )


class SignInThrottled(_RetryLater):
    code = "sign_in_throttled"
    message = Msg(
        "Too many failed sign-ins from your network: try again in {retry_after} seconds.",
        "来自您网络的登录失败次数过多,请在 {retry_after} 秒后重试。",
    )


_WEAK_REASONS = {
    "too_short": Msg(
        "a password needs at least {min_length} characters.", "密码至少需要 {min_length} 个字符。"
    ),
    "contains_username": Msg(
        "a password may not be or contain your username.", "密码不能是或包含您的用户名。"
    ),
    "common": Msg(
        "this password is on the list of commonly used passwords.", "该密码属于常见密码。"
    ),
}


class PasswordTooWeak(AppError):
    """`reason` is one of too_short, contains_username, common."""

    status = 422
    code = "password_too_weak"
    message = Msg("Choose another password: {why}", "请换一个密码:{why}")

    def render(self, lang: str) -> str:
        why = _WEAK_REASONS[self.params["reason"]].render(lang, **self.params)
        return self.message.render(lang, why=why)


class TotpAlreadyEnabled(Conflict):
    code = "totp_already_enabled"
    message = Msg(
        "Two-step sign-in is already on; turn it off first to enrol again.",
        "两步验证已开启;如需重新绑定,请先关闭。",
    )


class TotpNotEnrolled(Conflict):
    code = "totp_not_enrolled"
    message = Msg(
        "Start the enrolment first: there is no authenticator secret to confirm.",
        "请先开始绑定:没有待确认的身份验证器密钥。",
    )


class TotpNotEnabled(Conflict):
    code = "totp_not_enabled"
    message = Msg("Two-step sign-in is not on for this account.", "该账户未开启两步验证。")


class NoLocalPassword(Conflict):
    code = "no_local_password"
    message = Msg(
        "This account signs in through single sign-on and has no password here.",
        "该账户通过单点登录登录,在此没有密码。",
    )


class ProviderNotFound(NotFound):
    code = "identity_provider_not_found"
    message = Msg("No such sign-in provider.", "没有这个登录提供方。")


class ProviderDisabled(Forbidden):
    code = "identity_provider_disabled"
    message = Msg(
        "Sign-in with this provider is turned off; ask your administrator.",
        "该登录提供方已停用,请联系管理员。",
    )


class ProviderUnreachable(AppError):
    status = 502
    code = "identity_provider_unreachable"
    message = Msg(
        "The sign-in provider could not be reached or answered wrongly ({reason}).",
        "无法连接登录提供方,或其响应有误({reason})。",
    )


class OidcLoginExpired(BadRequest):
    code = "oidc_login_expired"
    message = Msg(
        "This sign-in took too long or was started in another browser; please start again.",
        "本次登录耗时过长或是在其他浏览器中发起的,请重新登录。",
    )


class OidcStateMismatch(BadRequest):
    code = "oidc_state_mismatch"
    message = Msg(
        "The answer of the sign-in provider does not belong to this sign-in (state mismatch).",
        "登录提供方的返回与本次登录不符(state 不匹配)。",
    )


class OidcCodeRejected(BadRequest):
    code = "oidc_code_rejected"
    message = Msg(
        "The sign-in provider refused the sign-in ({error}); please start again.",
        "登录提供方拒绝了本次登录({error}),请重新登录。",
    )


class IdTokenInvalid(Unauthorized):
    code = "oidc_id_token_invalid"
    message = Msg(
        "The identity token from the sign-in provider is not valid ({reason}).",
        "登录提供方返回的身份令牌无效({reason})。",
    )


class SsoReauthNotFresh(Unauthorized):
    code = "sso_reauth_not_fresh"
    message = Msg(
        "The sign-in provider did not confirm a fresh sign-in ({reason}); please try again.",
        "登录提供方未确认您刚刚重新登录({reason}),请重试。",
    )


class SsoReauthOtherAccount(Forbidden):
    code = "sso_reauth_other_account"
    message = Msg(
        "You confirmed a different account at the sign-in provider than the one signed in "
        "here; nothing was confirmed.",
        "您在登录提供方确认的账户与当前登录的账户不同,本次确认无效。",
    )


class SsoEmailUnverified(Forbidden):
    code = "sso_email_unverified"
    message = Msg(
        "The sign-in provider did not confirm that your e-mail address is verified, so it "
        "cannot identify your account here; ask your administrator.",
        "登录提供方未确认您的电子邮件地址已验证,因此无法据此识别您在本系统的账户,请联系管理员。",
    )


class SsoNoAccount(Forbidden):
    code = "sso_no_account"
    message = Msg(
        "You signed in at the provider, but no Baoxiao account matches you; "
        "ask your administrator.",
        "您已在登录提供方通过验证,但没有与您匹配的报销系统账户,请联系管理员。",
    )


class SsoAccountInactive(Forbidden):
    code = "sso_account_inactive"
    message = Msg("Your Baoxiao account is deactivated.", "您的报销系统账户已停用。")


class UnknownScope(ValidationFailed):
    code = "unknown_scope"
    message = Msg("Unknown token scope.", "未知的令牌权限范围。")


class InsufficientScope(Forbidden):
    code = "insufficient_scope"
    message = Msg(
        "This token's scopes do not allow this request.", "此令牌的权限范围不允许该请求。"
    )
