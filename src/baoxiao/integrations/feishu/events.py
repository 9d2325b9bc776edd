"""Feishu events applied to Baoxiao, in the worker, one inbox message at a time.

approval_instance (v1): the claim follows Feishu's decision, forward only:
  APPROVED -> approved, REJECTED -> rejected, CANCELED -> withdrawn (the claimant may
  edit and submit again), DELETED -> withdrawn as well (the instance is gone, so the
  claim goes back to its claimant), REVERTED -> recorded on the timeline and in the
  audit log only: a claim never moves backwards, finance decides what to do.
  PENDING links the instance code to the claim. An event of an earlier submission,
  or one that would move the claim backwards, is ignored with the reason.
approval_task (v1): recorded as approval history (timeline + audit).
contact.* (v2): org changes (see org.py).
When an event names an instance we do not know (task events carry no uuid), the
instance is fetched from Feishu: on doubt, ask.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from baoxiao.approvals import service as approvals
from baoxiao.claims import lifecycle
from baoxiao.connectors.feishu.connector import FeishuConnector, claim_of_uuid
from baoxiao.integrations import service as instances
from baoxiao.integrations.feishu import org, refs
from baoxiao.integrations.feishu.outbound import current_uuid
from baoxiao.kernel.crypto import SecretBox
from baoxiao.models.claim import Claim, ClaimAction, ClaimStatus
from baoxiao.models.integration import ConnectorInstance, InboxMessage, InboxStatus

OPEN = frozenset({ClaimStatus.SUBMITTED, ClaimStatus.APPROVING})
ACTIONS = {
    "APPROVED": ClaimAction.APPROVE,
    "REJECTED": ClaimAction.REJECT,
    "CANCELED": ClaimAction.WITHDRAW,
    "DELETED": ClaimAction.WITHDRAW,
}

OUTCOMES = {  # how the claim's approval instance ends
    "APPROVED": "approved",
    "REJECTED": "rejected",
    "CANCELED": "withdrawn",
    "DELETED": "withdrawn",
}


def fetch_instance(
    box: SecretBox | None, instance: ConnectorInstance, code: str
) -> dict[str, Any] | None:
    if box is None:
        return None
    connector = FeishuConnector()
    return connector.client(instances.context(box, instance)).get_instance(code)


def _claim_for(
    session: Session, box: SecretBox | None, instance: ConnectorInstance, data: dict[str, Any]
) -> tuple[Claim | None, str | None]:
    """The claim an event is about, and the submission uuid it carries (if known)."""
    code = str(data.get("instance_code", ""))
    uid = data.get("uuid")
    claim_id = claim_of_uuid(uid) if uid else None
    if claim_id is None:
        ref = refs.of_external(session, instance.id, refs.CLAIM, code)
        if ref is not None:
            claim_id, uid = ref.subject_id, ref.data.get("uuid")
    if claim_id is None:
        fetched = fetch_instance(box, instance, code)  # on doubt, ask Feishu
        uid = fetched.get("uuid") if fetched else None
        claim_id = claim_of_uuid(uid) if uid else None
    if claim_id is None:
        return None, None
    claim = session.get(Claim, claim_id, with_for_update=True)
    if claim is None or claim.company_id != instance.company_id:
        return None, None
    return claim, uid


def _actor(instance: ConnectorInstance) -> str:
    return f"connector:feishu:{instance.name}"


def instance_event(
    session: Session, box: SecretBox | None, instance: ConnectorInstance, data: dict[str, Any]
) -> tuple[str, str]:
    claim, uid = _claim_for(session, box, instance, data)
    if claim is None:
        return InboxStatus.IGNORED, "no claim for this Feishu instance"
    if uid and uid != current_uuid(session, claim.id):
        return InboxStatus.IGNORED, f"event of an earlier submission ({uid})"
    status = str(data.get("status", ""))
    code = str(data.get("instance_code", ""))
    refs.put(session, instance.id, refs.CLAIM, claim.id, code, {"uuid": uid, "status": status})
    if status == "REVERTED":
        lifecycle.note(
            session,
            claim,
            "feishu:reverted",
            actor=_actor(instance),
            actor_user_id=instance.actor_user_id,
            extra={"instance_code": code},
        )
        return InboxStatus.APPLIED, f"revert recorded; claim stays {claim.status}"
    action = ACTIONS.get(status)
    if action is None:
        return InboxStatus.APPLIED, f"instance {code} is {status}"
    if claim.status not in OPEN:
        return InboxStatus.IGNORED, f"claim already {claim.status}; Feishu says {status}"
    approvals.close_open_tasks(session, claim, outcome=OUTCOMES[status])
    lifecycle.apply(
        session,
        claim,
        action,
        actor=_actor(instance),
        actor_user_id=instance.actor_user_id,
        comment=f"Feishu: {status}",
        extra={"instance_code": code, "feishu_status": status},
    )
    return InboxStatus.APPLIED, f"claim {claim.number} {claim.status} (Feishu {status})"


def task_event(
    session: Session, box: SecretBox | None, instance: ConnectorInstance, data: dict[str, Any]
) -> tuple[str, str]:
    claim, _uid = _claim_for(session, box, instance, data)
    if claim is None:
        return InboxStatus.IGNORED, "no claim for this Feishu instance"
    status = str(data.get("status", "")).lower()
    person = refs.of_external(session, instance.id, refs.EMPLOYEE, str(data.get("open_id", "")))
    who = person.data.get("name") if person is not None else None
    lifecycle.note(
        session,
        claim,
        f"feishu:task_{status}",
        actor=f"feishu:{who or data.get('user_id') or data.get('open_id') or 'auto'}",
        actor_user_id=None,
        extra={
            "instance_code": data.get("instance_code"),
            "task_id": data.get("task_id"),
            "open_id": data.get("open_id"),
            "node": data.get("def_key"),
        },
    )
    return InboxStatus.APPLIED, f"task {data.get('task_id')} {status} recorded"


def apply(
    session: Session, box: SecretBox | None, instance: ConnectorInstance, msg: InboxMessage
) -> tuple[str, str]:
    """Apply one Feishu inbox message; returns (status, result)."""
    if msg.type == "feishu.approval_instance":
        return instance_event(session, box, instance, msg.data)
    if msg.type == "feishu.approval_task":
        return task_event(session, box, instance, msg.data)
    if msg.type.startswith("feishu.contact."):
        return org.apply_event(session, instance, msg.type.removeprefix("feishu."), msg.data)
    return InboxStatus.IGNORED, f"unhandled type {msg.type}"
