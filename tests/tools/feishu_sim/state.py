"""The simulator's in-memory tenant: org, approval definitions and instances, tokens, faults.

Everything is guarded by one lock: uvicorn runs the sync endpoints in a thread pool
and the event pusher runs in its own thread.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


def now_ms() -> int:
    return int(time.time() * 1000)


class FeishuError(Exception):
    """A Feishu error envelope: {"code": code, "msg": msg} with an HTTP status."""

    def __init__(self, code: int, msg: str, http_status: int = 400) -> None:
        super().__init__(msg)
        self.code, self.msg, self.http_status = code, msg, http_status


@dataclass
class Faults:
    down: bool = False  # every Open API call answers 503
    throttle_count: int = 0  # the next n calls answer 429 / 99991400
    throttle_reset: int = 1  # x-ogw-ratelimit-reset (seconds)
    fail_after_commit: int = 0  # the next n instance creates succeed but answer 500
    duplicate: bool = False  # every event is pushed twice (distinct attempts, same id)
    hold: bool = False  # events are held until released (then sent in the order asked)
    lose_acks: int = 0  # the next n successful pushes are treated as failed (retried)


@dataclass
class Callback:
    url: str = ""
    encrypt_key: str = ""
    verification_token: str = ""


@dataclass
class State:
    app_id: str = "cli_sim"
    app_secret: str = "sim-secret"
    tenant_key: str = "tenant_sim"
    token_ttl: int = 7200
    retry_intervals: tuple[float, ...] = (15.0, 300.0, 3600.0, 21600.0)
    push_timeout: float = 3.0
    lock: threading.RLock = field(default_factory=threading.RLock)
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # open_id -> user
    departments: dict[str, dict[str, Any]] = field(default_factory=dict)  # open_department_id
    approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    subscribed: set[str] = field(default_factory=set)
    instances: dict[str, dict[str, Any]] = field(default_factory=dict)  # instance_code
    by_uuid: dict[str, str] = field(default_factory=dict)
    external_approvals: dict[str, dict[str, Any]] = field(default_factory=dict)
    external_instances: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    external_history: list[dict[str, Any]] = field(default_factory=list)
    messages: list[dict[str, Any]] = field(default_factory=list)
    message_uuids: dict[str, str] = field(default_factory=dict)
    tenant_tokens: dict[str, float] = field(default_factory=dict)
    app_tokens: dict[str, float] = field(default_factory=dict)
    oauth_codes: dict[str, dict[str, Any]] = field(default_factory=dict)
    user_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    calls: list[dict[str, Any]] = field(default_factory=list)
    pushes: list[dict[str, Any]] = field(default_factory=list)
    quick_results: list[dict[str, Any]] = field(default_factory=list)
    faults: Faults = field(default_factory=Faults)
    callback: Callback = field(default_factory=Callback)
    counter: int = 0

    # -- ids ---------------------------------------------------------------------------
    def next_id(self, prefix: str) -> str:
        with self.lock:
            self.counter += 1
            return f"{prefix}{self.counter:06d}{secrets.token_hex(4)}"

    # -- org ---------------------------------------------------------------------------
    def add_department(self, d: dict[str, Any]) -> dict[str, Any]:
        open_id = d.get("open_department_id") or d.get("id") or self.next_id("od-")
        dept = {
            "name": d["name"],
            "i18n_name": {"zh_cn": d["name"], "en_us": d.get("en_name", d["name"])},
            "parent_department_id": d.get("parent", d.get("parent_department_id", "0")),
            "department_id": d.get("department_id", open_id.replace("od-", "D")),
            "open_department_id": open_id,
            "leader_user_id": d.get("leader", d.get("leader_user_id", "")),
            "order": str(d.get("order", 0)),
            "status": {"is_deleted": False},
        }
        self.departments[open_id] = dept
        return dept

    def add_user(self, u: dict[str, Any]) -> dict[str, Any]:
        open_id = u.get("open_id") or self.next_id("ou_")
        user = {
            "open_id": open_id,
            "union_id": u.get("union_id", "on_" + open_id[3:]),
            "user_id": u.get("user_id", "u" + open_id[3:]),
            "name": u["name"],
            "en_name": u.get("en_name", ""),
            "email": u.get("email", ""),
            "enterprise_email": u.get("enterprise_email", u.get("email", "")),
            "mobile": u.get("mobile", ""),
            "employee_no": u.get("employee_no", ""),
            "job_title": u.get("job_title", ""),
            "department_ids": list(u.get("departments", u.get("department_ids", []))),
            "leader_user_id": u.get("leader", u.get("leader_user_id", "")),
            "status": {
                "is_frozen": False,
                "is_resigned": bool(u.get("resigned", False)),
                "is_activated": True,
                "is_exited": False,
                "is_unjoin": False,
            },
        }
        self.users[open_id] = user
        return user

    def user_by(self, value: str, id_type: str = "open_id") -> dict[str, Any] | None:
        if id_type == "open_id":
            return self.users.get(value)
        return next((u for u in self.users.values() if u.get(id_type) == value), None)

    def require_user(self, value: str, id_type: str = "open_id") -> dict[str, Any]:
        user = self.user_by(value, id_type)
        if user is None:
            raise FeishuError(1390001, f"param is invalid: user {value} not found")
        return user

    def user_view(self, user: dict[str, Any], id_type: str = "open_id") -> dict[str, Any]:
        """A user as contact v3 returns it: the leader in the requested id type."""
        out = json.loads(json.dumps(user))
        leader = self.users.get(user["leader_user_id"]) if user["leader_user_id"] else None
        out["leader_user_id"] = leader[id_type] if leader else ""
        return out

    def department_view(self, dept: dict[str, Any], id_type: str = "open_id") -> dict[str, Any]:
        out = json.loads(json.dumps(dept))
        leader = self.users.get(dept["leader_user_id"]) if dept["leader_user_id"] else None
        out["leader_user_id"] = leader[id_type] if leader else ""
        out["member_count"] = sum(
            1 for u in self.users.values() if dept["open_department_id"] in u["department_ids"]
        )
        return out

    # -- seed --------------------------------------------------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            for key in ("app_id", "app_secret", "tenant_key"):
                if key in data:
                    setattr(self, key, data[key])
            for d in data.get("departments", []):
                self.add_department(d)
            for u in data.get("users", []):
                self.add_user(u)
            for a in data.get("approvals", []):
                self.approvals[a["approval_code"]] = a
            gen = data.get("generate")
            if gen:
                self.generate_org(int(gen["users"]), int(gen["departments"]))

    def generate_org(self, n_users: int, n_depts: int) -> None:
        """A synthetic org: departments in a tree of fan-out 10, users spread over them."""
        ids: list[str] = []
        for i in range(n_depts):
            parent = "0" if i < 10 else ids[(i - 10) // 10]
            ids.append(
                self.add_department(
                    {"open_department_id": f"od-gen{i:05d}", "name": f"Dept {i}", "parent": parent}
                )["open_department_id"]
            )
        for i in range(n_users):
            dept = ids[i % n_depts] if ids else "0"
            leader = f"ou_gen{(i % n_depts):06d}" if i >= n_depts else ""
            self.add_user(
                {
                    "open_id": f"ou_gen{i:06d}",
                    "user_id": f"gen{i:06d}",
                    "name": f"User {i}",
                    "email": f"user{i}@sim.example",
                    "employee_no": f"E{i:06d}",
                    "departments": [dept],
                    "leader": leader,
                }
            )
        for i, dept_id in enumerate(ids):
            if i < n_users:
                self.departments[dept_id]["leader_user_id"] = f"ou_gen{i:06d}"


def load_seed(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    loaded = yaml.safe_load(text) if path.endswith((".yaml", ".yml")) else json.loads(text)
    return dict(loaded or {})
