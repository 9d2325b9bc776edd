"""Rendering pages: one Jinja2 environment per locale, the page route class, errors as HTML.

Every page route runs on PageRoute: the request transaction of TransactionalRoute,
plus what a browser needs instead of problem+json. A request without a live
session is sent to /login?next=... (HTMX: through HX-Redirect), and an AppError is
rendered as a localized message in the page (HTMX: a fragment for the target).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Coroutine
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.routing import APIRoute
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from baoxiao.identity.errors import SessionInvalid
from baoxiao.identity.permissions import Right, has_right_anywhere
from baoxiao.identity.principal import Principal
from baoxiao.identity.sso_web import safe_next
from baoxiao.kernel.errors import AppError, Unauthorized, ValidationFailed
from baoxiao.kernel.routing import TransactionalRoute, transactional
from baoxiao.web import i18n

log = logging.getLogger("baoxiao.web")
Handler = Callable[[Request], Coroutine[Any, Any, Response]]
# Packages whose templates/<domain>/ folders hold pages.
TEMPLATE_PACKAGES = (
    "baoxiao.web",
    "baoxiao.identity",
    "baoxiao.claims",
    "baoxiao.approvals",
    "baoxiao.payments",
    "baoxiao.org",
    "baoxiao.integrations",
    "baoxiao.reports",
    "baoxiao.audit",
)
STATUSES = (
    "draft",
    "submitted",
    "approving",
    "approved",
    "paying",
    "paid",
    "returned",
    "rejected",
    "withdrawn",
    "cancelled",
)


def _template_dirs() -> list[str]:
    dirs = []
    for package in TEMPLATE_PACKAGES:
        folder = resources.files(package).joinpath("templates")
        if folder.is_dir():
            dirs.append(str(folder))
    return dirs


@cache
def environment(lang: str) -> Environment:
    """The Jinja2 environment of one locale, with its gettext catalog installed."""
    env = Environment(
        loader=FileSystemLoader(_template_dirs()),
        autoescape=select_autoescape(("html",)),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(i18n.translations(lang), newstyle=True)  # type: ignore[attr-defined]
    env.filters["money"] = lambda amount, currency: i18n.money(amount, currency, lang)
    env.filters["day"] = lambda value: i18n.day(value, lang)
    env.filters["moment"] = lambda value: i18n.moment(value, lang)
    env.filters["number"] = lambda value: i18n.number(value, lang)
    env.filters["tojson_attr"] = lambda value: json.dumps(value, ensure_ascii=False, default=str)
    env.globals["STATUSES"] = STATUSES
    return env


def lang_of(request: Request) -> str:
    principal: Principal | None = getattr(request.state, "principal", None)
    saved = principal.locale if principal is not None else None
    return i18n.choose(saved, request.headers.get("accept-language"))


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page or fragment in the request's language, with the layout's common context."""
    lang = lang_of(request)
    web = getattr(request.state, "web_session", None)
    principal: Principal | None = getattr(request.state, "principal", None)
    html = (
        environment(lang)
        .get_template(template)
        .render(
            request=request,
            lang=lang,
            principal=principal,
            roles=principal.role_names if principal else set(),
            # The rights held in some company, for menus; every page still checks its own.
            rights={r.value for r in Right if has_right_anywhere(principal, r)}
            if principal
            else set(),
            csrf_token=web.csrf_token if web is not None else "",
            path=request.url.path,
            htmx=is_htmx(request),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code)
    if principal is not None:  # personal data, and at times a secret shown once: never cached
        response.headers["Cache-Control"] = "private, no-store"
    return response


def redirect(url: str, request: Request | None = None) -> Response:
    """A 303 after a POST; HTMX requests get HX-Redirect so the whole page moves."""
    if request is not None and is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def _to_login(request: Request) -> Response:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.method != "GET" or is_htmx(request):  # a fragment or a post is no place to land
        here = "/"
    url = f"/login?next={quote(safe_next(here), safe='/')}"
    if is_htmx(request):
        return Response(status_code=204, headers={"HX-Redirect": url})
    return RedirectResponse(url, status_code=303)


def render_error(request: Request, err: AppError) -> HTMLResponse:
    template = "web/_error.html" if is_htmx(request) else "web/error.html"
    return render(
        request,
        template,
        status_code=err.status,
        error=err,
        message=err.render(lang_of(request)),
        fields=field_errors(err, lang_of(request)),
    )


class PageRoute(TransactionalRoute):
    """TransactionalRoute for HTML pages: sign-in redirects and errors as HTML.

    The error page is rendered inside the transaction (the session and the caller are
    still loaded); its 4xx status then rolls the transaction back as for the API.
    """

    def get_route_handler(self) -> Handler:
        inner = APIRoute.get_route_handler(self)

        async def pages(request: Request) -> Response:
            try:
                return await inner(request)
            except (SessionInvalid, Unauthorized):
                return _to_login(request)
            except AppError as err:
                return render_error(request, err)
            except RequestValidationError as exc:  # a malformed id in the URL, say
                fields = [
                    {"field": _field(e.get("loc", ())), "message": e.get("msg", "")}
                    for e in exc.errors()
                ]
                return render_error(request, ValidationFailed(errors=fields))

        return transactional(pages)


def page_router(**kwargs: Any) -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False, **kwargs)


_INDEX = re.compile(r"\[\d+\]")


def _field(loc: Any) -> str:
    return ".".join(str(part) for part in loc)


def _leaf(field: str) -> str:
    return _INDEX.sub("", field).split(".")[-1].lstrip("/").split("/")[-1]


def field_errors(err: AppError | ValidationError, lang: str = "en") -> dict[str, str]:
    """Messages by form field name, from an AppError (its `field` and `errors`) or from
    Pydantic's validation of the form, so the page shows them next to the inputs."""
    out: dict[str, str] = {}
    if isinstance(err, ValidationError):
        for detail in err.errors():
            item: dict[str, Any] = dict(detail)
            name = str(item["loc"][-1]) if item["loc"] else "form"
            out.setdefault(name, item["msg"].removeprefix("Value error, "))
        return out
    field = err.params.get("field")
    if isinstance(field, str):
        out[_leaf(field)] = err.render(lang)
    for item in err.errors:
        name = _leaf(str(item.get("field", "form")))
        out.setdefault(name or "form", str(item.get("message", "")))
    return out
