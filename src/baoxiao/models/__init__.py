"""All ORM classes, one module per aggregate; importing this fills the metadata."""

from baoxiao.kernel.idempotency import IdempotencyRecord
from baoxiao.kernel.sequences import NumberSequence
from baoxiao.models.approval import (
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalTask,
    TaskStatus,
)
from baoxiao.models.audit import AuditHead, AuditRecord
from baoxiao.models.catalog import Currency, ExchangeRate, ExpenseCategory
from baoxiao.models.claim import (
    Attachment,
    Claim,
    ClaimAction,
    ClaimActivity,
    ClaimLine,
    ClaimStatus,
)
from baoxiao.models.identity import ApiToken, Role, RoleAssignment, User, WebSession
from baoxiao.models.integration import (
    ConnectorInstance,
    Delivery,
    DeliveryStatus,
    ExternalRef,
    InboxMessage,
    InboxStatus,
    WorkerLease,
)
from baoxiao.models.invoice import Invoice, InvoiceStatus
from baoxiao.models.org import Company, CostCenter, Department, Employee
from baoxiao.models.outbox import OutboxEvent
from baoxiao.models.payment import Payment, PaymentStatus
from baoxiao.models.policy import Outcome, PolicyResult, PolicyStandard, StandardStatus

__all__ = [
    "ApiToken",
    "ApprovalDelegation",
    "ApprovalFlow",
    "ApprovalFlowVersion",
    "ApprovalInstance",
    "ApprovalTask",
    "Attachment",
    "AuditHead",
    "AuditRecord",
    "Claim",
    "ClaimAction",
    "ClaimActivity",
    "ClaimLine",
    "ClaimStatus",
    "Company",
    "ConnectorInstance",
    "CostCenter",
    "Currency",
    "Delivery",
    "DeliveryStatus",
    "Department",
    "Employee",
    "ExchangeRate",
    "ExpenseCategory",
    "ExternalRef",
    "IdempotencyRecord",
    "InboxMessage",
    "InboxStatus",
    "Invoice",
    "InvoiceStatus",
    "NumberSequence",
    "OutboxEvent",
    "Outcome",
    "Payment",
    "PaymentStatus",
    "PolicyResult",
    "PolicyStandard",
    "Role",
    "RoleAssignment",
    "StandardStatus",
    "TaskStatus",
    "User",
    "WebSession",
    "WorkerLease",
]
