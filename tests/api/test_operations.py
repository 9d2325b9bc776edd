"""Operations: health checks, OpenAPI, problem+json for unknown routes, request ids, languages."""

from __future__ import annotations

import re
import uuid

import httpx
from fastapi.testclient import TestClient

from baoxiao.app import create_app
from baoxiao.kernel.db import Database
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support.factories import World
from tests.support.live_server import serve

PROBLEM_JSON = "application/problem+json"

EXPECTED_ROUTES = {
    ("POST", "/api/v1/auth/token"),
    ("GET", "/api/v1/me"),
    ("POST", "/api/v1/tokens"),
    ("GET", "/api/v1/tokens"),
    ("DELETE", "/api/v1/tokens/{token_id}"),
    ("POST", "/api/v1/me/password"),
    ("GET", "/api/v1/me/totp"),
    ("POST", "/api/v1/me/totp"),
    ("POST", "/api/v1/me/totp/confirm"),
    ("POST", "/api/v1/me/totp/disable"),
    ("POST", "/api/v1/me/totp/recovery-codes"),
    ("GET", "/api/v1/identity-providers"),
    ("POST", "/api/v1/identity-providers"),
    ("GET", "/api/v1/identity-providers/{provider_id}"),
    ("PATCH", "/api/v1/identity-providers/{provider_id}"),
    ("DELETE", "/api/v1/identity-providers/{provider_id}"),
    ("POST", "/api/v1/identity-providers/{provider_id}/test"),
    ("POST", "/api/v1/claims"),
    ("GET", "/api/v1/claims"),
    ("GET", "/api/v1/claims/{claim_id}"),
    ("PATCH", "/api/v1/claims/{claim_id}"),
    ("POST", "/api/v1/claims/{claim_id}/lines"),
    ("PATCH", "/api/v1/claims/{claim_id}/lines/{line_id}"),
    ("DELETE", "/api/v1/claims/{claim_id}/lines/{line_id}"),
    ("POST", "/api/v1/claims/{claim_id}/attachments"),
    ("GET", "/api/v1/claims/{claim_id}/attachments/{attachment_id}"),
    ("GET", "/api/v1/claims/{claim_id}/attachments/{attachment_id}/content"),
    ("DELETE", "/api/v1/claims/{claim_id}/attachments/{attachment_id}"),
    ("POST", "/api/v1/claims/{claim_id}/submit"),
    ("POST", "/api/v1/claims/{claim_id}/withdraw"),
    ("POST", "/api/v1/claims/{claim_id}/cancel"),
    ("GET", "/api/v1/claims/{claim_id}/history"),
    ("GET", "/api/v1/approval-tasks"),
    ("POST", "/api/v1/approval-tasks/{task_id}/approve"),
    ("POST", "/api/v1/approval-tasks/{task_id}/reject"),
    ("POST", "/api/v1/approval-tasks/{task_id}/return"),
    ("POST", "/api/v1/approval-tasks/{task_id}/transfer"),
    ("POST", "/api/v1/approval-tasks/{task_id}/add-signer"),
    ("POST", "/api/v1/approval-tasks/{task_id}/reassign"),
    ("GET", "/api/v1/approval-flows/schema"),
    ("GET", "/api/v1/approval-flows"),
    ("POST", "/api/v1/approval-flows"),
    ("GET", "/api/v1/approval-flows/{flow_id}"),
    ("PUT", "/api/v1/approval-flows/{flow_id}/draft"),
    ("POST", "/api/v1/approval-flows/{flow_id}/publish"),
    ("POST", "/api/v1/approval-flows/simulate"),
    ("GET", "/api/v1/claims/{claim_id}/route"),
    ("POST", "/api/v1/claims/{claim_id}/comments"),
    ("POST", "/api/v1/claims/{claim_id}/urge"),
    ("GET", "/api/v1/approval-delegations"),
    ("POST", "/api/v1/approval-delegations"),
    ("DELETE", "/api/v1/approval-delegations/{delegation_id}"),
    ("POST", "/api/v1/claims/{claim_id}/mark-paid"),
    ("POST", "/api/v1/claims/{claim_id}/payments"),
    ("GET", "/api/v1/claims/{claim_id}/payments"),
    ("POST", "/api/v1/payments/{payment_id}/succeed"),
    ("POST", "/api/v1/payments/{payment_id}/fail"),
    # Finance (issue #7): payments, batches, bank accounts, advances, vouchers, budgets.
    ("POST", "/api/v1/payments/{payment_id}/resend"),
    ("POST", "/api/v1/payments/{payment_id}/query"),
    ("POST", "/api/v1/payment-batches"),
    ("GET", "/api/v1/payment-batches"),
    ("GET", "/api/v1/payment-batches/{batch_id}"),
    ("GET", "/api/v1/payment-batches/{batch_id}/bank-file"),
    ("POST", "/api/v1/payment-batches/{batch_id}/results"),
    ("GET", "/api/v1/employees/{employee_id}/bank-account"),
    ("PUT", "/api/v1/employees/{employee_id}/bank-account"),
    ("POST", "/api/v1/advances"),
    ("GET", "/api/v1/advances/{advance_id}"),
    ("GET", "/api/v1/employees/{employee_id}/advances"),
    ("POST", "/api/v1/advances/{advance_id}/repayments"),
    ("GET", "/api/v1/claims/{claim_id}/offsets"),
    ("PUT", "/api/v1/claims/{claim_id}/offsets"),
    ("GET", "/api/v1/vouchers"),
    ("GET", "/api/v1/vouchers/export"),
    ("GET", "/api/v1/account-mappings"),
    ("PUT", "/api/v1/account-mappings"),
    ("POST", "/api/v1/budgets"),
    ("GET", "/api/v1/budgets"),
    ("GET", "/api/v1/budgets/export"),
    ("POST", "/api/v1/budgets/import"),
    ("GET", "/api/v1/budgets/{budget_id}"),
    ("PATCH", "/api/v1/budgets/{budget_id}"),
    ("POST", "/api/v1/budgets/{budget_id}/adjustments"),
    ("GET", "/api/v1/budgets/{budget_id}/entries"),
    ("GET", "/api/v1/claims/{claim_id}/budget"),
    # Expense standards and invoices (issue #8).
    ("PUT", "/api/v1/claims/{claim_id}/lines/{line_id}/invoice"),
    ("DELETE", "/api/v1/claims/{claim_id}/lines/{line_id}/invoice"),
    ("GET", "/api/v1/policy-standards"),
    ("POST", "/api/v1/policy-standards"),
    ("GET", "/api/v1/policy-standards/current"),
    ("GET", "/api/v1/policy-standards/{standard_id}"),
    ("PATCH", "/api/v1/policy-standards/{standard_id}"),
    ("POST", "/api/v1/policy-standards/{standard_id}/publish"),
    ("POST", "/api/v1/policy-standards/{standard_id}/dry-run"),
    ("GET", "/api/v1/invoices"),
    ("GET", "/api/v1/invoices/{invoice_id}"),
    ("POST", "/api/v1/invoices/{invoice_id}/void"),
    ("GET", "/api/v1/company"),
    ("GET", "/api/v1/departments"),
    ("GET", "/api/v1/cost-centers"),
    ("GET", "/api/v1/employees"),
    ("GET", "/api/v1/expense-categories"),
    ("GET", "/api/v1/currencies"),
    ("GET", "/api/v1/exchange-rates"),
    # Integrations (issue #4).
    ("GET", "/api/v1/connector-kinds"),
    ("POST", "/api/v1/connectors"),
    ("GET", "/api/v1/connectors"),
    ("GET", "/api/v1/connectors/{connector_id}"),
    ("PATCH", "/api/v1/connectors/{connector_id}"),
    ("DELETE", "/api/v1/connectors/{connector_id}"),
    ("POST", "/api/v1/connectors/{connector_id}/test"),
    ("GET", "/api/v1/connectors/{connector_id}/deliveries"),
    ("POST", "/api/v1/connectors/{connector_id}/replay"),
    ("GET", "/api/v1/integrations/monitor"),
    ("POST", "/api/v1/integrations/{connector_id}/events"),
    ("POST", "/api/v1/integrations/{connector_id}/feishu/events"),
    ("POST", "/api/v1/integrations/{connector_id}/feishu/quick"),
    ("GET", "/api/v1/integrations/{connector_id}/feishu/login"),
    ("GET", "/api/v1/integrations/{connector_id}/feishu/entry"),
    ("GET", "/api/v1/integrations/{connector_id}/feishu/callback"),
    ("GET", "/api/v1/event-types"),
    ("GET", "/api/v1/event-types/{event_type}"),
    # Roles, scopes, deactivation and service users (issue #5).
    ("GET", "/api/v1/roles"),
    ("GET", "/api/v1/role-assignments"),
    ("POST", "/api/v1/role-assignments"),
    ("DELETE", "/api/v1/role-assignments/{assignment_id}"),
    ("POST", "/api/v1/users/{user_id}/deactivate"),
    ("POST", "/api/v1/users/{user_id}/totp/reset"),
    ("POST", "/api/v1/users"),
    ("POST", "/api/v1/users/{user_id}/password-reset"),
    ("GET", "/api/v1/identity-settings"),
    ("PUT", "/api/v1/identity-settings"),
    ("GET", "/api/v1/service-users"),
    ("POST", "/api/v1/service-users"),
    ("POST", "/api/v1/service-users/{user_id}/tokens"),
    ("GET", "/api/v1/service-users/{user_id}/tokens"),
    ("DELETE", "/api/v1/service-users/{user_id}/tokens/{token_id}"),
    ("GET", "/api/v1/audit-records"),
    ("GET", "/api/v1/audit-records/verification"),
}


