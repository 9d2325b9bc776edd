"""Render every error as RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException as StarletteHTTPException

from baoxiao.kernel.errors import AppError
from baoxiao.kernel.i18n import Msg, negotiate
from baoxiao.kernel.logging import current_request_id

log = logging.getLogger("baoxiao.errors")
PROBLEM_JSON = "application/problem+json"

_HTTP_CODES: dict[int, tuple[str, Msg]] = {
    404: ("not_found", Msg("No such resource.", "资源不存在。")),
    405: ("method_not_allowed", Msg("Method not allowed.", "不支持该请求方法。")),
    401: ("unauthorized", Msg("Authentication is required.", "需要登录认证。")),
    403: ("forbidden", Msg("You are not allowed to do this.", "您无权执行此操作。")),
}
_VALIDATION = Msg("The request has invalid fields.", "请求中有无效字段。")
_STALE = Msg(
    "Someone else changed this record at the same time; reload and try again.",
    "该记录已被他人同时修改,请刷新后重试。",
)
_INTERNAL = Msg(
    "Something went wrong on our side; the error was logged.", "服务器内部错误,已记录日志。"
)


def problem(request: Request, status: int, code: str, detail: str, /, **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:baoxiao:problem:{code}",
        "title": code.replace("_", " "),
        "status": status,
        "code": code,
        "detail": detail,
        "instance": request.url.path,
    }
    rid = current_request_id()
    if rid:
        body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if k not in body})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _lang(request: Request) -> str:
    return negotiate(request.headers.get("accept-language"), default="en")


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(part) for part in loc)


def install(app: FastAPI) -> None:
    """Register the handlers on an application."""

    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        extra = exc.extensions()
        if exc.errors:
            extra["errors"] = exc.errors
        response = problem(request, exc.status, exc.code, exc.render(_lang(request)), **extra)
        response.headers.update(exc.headers())
        return response

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": _field(err.get("loc", ())),
                "message": err.get("msg", ""),
                "type": err.get("type", ""),
            }
            for err in exc.errors()
        ]
        return problem(
            request, 422, "validation_error", _VALIDATION.render(_lang(request)), errors=errors
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code, msg = _HTTP_CODES.get(
            exc.status_code, ("http_error", Msg(str(exc.detail), str(exc.detail)))
        )
        response = problem(request, exc.status_code, code, msg.render(_lang(request)))
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        return response

    @app.exception_handler(StaleDataError)
    async def _stale(request: Request, exc: StaleDataError) -> JSONResponse:
        return problem(request, 409, "concurrent_update", _STALE.render(_lang(request)))

    @app.exception_handler(Exception)
    async def _internal(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(request, 500, "internal_error", _INTERNAL.render(_lang(request)))
