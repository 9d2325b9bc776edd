"""API token scopes and the one table that says which scope each endpoint needs.

A token's scopes narrow what its user's roles allow: the endpoint must be in
a scope the token holds, and inside it the roles and data scopes decide
(identity/permissions.py). Login tokens and browser sessions carry no scopes
and so are limited by the roles alone. An endpoint missing from
ENDPOINT_SCOPES is refused to every scoped token (fail closed), and
tests/api/test_access_matrix.py fails for it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

SCOPES: Mapping[str, str] = {
    "claims:read": (
        "read claims, their lines, attachments, history, route, payments, budget hits and"
        " offsets; advances (an advance is a claim of type advance)"
    ),
    "claims:write": (
        "create, edit, submit, withdraw and cancel one's claims; comment, urge; request"
        " advances and offset them against a claim"
    ),
    "approvals:act": "list approval tasks and decide them; manage one's delegations",
    "approvals:admin": "approval flows, simulation and reassignment of tasks",
    "payments:read": "list payment batches and read a batch with its (masked) payments",
    "payments:write": (
        "pay claims, build payment batches, export bank files, record bank results, resend"
        " and query payments, record advance repayments"
    ),
    "budgets:read": "budgets, their positions, ledgers and the Excel export",
    "budgets:manage": "create, change, adjust and import budgets",
    "vouchers:export": "accounting vouchers, their Kingdee/Yonyou export and GL account mappings",
    "profile": (
        "one's own password, two-factor sign-in (TOTP) and payee bank account (others'"
        " bank accounts only as the roles allow)"
    ),
    "org:read": "the company, departments, employees, categories, currencies, rates",
    "policies:manage": "expense standards: drafts, dry runs, publishing",
    "invoices:manage": "the invoice registry",
    "integrations:admin": "connectors, deliveries, replay, the sync monitor, service users",
    "users:admin": "role assignments, deactivation, identity settings and sign-in providers (SSO)",
    "audit:read": "the audit trail",
    "scim": "the SCIM 2.0 provisioning API (/scim/v2)",
}

# None: the endpoint needs no particular scope (any token of the caller, or no token).
V1 = "/api/v1"
ENDPOINT_SCOPES: Mapping[tuple[str, str], str | None] = {
    ("POST", f"{V1}/auth/token"): None,
    ("GET", f"{V1}/me"): None,
    # One's own credentials: a token needs "profile", so a leaked claims token cannot
    # change the password or switch off two-factor sign-in.
    ("POST", f"{V1}/me/password"): "profile",
    ("GET", f"{V1}/me/totp"): "profile",
    ("POST", f"{V1}/me/totp"): "profile",
    ("POST", f"{V1}/me/totp/confirm"): "profile",
    ("POST", f"{V1}/me/totp/disable"): "profile",
    ("POST", f"{V1}/me/totp/recovery-codes"): "profile",
    # Managing tokens needs no scope, but a scoped token only creates narrower ones.
    ("POST", f"{V1}/tokens"): None,
    ("GET", f"{V1}/tokens"): None,
    ("DELETE", f"{V1}/tokens/{{token_id}}"): None,
    ("POST", f"{V1}/claims"): "claims:write",
    ("GET", f"{V1}/claims"): "claims:read",
    ("GET", f"{V1}/claims/{{claim_id}}"): "claims:read",
    ("PATCH", f"{V1}/claims/{{claim_id}}"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/lines"): "claims:write",
    ("PATCH", f"{V1}/claims/{{claim_id}}/lines/{{line_id}}"): "claims:write",
    ("DELETE", f"{V1}/claims/{{claim_id}}/lines/{{line_id}}"): "claims:write",
    ("PUT", f"{V1}/claims/{{claim_id}}/lines/{{line_id}}/invoice"): "claims:write",
    ("DELETE", f"{V1}/claims/{{claim_id}}/lines/{{line_id}}/invoice"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/attachments"): "claims:write",
    ("GET", f"{V1}/claims/{{claim_id}}/attachments/{{attachment_id}}"): "claims:read",
    ("GET", f"{V1}/claims/{{claim_id}}/attachments/{{attachment_id}}/content"): "claims:read",
    ("DELETE", f"{V1}/claims/{{claim_id}}/attachments/{{attachment_id}}"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/submit"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/withdraw"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/cancel"): "claims:write",
    ("GET", f"{V1}/claims/{{claim_id}}/history"): "claims:read",
    ("GET", f"{V1}/claims/{{claim_id}}/route"): "claims:read",
    ("POST", f"{V1}/claims/{{claim_id}}/comments"): "claims:write",
    ("POST", f"{V1}/claims/{{claim_id}}/urge"): "claims:write",
    ("GET", f"{V1}/approval-tasks"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/approve"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/reject"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/return"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/transfer"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/add-signer"): "approvals:act",
    ("POST", f"{V1}/approval-tasks/{{task_id}}/reassign"): "approvals:admin",
    ("GET", f"{V1}/approval-delegations"): "approvals:act",
    ("POST", f"{V1}/approval-delegations"): "approvals:act",
    ("DELETE", f"{V1}/approval-delegations/{{delegation_id}}"): "approvals:act",
    ("GET", f"{V1}/approval-flows/schema"): None,
    ("GET", f"{V1}/approval-flows"): "approvals:admin",
    ("POST", f"{V1}/approval-flows"): "approvals:admin",
    ("GET", f"{V1}/approval-flows/{{flow_id}}"): "approvals:admin",
    ("PUT", f"{V1}/approval-flows/{{flow_id}}/draft"): "approvals:admin",
    ("POST", f"{V1}/approval-flows/{{flow_id}}/publish"): "approvals:admin",
    ("POST", f"{V1}/approval-flows/simulate"): "approvals:admin",
    ("POST", f"{V1}/claims/{{claim_id}}/mark-paid"): "payments:write",
    ("POST", f"{V1}/claims/{{claim_id}}/payments"): "payments:write",
    ("GET", f"{V1}/claims/{{claim_id}}/payments"): "claims:read",
    ("POST", f"{V1}/payments/{{payment_id}}/succeed"): "payments:write",
    ("POST", f"{V1}/payments/{{payment_id}}/fail"): "payments:write",
    ("GET", f"{V1}/claims/{{claim_id}}/budget"): "claims:read",
    ("GET", f"{V1}/claims/{{claim_id}}/offsets"): "claims:read",
    ("PUT", f"{V1}/claims/{{claim_id}}/offsets"): "claims:write",
    # Advances are claims of type advance (payments/advances_api.py).
    ("POST", f"{V1}/advances"): "claims:write",
    ("GET", f"{V1}/advances/{{advance_id}}"): "claims:read",
    ("GET", f"{V1}/employees/{{employee_id}}/advances"): "claims:read",
    ("POST", f"{V1}/advances/{{advance_id}}/repayments"): "payments:write",
    ("POST", f"{V1}/payments/{{payment_id}}/resend"): "payments:write",
    ("POST", f"{V1}/payments/{{payment_id}}/query"): "payments:write",
    ("POST", f"{V1}/payment-batches"): "payments:write",
    ("GET", f"{V1}/payment-batches"): "payments:read",
    ("GET", f"{V1}/payment-batches/{{batch_id}}"): "payments:read",
    # The bank file carries the full account numbers and marks the batch exported.
    ("GET", f"{V1}/payment-batches/{{batch_id}}/bank-file"): "payments:write",
    ("POST", f"{V1}/payment-batches/{{batch_id}}/results"): "payments:write",
    ("GET", f"{V1}/employees/{{employee_id}}/bank-account"): "profile",
    ("PUT", f"{V1}/employees/{{employee_id}}/bank-account"): "profile",
    ("POST", f"{V1}/budgets"): "budgets:manage",
    ("GET", f"{V1}/budgets"): "budgets:read",
    ("GET", f"{V1}/budgets/export"): "budgets:read",
    ("POST", f"{V1}/budgets/import"): "budgets:manage",
    ("GET", f"{V1}/budgets/{{budget_id}}"): "budgets:read",
    ("PATCH", f"{V1}/budgets/{{budget_id}}"): "budgets:manage",
    ("POST", f"{V1}/budgets/{{budget_id}}/adjustments"): "budgets:manage",
    ("GET", f"{V1}/budgets/{{budget_id}}/entries"): "budgets:read",
    ("GET", f"{V1}/vouchers"): "vouchers:export",
    ("GET", f"{V1}/vouchers/export"): "vouchers:export",
    ("GET", f"{V1}/account-mappings"): "vouchers:export",
    ("PUT", f"{V1}/account-mappings"): "vouchers:export",
    ("GET", f"{V1}/policy-standards"): "policies:manage",
    ("POST", f"{V1}/policy-standards"): "policies:manage",
    ("GET", f"{V1}/policy-standards/current"): "org:read",
    ("GET", f"{V1}/policy-standards/{{standard_id}}"): "policies:manage",
    ("PATCH", f"{V1}/policy-standards/{{standard_id}}"): "policies:manage",
    ("POST", f"{V1}/policy-standards/{{standard_id}}/publish"): "policies:manage",
    ("POST", f"{V1}/policy-standards/{{standard_id}}/dry-run"): "policies:manage",
    ("GET", f"{V1}/invoices"): "invoices:manage",
    ("GET", f"{V1}/invoices/{{invoice_id}}"): "invoices:manage",
    ("POST", f"{V1}/invoices/{{invoice_id}}/void"): "invoices:manage",
    ("GET", f"{V1}/company"): "org:read",
    ("GET", f"{V1}/departments"): "org:read",
    ("GET", f"{V1}/cost-centers"): "org:read",
    ("GET", f"{V1}/employees"): "org:read",
    ("GET", f"{V1}/expense-categories"): "org:read",
    ("GET", f"{V1}/currencies"): "org:read",
    ("GET", f"{V1}/exchange-rates"): "org:read",
    ("GET", f"{V1}/connector-kinds"): "integrations:admin",
    ("POST", f"{V1}/connectors"): "integrations:admin",
    ("GET", f"{V1}/connectors"): "integrations:admin",
    ("GET", f"{V1}/connectors/{{connector_id}}"): "integrations:admin",
    ("PATCH", f"{V1}/connectors/{{connector_id}}"): "integrations:admin",
    ("DELETE", f"{V1}/connectors/{{connector_id}}"): "integrations:admin",
    ("POST", f"{V1}/connectors/{{connector_id}}/test"): "integrations:admin",
    ("GET", f"{V1}/connectors/{{connector_id}}/deliveries"): "integrations:admin",
    ("POST", f"{V1}/connectors/{{connector_id}}/replay"): "integrations:admin",
    ("GET", f"{V1}/integrations/monitor"): "integrations:admin",
    ("POST", f"{V1}/integrations/{{connector_id}}/events"): None,  # signed, no token
    ("GET", f"{V1}/event-types"): None,
    ("GET", f"{V1}/event-types/{{event_type}}"): None,
    # Roles, users and tokens for systems (identity/admin_api.py).
    ("GET", f"{V1}/roles"): None,
    ("GET", f"{V1}/role-assignments"): "users:admin",
    ("POST", f"{V1}/role-assignments"): "users:admin",
    ("DELETE", f"{V1}/role-assignments/{{assignment_id}}"): "users:admin",
    ("POST", f"{V1}/users/{{user_id}}/deactivate"): "users:admin",
    ("POST", f"{V1}/users/{{user_id}}/totp/reset"): "users:admin",
    ("POST", f"{V1}/users"): "users:admin",
    ("POST", f"{V1}/users/{{user_id}}/password-reset"): "users:admin",
    ("GET", f"{V1}/identity-settings"): "users:admin",
    ("PUT", f"{V1}/identity-settings"): "users:admin",
    ("GET", f"{V1}/identity-providers"): "users:admin",
    ("POST", f"{V1}/identity-providers"): "users:admin",
    ("GET", f"{V1}/identity-providers/{{provider_id}}"): "users:admin",
    ("PATCH", f"{V1}/identity-providers/{{provider_id}}"): "users:admin",
    ("DELETE", f"{V1}/identity-providers/{{provider_id}}"): "users:admin",
    ("POST", f"{V1}/identity-providers/{{provider_id}}/test"): "users:admin",
    ("GET", f"{V1}/service-users"): "integrations:admin",
    ("POST", f"{V1}/service-users"): "integrations:admin",
    ("POST", f"{V1}/service-users/{{user_id}}/tokens"): "integrations:admin",
    ("GET", f"{V1}/service-users/{{user_id}}/tokens"): "integrations:admin",
    ("DELETE", f"{V1}/service-users/{{user_id}}/tokens/{{token_id}}"): "integrations:admin",
    ("GET", f"{V1}/audit-records"): "audit:read",
    ("GET", f"{V1}/audit-records/verification"): "audit:read",
}

# Every SCIM endpoint needs the "scim" scope (identity/scim/api.py checks it itself).
SCIM_SCOPE = "scim"


def _compile() -> list[tuple[str, re.Pattern[str], str | None]]:
    # Literal segments before parameters ("/policy-standards/current" before
    # "/policy-standards/{standard_id}"), as the routers declare them.
    rows = sorted(ENDPOINT_SCOPES.items(), key=lambda kv: (kv[0][1].count("{"), kv[0][1]))
    return [
        (method, re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$"), scope)
        for (method, path), scope in rows
    ]


_PATTERNS = _compile()


def required_scope(method: str, path: str) -> tuple[bool, str | None]:
    """(known, scope) for a request path; unknown endpoints are refused to scoped tokens.

    Matched on the path itself, not on router internals, so it holds across FastAPI versions.
    """
    method = method.upper()
    for known_method, pattern, scope in _PATTERNS:
        if known_method == method and pattern.match(path):
            return True, scope
    return False, None
