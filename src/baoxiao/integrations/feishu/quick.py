"""The quick-approval callback (三方审批 快捷审批): an approver clicks 同意/拒绝 in Feishu.

Applied at once, in the request, as that person through the approval services, so
every permission and segregation rule holds (nobody approves their own claim, only
the task's approver decides). A refusal goes back to Feishu as HTTP 403/409/422 with
`message`, which Feishu shows to the approver. Each click is kept in the inbox by its
id: Feishu sending the same click again gets the same answer without a second effect.
The new state reaches Feishu through the normal outbox delivery (external instance
sync on approval.task.completed).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.connectors.base import InboundEvent
from baoxiao.connectors.feishu import crypto
from baoxiao.connectors.feishu.config import FeishuConfig
from baoxiao.identity.service import principal_for
from baoxiao.integrations import inbound
from baoxiao.integrations import service as instances
from baoxiao.integrations.feishu import refs
from baoxiao.integrations.feishu.errors import QuickApprovalInvalid
from baoxiao.integrations.feishu.signin import feishu_instance
from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.errors import AppError
from baoxiao.models.identity import User
from baoxiao.models.integration import InboxMessage, InboxStatus

DECISIONS: dict[str, approvals.Decision] = {"APPROVE": "approve", "REJECT": "reject"}


def _refusal(exc: AppError, lang: str = "zh") -> tuple[int, dict[str, Any]]:
    status = exc.status if exc.status > 400 else 422
    return status, {"code": exc.code, "message": exc.render(lang), "without_prefix": False}


def _decide(session: Session, instance_id: uuid.UUID, msg: dict[str, Any]) -> str:
    decision = DECISIONS.get(str(msg.get("action_type")))
    try:
        task_id = uuid.UUID(str(msg.get("action_context") or msg.get("task_id")))
    except ValueError:
        raise QuickApprovalInvalid() from None
    if decision is None:
        raise QuickApprovalInvalid()
    ref = refs.of_external(session, instance_id, refs.EMPLOYEE_USER_ID, str(msg.get("user_id")))
    user = (
        session.scalars(select(User).where(User.employee_id == ref.subject_id)).first()
        if ref is not None
        else None
    )
    if user is None or not user.active:
        raise QuickApprovalInvalid(detail="unknown or inactive Feishu user")
    comment = msg.get("reason") or ("Rejected in Feishu" if decision == "reject" else None)
    with session.begin_nested():
        task = approvals.decide(session, principal_for(user), task_id, decision, comment)
    return f"{decision} task {task.id} as {user.username}"


def handle(
    session: Session, box: SecretBox, connector_id: uuid.UUID, body: bytes
) -> tuple[int, dict[str, Any]]:
    """Verify, dedupe and apply one click; returns (HTTP status, body for Feishu)."""
    instance = feishu_instance(session, connector_id)
    config = instances.context(box, instance).config
    assert isinstance(config, FeishuConfig)
    msg = crypto.open_quick_approval(
        config.secret("action_callback_key"), config.secret("action_callback_token"), body
    )
    key = f"quick:{msg.get('id') or msg.get('message_id')}:{msg.get('task_id')}"
    previous = session.scalars(
        select(InboxMessage).where(
            InboxMessage.connector_id == instance.id, InboxMessage.external_id == key
        )
    ).first()
    if previous is not None:
        return 200, {"code": 0, "msg": "duplicate", "result": previous.result}
    try:
        result = _decide(session, instance.id, msg)
    except AppError as exc:
        return _refusal(exc)
    inbound.store(
        session,
        instance,
        InboundEvent(key, "feishu.quick_approval", msg),
        utcnow(),
        status=InboxStatus.APPLIED,
        result=result,
    )
    return 200, {"code": 0, "msg": "success"}
