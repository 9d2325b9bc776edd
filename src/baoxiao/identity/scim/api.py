"""The SCIM 2.0 endpoints at /scim/v2 (RFC 7644), for an IdP's provisioning client.

Authentication: a bearer token of a user holding the scim:provision right
(the integrator role) and, when the token is scoped, the "scim" scope.
Responses are application/scim+json; errors are SCIM Error messages.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from scim2_models import Context, Error, ListResponse, ResponseParameters

from baoxiao.identity.deps import DbSession
from baoxiao.identity.errors import InvalidToken
from baoxiao.identity.permissions import Right, has_right
from baoxiao.identity.principal import Principal
from baoxiao.identity.scim import discovery, groups, query, users
from baoxiao.identity.scim.errors import ScimError, not_found
from baoxiao.identity.scopes import SCIM_SCOPE
from baoxiao.identity.service import authenticate_token
from baoxiao.kernel.routing import TransactionalRoute

SCIM_JSON = "application/scim+json"
router = APIRouter(
    prefix="/scim/v2", route_class=TransactionalRoute, tags=["scim"], include_in_schema=False
)


def base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/scim/v2"


def scim_principal(request: Request, session: DbSession) -> Principal:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ScimError(401, "A bearer token is required")
    try:
        principal = authenticate_token(session, value.strip())
    except InvalidToken:
        raise ScimError(401, "The token is invalid, expired or revoked") from None
    scoped_out = principal.token_scopes is not None and SCIM_SCOPE not in principal.token_scopes
    if scoped_out or not has_right(principal, Right.SCIM_PROVISION, principal.company_id):
        raise ScimError(403, "This token may not provision users (needs the scim scope)")
    return principal


Caller = Annotated[Principal, Depends(scim_principal)]
IfMatch = Annotated[str | None, Header(alias="if-match")]


def _params(attributes: str | None, excluded: str | None) -> ResponseParameters[Any] | None:
    if not attributes and not excluded:
        return None
    try:
        return ResponseParameters.model_validate(
            {"attributes": attributes, "excludedAttributes": excluded}
        )
    except Exception as exc:  # scim2-models refuses an attribute path it cannot read
        raise ScimError(400, f"Invalid attributes: {exc}", "invalidPath") from exc


def _send(body: dict[str, Any], status: int = 200, resource: Any = None) -> JSONResponse:
    headers = {}
    if resource is not None and resource.meta is not None:
        headers["ETag"] = resource.meta.version or ""
        if status == 201 and resource.meta.location:
            headers["Location"] = resource.meta.location
    return JSONResponse(body, status_code=status, media_type=SCIM_JSON, headers=headers)


def _one(
    resource: Any, params: ResponseParameters[Any] | None = None, status: int = 200
) -> JSONResponse:
    ctx = Context.RESOURCE_CREATION_RESPONSE if status == 201 else Context.RESOURCE_QUERY_RESPONSE
    return _send(resource.model_dump(scim_ctx=ctx, response_parameters=params), status, resource)


def _listing(
    total: int,
    items: list[Any],
    start: int | None,
    model: Any,
    params: ResponseParameters[Any] | None,
) -> JSONResponse:
    page = ListResponse[model](
        total_results=total,
        start_index=max(1, start or 1),
        items_per_page=len(items),
        resources=items,
    )
    return _send(page.model_dump(scim_ctx=Context.SEARCH_RESPONSE, response_parameters=params))


# ---- discovery ---------------------------------------------------------------------------------


@router.get("/ServiceProviderConfig")
def service_provider_config(request: Request, caller: Caller) -> JSONResponse:
    return _send(discovery.dump(discovery.service_provider_config(base_url(request))))


@router.get("/ResourceTypes")
def resource_types(request: Request, caller: Caller) -> JSONResponse:
    items = discovery.resource_types(base_url(request))
    return _listing(len(items), items, 1, discovery.ResourceType, None)


@router.get("/ResourceTypes/{type_id}")
def resource_type(type_id: str, request: Request, caller: Caller) -> JSONResponse:
    found = next((t for t in discovery.resource_types(base_url(request)) if t.id == type_id), None)
    if found is None:
        raise not_found("ResourceType")
    return _send(discovery.dump(found))


@router.get("/Schemas")
def schemas(request: Request, caller: Caller) -> JSONResponse:
    items = discovery.schemas(base_url(request))
    return _listing(len(items), items, 1, discovery.Schema, None)


@router.get("/Schemas/{schema_id}")
def schema(schema_id: str, request: Request, caller: Caller) -> JSONResponse:
    found = next((s for s in discovery.schemas(base_url(request)) if s.id == schema_id), None)
    if found is None:
        raise not_found("Schema")
    return _send(discovery.dump(found))


@router.api_route("/ServiceProviderConfig", methods=["POST", "PUT", "PATCH", "DELETE"])
@router.api_route("/ResourceTypes", methods=["POST", "PUT", "PATCH", "DELETE"])
@router.api_route("/Schemas", methods=["POST", "PUT", "PATCH", "DELETE"])
def discovery_read_only() -> JSONResponse:
    raise ScimError(405, "Discovery endpoints are read-only")


# ---- users and groups --------------------------------------------------------------------------

Attributes = Annotated[str | None, Query()]
Excluded = Annotated[str | None, Query(alias="excludedAttributes")]
Filter = Annotated[str | None, Query(alias="filter")]
Start = Annotated[int | None, Query(alias="startIndex")]
Count = Annotated[int | None, Query()]
Payload = Annotated[dict[str, Any], Body()]


def _joined(value: Any) -> str | None:
    return ",".join(value) if isinstance(value, list) else value


def _mount(kind: str, service: Any, model: Any) -> None:
    """The same seven endpoints for Users and Groups; `service` is users or groups."""
    plural = f"/{kind}s"

    def list_(
        request: Request,
        caller: Caller,
        session: DbSession,
        filter_: Filter = None,
        start: Start = None,
        count: Count = None,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> JSONResponse:
        params = _params(attributes, excluded)
        total, items = query.search(session, caller, kind, filter_, start, count, base_url(request))
        return _listing(total, items, start, model, params)

    def search(request: Request, caller: Caller, session: DbSession, body: Payload) -> JSONResponse:
        params = _params(_joined(body.get("attributes")), _joined(body.get("excludedAttributes")))
        total, items = query.search(
            session,
            caller,
            kind,
            body.get("filter"),
            body.get("startIndex"),
            body.get("count"),
            base_url(request),
        )
        return _listing(total, items, body.get("startIndex"), model, params)

    def create(request: Request, caller: Caller, session: DbSession, body: Payload) -> JSONResponse:
        row = service.create(session, caller, body, base_url(request))
        return _one(service.to_resource(session, row, base_url(request)), status=201)

    def get(
        resource_id: str,
        request: Request,
        caller: Caller,
        session: DbSession,
        attributes: Attributes = None,
        excluded: Excluded = None,
    ) -> JSONResponse:
        row = service.load(session, caller, resource_id)
        resource = service.to_resource(session, row, base_url(request))
        return _one(resource, _params(attributes, excluded))

    def replace(
        resource_id: str,
        request: Request,
        caller: Caller,
        session: DbSession,
        body: Payload,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        row = service.replace(session, caller, resource_id, body, base_url(request), if_match)
        return _one(service.to_resource(session, row, base_url(request)))

    def patch(
        resource_id: str,
        request: Request,
        caller: Caller,
        session: DbSession,
        body: Payload,
        if_match: IfMatch = None,
    ) -> JSONResponse:
        row = service.patch(session, caller, resource_id, body, base_url(request), if_match)
        return _one(service.to_resource(session, row, base_url(request)))

    def delete(
        resource_id: str, caller: Caller, session: DbSession, if_match: IfMatch = None
    ) -> Response:
        service.delete(session, caller, resource_id, if_match)
        return Response(status_code=204)

    router.add_api_route(plural, list_, methods=["GET"], name=f"scim_list_{kind}")
    router.add_api_route(f"{plural}/.search", search, methods=["POST"], name=f"scim_search_{kind}")
    router.add_api_route(plural, create, methods=["POST"], name=f"scim_create_{kind}")
    item = f"{plural}/{{resource_id}}"
    router.add_api_route(item, get, methods=["GET"], name=f"scim_get_{kind}")
    router.add_api_route(item, replace, methods=["PUT"], name=f"scim_replace_{kind}")
    router.add_api_route(item, patch, methods=["PATCH"], name=f"scim_patch_{kind}")
    router.add_api_route(
        item, delete, methods=["DELETE"], status_code=204, name=f"scim_delete_{kind}"
    )


_mount("User", users, users.ScimUser)
_mount("Group", groups, groups.Group)


@router.post("/.search")
def search_all(request: Request, caller: Caller, session: DbSession, body: Payload) -> JSONResponse:
    """Search across Users and Groups (RFC 7644 §3.4.3, at the server root)."""
    params = _params(_joined(body.get("attributes")), _joined(body.get("excludedAttributes")))
    total, items = query.search_all(
        session,
        caller,
        body.get("filter"),
        body.get("startIndex"),
        body.get("count"),
        base_url(request),
    )
    return _listing(total, items, body.get("startIndex"), users.ScimUser | groups.Group, params)


@router.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
def unknown(rest: str) -> JSONResponse:
    raise not_found("Endpoint")


def _render(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ScimError)
    error = Error(status=exc.status, detail=exc.detail, scim_type=exc.scim_type)
    headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if exc.status == 401 else None
    return JSONResponse(
        error.model_dump(scim_ctx=Context.DEFAULT),
        status_code=exc.status,
        media_type=SCIM_JSON,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    """Mount /scim/v2 and render its errors as SCIM Error messages."""
    app.include_router(router)
    app.add_exception_handler(ScimError, _render)
