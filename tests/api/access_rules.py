"""The rules table of the access matrix: how each /api/v1 endpoint is authorised.

A rule names the kind of access (below), the right it needs, a valid request body and
the status that request gets when it is allowed; who is allowed comes from
identity.permissions (ROLE_RIGHTS and the data scopes) through the oracle in
access_world.py, never from a list of answers per person.

Kinds:
  public      no caller needed (signed by other means, or before sign-in)
  signed_in   any caller: `ok` for everyone (`no_employee` for an account without one)
  self        the caller's own things: `ok` for everyone (`on`: one of someone's, which
              only they may touch)
  read        a claim: 200 if visible            owner    claim writes: the claimant only
  visible     claim writes for any reader        pay      a cashier whose scope reaches it
  takes_part  claim writes for a reader with a part in it (not one who only audits:
              403 read_only_access)
  task        the task's assignee                payment  a payment: its claim's payers
  right       a company function: `right` held in the object's company; without it
              `refused` (403: checked before anything is looked up, 404: the lookup
              hides the object). `on` names the object (access_objects.py), `lists`
              the kind of the rows a list returns
  delegation  its delegator, or an org admin of its company
and the finance kinds of access_finance.py (budget, budget_list, advance, employee).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from baoxiao.identity.permissions import Right
from tests.api.access_objects import FLOW, SECRET, provider_body
from tests.api.access_world import PASSWORD, AccessWorld

NOBODY = "00000000-0000-7000-8000-000000000000"


class Params(dict[str, str]):
    """A rule argument sent as the query string rather than a JSON body."""


@dataclass(frozen=True)
class Rule:
    """How one endpoint is authorised (see the kinds above) and a valid request to it."""

    kind: str
    right: Right | None = None
    body: Any = None
    ok: int = 200  # the answer to that request when it is allowed
    on: str | None = None  # the kind of object its path names (access_objects.py)
    refused: int = 403  # `right` rules: the answer without the right
    lists: str | None = None  # a list: the kind of object it returns
    no_employee: int | None = None  # the answer for an account without an employee
    submitted: int | None = None  # `owner` rules: the answer once the claim is submitted


@dataclass(frozen=True)
class Made:
    """A body that names objects of the world: made from it when the request is sent."""

    make: Callable[[AccessWorld, str], Any]


def _fn(
    right: Right,
    ok: int = 200,
    body: Any = None,
    *,
    on: str | None = None,
    refused: int = 403,
    lists: str | None = None,
) -> Rule:
    return Rule("right", right=right, body=body, ok=ok, on=on, refused=refused, lists=lists)


def _employee_of(aw: AccessWorld, name: str) -> str:
    person = aw.helpers.get(name) or aw.world[name]
    assert person.employee is not None
    return str(person.employee.id)


def _delegation(aw: AccessWorld, who: str) -> dict[str, Any]:
    """A delegation to someone of the caller's company (never back to the caller)."""
    to = (
        ("b_clerk" if who == "foreigner" else "foreigner")
        if aw.company_of(who) == "B"
        else ("admin" if who == "boss" else "boss")
    )
    return {
        "delegate_id": _employee_of(aw, to),
        "starts_at": "2031-01-01T00:00:00+00:00",
        "ends_at": "2031-02-01T00:00:00+00:00",
    }


FLOW_NEW = {**FLOW, "key": "matrix-new"}
PASSWORD_PROOF = {"password": PASSWORD}
ORG = Right.ORG_ADMIN
INTEGRATIONS = Right.INTEGRATIONS_ADMIN
USERS = Right.USER_ADMIN
SERVICE = Right.SERVICE_ACCOUNTS
POLICY = Right.POLICY_MANAGE
INVOICE = Right.INVOICE_MANAGE
BATCH = Right.PAYMENT_BATCH
VOUCHER = Right.VOUCHER_EXPORT
VIEW = Right.ORG_VIEW

