"""The page part of the access matrix: every HTML route, the right each page asks for
(read from the page modules, src/baoxiao/**/web*.py), and the routes that are public.

Page kinds (the same oracle as the API, see access_rules.py):
  signed_in  any signed-in person: `ok` (`no_employee` for an account without one)
  self       the caller's own account (password, two-factor, bank account, tokens)
  read       a claim page: 200 if the claim is visible, else the 404 page
  owner      a claimant's page or form: the claimant; other readers 403, the rest 404
  pay        paying the approved claim of A: its payers; its other readers 403, others 404
  payment    a result of a pending payment (of A, of B): the same
  task       deciding the claimant's task: its assignee; everyone else 404
  right      a company function: `right` in the caller's company; `on` an object of the
             caller's company or the other's; without the right `refused`, another
             company's object 404
  finance    the finance workspace: payers; a reviewer who pays nothing is sent to vouchers
  session    the browser session itself (sign-out, re-authentication)
A GET page is asked by every actor (another company's object by those who hold the right
at home); a POST form only by those it must refuse, with the session's CSRF token and a
body that passes validation, so the refusal is the rights'.
Signed out, every page but the public ones sends the browser to /login.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from baoxiao.identity import sessions
from baoxiao.identity.deps import SESSION_COOKIE
from baoxiao.identity.permissions import Right
from tests.api.access_client import PNG, path_params
from tests.api.access_world import ACTORS, AccessWorld

SCIM_PREFIX = "/scim/v2"


@dataclass(frozen=True)
class Page:
    kind: str
    right: Right | None = None
    on: str | None = None
    form: Any = None  # a valid form body, or "upload" for the receipt form
    ok: int = 200
    refused: int = 403
    no_employee: int | None = None
    submitted: int | None = None  # `owner` pages: once the claim is submitted


def _fn(right: Right, on: str | None = None, refused: int = 403, **kw: Any) -> Page:
    return Page("right", right=right, on=on, refused=refused, **kw)


ORG, USERS, BATCH = Right.ORG_ADMIN, Right.USER_ADMIN, Right.PAYMENT_BATCH
INTEGRATIONS, VOUCHER = Right.INTEGRATIONS_ADMIN, Right.VOUCHER_EXPORT
NO_EMPLOYEE = 422  # "This account is not linked to an employee."
FLOW_YAML = "key: matrix-page\nname: x\nnodes:\n  - id: m\n    approvers: [{type: manager}]\n"

PAGE_ROUTES: dict[tuple[str, str], Page] = {
    # reports/web.py, claims/web.py, claims/web_editor.py
    ("GET", "/"): Page("signed_in"),
    ("GET", "/claims"): Page("signed_in"),
    ("GET", "/claims/new"): Page("signed_in"),
    ("POST", "/claims/new"): Page("signed_in"),
    ("GET", "/claims/{claim_id}"): Page("read"),
    ("POST", "/claims/{claim_id}/submit"): Page("owner"),
    ("POST", "/claims/{claim_id}/withdraw"): Page("owner"),
    ("POST", "/claims/{claim_id}/cancel"): Page("owner"),
    ("GET", "/claims/{claim_id}/edit"): Page("owner", submitted=409),
    ("POST", "/claims/{claim_id}/header"): Page("owner", form={"reason": "changed"}),
    ("POST", "/claims/{claim_id}/lines"): Page(
        "owner", form={"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "9"}
    ),
    ("POST", "/claims/{claim_id}/lines/{line_id}/remove"): Page("owner"),
    ("POST", "/claims/{claim_id}/attachments"): Page("owner", form="upload"),
    ("POST", "/claims/{claim_id}/attachments/{attachment_id}/remove"): Page("owner"),
    ("GET", "/claims/{claim_id}/attachments/{attachment_id}/content"): Page("read"),
    # approvals/web.py, approvals/web_flows.py
    ("GET", "/inbox"): Page("signed_in"),
    ("POST", "/inbox/batch"): Page("task"),
    ("POST", "/inbox/{task_id}/{decision}"): Page("task", refused=404),
    ("GET", "/admin/flows"): _fn(ORG),
    ("GET", "/admin/flows/new"): _fn(ORG),
    ("POST", "/admin/flows/new"): _fn(ORG, form={"document": FLOW_YAML}),
    ("GET", "/admin/flows/{flow_id}"): _fn(ORG, on="flow", refused=404),
    ("POST", "/admin/flows/{flow_id}/draft"): _fn(
        ORG, on="flow", refused=404, form={"document": FLOW_YAML}
    ),
    ("POST", "/admin/flows/simulate"): _fn(ORG, form="simulate"),
    # payments/web.py, web_batches.py, web_employee.py
    ("GET", "/finance"): Page("finance"),
    ("POST", "/finance/claims/{claim_id}/mark-paid"): Page("pay", on="approved"),
    ("POST", "/finance/claims/{claim_id}/pay"): Page("pay", on="approved"),
    ("POST", "/finance/payments/{payment_id}/succeed"): Page("payment", on="payment"),
    ("POST", "/finance/payments/{payment_id}/fail"): Page(
        "payment", on="payment", form={"reason": "x"}
    ),
    ("GET", "/finance/batches"): _fn(BATCH),
    ("POST", "/finance/batches"): _fn(BATCH, form="approved"),
    ("GET", "/finance/batches/{batch_id}"): _fn(BATCH, on="batch", refused=404),
    ("GET", "/finance/batches/{batch_id}/bank-file"): _fn(BATCH, on="batch", refused=404),
    ("POST", "/finance/batches/{batch_id}/results"): _fn(
        BATCH, on="batch", refused=404, form="batch_result"
    ),
    ("GET", "/finance/vouchers"): _fn(VOUCHER),
    ("GET", "/finance/vouchers/export"): _fn(VOUCHER, form={"format": "kingdee"}),
    ("GET", "/advances"): Page("signed_in", no_employee=NO_EMPLOYEE),
    ("POST", "/advances"): Page("signed_in"),
    ("GET", "/claims/{claim_id}/offsets"): Page("read"),
    ("POST", "/claims/{claim_id}/offsets"): Page("owner"),
    ("GET", "/account/bank"): Page("self", no_employee=NO_EMPLOYEE),
    ("POST", "/account/bank"): Page("self"),
    # org/web.py, identity/web_admin.py, identity/web_account.py
    ("GET", "/admin"): _fn(ORG),
    ("POST", "/admin/people"): _fn(USERS, form="newcomer"),
    ("GET", "/admin/people/{user_id}"): _fn(USERS, on="user"),
    ("POST", "/admin/people/{user_id}/roles"): _fn(
        USERS, on="user", form={"role": "cashier", "scope": "company"}
    ),
    ("POST", "/admin/people/{user_id}/roles/{assignment_id}/revoke"): _fn(USERS, on="assignment"),
    ("POST", "/admin/people/{user_id}/password-reset"): _fn(USERS, on="user"),
    ("POST", "/admin/people/{user_id}/totp-reset"): _fn(USERS, on="user"),
    ("POST", "/admin/people/{user_id}/deactivate"): _fn(USERS, on="user"),
    ("GET", "/account/security"): Page("self"),
    ("POST", "/account/security/password"): Page("self"),
    ("POST", "/account/security/totp"): Page("self"),
    ("POST", "/account/security/totp/confirm"): Page("self"),
    ("POST", "/account/security/totp/recovery-codes"): Page("self"),
    ("POST", "/account/security/totp/disable"): Page("self"),
    ("POST", "/account/security/tokens"): Page("self"),
    ("POST", "/account/security/tokens/{token_id}/revoke"): Page("self"),
    # integrations/web.py (the monitor asks for the right in some company: everyone here
    # holds their rights in their own)
    ("GET", "/admin/integrations"): _fn(INTEGRATIONS),
    ("GET", "/admin/integrations/{connector_id}"): _fn(INTEGRATIONS, on="connector", refused=404),
    ("POST", "/admin/integrations/{connector_id}/replay"): _fn(
        INTEGRATIONS, on="connector", refused=404
    ),
    # identity/web.py, identity/sso_web.py: the browser session itself
    ("POST", "/logout"): Page("session"),
    ("POST", "/language"): Page("session"),
    ("GET", "/auth/session"): Page("session"),
    ("POST", "/auth/logout"): Page("session"),
    ("POST", "/auth/confirm"): Page("session"),
    # Re-authentication at a provider the person signs in with; nobody here is linked to
    # one, so every signed-in person gets the 404 page (tests/api/test_oidc_reauth.py
    # drives it against a real provider).
    ("GET", "/auth/oidc/{provider_key}/reauth"): Page("session", ok=404),
    # audit/web.py
    ("GET", "/audit"): _fn(Right.AUDIT_READ),
}

PUBLIC_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/login"): "the sign-in page",
    ("POST", "/login"): "signing in: checks the password (and TOTP) itself",
    ("GET", "/auth/oidc/{provider_key}/login"): "SSO: the redirect to the provider",
    ("GET", "/auth/oidc/{provider_key}/callback"): "SSO: state, nonce and PKCE are checked",
    ("GET", "/auth/signed-out"): "where the provider sends the browser after logout",
    ("GET", "/healthz"): "liveness probe, no data",
    ("GET", "/readyz"): "readiness probe: database and migrations ok or not",
    ("GET", "/metrics"): "Prometheus gauges, no personal data: a loopback scraper or the "
    "BAOXIAO_METRICS_TOKEN bearer (tests/api/test_operations.py)",
    ("GET", "/openapi.json"): "the API description",
    ("GET", "/docs"): "the API description, rendered",
    ("GET", "/docs/oauth2-redirect"): "the API description, rendered",
    ("GET", "/redoc"): "the API description, rendered",
    ("MOUNT", "/static"): "stylesheets, scripts and images of the pages",
    **{
        (method, f"{SCIM_PREFIX}/{name}"): "SCIM discovery is read-only: 405, no data"
        for name in ("Schemas", "ResourceTypes", "ServiceProviderConfig")
        for method in ("POST", "PUT", "PATCH", "DELETE")
    },
    **{
        (method, f"{SCIM_PREFIX}/{{rest:path}}"): "no such SCIM resource: 404, no data"
        for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
    },
}


# ---- sending a page request ----------------------------------------------------------------------


@dataclass(frozen=True)
class Browser:
    cookie: str
    csrf: str


def sign_in_browsers(aw: AccessWorld) -> dict[str, Browser]:
    """A real server-side session for every actor (as tests/web/conftest.py signs in)."""
    policy = aw.client.app.state.settings.session_policy  # type: ignore[attr-defined]
    out = {}
    with aw.db.transaction() as session:
        for who in ACTORS:
            user = session.merge(aw.world[who].user)
            web, plain = sessions.start(session, user, method="password", policy=policy)
            out[who] = Browser(plain, web.csrf_token)
    return out


def page_form(aw: AccessWorld, form: Any) -> dict[str, Any]:
    """The form fields of a valid post (files for the receipt form)."""
    if form == "upload":
        return {"files": {"file": ("r.png", PNG, "image/png")}}
    if form == "approved":
        return {"data": {"claim_id": aw.objects["approved"]["A"]["claim_id"]}}
    if form == "batch_result":
        payment = aw.objects["payment"]["A"]["payment_id"]
        return {"data": {"payment_id": payment, "outcome": "succeeded"}}
    if form == "simulate":
        claimant = aw.world["claimant"].employee
        assert claimant is not None
        fields = {"claimant_id": str(claimant.id), "category_code": "TAXI", "amount": "10"}
        return {"data": {"document": FLOW_YAML, **fields}}
    if form == "newcomer":
        newcomer = aw.objects["newcomer"]["A"]["employee_id"]
        return {"data": {"employee_id": newcomer, "username": "newcomer-a"}}
    return {"data": dict(form or {})}


def open_page(
    aw: AccessWorld,
    browser: Browser | None,
    method: str,
    path: str,
    *,
    owner: str | None = None,
    page: Page | None = None,
    side: str = "A",
) -> tuple[int, str]:
    """One page request (rolled back): its status and where it redirects to, if it does."""
    on = page.on if page else None
    url = path.format(**path_params(aw, owner, on, side), decision="approve")
    kwargs = page_form(aw, page.form if page else None)
    if browser is not None:
        kwargs["headers"] = {"Cookie": f"{SESSION_COOKIE}={browser.cookie}"}
        if method == "POST":
            kwargs.setdefault("data", {})["csrf_token"] = browser.csrf
    if method == "GET":
        kwargs = {"params": kwargs.get("data"), "headers": kwargs.get("headers")}
    with aw.undone():
        response = aw.send(method, url, **kwargs)
    return response.status_code, response.headers.get("location", "")
