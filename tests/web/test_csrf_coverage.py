"""Every state-changing browser route of the real app checks a CSRF token, so a new form
without the check fails here rather than in production.

Exempt: the API and SCIM (bearer tokens, no cookies; the Feishu callbacks live under
/api too) and GET routes (the OIDC callback among them: it is protected by its state).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from baoxiao.app import create_app
from baoxiao.identity import deps
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from baoxiao.web.pages import PageRoute

EXEMPT_PREFIXES = ("/api/", "/scim/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
CHECKS = {deps.csrf_protect, deps.login_csrf_protect}


def _calls(dependant: Dependant) -> Iterator[Callable[..., Any] | None]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def browser_posts(settings: Settings, db: Database) -> list[tuple[str, str, set[Any]]]:
    """(path, route class, dependency calls) of every unsafe route outside the API."""
    app = create_app(settings, db)
    found = []
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        methods = set(context.methods or ())
        if not isinstance(route, APIRoute) or methods <= SAFE_METHODS:
            continue
        path = str(context.path)
        if path.startswith(EXEMPT_PREFIXES) or path == "/scim":
            continue
        # The dependant of the route as included (router-level dependencies too).
        dependant = getattr(context, "dependant", None) or route.dependant
        found.append((path, type(route).__name__, set(_calls(dependant))))
    return found


def test_every_browser_post_depends_on_a_csrf_check(settings: Settings, db: Database) -> None:
    routes = browser_posts(settings, db)
    paths = {path for path, _kind, _calls in routes}
    # The walk sees the app's forms (a broken walk would pass vacuously).
    assert {"/login", "/logout", "/account/bank", "/auth/confirm", "/claims/new"} <= paths
    assert len(routes) > 30
    assert any(kind == PageRoute.__name__ for _path, kind, _calls in routes)
    unprotected = sorted(path for path, _kind, calls in routes if not calls & CHECKS)
    assert unprotected == []


def test_only_the_sign_in_form_uses_the_pre_session_check(settings: Settings, db: Database) -> None:
    """The login-CSRF pair proves nothing about who is signed in: any other form must
    carry the session's own token."""
    routes = browser_posts(settings, db)
    users = sorted(path for path, _kind, calls in routes if deps.login_csrf_protect in calls)
    assert users == ["/login"]
