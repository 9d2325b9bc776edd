"""The simulator's ASGI app: Feishu Open Platform endpoints plus the test control API."""

from __future__ import annotations

from fastapi import FastAPI

from tests.tools.feishu_sim import control, directory, openapi
from tests.tools.feishu_sim.approval import Approvals
from tests.tools.feishu_sim.push import Pusher
from tests.tools.feishu_sim.state import State


def create_app(state: State) -> FastAPI:
    app = FastAPI(title="Feishu Open Platform simulator", docs_url=None, redoc_url=None)
    pusher = Pusher(state)
    approvals = Approvals(state, pusher)
    app.state.sim, app.state.pusher = state, pusher
    app.include_router(openapi.build(state, approvals))
    app.include_router(directory.build(state))
    app.include_router(control.build(state, approvals, pusher))
    return app