API_RULES: dict[tuple[str, str], Rule] = {
    ("POST", "/auth/token"): Rule("public"),
    ("GET", "/me"): Rule("signed_in"),
    ("POST", "/tokens"): Rule("self", body={"name": "matrix", "scopes": ["claims:read"]}, ok=201),
    ("GET", "/tokens"): Rule("self"),
    ("DELETE", "/tokens/{token_id}"): Rule("self", ok=204, on="token"),
    ("POST", "/claims"): Rule(
        "signed_in", body={"reason": "new", "lines": []}, ok=201, no_employee=422
    ),
    ("GET", "/claims"): Rule("signed_in"),
    ("GET", "/claims/{claim_id}"): Rule("read"),
    # `owner` rules: `ok` on a draft, `submitted` once submitted (the claimant's claim).
    ("PATCH", "/claims/{claim_id}"): Rule("owner", body={"reason": "changed"}, submitted=409),
    ("POST", "/claims/{claim_id}/lines"): Rule(
        "owner",
        body={"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "9"},
        ok=201,
        submitted=409,
    ),
    ("PATCH", "/claims/{claim_id}/lines/{line_id}"): Rule(
        "owner", body={"amount": "8.00"}, submitted=409
    ),
    ("DELETE", "/claims/{claim_id}/lines/{line_id}"): Rule("owner", submitted=409),
    ("PUT", "/claims/{claim_id}/lines/{line_id}/invoice"): Rule(
        "owner", body="own_attachment", submitted=409
    ),
    ("DELETE", "/claims/{claim_id}/lines/{line_id}/invoice"): Rule("owner", submitted=409),
    ("POST", "/claims/{claim_id}/attachments"): Rule("owner", body="upload", ok=201, submitted=409),
    ("GET", "/claims/{claim_id}/attachments/{attachment_id}"): Rule("read"),
    ("GET", "/claims/{claim_id}/attachments/{attachment_id}/content"): Rule("read"),
    ("DELETE", "/claims/{claim_id}/attachments/{attachment_id}"): Rule("owner", submitted=409),
    ("POST", "/claims/{claim_id}/submit"): Rule("owner", submitted=409),
    ("POST", "/claims/{claim_id}/withdraw"): Rule("owner", ok=409, submitted=200),
    ("POST", "/claims/{claim_id}/cancel"): Rule("owner", submitted=409),
    ("GET", "/claims/{claim_id}/history"): Rule("read"),
    ("GET", "/claims/{claim_id}/route"): Rule("read"),
    ("POST", "/claims/{claim_id}/comments"): Rule("takes_part", body={"comment": "a note"}, ok=204),
    ("POST", "/claims/{claim_id}/urge"): Rule("owner", ok=409, submitted=200),
    ("POST", "/claims/{claim_id}/mark-paid"): Rule("pay"),
    ("POST", "/claims/{claim_id}/payments"): Rule("pay"),
    ("GET", "/claims/{claim_id}/payments"): Rule("read"),
    ("POST", "/payments/{payment_id}/succeed"): Rule("payment", on="payment"),
    ("POST", "/payments/{payment_id}/fail"): Rule(
        "payment", body={"reason": "bounced"}, on="payment"
    ),
    ("POST", "/payments/{payment_id}/resend"): Rule("payment", on="payment"),
    ("POST", "/payments/{payment_id}/query"): Rule("payment", on="payment"),
    ("GET", "/approval-tasks"): Rule("signed_in"),
    ("POST", "/approval-tasks/{task_id}/approve"): Rule("task", body={}),
    ("POST", "/approval-tasks/{task_id}/reject"): Rule("task", body={"comment": "no"}),
    ("POST", "/approval-tasks/{task_id}/return"): Rule("task", body={"comment": "fix it"}),
    ("POST", "/approval-tasks/{task_id}/transfer"): Rule("task", body="transfer"),
    ("POST", "/approval-tasks/{task_id}/add-signer"): Rule("task", body="add_signer"),
    ("POST", "/approval-tasks/{task_id}/reassign"): _fn(ORG, body="transfer", refused=404),
    ("GET", "/approval-flows/schema"): Rule("public"),
    ("GET", "/approval-flows"): _fn(ORG, lists="flow"),
    ("POST", "/approval-flows"): _fn(ORG, 201, FLOW_NEW),
    ("GET", "/approval-flows/{flow_id}"): _fn(ORG, on="flow", refused=404),
    ("PUT", "/approval-flows/{flow_id}/draft"): _fn(ORG, body=FLOW, on="flow", refused=404),
    ("POST", "/approval-flows/{flow_id}/publish"): _fn(ORG, on="flow", refused=404),
    ("POST", "/approval-flows/simulate"): _fn(
        ORG, body=Made(lambda aw, _who: {"claim_id": aw.claims["claimant"]["id"]})
    ),
    ("GET", "/approval-delegations"): Rule("self"),
    ("POST", "/approval-delegations"): Rule(
        "self", body=Made(_delegation), ok=201, no_employee=422
    ),
    ("DELETE", "/approval-delegations/{delegation_id}"): Rule("delegation", on="delegation"),
    ("GET", "/policy-standards"): _fn(POLICY, lists="standard"),
    ("POST", "/policy-standards"): _fn(POLICY, 201, {"name": "2027"}),
    ("GET", "/policy-standards/current"): Rule("signed_in"),
    ("GET", "/policy-standards/{standard_id}"): _fn(POLICY, on="standard"),
    ("PATCH", "/policy-standards/{standard_id}"): _fn(POLICY, body={"name": "x"}, on="standard"),
    ("POST", "/policy-standards/{standard_id}/publish"): _fn(POLICY, on="standard"),
    ("POST", "/policy-standards/{standard_id}/dry-run"): _fn(
        POLICY, body={"period_from": "2026-01-01", "period_to": "2026-01-31"}, on="standard"
    ),
    ("GET", "/invoices"): _fn(INVOICE, lists="invoice"),
    ("GET", "/invoices/{invoice_id}"): _fn(INVOICE, on="invoice"),
    ("POST", "/invoices/{invoice_id}/void"): _fn(INVOICE, body={"reason": "x"}, on="invoice"),
    ("GET", "/company"): _fn(VIEW),
    ("GET", "/departments"): _fn(VIEW),
    ("GET", "/cost-centers"): _fn(VIEW),
    ("GET", "/employees"): _fn(VIEW),
    ("GET", "/expense-categories"): _fn(VIEW),
    ("GET", "/currencies"): Rule("signed_in"),
    ("GET", "/exchange-rates"): _fn(VIEW),
    ("GET", "/connector-kinds"): Rule("signed_in"),  # the installed kinds: no company data
    ("POST", "/connectors"): _fn(
        INTEGRATIONS,
        201,
        {"kind": "webhook", "name": "x", "config": {"url": "http://x.test", "secret": SECRET}},
    ),
    ("GET", "/connectors"): _fn(INTEGRATIONS, lists="connector"),
    ("GET", "/connectors/{connector_id}"): _fn(INTEGRATIONS, on="connector", refused=404),
    ("PATCH", "/connectors/{connector_id}"): _fn(
        INTEGRATIONS, body={"name": "renamed"}, on="connector", refused=404
    ),
    ("DELETE", "/connectors/{connector_id}"): _fn(INTEGRATIONS, 204, on="connector", refused=404),
    ("POST", "/connectors/{connector_id}/test"): _fn(INTEGRATIONS, on="connector", refused=404),
    ("GET", "/connectors/{connector_id}/deliveries"): _fn(
        INTEGRATIONS, on="connector", refused=404
    ),
    ("POST", "/connectors/{connector_id}/replay"): _fn(
        INTEGRATIONS, body={}, on="connector", refused=404
    ),
    ("GET", "/integrations/monitor"): _fn(INTEGRATIONS),
    ("POST", "/integrations/{connector_id}/events"): Rule("public"),
    # Feishu: pushes and quick-approval clicks are verified by their signature and token,
    # the sign-in routes are the OAuth redirects before anyone is signed in.
    ("POST", "/integrations/{connector_id}/feishu/events"): Rule("public"),
    ("POST", "/integrations/{connector_id}/feishu/quick"): Rule("public"),
    ("GET", "/integrations/{connector_id}/feishu/login"): Rule("public"),
    ("GET", "/integrations/{connector_id}/feishu/entry"): Rule("public"),
    ("GET", "/integrations/{connector_id}/feishu/callback"): Rule("public"),
    ("GET", "/event-types"): Rule("public"),
    ("GET", "/event-types/{event_type}"): Rule("public"),
    ("GET", "/roles"): Rule("signed_in"),
    ("GET", "/role-assignments"): _fn(USERS, lists="assignment"),
    ("POST", "/role-assignments"): _fn(
        USERS,
        201,
        Made(lambda aw, _who: {"user_id": str(aw.world["peer"].user.id), "role": "cashier"}),
    ),
    ("DELETE", "/role-assignments/{assignment_id}"): _fn(USERS, 204, on="assignment", refused=404),
    ("POST", "/users/{user_id}/totp/reset"): _fn(USERS, on="user"),
    ("POST", "/users"): _fn(
        USERS,
        201,
        Made(
            lambda aw, _who: {
                "employee_id": aw.objects["newcomer"]["A"]["employee_id"],
                "username": "newcomer-a",
            }
        ),
    ),
    ("POST", "/users/{user_id}/password-reset"): _fn(USERS, on="user"),
    ("POST", "/users/{user_id}/deactivate"): _fn(USERS, on="user"),
    ("GET", "/identity-settings"): _fn(USERS),
    ("GET", "/audit-records"): _fn(Right.AUDIT_READ),
    ("GET", "/audit-records/verification"): _fn(Right.AUDIT_READ),
    ("PUT", "/identity-settings"): _fn(USERS, body={"leaver_fallback_employee_id": None}),
    ("GET", "/service-users"): _fn(SERVICE, lists="service_user"),
    ("POST", "/service-users"): _fn(SERVICE, 201, {"username": "svc", "display_name": "s"}),
    ("POST", "/service-users/{user_id}/tokens"): _fn(
        SERVICE, 201, {"name": "t", "scopes": ["scim"]}, on="service_user", refused=404
    ),
    ("GET", "/service-users/{user_id}/tokens"): _fn(SERVICE, on="service_user", refused=404),
    ("DELETE", "/service-users/{user_id}/tokens/{token_id}"): _fn(
        SERVICE, 204, on="service_token", refused=404
    ),
    ("GET", "/claims/{claim_id}/budget"): Rule("read"),
    ("GET", "/claims/{claim_id}/offsets"): Rule("read"),
    ("PUT", "/claims/{claim_id}/offsets"): Rule("owner", body={"offsets": []}, submitted=409),
    ("POST", "/advances"): Rule(
        "signed_in", body={"amount": "10", "reason": "trip"}, ok=201, no_employee=422
    ),
    ("POST", "/payment-batches"): _fn(
        BATCH, 201, Made(lambda aw, _who: {"claim_ids": [aw.objects["approved"]["A"]["claim_id"]]})
    ),
    ("GET", "/payment-batches"): _fn(BATCH, lists="batch"),
    ("GET", "/payment-batches/{batch_id}"): _fn(BATCH, on="batch", refused=404),
    ("GET", "/payment-batches/{batch_id}/bank-file"): _fn(BATCH, on="batch", refused=404),
    ("POST", "/payment-batches/{batch_id}/results"): _fn(
        BATCH,
        body=Made(
            lambda aw, who: {
                "results": [
                    {
                        "reference": aw.objects["batch"][aw.company_of(who)]["reference"],
                        "status": "succeeded",
                    }
                ]
            }
        ),
        on="batch",
        refused=404,
    ),
    ("POST", "/budgets"): _fn(
        Right.BUDGET_MANAGE,
        201,
        {"code": "X", "name": "x", "period_kind": "month", "period": "2026-01", "amount": "1"},
    ),
    ("GET", "/budgets/export"): _fn(Right.BUDGET_VIEW),
    ("POST", "/budgets/import"): _fn(Right.BUDGET_MANAGE, body="budget_sheet"),
    ("GET", "/vouchers"): _fn(VOUCHER, lists="voucher"),
    ("GET", "/vouchers/export"): _fn(VOUCHER, body=Params(format="kingdee")),
    ("GET", "/account-mappings"): _fn(VOUCHER),
    ("PUT", "/account-mappings"): _fn(VOUCHER, body={"key": "bank", "account": "1002"}),
    ("GET", "/identity-providers"): _fn(ORG, lists="provider"),
    ("POST", "/identity-providers"): _fn(
        ORG, 201, provider_body("matrix-new", "https://idp.example")
    ),
    ("GET", "/identity-providers/{provider_id}"): _fn(ORG, on="provider", refused=404),
    ("PATCH", "/identity-providers/{provider_id}"): _fn(
        ORG, body={"jit": False}, on="provider", refused=404
    ),
    ("DELETE", "/identity-providers/{provider_id}"): _fn(ORG, 204, on="provider", refused=404),
    # The provider's issuer is an address where nothing listens: the test reports it.
    ("POST", "/identity-providers/{provider_id}/test"): _fn(ORG, 502, on="provider", refused=404),
    ("POST", "/me/password"): Rule(
        "self", body={"current_password": PASSWORD, "new_password": "An0ther-Pa55word!"}
    ),
    ("GET", "/me/totp"): Rule("self"),
    ("POST", "/me/totp"): Rule("self", body=PASSWORD_PROOF, ok=201),
    ("POST", "/me/totp/confirm"): Rule("self", body={"code": "000000"}, ok=409),  # none enrolled
    ("POST", "/me/totp/disable"): Rule("self", body=PASSWORD_PROOF, ok=409),  # none to disable
    ("POST", "/me/totp/recovery-codes"): Rule("self", body=PASSWORD_PROOF, ok=409),  # no TOTP
}
