"""Payment batches, bank files, results, resend and query; payee bank accounts."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select, text

from baoxiao.identity.passwords import hash_password
from baoxiao.kernel.db import Database
from baoxiao.models import AuditRecord, BankAccount, OutboxEvent, User
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support.factories import World
from tests.support.finance import set_bank_account

BATCHES = "/api/v1/payment-batches"
PAYMENTS = "/api/v1/payments"
NUMBER = "6222020200112233445"


@pytest.fixture
def passwords(db: Database, world: World) -> None:
    with db.transaction() as session:
        for name in ("claimant", "peer", "admin", "cashier"):
            user = session.get(User, world[name].user.id)
            assert user is not None
            user.password_hash = hash_password("pw-secret-1")


def _approved_with_account(api: Api, client: TestClient, world: World) -> dict[str, Any]:
    response = set_bank_account(client, world, "claimant")
    assert response.status_code == 200, response.text
    return api.approved_claim()


def _batch(client: TestClient, world: World, claim_ids: list[str]) -> Any:
    return client.post(
        BATCHES,
        json={
            "claim_ids": claim_ids,
            "payer_account": "1001000000000001",
            "payer_bank": "工行上海分行",
        },
        headers=world["cashier"].headers,
    )


def _claim(client: TestClient, world: World, claim_id: str) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/claims/{claim_id}", headers=world["claimant"].headers).json())


def test_bank_account_is_encrypted_masked_and_reauthenticated(
    client: TestClient, world: World, db: Database, passwords: None, settings: Settings
) -> None:
    wrong = set_bank_account(client, world, "claimant", password="nope")
    assert wrong.status_code == 403
    assert wrong.json()["code"] == "reauthentication_failed"
    done = set_bank_account(client, world, "claimant", number="6222 0202 0011 2233 445")
    assert done.status_code == 200, done.text
    assert done.json()["account_number"] == "**** **** 3445"
    assert done.json()["masked"] is True
    employee = world["claimant"].employee
    assert employee is not None
    url = f"/api/v1/employees/{employee.id}/bank-account"
    assert client.get(url, headers=world["manager"].headers).status_code == 404
    assert client.get(url, headers=world["peer"].headers).status_code == 404
    assert (
        client.get(url, headers=world["admin"].headers).json()["account_number"] == "**** **** 3445"
    )
    revealed = client.get(url, headers=world["cashier"].headers).json()
    assert (revealed["account_number"], revealed["masked"]) == (NUMBER, False)
    # Nobody but the employee (or an admin) changes it, and never without their own password.
    other = client.put(
        url,
        json={
            "holder_name": "x",
            "bank_name": "y",
            "account_number": "12345678",
            "current_password": "pw-secret-1",
        },
        headers=world["peer"].headers,
    )
    assert other.status_code == 404
    bad = set_bank_account(client, world, "claimant", number="12ab")
    assert bad.status_code == 422
    with db.transaction() as session:
        row = session.scalars(select(BankAccount)).one()
        assert NUMBER not in row.account_cipher and row.account_cipher.startswith("v1.")
        raw = session.execute(text("SELECT * FROM bank_accounts")).all()
        assert NUMBER not in repr(raw)
        audits = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action.like("bank_account:%"))
            .order_by(AuditRecord.seq)
        ).all()
        assert [a.action for a in audits] == [
            "bank_account:update"
        ]  # the refused one changed nothing
        assert audits[-1].data["after"] == "**** **** 3445"
        assert NUMBER not in repr([a.data for a in audits])


def test_ciphertext_is_bound_to_its_employee_and_keys_rotate(
    client: TestClient, world: World, db: Database, passwords: None, settings: Settings
) -> None:
    from baoxiao.kernel.crypto import SecretBox
    from baoxiao.payments import bankaccounts

    assert set_bank_account(client, world, "claimant").status_code == 200
    assert set_bank_account(client, world, "peer", number="6217000011112222").status_code == 200
    new_box = SecretBox.from_secret("n" * 40, old_secrets=("x" * 40,))
    with db.transaction() as session:
        rows = {r.employee_id: r for r in session.scalars(select(BankAccount))}
        first, second = rows.values()
        with pytest.raises(Exception):  # noqa: B017 - the GCM tag check (InvalidTag)
            settings.secret_box.decrypt(
                first.account_cipher, context=bankaccounts.context(second.employee_id)
            )
        assert bankaccounts.rewrap(session, new_box) == 2
        assert bankaccounts.rewrap(session, new_box) == 0
        assert {bankaccounts.reveal(new_box, r) for r in rows.values()} == {
            NUMBER,
            "6217000011112222",
        }
        assert all(not new_box.needs_rotation(r.account_cipher) for r in rows.values())


def test_batch_pays_each_claim_once_and_exports_bank_files(
    api: Api, client: TestClient, world: World, db: Database, passwords: None
) -> None:
    first = _approved_with_account(api, client, world)
    second = api.approved_claim()
    created = _batch(client, world, [first["id"], second["id"]])
    assert created.status_code == 201, created.text
    batch = created.json()
    assert (batch["item_count"], batch["total"], batch["status"]) == (2, "100.00", "open")
    refs = [i["reference"] for i in batch["items"]]
    assert len(set(refs)) == 2
    assert {i["payee_account"] for i in batch["items"]} == {"**** **** 3445"}
    assert _claim(client, world, first["id"])["status"] == "paying"
    # The same claims again: their payments' outcomes are unknown, so no second reference.
    again = _batch(client, world, [first["id"]])
    assert again.status_code == 409
    assert again.json()["code"] == "payment_outcome_unknown"
    assert again.json()["reference"] in refs

    csv_file = client.get(
        f"{BATCHES}/{batch['id']}/bank-file?format=csv", headers=world["cashier"].headers
    )
    assert csv_file.status_code == 200, csv_file.text
    rows = list(csv.reader(io.StringIO(csv_file.content.decode("utf-8-sig"))))
    assert rows[0][:5] == [
        "batch_reference",
        "payment_reference",
        "claim_number",
        "payee_name",
        "account_number",
    ]
    assert sorted(r[1] for r in rows[1:]) == sorted(refs)
    assert {r[4] for r in rows[1:]} == {NUMBER}
    assert {r[8] for r in rows[1:]} == {"50.00"}
    icbc = client.get(
        f"{BATCHES}/{batch['id']}/bank-file?format=icbc", headers=world["cashier"].headers
    )
    sheet = load_workbook(io.BytesIO(icbc.content)).active
    assert sheet is not None
    table = list(sheet.iter_rows(values_only=True))
    assert table[0][:4] == ("币种", "日期", "明细标志", "顺序号")
    assert [(r[0], r[11], r[13]) for r in table[1:]] == [("人民币", NUMBER, "50.00")] * 2
    # Batches and account numbers are the cashier's: a finance reviewer (who approves)
    # and an admin see neither, so the batch does not exist for them.
    for outsider in ("finance", "admin"):
        refused = client.get(
            f"{BATCHES}/{batch['id']}/bank-file?format=csv", headers=world[outsider].headers
        )
        assert refused.status_code == 404, outsider
    with db.transaction() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "payment.requested")
        ).all()
        data = [e.data for e in events if e.data["claim_id"] in (first["id"], second["id"])]
        assert {d["batch_reference"] for d in data} == {batch["reference"]}
        assert {d["payee_account_masked"] for d in data} == {"**** **** 3445"}
        assert NUMBER not in repr(data)
        exports = session.scalars(
            select(AuditRecord).where(AuditRecord.action == "payment_batch:export")
        ).all()
        assert len(exports) == 2  # the cashier's two downloads; refusals export nothing


def test_a_batch_needs_every_payee_account(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    refused = _batch(client, world, [claim["id"]])
    assert refused.status_code == 422
    assert refused.json()["code"] == "bank_account_missing"
    assert _claim(client, world, claim["id"])["status"] == "approved"  # all or nothing
    assert (
        client.post(
            BATCHES, json={"claim_ids": [claim["id"]]}, headers=world["claimant"].headers
        ).status_code
        == 403
    )


def test_results_duplicates_and_out_of_order(
    api: Api, client: TestClient, world: World, passwords: None
) -> None:
    paid_claim = _approved_with_account(api, client, world)
    failed_claim = api.approved_claim()
    batch = _batch(client, world, [paid_claim["id"], failed_claim["id"]]).json()
    by_claim = {i["claim_id"]: i for i in batch["items"]}
    ok_ref = by_claim[paid_claim["id"]]["reference"]
    bad_ref = by_claim[failed_claim["id"]]["reference"]
    results = {
        "results": [
            {"reference": ok_ref, "status": "succeeded", "external_reference": "ICBC-1"},
            {"reference": bad_ref, "status": "failed", "reason": "户名不符 name mismatch"},
        ]
    }
    url = f"{BATCHES}/{batch['id']}/results"
    done = client.post(url, json=results, headers=world["cashier"].headers)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "closed"
    assert (
        client.post(url, json=results, headers=world["cashier"].headers).status_code == 200
    )  # duplicate
    assert _claim(client, world, paid_claim["id"])["status"] == "paid"
    failed = _claim(client, world, failed_claim["id"])
    assert failed["status"] == "approved"  # payable again
    history = client.get(
        f"/api/v1/claims/{failed_claim['id']}/history", headers=world["claimant"].headers
    ).json()
    assert any(h.get("comment") == "户名不符 name mismatch" for h in history)
    # A late "succeeded" for the failed payment changes nothing: the claim is not paid by it.
    late = client.post(
        url,
        json={"results": [{"reference": bad_ref, "status": "succeeded"}]},
        headers=world["cashier"].headers,
    )
    assert late.status_code == 409
    assert late.json()["code"] == "payment_already_completed"
    assert _claim(client, world, failed_claim["id"])["status"] == "approved"
    retry = _batch(client, world, [failed_claim["id"]])
    assert retry.status_code == 201
    assert retry.json()["items"][0]["reference"] not in (
        ok_ref,
        bad_ref,
    )  # outcome known: new one ok


def test_resend_and_query_keep_the_reference(
    api: Api, client: TestClient, world: World, db: Database, passwords: None
) -> None:
    claim = _approved_with_account(api, client, world)
    batch = _batch(client, world, [claim["id"]]).json()
    payment_id = batch["items"][0]["payment_id"]
    reference = batch["items"][0]["reference"]
    queried = client.post(f"{PAYMENTS}/{payment_id}/query", headers=world["cashier"].headers)
    assert queried.status_code == 200, queried.text
    assert (queried.json()["reference"], queried.json()["query_count"]) == (reference, 1)
    resent = client.post(f"{PAYMENTS}/{payment_id}/resend", headers=world["cashier"].headers)
    assert resent.status_code == 200, resent.text
    assert (resent.json()["reference"], resent.json()["send_count"]) == (reference, 2)
    with db.transaction() as session:
        types = [
            e.type
            for e in session.scalars(
                select(OutboxEvent)
                .where(OutboxEvent.subject_id == claim["id"])
                .order_by(OutboxEvent.sequence)
            )
        ]
        refs = {
            e.data.get("payment_reference")
            for e in session.scalars(
                select(OutboxEvent).where(
                    OutboxEvent.subject_id == claim["id"], OutboxEvent.type.like("payment.%")
                )
            )
        }
    assert types[-3:] == ["payment.requested", "payment.status_requested", "payment.requested"]
    assert refs == {reference}
    # The payee changed bank details after the payment was sent: resend would pay elsewhere.
    assert set_bank_account(client, world, "claimant", number="6217000099998888").status_code == 200
    changed = client.post(f"{PAYMENTS}/{payment_id}/resend", headers=world["cashier"].headers)
    assert changed.status_code == 409
    assert changed.json()["code"] == "payee_changed"
    wrong = client.post(
        f"{PAYMENTS}/{payment_id}/succeed",
        json={"amount": "49.99"},
        headers=world["cashier"].headers,
    )
    assert wrong.status_code == 409
    assert wrong.json()["code"] == "payment_amount_mismatch"
    ok = client.post(
        f"{PAYMENTS}/{payment_id}/succeed",
        json={"amount": "50.00"},
        headers=world["cashier"].headers,
    )
    assert ok.status_code == 200
    after = client.post(f"{PAYMENTS}/{payment_id}/query", headers=world["cashier"].headers)
    assert after.json()["query_count"] == 1  # known now: nothing to ask
    assert (
        client.post(f"{PAYMENTS}/{payment_id}/resend", headers=world["cashier"].headers).status_code
        == 409
    )
    assert (
        client.post(
            f"{PAYMENTS}/{uuid.uuid4()}/query", headers=world["cashier"].headers
        ).status_code
        == 404
    )
