"""All ORM classes, one module per aggregate; importing this fills the metadata."""

from baoxiao.kernel.idempotency import IdempotencyRecord
from baoxiao.kernel.sequences import NumberSequence
from baoxiao.models.advance import (
    Advance,
    AdvanceOffset,
    AdvanceRepayment,
    AdvanceStatus,
    OffsetStatus,
)
from baoxiao.models.approval import (
    ApprovalDelegation,
    ApprovalFlow,
    ApprovalFlowVersion,
    ApprovalInstance,
    ApprovalTask,
    TaskStatus,
)
from baoxiao.models.audit import AuditHead, AuditRecord
from baoxiao.models.budget import Budget, BudgetEntry, ControlMode, EntryKind, PeriodKind
from baoxiao.models.catalog import Currency, ExchangeRate, ExpenseCategory
from baoxiao.models.claim import (
    Attachment,
    Claim,
    ClaimAction,
    ClaimActivity,
    ClaimLine,
    ClaimStatus,
)
from baoxiao.models.identity import (
    ApiToken,
    DataScope,
    ExternalIdentity,
    IdentityProvider,
    RecoveryCode,
    Role,
    RoleAssignment,
    SignInThrottle,
    User,
    WebSession,
)
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
from baoxiao.models.payment import (
    BankAccount,
    BatchStatus,
    Payment,
    PaymentBatch,
    PaymentStatus,
)
from baoxiao.models.policy import Outcome, PolicyResult, PolicyStandard, StandardStatus
from baoxiao.models.provisioning import (
    IdentitySettings,
    ScimGroup,
    ScimGroupMember,
    ScimUserLink,
)
from baoxiao.models.voucher import AccountMapping, Voucher, VoucherKind, VoucherLine

__all__ = [
    "AccountMapping",
    "Advance",
    "AdvanceOffset",
    "AdvanceRepayment",
    "AdvanceStatus",
    "ApiToken",
    "ApprovalDelegation",
    "ApprovalFlow",
    "ApprovalFlowVersion",
    "ApprovalInstance",
    "ApprovalTask",
    "Attachment",
    "AuditHead",
    "AuditRecord",
    "BankAccount",
    "BatchStatus",
    "Budget",
    "BudgetEntry",
    "Claim",
    "ClaimAction",
    "ClaimActivity",
    "ClaimLine",
    "ClaimStatus",
    "Company",
    "ConnectorInstance",
    "ControlMode",
    "CostCenter",
    "Currency",
    "DataScope",
    "Delivery",
    "DeliveryStatus",
    "Department",
    "Employee",
    "EntryKind",
    "ExchangeRate",
    "ExpenseCategory",
    "ExternalIdentity",
    "ExternalRef",
    "IdempotencyRecord",
    "IdentityProvider",
    "IdentitySettings",
    "InboxMessage",
    "InboxStatus",
    "Invoice",
    "InvoiceStatus",
    "NumberSequence",
    "OffsetStatus",
    "OutboxEvent",
    "Outcome",
    "Payment",
    "PaymentBatch",
    "PaymentStatus",
    "PeriodKind",
    "PolicyResult",
    "PolicyStandard",
    "RecoveryCode",
    "Role",
    "RoleAssignment",
    "ScimGroup",
    "ScimGroupMember",
    "ScimUserLink",
    "SignInThrottle",
    "StandardStatus",
    "TaskStatus",
    "User",
    "Voucher",
    "VoucherKind",
    "VoucherLine",
    "WebSession",
    "WorkerLease",
]
