"""The whole journey in Chromium, once in English and once in Chinese: an employee files a
claim with two lines and a receipt and submits it; the manager approves from the inbox;
finance reviews and a cashier pays; the employee sees it paid with the full timeline.
Screenshots of the main pages go to build/screenshots/<lang>/."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from baoxiao.demo.seed import DEMO_PASSWORD
from tests.e2e.conftest import SCREENSHOTS, LiveServer
from tests.support.invoice_samples import receipt_image

TEXT = {
    "en": {"paid": "Paid", "approved": "approved", "sign_out": "Sign out"},
    "zh-CN": {"paid": "已付款", "approved": "已同意", "sign_out": "退出"},
}


class Person:
    """One person's browser tab, signed in through the real form."""

    def __init__(self, browser: Browser, server: LiveServer, lang: str, username: str) -> None:
        self.context = browser.new_context(
            locale=lang, viewport={"width": 1280, "height": 900}, base_url=server.url
        )
        self.context.set_default_timeout(10_000)
        self.page: Page = self.context.new_page()
        self.lang = lang
        self.page.goto("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", DEMO_PASSWORD)
        self.page.click('form[action="/login"] button[type=submit]')
        expect(self.page.locator(".nav-user")).to_contain_text(TEXT[lang]["sign_out"])

    def shot(self, name: str) -> None:
        folder = SCREENSHOTS / self.lang
        folder.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def close(self) -> None:
        self.context.close()


def add_line(page: Page, category: str, amount: str, description: str, count: int) -> None:
    page.select_option("#category_code", category)
    page.fill("#expense_date", (date.today() - timedelta(days=2)).isoformat())
    page.fill("#amount", amount)
    page.fill("#description", description)
    page.click("#add-line")
    expect(page.locator("tr[data-line]")).to_have_count(count)


def file_claim(browser: Browser, server: LiveServer, lang: str, tmp_path: Path) -> str:
    employee = Person(browser, server, lang, "li.na")
    page = employee.page
    employee.shot("dashboard")
    page.click("#new-claim")
    page.fill("#reason", "Customer visit, Hangzhou" if lang == "en" else "杭州客户拜访")
    page.click("#create-claim")
    page.wait_for_url(re.compile(r"/claims/[0-9a-f-]{36}/edit$"))
    claim_id = page.url.split("/")[-2]
    add_line(page, "TAXI", "86.50", "Airport taxi", 1)
    add_line(page, "OFFICE", "120.00", "Printed brochures", 2)
    expect(page.locator("#claim-total")).to_contain_text("206.50")
    receipt = tmp_path / "taxi-receipt.png"
    receipt.write_bytes(receipt_image())
    page.set_input_files("#receipt-file", str(receipt))
    expect(page.locator("#upload-preview img")).to_be_visible()  # previewed before upload
    page.click("#upload-receipt")
    expect(page.locator("#receipts-section figure.receipt img")).to_be_visible()
    page.fill(
        "#reason", "Customer visit, Hangzhou (2 days)" if lang == "en" else "杭州客户拜访(两天)"
    )
    expect(page.locator("#autosave")).not_to_be_empty()  # the draft saved itself
    employee.shot("claim-editor")
    page.set_viewport_size({"width": 375, "height": 800})  # the OA apps' mobile web view
    employee.shot("claim-editor-mobile")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("#submit-claim")
    page.wait_for_url(re.compile(rf"/claims/{claim_id}\?done=submit$"))
    expect(page.locator("#route li")).not_to_have_count(0)
    employee.shot("claim-submitted")
    page.goto("/claims")
    expect(page.locator(f'a[href="/claims/{claim_id}"]')).to_be_visible()
    employee.shot("my-claims")
    employee.close()
    return claim_id