def test_healthz_answers_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_on_a_migrated_database(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_openapi_lists_every_api_route(client: TestClient) -> None:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    listed = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
        if path.startswith("/api/v1/")
    }
    assert listed == EXPECTED_ROUTES
    assert {"/healthz", "/readyz"} <= set(spec["paths"])
    # Every endpoint carries its one-line description.
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("description") or operation.get("summary"), (method, path)


def test_unknown_route_is_a_problem_json_404(client: TestClient, world: World) -> None:
    response = client.get("/api/v1/no-such-thing", headers=world["claimant"].headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM_JSON
    body = response.json()
    assert body["code"] == "not_found"
    assert body["status"] == 404
    assert body["type"] == "urn:baoxiao:problem:not_found"
    assert body["instance"] == "/api/v1/no-such-thing"


def test_wrong_method_is_a_problem_json_405(client: TestClient, world: World) -> None:
    response = client.delete("/api/v1/claims", headers=world["claimant"].headers)
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.json()["code"] == "method_not_allowed"


def test_request_id_is_echoed(client: TestClient) -> None:
    response = client.get("/healthz", headers={"X-Request-ID": "req-abc.123:x"})
    assert response.headers["x-request-id"] == "req-abc.123:x"


def test_request_id_is_generated_when_absent_or_unsafe(client: TestClient) -> None:
    generated = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    again = client.get("/healthz").headers["x-request-id"]
    assert again != generated
    unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert re.fullmatch(r"[0-9a-f]{32}", unsafe.headers["x-request-id"])
    too_long = client.get("/healthz", headers={"X-Request-ID": "a" * 129})
    assert re.fullmatch(r"[0-9a-f]{32}", too_long.headers["x-request-id"])


def test_problem_carries_the_request_id(client: TestClient, world: World) -> None:
    response = client.get(
        f"/api/v1/claims/{uuid.uuid4()}",
        headers={**world["claimant"].headers, "X-Request-ID": "trace-42"},
    )
    assert response.status_code == 404
    assert response.headers["x-request-id"] == "trace-42"
    assert response.json()["request_id"] == "trace-42"


def test_accept_language_picks_the_detail_language(client: TestClient, world: World) -> None:
    url = f"/api/v1/claims/{uuid.uuid4()}"
    zh = client.get(url, headers={**world["claimant"].headers, "Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get(url, headers={**world["claimant"].headers, "Accept-Language": "en-US,en;q=0.8"})
    default = client.get(url, headers=world["claimant"].headers)
    assert zh.status_code == en.status_code == default.status_code == 404
    assert zh.json()["code"] == en.json()["code"] == "claim_not_found"
    assert zh.json()["detail"] == "未找到该报销单。"
    assert en.json()["detail"] == "Claim not found."
    assert default.json()["detail"] == "Claim not found."


def test_accept_language_q_values_are_honoured(client: TestClient, world: World) -> None:
    url = f"/api/v1/claims/{uuid.uuid4()}"
    response = client.get(
        url, headers={**world["claimant"].headers, "Accept-Language": "en;q=0.5, zh-CN;q=0.9"}
    )
    assert response.json()["detail"] == "未找到该报销单。"


def test_parametrised_messages_are_translated(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    api.submit(claim["id"])
    url = f"/api/v1/claims/{claim['id']}/submit"
    zh = client.post(url, headers={**world["claimant"].headers, "Accept-Language": "zh-CN"})
    en = client.post(url, headers={**world["claimant"].headers, "Accept-Language": "en"})
    assert zh.status_code == en.status_code == 409
    assert zh.json()["code"] == en.json()["code"] == "invalid_transition"
    assert zh.json()["detail"] == "状态为 approving 的报销单不能执行 submit 操作。"
    assert en.json()["detail"] == "A claim in status approving cannot submit."
    assert en.json()["current_status"] == "approving"


def test_validation_errors_are_translated(client: TestClient, world: World) -> None:
    body = {"reason": "x", "lines": [], "status": "paid"}
    zh = client.post(
        "/api/v1/claims",
        json=body,
        headers={**world["claimant"].headers, "Accept-Language": "zh-CN"},
    )
    en = client.post(
        "/api/v1/claims", json=body, headers={**world["claimant"].headers, "Accept-Language": "en"}
    )
    assert zh.status_code == en.status_code == 422
    assert zh.json()["code"] == en.json()["code"] == "validation_error"
    assert zh.json()["detail"] == "请求中有无效字段。"
    assert en.json()["detail"] == "The request has invalid fields."


def test_unauthenticated_requests_are_refused_with_problem_json(client: TestClient) -> None:
    for method, path in [
        ("GET", "/api/v1/claims"),
        ("GET", "/api/v1/me"),
        ("POST", "/api/v1/claims"),
    ]:
        response = client.request(method, path, json={"reason": "x"} if method == "POST" else None)
        assert response.status_code == 401, (method, path)
        assert response.headers["content-type"] == PROBLEM_JSON
        assert response.json()["code"] == "unauthorized"


def test_metrics_answer_only_this_machine_without_a_token(
    committing_db: Database, settings: Settings
) -> None:
    """Without BAOXIAO_METRICS_TOKEN, a loopback scraper is answered, anyone else refused."""
    app = create_app(settings, committing_db)
    with serve(app) as url:
        response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "# HELP baoxiao_delivery_backlog" in response.text
    with TestClient(app) as elsewhere:  # its client address is "testclient"
        refused = elsewhere.get("/metrics")
    assert (refused.status_code, refused.json()["code"]) == (403, "forbidden")
