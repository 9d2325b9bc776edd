"""A claim through the pages: editor fragments, submit, inbox decisions, finance, detail."""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import select

from baoxiao.kernel.db import Database
from baoxiao.models import Claim
from tests.support.invoice_samples import receipt_image
from tests.web.conftest import Browser

Open = Callable[..., Browser]
LINE = {"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "50.00", "currency": "CNY"}


def new_claim(browser: Browser, reason: str = "client visit") -> str:
    response = browser.post("/claims/new", {"reason": reason})
    assert response.status_code == 303, response.text
    match = re.search(r"/claims/([0-9a-f-]{36})/edit", response.headers["location"])
    assert match
    return match.group(1)


def submitted_claim(browser: Browser, reason: str = "client visit") -> str:
    claim_id = new_claim(browser, reason)
    assert browser.htmx(f"/claims/{claim_id}/lines", LINE).status_code == 200
    response = browser.htmx(f"/claims/{claim_id}/submit")
    assert response.status_code == 204 and response.headers["HX-Redirect"].startswith(
        f"/claims/{claim_id}"
    )
    return claim_id


def task_ids(page: str) -> list[str]:
    return re.findall(r'name="task_id" value="([0-9a-f-]{36})"', page)


def test_the_editor_adds_and_removes_lines_with_server_totals(browser_for: Open) -> None:
    me = browser_for("claimant")
    claim_id = new_claim(me)
    editor = me.get(f"/claims/{claim_id}/edit")
    assert editor.status_code == 200 and 'id="line-form"' in editor.text
    first = me.htmx(f"/claims/{claim_id}/lines", LINE)
    assert first.status_code == 200 and first.text.lstrip().startswith(
        '<section id="lines-section"'
    )
    assert "CN¥50.00" in first.text
    second = me.htmx(f"/claims/{claim_id}/lines", {**LINE, "amount": "12.30"})
    assert 'id="claim-total"' in second.text and "CN¥62.30" in second.text
    line_ids = re.findall(r'data-line="([0-9a-f-]{36})"', second.text)
    assert len(line_ids) == 2
    removed = me.htmx(f"/claims/{claim_id}/lines/{line_ids[0]}/remove")
    assert "CN¥12.30" in removed.text and len(re.findall(r"data-line=", removed.text)) == 1


def test_validation_messages_sit_next_to_their_fields(browser_for: Open) -> None:
    me = browser_for("claimant", "zh-CN")
    claim_id = new_claim(me)
    bad_amount = me.htmx(f"/claims/{claim_id}/lines", {**LINE, "amount": "abc"})
    assert bad_amount.status_code == 422
    assert 'id="err-amount"' in bad_amount.text and 'aria-invalid="true"' in bad_amount.text
    assert 'value="abc"' in bad_amount.text  # what was typed is kept
    unknown = me.htmx(f"/claims/{claim_id}/lines", {**LINE, "category_code": "NOPE"})
    assert unknown.status_code == 422 and 'id="err-category_code"' in unknown.text
    inactive = me.htmx(f"/claims/{claim_id}/lines", {**LINE, "category_code": "OLD"})
    assert 'id="err-category_code"' in inactive.text
    no_date = me.htmx(f"/claims/{claim_id}/lines", {**LINE, "expense_date": ""})
    assert 'id="err-expense_date"' in no_date.text
    empty_reason = me.htmx(f"/claims/{claim_id}/header", {"reason": ""})
    assert empty_reason.status_code == 422 and 'id="err-reason"' in empty_reason.text


def test_autosave_saves_the_header(browser_for: Open, db: Database) -> None:
    me = browser_for("claimant")
    claim_id = new_claim(me)
    saved = me.htmx(f"/claims/{claim_id}/header", {"reason": "Shanghai trip"})
    assert saved.status_code == 200 and "Draft saved at" in saved.text
    with db.transaction() as session:
        claim = session.scalars(select(Claim).where(Claim.reason == "Shanghai trip")).one()
        assert str(claim.id) == claim_id


def test_a_receipt_uploads_and_previews(browser_for: Open, world: object) -> None:
    me = browser_for("claimant")
    claim_id = new_claim(me)
    png = receipt_image()
    response = me.client.post(
        f"/claims/{claim_id}/attachments",
        files={"file": ("taxi.png", png, "image/png")},
        headers={"HX-Request": "true", "X-CSRF-Token": me.csrf},
    )
    assert response.status_code == 200, response.text
    src = re.search(r'<img src="(/claims/[^"]+/content)"', response.text)
    assert src, response.text
    content = me.get(src.group(1))
    assert content.status_code == 200 and content.content == png
    assert content.headers["content-type"] == "image/png"
    refused = me.client.post(
        f"/claims/{claim_id}/attachments",
        files={"file": ("evil.html", b"<script>alert(1)</script>", "text/html")},
        headers={"HX-Request": "true", "X-CSRF-Token": me.csrf},
    )
    assert refused.status_code == 415 and 'id="upload-error"' in refused.text
    other = browser_for("outsider")
    assert other.get(src.group(1)).status_code == 404


def test_submit_of_an_empty_claim_shows_the_reason(browser_for: Open) -> None:
    me = browser_for("claimant")
    claim_id = new_claim(me)
    response = me.htmx(f"/claims/{claim_id}/submit")
    assert response.status_code == 409 and 'data-code="claim_empty"' in response.text
    assert "<html" not in response.text  # a fragment for the target, not a page


def test_inbox_decisions_and_the_detail_timeline(browser_for: Open) -> None:
    me, manager = browser_for("claimant"), browser_for("manager")
    claim_id = submitted_claim(me)
    inbox = manager.get("/inbox")
    ids = task_ids(inbox.text)
    assert len(ids) == 1 and "client visit" in inbox.text
    no_comment = manager.htmx(f"/inbox/{ids[0]}/reject", {"comment": ""})
    assert no_comment.status_code in (400, 422) and "error-box" in no_comment.text
    approved = manager.htmx(f"/inbox/{ids[0]}/approve", {"comment": "ok"})
    assert approved.status_code == 200 and approved.headers["HX-Retarget"] == f"#task-{ids[0]}"
    again = manager.htmx(f"/inbox/{ids[0]}/approve")
    assert again.status_code == 409  # decided already: the service says so
    assert task_ids(manager.get("/inbox").text) == []
    detail = me.get(f"/claims/{claim_id}").text
    assert 'data-action="approval:approve"' in detail and 'class="done"' in detail


def test_batch_approve_decides_each_task_and_reports_each(browser_for: Open) -> None:
    me, manager = browser_for("claimant"), browser_for("manager")
    submitted_claim(me, "first")
    submitted_claim(me, "second")
    ids = task_ids(manager.get("/inbox").text)
    assert len(ids) == 2
    foreign = "00000000-0000-4000-8000-000000000000"
    response = manager.post("/inbox/batch", {"task_id": [*ids, foreign], "comment": "fine"})
    assert response.status_code == 200
    assert response.text.count('class="result-ok"') == 2
    assert response.text.count('class="result-bad"') == 1
    assert task_ids(response.text) == []


def test_finance_pays_and_the_claimant_sees_it_paid(browser_for: Open) -> None:
    me, manager, finance = browser_for("claimant"), browser_for("manager"), browser_for("finance")
    claim_id = submitted_claim(me)
    manager.post("/inbox/batch", {"task_id": task_ids(manager.get("/inbox").text)})
    finance.post("/inbox/batch", {"task_id": task_ids(finance.get("/inbox").text)})
    cashier = browser_for("cashier")
    workspace = cashier.get("/finance").text
    assert f'id="claim-{claim_id}"' in workspace
    requested = cashier.post(f"/finance/claims/{claim_id}/pay")
    assert requested.status_code == 303
    pending = cashier.get("/finance").text
    payment = re.search(r"/finance/payments/([0-9a-f-]{36})/succeed", pending)
    assert payment
    done = cashier.post(
        f"/finance/payments/{payment.group(1)}/succeed", {"external_reference": "B1"}
    )
    assert done.status_code == 303
    detail = me.get(f"/claims/{claim_id}").text
    assert "status-paid" in detail and 'data-action="claim:pay"' in detail
    actions = re.findall(r'data-action="([a-z_:]+)"', detail)
    assert actions[0] == "claim:create" and actions[-1] == "claim:pay"
    # The finance reviewer who approved it holds no right to pay (paying is the cashier's):
    # the page says so and nothing changes.
    refused = finance.post(f"/finance/claims/{claim_id}/mark-paid")
    assert refused.status_code == 403 and 'data-code="forbidden"' in refused.text


def test_the_claims_list_filters_by_status_with_an_htmx_fragment(browser_for: Open) -> None:
    me = browser_for("claimant")
    new_claim(me, "draft one")
    submitted_claim(me, "sent one")
    page = me.get("/claims?status=draft").text
    assert "draft one" in page and "sent one" not in page
    headers = {"HX-Request": "true", "HX-Target": "claim-rows"}
    fragment = me.get("/claims?status=approving", headers=headers)
    assert fragment.text.lstrip().startswith('<div id="claim-rows"') and "sent one" in fragment.text
