"""Sign in with Feishu: OAuth 2.0 authorization code with PKCE, then the user info API.

The state, the PKCE verifier and where to go next travel in a short-lived cookie
sealed with the instance's SecretBox (AES-GCM), so nothing is stored before the user
comes back. The Feishu user is mapped to an employee by the instance's `match_key`
(or the stored reference), and a normal browser session is started
(identity.sessions, method "feishu"). Inside the Feishu app the same flow signs the
user in without a prompt (login-free entry).
"""

from __future__ import annotations

import json
import logging
import secrets
import time
import uuid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.connectors.base import ConnectorError
from baoxiao.connectors.feishu.config import FeishuConfig
from baoxiao.connectors.feishu.connector import FeishuConnector
from baoxiao.connectors.feishu.crypto import pkce_pair
from baoxiao.integrations import service as instances
from baoxiao.integrations.feishu import refs
from baoxiao.integrations.feishu.errors import (
    NoEmployeeForFeishuUser,
    NotAFeishuConnector,
    SignInFailed,
    SignInStateInvalid,
)
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.identity import User
from baoxiao.models.integration import ConnectorInstance
from baoxiao.models.org import Employee

log = logging.getLogger("baoxiao.integrations.feishu")
COOKIE = "bx_feishu_login"
MAX_AGE = 600
SCOPES = "contact:user.employee_id:readonly contact:user.email:readonly"


def feishu_instance(session: Session, connector_id: uuid.UUID) -> ConnectorInstance:
    instance = session.get(ConnectorInstance, connector_id)
    if instance is None or instance.kind != "feishu" or not instance.enabled:
        raise NotAFeishuConnector()
    return instance


def _context_key(connector_id: uuid.UUID) -> str:
    return f"feishu-login:{connector_id}"


def begin(
    box: SecretBox, instance: ConnectorInstance, redirect_uri: str, next_path: str
) -> tuple[str, str]:
    """Returns (authorize URL, sealed cookie value)."""
    config = instances.context(box, instance).config
    assert isinstance(config, FeishuConfig)
    state = secrets.token_urlsafe(24)
    verifier, challenge = pkce_pair()
    safe_next = next_path if next_path.startswith("/") and not next_path.startswith("//") else "/"
    sealed = box.encrypt(
        json.dumps({"state": state, "verifier": verifier, "next": safe_next, "at": time.time()}),
        context=_context_key(instance.id),
    )
    query = urlencode(
        {
            "client_id": config.app_id,
            "redirect_uri": redirect_uri,
            "scope": SCOPES,
            "state": state,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{config.sign_in_base}/open-apis/authen/v1/authorize?{query}", sealed


def _employee_for(
    session: Session, instance: ConnectorInstance, config: FeishuConfig, info: dict[str, Any]
) -> Employee | None:
    ref = refs.of_external(session, instance.id, refs.EMPLOYEE, str(info.get("open_id", "")))
    if ref is not None:
        return session.get(Employee, ref.subject_id)
    key = config.match_key
    value = info.get(key) or (info.get("enterprise_email") if key == "email" else None)
    if not value:
        return None
    if key in ("open_id", "union_id", "user_id"):
        return None  # these only match through a reference made by org sync
    column = Employee.email if key == "email" else Employee.employee_no
    return session.scalars(
        select(Employee).where(Employee.company_id == instance.company_id, column == value)
    ).first()


def finish(
    session: Session,
    box: SecretBox,
    instance: ConnectorInstance,
    *,
    code: str,
    state: str,
    sealed: str | None,
    redirect_uri: str,
) -> tuple[User, str]:
    """Check the state, exchange the code, map the person; returns (user, next path)."""
    try:
        saved = json.loads(box.decrypt(sealed or "", context=_context_key(instance.id)))
    except (ValueError, KeyError):
        raise SignInStateInvalid() from None
    if not secrets.compare_digest(str(saved.get("state", "")), state) or (
        time.time() - float(saved.get("at", 0)) > MAX_AGE
    ):
        raise SignInStateInvalid()
    ctx = instances.context(box, instance)
    config = ctx.config
    assert isinstance(config, FeishuConfig)
    client = FeishuConnector().client(ctx)
    try:
        token = client.exchange_code(code, redirect_uri, saved["verifier"])
        info = client.user_info(token)
    except ConnectorError as exc:
        log.warning("Feishu sign-in failed for connector %s: %s", instance.id, exc)
        raise SignInFailed() from exc
    employee = _employee_for(session, instance, config, info)
    user = (
        session.scalars(select(User).where(User.employee_id == employee.id)).first()
        if employee is not None and employee.active
        else None
    )
    if user is None or not user.active or user.company_id != instance.company_id:
        raise NoEmployeeForFeishuUser()
    assert employee is not None
    refs.put(
        session,
        instance.id,
        refs.EMPLOYEE,
        employee.id,
        str(info["open_id"]),
        {k: info[k] for k in ("union_id", "user_id", "email", "name") if info.get(k)},
    )
    return user, str(saved.get("next") or "/")
