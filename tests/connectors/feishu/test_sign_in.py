"""Sign in with Feishu through the simulator: authorization code + PKCE, then user info."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import select

from baoxiao.models.identity import WebSession
from tests.connectors.feishu.harness import Env, open_id


def _sign_in(env: Env, who: str, *, tamper_state: bool = False) -> httpx.Response:
    base = f"/api/v1/integrations/{env.connector_id}/feishu"
    start = env.http.get(f"{base}/login", params={"next": "/claims"})
    assert start.status_code == 302, start.text
    authorize = start.headers["location"]
    assert authorize.startswith(env.sim.url) and "code_challenge_method=S256" in authorize
    back = httpx.get(f"{authorize}&sim_user={who}", follow_redirects=False)
    assert back.status_code == 302, back.text
    callback = back.headers["location"]
    if tamper_state:
        callback = callback.replace("state=", "state=x")
    return env.http.get(callback.removeprefix(env.server.url))


def test_sign_in_with_feishu_starts_a_session(feishu_mode: Env) -> None:
    env = feishu_mode
    done = _sign_in(env, open_id("claimant"))
    assert done.status_code == 302 and done.headers["location"] == "/claims", done.text
    assert "bx_session" in done.headers.get("set-cookie", "") or done.cookies
    with env.db.transaction() as session:
        web = session.scalars(
            select(WebSession).where(WebSession.user_id == env.world["claimant"].user.id)
        ).one()
        assert web.method == "feishu" and web.ended_at is None


def test_sign_in_refuses_a_forged_state_and_an_unknown_person(feishu_mode: Env) -> None:
    env = feishu_mode
    assert _sign_in(env, open_id("claimant"), tamper_state=True).status_code == 401
    env.http.cookies.clear()
    env.sim.post("/faults", {"hold": True})  # keep the contact event from creating them
    stranger = env.sim.post(
        "/contact/users",
        {"open_id": f"ou_{uuid.uuid4().hex[:8]}", "name": "Stranger", "email": "x@nowhere.cn"},
    )
    refused = _sign_in(env, stranger["open_id"])
    assert refused.status_code == 403 and refused.json()["code"] == "feishu_user_not_linked"