def approve(browser: Browser, server: LiveServer, lang: str, who: str, claim_id: str) -> None:
    approver = Person(browser, server, lang, who)
    page = approver.page
    page.goto("/inbox")
    card = page.locator("article.task-card", has=page.locator(f'a[href="/claims/{claim_id}"]'))
    expect(card).to_be_visible()
    approver.shot(f"inbox-{who}")
    card.locator("textarea").fill("OK" if lang == "en" else "同意")
    card.locator("button.approve").click()
    expect(page.locator(".result-ok")).to_contain_text(TEXT[lang]["approved"])
    approver.close()


def pay(browser: Browser, server: LiveServer, lang: str, claim_id: str) -> None:
    cashier = Person(browser, server, lang, "sun.li")
    page = cashier.page
    page.goto("/finance")
    row = page.locator(f"#claim-{claim_id}")
    expect(row).to_be_visible()
    cashier.shot("finance")
    if lang == "zh-CN":  # one run pays through a payment batch, the other marks it paid
        row.locator('input[name="claim_id"]').check()
        page.locator("#create-batch").click()
        page.wait_for_url(re.compile(r"/finance/batches/[0-9a-f-]{36}\?done=created$"))
        item = page.locator(f'#batch-items tr[data-claim="{claim_id}"]')
        expect(item).to_contain_text("**** **** 5678")
        cashier.shot("batch")
        item.locator('input[name="external_reference"]').fill("ICBC-20261201-001")
        item.locator('input[name="outcome"][value="succeeded"] ~ button').click()
        page.wait_for_url(re.compile(r"\?done=succeeded$"))
        expect(item.locator(".badge")).to_have_text("成功")
    else:
        row.locator('input[name="external_reference"]').fill("ICBC-20261201-001")
        row.locator("button.mark-paid").click()
        page.wait_for_url(re.compile(r"/finance\?done=paid$"))
    page.goto("/finance")
    expect(page.locator(f"#claim-{claim_id}")).to_have_count(0)
    cashier.close()


def admin_pages(browser: Browser, server: LiveServer, lang: str) -> None:
    admin = Person(browser, server, lang, "chen.jie")
    page = admin.page
    page.goto("/")
    expect(page.locator("[data-chart] svg").first).to_be_visible()  # ECharts drew
    admin.shot("dashboard-admin")
    page.goto("/admin")
    admin.shot("admin")
    page.goto("/admin/flows")
    admin.shot("admin-flows")
    page.locator('a[href^="/admin/flows/"]').nth(1).click()
    page.fill("#sim-amount", "60000")
    expect(page.locator("#simulation .route li").first).to_be_visible()
    admin.shot("admin-flow-editor")
    page.goto("/admin/integrations")
    admin.shot("admin-integrations")
    admin.close()


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_a_claim_from_filing_to_paid(
    chromium: Browser, live_server: LiveServer, lang: str, tmp_path: Path
) -> None:
    claim_id = file_claim(chromium, live_server, lang, tmp_path)
    approve(chromium, live_server, lang, "liu.yang", claim_id)  # li.na's manager
    approve(chromium, live_server, lang, "zhao.min", claim_id)  # finance review
    pay(chromium, live_server, lang, claim_id)  # a cashier who approved nothing
    employee = Person(chromium, live_server, lang, "li.na")
    page = employee.page
    page.goto(f"/claims/{claim_id}")
    expect(page.locator(".page-head .badge")).to_have_text(TEXT[lang]["paid"])
    timeline = page.locator("#timeline li")
    actions = [timeline.nth(i).get_attribute("data-action") for i in range(timeline.count())]
    assert actions[0] == "claim:create" and actions[-1] == "claim:pay"
    assert {"claim:submit", "approval:approve", "claim:start_payment"} <= set(actions)
    assert actions.count("claim:add_line") == 2 and "claim:add_attachment" in actions
    expect(page.locator("#route li.done")).to_have_count(2)
    employee.shot("claim-paid")
    employee.close()
    admin_pages(chromium, live_server, lang)
