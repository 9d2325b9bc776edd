"""Approval tasks: one per approver and step of a claim's route."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from baoxiao.kernel.clock import utcnow
from baoxiao.kernel.db import Base
from baoxiao.kernel.ids import new_id
from baoxiao.models.claim import Claim


class TaskStatus(StrEnum):
    WAITING = "waiting"  # a later step, not yet actionable
    PENDING = "pending"  # waiting for the approver
    APPROVED = "approved"
    REJECTED = "rejected"
    RETURNED = "returned"
    CANCELLED = "cancelled"  # the claim left the route (withdrawn, rejected elsewhere)
    TRANSFERRED = "transferred"  # handed to someone else (转交, escalation)
    SENT_BACK = "sent_back"  # returned to an earlier node; the route runs again from there
    NOTIFIED = "notified"  # a CC (抄送) copy: read, never acted on


class TaskKind(StrEnum):
    APPROVE = "approve"
    CC = "cc"


class ApprovalTask(Base):
    __tablename__ = "approval_tasks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    round: Mapped[int] = mapped_column(default=1)  # each submission starts a new round
    step: Mapped[int]
    step_name: Mapped[str] = mapped_column(String(64))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employees.id"), index=True)
    candidate_role: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default=TaskStatus.WAITING, index=True)
    decided_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The flow engine's columns (issue #3).
    instance_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("approval_instances.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16), default=TaskKind.APPROVE)
    mode: Mapped[str] = mapped_column(String(8), default="all")  # all | any (within a step)
    acting_for_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("employees.id"))
    origin: Mapped[str] = mapped_column(String(16), default="route")  # route|add_signer|transfer..
    remind_at: Mapped[datetime | None]
    escalate_at: Mapped[datetime | None]
    reminded_at: Mapped[datetime | None]
    urged_at: Mapped[datetime | None]

    claim: Mapped[Claim] = relationship()


class ApprovalFlow(Base):
    """A company's approval flow; its content lives in immutable versions."""

    __tablename__ = "approval_flows"
    __table_args__ = (UniqueConstraint("company_id", "key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class FlowVersionStatus(StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class ApprovalFlowVersion(Base):
    """One version of a flow document. Published versions are never changed."""

    __tablename__ = "approval_flow_versions"
    __table_args__ = (UniqueConstraint("flow_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    flow_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("approval_flows.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    version: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=FlowVersionStatus.DRAFT, index=True)
    document: Mapped[dict[str, Any]]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    published_at: Mapped[datetime | None]
    published_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))

    flow: Mapped[ApprovalFlow] = relationship()


class ApprovalInstance(Base):
    """A claim's run through one pinned flow version (one per submission round)."""

    __tablename__ = "approval_instances"
    __table_args__ = (UniqueConstraint("claim_id", "round"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    claim_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("claims.id", ondelete="CASCADE"), index=True
    )
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    round: Mapped[int]
    flow_version_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("approval_flow_versions.id")
    )  # None: the built-in default flow
    definition: Mapped[dict[str, Any]]  # the pinned document itself
    route: Mapped[dict[str, Any]]  # the route resolved at submission, with its reasons
    status: Mapped[str] = mapped_column(String(16), default="running")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class ApprovalDelegation(Base):
    """While active, new tasks for the delegator go to the delegate, acting for them."""

    __tablename__ = "approval_delegations"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    company_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("companies.id"), index=True)
    delegator_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id"), index=True)
    delegate_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("employees.id"), index=True)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
