"""The request transaction and Idempotency-Key handling, in one route class.

Every API route runs in one database transaction owned here: the endpoint
and the services it calls add and flush; this class commits when the
response is a success and rolls back otherwise, *before* the response is
sent. POST requests carrying an Idempotency-Key follow Stripe's semantics:
the same key with the same body replays the first successful response; the
same key with a different body is 422. Only successful responses are stored:
an error changed nothing, so re-running it is safe.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from baoxiao.kernel import idempotency
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import end_failed
from baoxiao.kernel.errors import AppError, BadRequest, Conflict
from baoxiao.kernel.i18n import Msg

Handler = Callable[[Request], Coroutine[Any, Any, Response]]
ScopeResolver = Callable[[Request, Session], str | None]


class IdempotencyKeyReused(AppError):
    status = 422
    code = "idempotency_key_reused"
    message = Msg(
        "This Idempotency-Key was already used with a different request.",
        "此 Idempotency-Key 已用于另一个不同的请求。",
    )


class IdempotencyKeyInvalid(BadRequest):
    code = "idempotency_key_invalid"
    message = Msg(
        "Idempotency-Key must be 1 to 255 printable characters.",
        "Idempotency-Key 须为 1 至 255 个可打印字符。",
    )


class ConcurrentRequest(Conflict):
    code = "idempotency_key_in_progress"
    message = Msg(
        "A request with this Idempotency-Key is still being processed.",
        "使用此 Idempotency-Key 的请求仍在处理中。",
    )


async def request_session(request: Request) -> Session:
    """The session of the current request's transaction (a FastAPI dependency).

    Async, so FastAPI does not send this attribute read to the thread pool.
    """
    session: Session = request.state.session
    return session


# Objects a request session loaded, held until the request ends. The identity map holds
# objects weakly, so without this a second `session.get()` of the same row in one request
# (a currency, the claimant, a department) would often select it again.
KEEP_LOADED = "baoxiao_keep_loaded"


@event.listens_for(Session, "loaded_as_persistent")
def _keep_loaded(session: Session, instance: object) -> None:
    kept: list[object] | None = session.info.get(KEEP_LOADED)
    if kept is not None:
        kept.append(instance)


def transactional(inner: Handler) -> Handler:
    """Run a route handler in the request transaction (see the module docstring)."""

    async def handler(request: Request) -> Response:
        session = request.app.state.db.session_factory()
        session.info[KEEP_LOADED] = []
        request.state.session = session
        try:
            key = request.headers.get("idempotency-key")
            if request.method == "POST" and key is not None:
                response = await _run_idempotent(request, session, inner, key)
                await run_in_threadpool(session.close)
                return response
            response = await inner(request)
            await _finish(session, response)
            return response
        except BaseException:
            await run_in_threadpool(_discard, session)
            raise

    return handler


class TransactionalRoute(APIRoute):
    def get_route_handler(self) -> Handler:
        return transactional(super().get_route_handler())


def _end(session: Session, commit: bool) -> None:
    """Commit (or end as failed) and close, in one trip to the thread pool."""
    try:
        if commit:
            session.commit()
        else:
            end_failed(session)
    finally:
        session.close()


def _discard(session: Session) -> None:
    try:
        end_failed(session)
    finally:
        session.close()


async def _finish(session: Session, response: Response) -> None:
    await run_in_threadpool(_end, session, response.status_code < 400)


async def _run_idempotent(request: Request, session: Session, inner: Handler, key: str) -> Response:
    if not (0 < len(key) <= idempotency.MAX_KEY_LENGTH) or not key.isprintable():
        raise IdempotencyKeyInvalid()
    resolve: ScopeResolver = request.app.state.idempotency_scope
    scope = await run_in_threadpool(resolve, request, session)
    if scope is None:  # not authenticated: the endpoint itself will refuse
        response = await inner(request)
        await _finish(session, response)
        return response
    ttl: timedelta = request.app.state.idempotency_ttl
    body = await request.body()
    fp = idempotency.fingerprint(request.method, request.url.path, request.url.query, body)

    existing = await run_in_threadpool(idempotency.find, session, scope, key, ttl)
    if existing is not None:
        await run_in_threadpool(session.rollback)
        return _replay(existing, fp)

    response = await inner(request)
    if not 200 <= response.status_code < 300:
        await run_in_threadpool(end_failed, session)
        return response
    headers = {
        name: value
        for name, value in response.headers.items()
        if name.lower() in idempotency.REPLAYED_HEADERS
    }
    session.add(
        idempotency.IdempotencyRecord(
            scope=scope,
            key=key,
            fingerprint=fp,
            status_code=response.status_code,
            response_body=bytes(response.body),
            response_headers=headers,
            created_at=utcnow(),
        )
    )
    try:
        await run_in_threadpool(session.commit)
    except IntegrityError:
        # A concurrent request with the same key committed first: ours is
        # rolled back entirely, and the client gets the winner's answer.
        await run_in_threadpool(session.rollback)
        winner = await run_in_threadpool(idempotency.find, session, scope, key, ttl)
        await run_in_threadpool(session.rollback)
        if winner is None:
            raise ConcurrentRequest() from None
        return _replay(winner, fp)
    return response


def _replay(record: idempotency.IdempotencyRecord, fp: str) -> Response:
    if record.fingerprint != fp:
        raise IdempotencyKeyReused()
    headers = dict(record.response_headers)
    headers["idempotent-replayed"] = "true"
    return Response(
        content=record.response_body,
        status_code=record.status_code,
        headers=headers,
    )
