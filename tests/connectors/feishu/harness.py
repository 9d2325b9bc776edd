"""Baoxiao as a real HTTP server plus a dispatcher thread, wired to a Feishu simulator."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.models.claim import Claim, ClaimActivity
from baoxiao.models.integration import InboxMessage
from baoxiao.settings import Settings
from tests.connectors.feishu.sim import Simulator
from tests.support.delivery import TEST_SECRET_KEY
from tests.support.factories import World, build_world
from tests.support.integrations import fast_settings

ENCRYPT_KEY = "sim-encrypt-key"
VERIFICATION_TOKEN = "sim-verification-token"
ACTION_TOKEN = "sim-action-token"
ACTION_KEY = "sim-action-key"
PEOPLE = ("boss", "manager", "claimant", "peer", "outsider", "finance", "cashier", "admin")
LEADERS = {
    "manager": "boss",
    "claimant": "manager",
    "peer": "manager",
    "outsider": "boss",
    "finance": "boss",
    "cashier": "boss",
}
DEPTS = {
    "boss": "ROOT",
    "admin": "ROOT",
    "manager": "RD",
    "claimant": "RD",
    "peer": "RD",
    "outsider": "SALES",
    "finance": "FIN",
    "cashier": "FIN",
}


def open_id(role: str) -> str:
    return f"ou_{role}"


def seed_for(world: World, app_id: str) -> dict[str, Any]:
    """A Feishu tenant holding the same people as the test world (matched by email)."""
    return {
        "app_id": app_id,
        "app_secret": "sim-app-secret",
        "departments": [
            {
                "open_department_id": f"od-{code.lower()}",
                "department_id": code,
                "name": code,
                "parent": "0" if code == "ROOT" else "od-root",
            }
            for code in ("ROOT", "RD", "SALES", "FIN")
        ],
        "users": [
            {
                "open_id": open_id(role),
                "user_id": role,
                "name": world[role].user.username,
                "email": world[role].employee.email if world[role].employee else "",
                "employee_no": world[role].employee.employee_no if world[role].employee else "",
                "departments": [f"od-{DEPTS[role].lower()}"],
                "leader": open_id(LEADERS[role]) if role in LEADERS else "",
            }
            for role in PEOPLE
        ],
        "approvals": [
            {
                "approval_code": "BX_CLAIM",
                "approval_name": "报销",
                "form": [
                    {"id": "claim_number", "type": "input"},
                    {"id": "reason", "type": "textarea"},
                    {"id": "amount", "type": "amount"},
                    {"id": "detail_link", "type": "input"},
                ],
                "nodes": [{"node_id": "manager", "name": "直属上级", "approver": "leader"}],
            }
        ],
    }


class LiveServer:
    """uvicorn serving the app on a free loopback port, in a thread."""

    def __init__(self, app: Any) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and time.monotonic() < deadline:
            time.sleep(0.02)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@dataclass
class Env:
    db: Database
    world: World
    sim: Simulator
    server: LiveServer
    http: httpx.Client
    connector_id: str
    box: SecretBox
    dispatcher: Dispatcher

    def headers(self, who: str) -> dict[str, str]:
        return self.world[who].headers

    def claim_status(self, claim_id: str) -> str:
        with self.db.transaction() as session:
            claim = session.scalars(select(Claim).where(Claim.id == uuid.UUID(claim_id))).one()
            return claim.status

    def wait_status(self, claim_id: str, status: str, timeout: float = 20.0) -> None:
        self.sim.wait_for(
            lambda: self.claim_status(claim_id) == status,
            timeout,
            f"claim {claim_id} to be {status} (is {self.claim_status(claim_id)})",
        )

    def new_claim(self, who: str = "claimant", amount: str = "88.50") -> str:
        line = {"category_code": "TAXI", "expense_date": "2026-11-01", "amount": amount}
        response = self.http.post(
            "/api/v1/claims",
            headers=self.headers(who),
            json={"reason": "client visit", "lines": [line]},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def submit(self, claim_id: str, who: str = "claimant") -> None:
        response = self.http.post(f"/api/v1/claims/{claim_id}/submit", headers=self.headers(who))
        assert response.status_code == 200, response.text

    def sim_instances(self) -> list[dict[str, Any]]:
        return list(self.sim.get("/instances"))

    def instance_of(self, claim_id: str) -> dict[str, Any]:
        hexid = uuid.UUID(claim_id).hex
        return self.sim.wait_for(
            lambda: next((i for i in self.sim_instances() if i["uuid"].startswith(hexid)), None),
            20,
            f"a Feishu instance for {claim_id}",
        )

    def cards_for(self, role: str) -> list[dict[str, Any]]:
        return [m for m in self.sim.get("/messages") if m["receive_id"] == open_id(role)]


def start_env(
    db: Database,
    tmp_path: Path,
    mode: str,
    *,
    sim_args: tuple[str, ...] = (),
    settings_overrides: dict[str, Any] | None = None,
) -> Env:
    with db.transaction() as session:
        world = build_world(session)
    app_id = f"cli_{uuid.uuid4().hex[:12]}"  # lark-oapi caches tokens per app id
    sim = Simulator(seed_for(world, app_id), tmp_path, "--retry-scale", "0.01", *sim_args)
    settings = fast_settings(
        Settings(var_dir=tmp_path, secret_key=TEST_SECRET_KEY, embedded_dispatcher=False),
        **(settings_overrides or {}),
    )
    server = LiveServer(create_app(settings, db))
    http = httpx.Client(base_url=server.url, timeout=20)
    config = {
        "domain": sim.url,
        "app_id": app_id,
        "app_secret": "sim-app-secret",
        "encrypt_key": ENCRYPT_KEY,
        "verification_token": VERIFICATION_TOKEN,
        "mode": mode,
        "approval_code": "BX_CLAIM",
        "external_approval_code": "BX_EXT",
        "action_callback_token": ACTION_TOKEN,
        "action_callback_key": ACTION_KEY,
        "public_base_url": server.url,
        "timeout_seconds": 3,
    }
    response = http.post(
        "/api/v1/connectors",
        headers=world["admin"].headers,
        json={
            "kind": "feishu",
            "name": "Feishu",
            "config": config,
            "event_types": ["claim.*", "approval.task.*"],
            "rate_limit_qps": 50,
            "rate_burst": 50,
            "allow_private_network": True,  # the simulator listens on loopback
            "actor_user_id": str(world["admin"].user.id),
        },
    )
    assert response.status_code == 201, response.text
    connector_id = response.json()["id"]
    box = SecretBox.from_secret(TEST_SECRET_KEY)
    dispatcher = Dispatcher(db, settings)
    env = Env(db, world, sim, server, http, connector_id, box, dispatcher)
    # Saving the request URL in Feishu's console sends a challenge that must be echoed
    # within one second. Every answer must be right; on a loaded test machine one slow
    # answer is retried, as the developer would save again.
    answers = []
    for _ in range(3):
        verify = sim.post(
            "/callback",
            {
                "url": f"{server.url}/api/v1/integrations/{connector_id}/feishu/events",
                "encrypt_key": ENCRYPT_KEY,
                "verification_token": VERIFICATION_TOKEN,
            },
        )
        answers.append(verify)
        assert verify.get("correct"), answers
        if verify["ok"]:
            break
    assert answers[-1]["ok"], answers
    return env


class Running:
    """The dispatcher loop in a thread (delivers events, applies the inbox)."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=dispatcher.run, args=(self.stop_event,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        self.thread.join(15)


def activities(env: Env, claim_id: str) -> list[tuple[str, str | None]]:
    with env.db.transaction() as session:
        rows = session.scalars(
            select(ClaimActivity)
            .where(ClaimActivity.claim_id == uuid.UUID(claim_id))
            .order_by(ClaimActivity.at)
        ).all()
        return [(r.action, r.to_status) for r in rows]


def inbox(env: Env) -> list[tuple[str, str, str | None]]:
    with env.db.transaction() as session:
        rows = session.scalars(
            select(InboxMessage)
            .where(InboxMessage.connector_id == uuid.UUID(env.connector_id))
            .order_by(InboxMessage.received_at)
        ).all()
        return [(r.type, r.status, r.result) for r in rows]
