"""One error family for the whole application.

Each error carries an HTTP status, a stable machine `code` and a message in
zh-CN and en. The API renders it as RFC 9457 problem+json; the CLI prints one
line and exits non-zero.
"""

from __future__ import annotations

from typing import Any, ClassVar

from baoxiao.kernel.i18n import Msg


class AppError(Exception):
    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    message: ClassVar[Msg] = Msg("The request cannot be processed.", "请求无法处理。")

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: list[dict[str, Any]] | None = None,
        **params: Any,
    ) -> None:
        self.params = params
        self.errors = errors or []
        self._detail = detail
        super().__init__(detail or self.render("en"))

    def render(self, lang: str) -> str:
        if self._detail is not None:
            return self._detail
        return self.message.render(lang, **self.params)

    def headers(self) -> dict[str, str]:
        """HTTP headers the response carries (e.g. Retry-After)."""
        return {}

    def extensions(self) -> dict[str, Any]:
        """Extra problem members (public, machine-readable)."""
        out: dict[str, Any] = {}
        for key, value in self.params.items():
            if isinstance(value, str | int | bool) or value is None:
                out[key] = value
            else:
                out[key] = str(value)
        return out


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"
    message = Msg("Authentication is required.", "需要登录认证。")


class Forbidden(AppError):
    status = 403
    code = "forbidden"
    message = Msg("You are not allowed to do this.", "您无权执行此操作。")


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = Msg("The {resource} was not found.", "未找到该{resource}。")


class Conflict(AppError):
    status = 409
    code = "conflict"
    message = Msg("The request conflicts with the current state.", "请求与当前状态冲突。")


class PreconditionFailed(AppError):
    status = 412
    code = "precondition_failed"
    message = Msg(
        "The resource was changed by someone else (ETag mismatch); reload and try again.",
        "该数据已被他人修改(ETag 不匹配),请刷新后重试。",
    )


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    message = Msg("The upload is larger than {limit} bytes.", "上传内容超过 {limit} 字节的上限。")


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    message = Msg("This file type is not accepted: {detected}.", "不接受此文件类型:{detected}。")


class ValidationFailed(AppError):
    status = 422
    code = "validation_error"
    message = Msg("The request has invalid fields.", "请求中有无效字段。")


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = Msg("The service is not ready.", "服务尚未就绪。")
