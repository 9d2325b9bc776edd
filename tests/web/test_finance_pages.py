"""Finance through the pages: payment batches and bank files, results, vouchers, budgets
in the inbox, on the claim and on the dashboard, advances and offsets, the bank account."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date

import pytest
from openpyxl import load_workbook

from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.db import Database
from baoxiao.models import User
from baoxiao.payments.bankfiles import CSV_HEADER, ICBC_HEADER
from baoxiao.payments.voucher_export import KINGDEE_HEADER, YONYOU_HEADER
from tests.support.factories import World, make_person
from tests.support.finance import create_budget
from tests.web.conftest import Browser
from tests.web.test_claim_pages import new_claim, task_ids

Open = Callable[..., Browser]
NUMBER = "6222020200112233445"
PASSWORD = "pw-secret-1"
UUID = r"[0-9a-f-]{36}"


@pytest.fixture
def passwords(db: Database, world: World) -> None:
    with db.transaction() as session:
        for name in ("claimant", "peer"):
            user = session.get(User, world[name].user.id)
            assert user is not None
            user.password_hash = hash_password(PASSWORD)
            # browser_for merges the world's (detached) user: it must carry the hash too.
            world[name].user.password_hash = user.password_hash


def save_account(browser: Browser, number: str = NUMBER, password: str = PASSWORD) -> object:
    return browser.post(
        "/account/bank",
        {
            "holder_name": "Li Lei",
            "bank_name": "中国工商银行",
            "branch_name": "上海分行",
            "account_number": number,
            "current_password": password,
        },
    )


def claim_for(browser: Browser, amount: str, on: str = "2026-11-02", reason: str = "visit") -> str:
    claim_id = new_claim(browser, reason)
    line = {"category_code": "TAXI", "expense_date": on, "amount": amount, "currency": "CNY"}
    assert browser.htmx(f"/claims/{claim_id}/lines", line).status_code == 200
    assert browser.htmx(f"/claims/{claim_id}/submit").status_code == 204
    return claim_id


def approve_all(browser_for: Open) -> None:
    for who in ("manager", "finance"):
        approver = browser_for(who)
        approver.post("/inbox/batch", {"task_id": task_ids(approver.get("/inbox").text)})


def test_the_bank_account_page_masks_and_a_change_needs_the_password(
    browser_for: Open, passwords: None
) -> None:
    me = browser_for("claimant")
    empty = me.get("/account/bank")
    assert empty.status_code == 200 and "No bank account yet" in empty.text
    wrong = save_account(me, password="not-my-password")
    assert wrong.status_code == 403 and 'data-code="reauthentication_failed"' in wrong.text
    assert "No bank account yet" in me.get("/account/bank").text  # nothing was saved
    short = save_account(me, number="123")
    assert short.status_code == 422 and 'id="err-account_number"' in short.text
    saved = save_account(me)
    assert saved.status_code == 303 and saved.headers["location"] == "/account/bank?done=saved"
    page = me.get("/account/bank").text
    assert "**** **** 3445" in page and NUMBER not in page
    no_token = me.client.post("/account/bank", data={"account_number": NUMBER})
    assert no_token.status_code == 403 and 'data-code="csrf_failed"' in no_token.text


def test_a_batch_is_built_exported_and_its_results_recorded(
    browser_for: Open, passwords: None
) -> None:
    me = browser_for("claimant")
    assert save_account(me).status_code == 303  # type: ignore[attr-defined]
    first, second = claim_for(me, "50.00"), claim_for(me, "12.30", reason="lunch")
    approve_all(browser_for)
    cashier = browser_for("cashier")
    workspace = cashier.get("/finance").text
    assert 'id="batch-form"' in workspace
    assert f'name="claim_id" value="{first}" form="batch-form"' in workspace
    no_token = cashier.client.post("/finance/batches", data={"claim_id": [first]})
    assert no_token.status_code == 403
    created = cashier.post("/finance/batches", {"claim_id": [first, second]})
    assert created.status_code == 303, created.text
    match = re.match(rf"/finance/batches/({UUID})\?done=created", created.headers["location"])
    assert match
    batch_id = match.group(1)
    page = cashier.get(f"/finance/batches/{batch_id}").text
    assert "CN¥62.30" in page and page.count("**** **** 3445") == 2 and NUMBER not in page
    listing = cashier.get("/finance/batches").text
    assert f'id="batch-{batch_id}"' in listing and "status-open" in listing

    bank_csv = cashier.get(f"/finance/batches/{batch_id}/bank-file?format=csv")
    assert bank_csv.status_code == 200
    assert bank_csv.headers["content-disposition"].endswith('-csv.csv"')
    rows = list(csv.reader(io.StringIO(bank_csv.content.decode("utf-8-sig"))))
    assert rows[0] == CSV_HEADER
    assert sorted(r[8] for r in rows[1:]) == ["12.30", "50.00"]
    assert {r[4] for r in rows[1:]} == {NUMBER} and {r[5] for r in rows[1:]} == {"中国工商银行"}
    icbc = cashier.get(f"/finance/batches/{batch_id}/bank-file?format=icbc")
    sheet = load_workbook(io.BytesIO(icbc.content)).active
    assert sheet is not None
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == ICBC_HEADER and len(values) == 3
    assert {v[11] for v in values[1:]} == {NUMBER} and values[1][0] == "人民币"
    assert "Downloaded" in cashier.get(f"/finance/batches/{batch_id}").text
    # The claimant may not see batches at all.
    assert me.get("/finance/batches").status_code == 403
    assert me.get(f"/finance/batches/{batch_id}").status_code == 404
    assert me.get(f"/finance/batches/{batch_id}/bank-file").status_code == 404

    rows_of = re.findall(rf'<tr id="payment-({UUID})" data-claim="({UUID})">', page)
    by_claim = {claim: payment for payment, claim in rows_of}
    assert set(by_claim) == {first, second}
    url = f"/finance/batches/{batch_id}/results"
    no_reason = cashier.post(url, {"payment_id": by_claim[second], "outcome": "failed"})
    assert no_reason.status_code == 422
    ok = cashier.post(url, {"payment_id": by_claim[first], "outcome": "succeeded"})
    assert ok.status_code == 303 and ok.headers["location"].endswith("?done=succeeded")
    bad = cashier.post(
        url, {"payment_id": by_claim[second], "outcome": "failed", "reason": "账户已冻结"}
    )
    assert bad.status_code == 303
    after = cashier.get(f"/finance/batches/{batch_id}").text
    assert "status-closed" in after and "账户已冻结" in after
    assert "status-paid" in me.get(f"/claims/{first}").text
    failed = me.get(f"/claims/{second}").text
    assert "status-failed" in failed and "账户已冻结" in failed and "status-approved" in failed
    # A repeated result changes nothing.
    again = cashier.post(url, {"payment_id": by_claim[first], "outcome": "succeeded"})
    assert again.status_code == 303


def test_vouchers_are_listed_and_exported_for_finance_only(browser_for: Open) -> None:
    me = browser_for("claimant")
    claim_id = claim_for(me, "50.00")
    approve_all(browser_for)
    finance = browser_for("finance")
    page = finance.get("/finance/vouchers")
    assert page.status_code == 200 and f'href="/claims/{claim_id}"' in page.text
    assert "CN¥50.00" in page.text
    kingdee = finance.get("/finance/vouchers/export?format=kingdee")
    assert (
        kingdee.status_code == 200 and "vouchers-kingdee-" in kingdee.headers["content-disposition"]
    )
    sheet = load_workbook(io.BytesIO(kingdee.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == KINGDEE_HEADER and len(rows) >= 3
    yonyou = load_workbook(
        io.BytesIO(finance.get("/finance/vouchers/export?format=yonyou").content)
    )
    assert yonyou.active is not None
    assert list(next(yonyou.active.iter_rows(values_only=True))) == YONYOU_HEADER
    assert "Exported" in finance.get("/finance/vouchers").text
    assert me.get("/finance/vouchers").status_code == 403
    assert me.get("/finance/vouchers/export?format=kingdee").status_code == 403


def test_the_budget_position_shows_in_the_inbox_on_the_claim_and_on_the_dashboard(
    browser_for: Open, world: World, db: Database
) -> None:
    this_year = str(date.today().year)
    finance = browser_for("finance")
    create_budget(
        finance.client,
        world,
        code="RD-YEAR",
        name="R&D travel",
        period_kind="year",
        period=this_year,
        amount="40.00",
        control="warn",
    )
    me = browser_for("claimant")
    claim_id = claim_for(me, "50.00", on=date.today().isoformat())
    inbox = browser_for("manager").get("/inbox").text
    assert 'data-budget-status="over"' in inbox and "Over budget" in inbox
    assert "R&amp;D travel" in inbox and "-CN¥10.00" in inbox and "CN¥40.00" in inbox
    detail = me.get(f"/claims/{claim_id}").text
    assert 'id="claim-budget"' in detail and "Warns when exceeded" in detail
    block = detail[detail.index('id="claim-budget"') :]
    assert "CN¥50.00" in block and "CN¥0.00" in block  # occupied 50, consumed 0
    dashboard = finance.get("/").text
    assert 'id="budget-use"' in dashboard and 'data-budget="RD-YEAR"' in dashboard
    assert "CN¥50.00" in dashboard and "Over budget" in dashboard
    # No budget right and not the owner: no budget block on the claimant's dashboard.
    assert 'id="budget-use"' not in me.get("/").text
    # An account without an employee owns no budget (owner_id IS NULL must not match).
    with db.transaction() as session:
        world.people["robot"] = make_person(
            session, world.company, f"robot-{world.company.code}", department=None, employee=False
        )
    assert 'id="budget-use"' not in browser_for("robot").get("/").text


def test_a_claim_without_a_budget_shows_no_budget_block(browser_for: Open) -> None:
    me = browser_for("claimant")
    claim_id = claim_for(me, "50.00")
    assert 'id="claim-budget"' not in me.get(f"/claims/{claim_id}").text
    assert "budget-position" not in browser_for("manager").get("/inbox").text


def test_an_employee_asks_for_an_advance_and_offsets_it_on_a_claim(browser_for: Open) -> None:
    me = browser_for("claimant")
    page = me.get("/advances")
    assert page.status_code == 200 and 'id="advance-form"' in page.text
    bad = me.post("/advances", {"amount": "-5", "reason": "trip"})
    assert bad.status_code == 422 and 'id="err-amount"' in bad.text
    asked = me.post("/advances", {"amount": "300.00", "reason": "Beijing trip"})
    assert asked.status_code == 303
    match = re.match(rf"/claims/({UUID})\?done=submit", asked.headers["location"])
    assert match
    advance_claim = match.group(1)
    listed = me.get("/advances").text
    assert "Beijing trip" in listed and "status-requested" in listed
    approve_all(browser_for)
    paid = browser_for("cashier").post(f"/finance/claims/{advance_claim}/mark-paid")
    assert paid.status_code == 303
    owed = me.get("/advances").text
    assert "status-open" in owed and "CN¥300.00" in owed[owed.index('id="owed"') :]

    claim_id = new_claim(me, "taxi after the trip")
    line = {"category_code": "TAXI", "expense_date": "2026-11-02", "amount": "80.00"}
    me.htmx(f"/claims/{claim_id}/lines", {**line, "currency": "CNY"})
    assert 'hx-get="/claims/' in me.get(f"/claims/{claim_id}/edit").text
    block = me.get(f"/claims/{claim_id}/offsets", headers={"HX-Request": "true"}).text
    advance_id = re.search(rf'name="advance_id" value="({UUID})"', block)
    assert advance_id and "CN¥300.00" in block
    too_much = me.htmx(
        f"/claims/{claim_id}/offsets", {"advance_id": advance_id.group(1), "amount": "90.00"}
    )
    assert too_much.status_code == 422 and 'data-code="offset_invalid"' in too_much.text
    saved = me.htmx(
        f"/claims/{claim_id}/offsets", {"advance_id": advance_id.group(1), "amount": "30.00"}
    )
    assert saved.status_code == 200 and "Offsets saved." in saved.text
    assert 'value="30.00"' in saved.text and "CN¥270.00" not in saved.text
    # Someone else's claim: not theirs to offset.
    refused = browser_for("peer").htmx(
        f"/claims/{claim_id}/offsets", {"advance_id": advance_id.group(1), "amount": "1"}
    )
    assert refused.status_code in (403, 404)


def test_finance_pages_refuse_the_wrong_role_and_render_for_finance(browser_for: Open) -> None:
    me = browser_for("claimant", "zh-CN")
    # Batches are the cashier's work, vouchers the finance reviewer's.
    for url, who in (("/finance/batches", "cashier"), ("/finance/vouchers", "finance")):
        refused = me.get(url)
        assert refused.status_code == 403 and "您无权执行此操作" in refused.text
        assert browser_for(who, "zh-CN").get(url).status_code == 200
    assert me.get("/advances").status_code == 200
    assert me.get("/account/bank").status_code == 200


def test_the_finance_menu_leads_each_role_to_what_it_may_do(browser_for: Open) -> None:
    """A reviewer who pays nothing lands on the vouchers; the cashier on the payments;
    nobody sees a tab that would answer 403."""
    reviewer, cashier, claimant = (
        browser_for("finance"),
        browser_for("cashier"),
        browser_for("claimant"),
    )
    landing = reviewer.get("/finance", follow_redirects=False)
    assert landing.status_code == 303 and landing.headers["location"] == "/finance/vouchers"
    vouchers = reviewer.get("/finance/vouchers").text
    assert 'href="/finance/vouchers"' in vouchers and 'href="/finance/batches"' not in vouchers
    assert '<li><a href="/finance" ' in vouchers  # the top menu entry
    workspace = cashier.get("/finance").text
    assert 'href="/finance/batches"' in workspace and 'href="/finance/vouchers"' in workspace
    assert '<li><a href="/finance" ' not in claimant.get("/").text
    assert claimant.get("/finance", follow_redirects=False).status_code == 403


def test_a_cashier_scoped_to_a_department_sees_only_its_claims_and_payments(
    db: Database, world: World, browser_for: Open
) -> None:
    """The workspace lists follow the cashier's data scope: a cashier for Sales sees the
    Sales claim to pay and its payment, never the R&D one, and cannot pay it."""
    with db.transaction() as session:
        world.people["sales_cashier"] = make_person(
            session,
            world.company,
            f"scash-{world.company.code}",
            department=world.departments["FIN"],
            scoped_roles=(("cashier", "department", world.departments["SALES"].id),),
        )
    rd = claim_for(browser_for("claimant"), "50.00")
    sales = claim_for(browser_for("outsider"), "70.00", reason="client dinner")
    for who in ("manager", "boss", "finance"):
        approver = browser_for(who)
        approver.post("/inbox/batch", {"task_id": task_ids(approver.get("/inbox").text)})
    cashier, scoped = browser_for("cashier"), browser_for("sales_cashier")

    def payable(browser: Browser) -> set[str]:
        page = browser.get("/finance").text
        return {c for c in (rd, sales) if f'<tr id="claim-{c}">' in page}

    assert payable(cashier) == {rd, sales}
    assert payable(scoped) == {sales}
    refused = scoped.post(f"/finance/claims/{rd}/pay", {})
    assert refused.status_code in (403, 404)
    for claim_id in (rd, sales):
        assert cashier.post(f"/finance/claims/{claim_id}/pay", {}).status_code == 303

    def in_flight(browser: Browser) -> set[str]:
        page = browser.get("/finance").text
        page = page[
            page.index('id="h-pending"') : page.index("</section>", page.index('id="h-pending"'))
        ]
        return {c for c in (rd, sales) if f'href="/claims/{c}"' in page}

    assert in_flight(scoped) == {sales}
    assert in_flight(cashier) == {rd, sales}
