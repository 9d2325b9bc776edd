"""Invoices through the API: upload and read, back a line, duplicates, life cycle, hostile files."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from baoxiao.kernel.db import Database
from baoxiao.models import Company
from tests.api.conftest import Api
from tests.support import invoice_samples as s
from tests.support.factories import World

CLAIMS = "/api/v1/claims"
HOTEL = {"category_code": "HOTEL", "expense_date": "2026-11-01", "amount": "100.00"}


def _upload(
    client: TestClient, world: World, claim_id: str, data: bytes, name: str, **form: str
) -> Any:
    return client.post(
        f"{CLAIMS}/{claim_id}/attachments",
        files={"file": (name, data, "application/octet-stream")},
        data=form,
        headers=world["claimant"].headers,
    )


def _attach(
    client: TestClient,
    world: World,
    claim: dict[str, Any],
    body: dict[str, Any],
    who: str = "claimant",
) -> Any:
    line = claim["lines"][0]["id"]
    return client.put(
        f"{CLAIMS}/{claim['id']}/lines/{line}/invoice", json=body, headers=world[who].headers
    )


def _registry(client: TestClient, world: World, **params: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/invoices", params=params, headers=world["finance"].headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_pdf_invoice_bound_to_a_line_fills_it(api: Api, client: TestClient, world: World) -> None:
    claim = api.create(lines=[HOTEL])
    line_id = claim["lines"][0]["id"]
    response = _upload(
        client, world, claim["id"], s.invoice_pdf(s.Sample()), "发票.pdf", line_id=line_id
    )
    assert response.status_code == 201, response.text
    invoice = response.json()["invoice"]
    assert (invoice["invoice_key"], invoice["status"], invoice["source"]) == (
        s.Sample().key,
        "attached",
        "pdf",
    )
    line = client.get(f"{CLAIMS}/{claim['id']}", headers=world["claimant"].headers).json()["lines"][
        0
    ]
    assert (line["amount"], line["expense_date"], line["tax_amount"]) == (
        "424.00",
        "2026-10-28",
        "24.00",
    )
    assert line["seller_name"] == s.SELLER
    assert line["invoice"]["invoice_key"] == s.Sample().key
    assert line["deductible_tax"] is None  # an ordinary invoice for a hotel: no input VAT


@pytest.mark.parametrize(
    ("data", "name", "key"),
    [
        (s.qr_png(s.qr_payload(s.DIGITAL)), "photo.png", s.DIGITAL.key),
        (s.einvoice_xml(), "数电.xml", s.DIGITAL.key),
        (s.ofd_package(), "发票.ofd", s.Sample().key),
        (s.ofd_package(s.DIGITAL, embed_xml=True), "数电.ofd", s.DIGITAL.key),
    ],
)
def test_every_format_is_received_into_the_registry(
    api: Api, client: TestClient, world: World, data: bytes, name: str, key: str
) -> None:
    claim = api.create(lines=[HOTEL])
    response = _upload(client, world, claim["id"], data, name)
    assert response.status_code == 201, response.text
    assert response.json()["invoice"]["invoice_key"] == key
    assert response.json()["invoice"]["status"] == "received"
    attached = _attach(client, world, claim, {"attachment_id": response.json()["id"]})
    assert attached.status_code == 200, attached.text
    assert attached.json()["lines"][0]["invoice"]["invoice_key"] == key
    assert attached.json()["attachments"][0]["line_id"] == claim["lines"][0]["id"]


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (s.zip_bomb_ofd(), 422, "invoice_file_rejected"),
        (s.many_entries_ofd(), 422, "invoice_file_rejected"),
        (s.traversal_ofd(), 415, "attachment_type_rejected"),
        (s.xml_with_dtd(), 415, "attachment_type_rejected"),
        (s.xml_external_entity(), 415, "attachment_type_rejected"),
        (s.truncated(s.invoice_pdf(s.Sample())), 422, "invoice_unreadable"),
        (s.truncated(s.qr_png(s.qr_payload(s.Sample())), 0.5), 422, "invoice_unreadable"),
        (s.truncated(s.einvoice_xml(), 0.5), 422, "invoice_unreadable"),
        (b"GIF89a not accepted", 415, "attachment_type_rejected"),
        (b"PK\x03\x04" + s.qr_png("x")[4:], 415, "attachment_type_rejected"),
        (s.qr_png("01,10,123,80100798,1.00,20261028,,"), 422, "invoice_invalid"),
    ],
)
def test_hostile_and_broken_files_are_refused_cleanly(
    api: Api, client: TestClient, world: World, data: bytes, status: int, code: str
) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], data, "evil.bin")
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    after = client.get(f"{CLAIMS}/{claim['id']}", headers=world["claimant"].headers).json()
    assert after["attachments"] == []
    assert _registry(client, world) == []


def test_an_invoice_backs_one_live_line_and_the_duplicate_says_where_if_allowed(
    api: Api, client: TestClient, world: World
) -> None:
    body = {"qr_payload": s.qr_payload(s.Sample())}
    first = api.create(lines=[HOTEL])
    assert _attach(client, world, first, body).status_code == 200
    again = api.create(lines=[HOTEL])
    own = _attach(client, world, again, body)
    assert (own.status_code, own.json()["code"]) == (409, "invoice_duplicate")
    assert own.json()["used_in_claim"] == first["number"]
    assert first["number"] in own.json()["detail"]
    # Someone who may not see the first claim learns only that it is taken.
    peer_claim = api.create(who="peer", lines=[HOTEL])
    peer = _attach(client, world, peer_claim, body, who="peer")
    assert (peer.status_code, peer.json()["code"]) == (409, "invoice_duplicate")
    assert peer.json()["used_in_claim"] is None
    assert first["number"] not in peer.json()["detail"]
    zh = client.put(
        f"{CLAIMS}/{peer_claim['id']}/lines/{peer_claim['lines'][0]['id']}/invoice",
        json=body,
        headers={**world["peer"].headers, "Accept-Language": "zh-CN"},
    )
    assert zh.json()["detail"] == f"发票 {s.Sample().key} 已用于其他报销,不能重复报销。"
    # Another company may use an invoice with the same number: uniqueness is per company.
    foreign = client.post(
        CLAIMS, json={"reason": "x", "lines": [HOTEL]}, headers=world["foreigner"].headers
    ).json()
    assert _attach(client, world, foreign, body, who="foreigner").status_code == 200
    # Reading the same invoice again onto the line that holds it replaces it, no duplicate.
    assert _attach(client, world, first, body).status_code == 200
    mine = [i["status"] for i in _registry(client, world) if i["claim_id"] == first["id"]]
    assert sorted(mine) == ["attached", "released"]


def test_same_file_is_flagged_on_upload(api: Api, client: TestClient, world: World) -> None:
    pdf = s.invoice_pdf(s.Sample())
    first = api.create()
    assert _upload(client, world, first["id"], pdf, "a.pdf").json()["same_file"]["seen_before"] == 0
    second = api.create()
    flagged = _upload(client, world, second["id"], pdf, "b.pdf").json()["same_file"]
    assert flagged == {"seen_before": 1, "claims": [first["number"]]}


def test_life_cycle_follows_the_claim(api: Api, client: TestClient, world: World) -> None:
    body = {"qr_payload": s.qr_payload(s.DIGITAL)}
    claim = api.create(lines=[HOTEL])
    _attach(client, world, claim, body)
    api.submit(claim["id"])
    h = world["claimant"].headers
    client.post(f"{CLAIMS}/{claim['id']}/withdraw", headers=h)
    assert [i["status"] for i in _registry(client, world)] == ["released"]
    # While withdrawn, another claim takes the invoice; resubmitting the first then fails.
    other = api.create(lines=[HOTEL])
    assert _attach(client, world, other, body).status_code == 200
    refused = client.post(f"{CLAIMS}/{claim['id']}/submit", headers=h)
    assert (refused.status_code, refused.json()["code"]) == (409, "invoice_duplicate")
    # The other claim is cancelled, so the first one can take its invoice back on submit.
    client.post(f"{CLAIMS}/{other['id']}/cancel", headers=h)
    api.submit(claim["id"])
    api.decide(claim["id"], "manager")
    api.decide(claim["id"], "finance")
    paid = client.post(f"{CLAIMS}/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert paid.status_code in (200, 201), paid.text
    statuses = sorted(i["status"] for i in _registry(client, world))
    assert statuses == ["reimbursed", "released"]
    reimbursed = _registry(client, world, status="reimbursed")[0]
    void = client.post(
        f"/api/v1/invoices/{reimbursed['id']}/void",
        json={"reason": "x"},
        headers=world["finance"].headers,
    )
    assert (void.status_code, void.json()["code"]) == (409, "invoice_not_voidable")


def test_rejected_claims_and_removed_lines_release_their_invoice(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create(lines=[HOTEL, HOTEL])
    _attach(client, world, claim, {"qr_payload": s.qr_payload(s.Sample())})
    line = claim["lines"][1]["id"]
    client.put(
        f"{CLAIMS}/{claim['id']}/lines/{line}/invoice",
        json={"qr_payload": s.qr_payload(s.DIGITAL)},
        headers=world["claimant"].headers,
    )
    client.delete(f"{CLAIMS}/{claim['id']}/lines/{line}", headers=world["claimant"].headers)
    assert sorted(i["status"] for i in _registry(client, world)) == ["attached", "released"]
    api.submit(claim["id"])
    api.decide(claim["id"], "manager", "reject", comment="no")
    assert [i["status"] for i in _registry(client, world)] == ["released", "released"]


def test_input_vat_of_a_special_invoice_and_the_title_check(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    with db.transaction() as session:
        company = session.get(Company, world.company.id)
        assert company is not None
        company.name, company.tax_id = s.BUYER, s.BUYER_TAX_ID
    client.post(
        "/api/v1/policy-standards/",
        json={"name": "x", "rules": {"invoice_title": {"outcome": "block"}}},
        headers=world["finance"].headers,
    )
    standards = client.get("/api/v1/policy-standards", headers=world["finance"].headers).json()
    client.post(
        f"/api/v1/policy-standards/{standards[0]['id']}/publish", headers=world["finance"].headers
    )
    fields = {
        "invoice_type": "01",
        "invoice_code": s.SPECIAL.code,
        "invoice_number": s.SPECIAL.number,
        "issue_date": "2026-10-28",
        "amount": "100.00",
        "tax_amount": "6.00",
        "buyer_name": s.BUYER,
        "buyer_tax_id": s.BUYER_TAX_ID,
    }
    claim = api.create(lines=[HOTEL])
    response = _attach(client, world, claim, {"fields": fields})
    assert response.status_code == 200, response.text
    line = response.json()["lines"][0]
    assert (line["amount"], line["tax_amount"], line["deductible_tax"]) == (
        "106.00",
        "6.00",
        "6.00",
    )
    title = next(c for c in line["policy"] if c["rule"] == "invoice_title")
    assert title["outcome"] == "pass"
    wrong = api.create(lines=[HOTEL])
    other = {**fields, "invoice_number": "03630025", "buyer_name": "别的公司"}
    line = _attach(client, world, wrong, {"fields": other}).json()["lines"][0]
    title = next(c for c in line["policy"] if c["rule"] == "invoice_title")
    assert title["outcome"] == "block"
    assert title["message_zh"].startswith("发票抬头与公司不符:购买方 别的公司")


def test_registry_is_for_finance(api: Api, client: TestClient, world: World) -> None:
    assert client.get("/api/v1/invoices", headers=world["claimant"].headers).status_code == 403
    claim = api.create(lines=[HOTEL])
    _attach(client, world, claim, {"qr_payload": s.qr_payload(s.Sample())})
    (row,) = _registry(client, world)
    voided = client.post(
        f"/api/v1/invoices/{row['id']}/void",
        json={"reason": "红冲"},
        headers=world["finance"].headers,
    )
    assert voided.status_code == 200 and voided.json()["status"] == "voided"
    foreign = client.get(f"/api/v1/invoices/{row['id']}", headers=world["foreign_finance"].headers)
    assert (foreign.status_code, foreign.json()["code"]) == (404, "invoice_not_found")
    # A voided invoice cannot back a line any more, but the same invoice read anew is a new
    # reception and may (the voided one is not live).
    bad_body = {"invoice_type": "10", "invoice_number": "123"}
    bad = _attach(client, world, claim, {"fields": bad_body})
    assert (bad.status_code, bad.json()["code"]) == (422, "validation_error")
