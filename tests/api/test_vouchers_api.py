"""Vouchers: balanced on approval and payment, input VAT apart, Kingdee/Yonyou/JSON exports."""

from __future__ import annotations

import io
import uuid
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from baoxiao.kernel.db import Database
from baoxiao.models import ClaimLine, CostCenter, Employee, OutboxEvent, Voucher, VoucherLine
from baoxiao.payments import vouchers
from tests.api.conftest import LINE, Api
from tests.support.factories import World

VOUCHERS = "/api/v1/vouchers"


def _vouchers(client: TestClient, world: World, claim_id: str) -> list[dict[str, Any]]:
    response = client.get(f"{VOUCHERS}?claim_id={claim_id}", headers=world["finance"].headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def _sides(voucher: dict[str, Any]) -> list[tuple[str, str, str]]:
    return [(line["account"], line["debit"], line["credit"]) for line in voucher["lines"]]


def test_approval_and_payment_vouchers(
    api: Api, client: TestClient, world: World, db: Database
) -> None:
    with db.transaction() as session:
        center = session.scalars(
            select(CostCenter).where(CostCenter.company_id == world.company.id)
        ).one()
        employee = session.get(Employee, world["claimant"].employee.id)  # type: ignore[union-attr]
        assert employee is not None
        employee.cost_center_id = center.id
    claim = api.create(
        lines=[{**LINE, "amount": "109.00"}, {**LINE, "category_code": "MEAL", "amount": "60.00"}]
    )
    with db.transaction() as session:  # as if a rail e-ticket backed the first line (9% input VAT)
        line = session.scalars(
            select(ClaimLine).where(
                ClaimLine.claim_id == uuid.UUID(claim["id"]), ClaimLine.position == 1
            )
        ).one()
        line.deductible_tax = Decimal("9.00")
    api.submit(claim["id"])
    api.decide(claim["id"], "manager")
    assert _vouchers(client, world, claim["id"]) == []  # not approved yet
    api.decide(claim["id"], "finance")
    [accrual] = _vouchers(client, world, claim["id"])
    assert accrual["kind"] == "accrual"
    assert _sides(accrual) == [
        ("6602", "100.00", "0.00"),  # taxi, net of VAT
        ("22210101", "9.00", "0.00"),  # input VAT
        ("6602", "60.00", "0.00"),  # meal: no deductible VAT
        ("2241", "0.00", "169.00"),  # employee payable
    ]
    assert accrual["total_debit"] == accrual["total_credit"]
    assert {line["cost_center"] for line in accrual["lines"][:1]} == {"CC1"}
    paid = client.post(f"/api/v1/claims/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    assert paid.status_code == 201
    accrual_again, payment = _vouchers(client, world, claim["id"])
    assert accrual_again["number"] == accrual["number"]
    assert payment["kind"] == "payment"
    assert _sides(payment) == [("2241", "169.00", "0.00"), ("1002", "0.00", "169.00")]
    assert payment["number"].startswith(f"V-{world.company.code}-")
    with db.transaction() as session:
        events = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "voucher.created")
        ).all()
        assert {e.data["number"] for e in events} >= {accrual["number"], payment["number"]}


def test_mappings_override_accounts(api: Api, client: TestClient, world: World) -> None:
    headers = world["finance"].headers
    for key, account in (
        ("category:TAXI", "6601.09"),
        ("employee_payable", "2241.01"),
        ("bank", "1002.03"),
    ):
        response = client.put(
            "/api/v1/account-mappings", json={"key": key, "account": account}, headers=headers
        )
        assert response.status_code == 200, response.text
    mapped = client.get("/api/v1/account-mappings", headers=headers).json()
    assert mapped["bank"] == "1002.03" and mapped["input_vat"] == "22210101"
    bad = client.put(
        "/api/v1/account-mappings", json={"key": "nonsense", "account": "1"}, headers=headers
    )
    assert bad.status_code == 422
    assert (
        client.get("/api/v1/account-mappings", headers=world["claimant"].headers).status_code == 403
    )
    claim = api.approved_claim()
    client.post(f"/api/v1/claims/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    accrual, payment = _vouchers(client, world, claim["id"])
    assert _sides(accrual) == [("6601.09", "50.00", "0.00"), ("2241.01", "0.00", "50.00")]
    assert _sides(payment) == [("2241.01", "50.00", "0.00"), ("1002.03", "0.00", "50.00")]


def test_kingdee_and_yonyou_sheets(api: Api, client: TestClient, world: World) -> None:
    claim = api.approved_claim()
    client.post(f"/api/v1/claims/{claim['id']}/mark-paid", headers=world["cashier"].headers)
    for fmt, header, debit_col, credit_col in (
        ("kingdee", "凭证日期", 11, 12),
        ("yonyou", "凭证类别", 6, 7),
    ):
        response = client.get(f"{VOUCHERS}/export?format={fmt}", headers=world["finance"].headers)
        assert response.status_code == 200, response.text
        sheet = load_workbook(io.BytesIO(response.content)).active
        assert sheet is not None
        rows = list(sheet.iter_rows(values_only=True))
        assert rows[0][0] == header
        debits = sum(Decimal(r[debit_col]) for r in rows[1:] if r[debit_col])
        credits = sum(Decimal(r[credit_col]) for r in rows[1:] if r[credit_col])
        assert debits == credits == Decimal("100.00")  # accrual 50 + payment 50
    assert (
        client.get(f"{VOUCHERS}/export?format=sap", headers=world["finance"].headers).status_code
        == 422
    )
    assert (
        client.get(
            f"{VOUCHERS}/export?format=kingdee", headers=world["claimant"].headers
        ).status_code
        == 403
    )


def test_an_unbalanced_voucher_cannot_exist(db: Database, world: World) -> None:
    with pytest.raises(vouchers.UnbalancedVoucher):
        vouchers.balanced(
            [
                vouchers.Entry("6602", "x", debit=Decimal("10")),
                vouchers.Entry("2241", "x", credit=Decimal("9.99")),
            ]
        )
    with pytest.raises(vouchers.UnbalancedVoucher):
        vouchers.balanced([vouchers.Entry("6602", "x", debit=Decimal("1"), credit=Decimal("1"))])
    with pytest.raises(IntegrityError), db.transaction() as session:  # the database refuses it too
        session.add(
            Voucher(
                company_id=world.company.id,
                number="V-X",
                kind="accrual",
                source_key="x",
                voucher_date=__import__("datetime").date(2026, 11, 1),
                currency="CNY",
                total_debit=Decimal("10"),
                total_credit=Decimal("9"),
                summary="x",
            )
        )
        session.flush()
    with pytest.raises(IntegrityError), db.transaction() as session:
        voucher = Voucher(
            company_id=world.company.id,
            number="V-Y",
            kind="accrual",
            source_key="y",
            voucher_date=__import__("datetime").date(2026, 11, 1),
            currency="CNY",
            total_debit=Decimal("10"),
            total_credit=Decimal("10"),
            summary="y",
        )
        voucher.lines = [
            VoucherLine(
                position=1, account="1", summary="", debit=Decimal("10"), credit=Decimal("10")
            )
        ]
        session.add(voucher)
        session.flush()
