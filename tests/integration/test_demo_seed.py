"""The demo company, seeded through the real services, on both databases."""

from __future__ import annotations

import uuid
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import InstrumentedAttribute

from baoxiao.audit import service as audit
from baoxiao.demo.seed import DEMO_CODE, DEMO_LOGINS, PEOPLE, seed
from baoxiao.identity.passwords import verify_password
from baoxiao.kernel.crypto import SecretBox
from baoxiao.kernel.db import Database
from baoxiao.models import (
    Advance,
    AuditRecord,
    BankAccount,
    Budget,
    Claim,
    Company,
    Department,
    Employee,
    OutboxEvent,
    Payment,
    User,
)

BOX = SecretBox.from_secret("d" * 40)
STATUSES = {
    "draft": 1,
    "approving": 2,
    "approved": 1,
    "paying": 1,
    "paid": 3,  # two claims and li.na's travel advance
    "returned": 1,
    "rejected": 1,
    "withdrawn": 1,
    "cancelled": 1,
}


def _counts(db: Database) -> dict[str, object]:
    with db.transaction() as session:
        company_id = session.scalars(select(Company.id).where(Company.code == DEMO_CODE)).one()

        def count(column: InstrumentedAttribute[uuid.UUID]) -> int:
            return session.scalar(select(func.count()).where(column == company_id)) or 0

        return {
            "companies": session.scalar(select(func.count()).select_from(Company)),
            "employees": count(Employee.company_id),
            "users": count(User.company_id),
            "departments": count(Department.company_id),
            "claims": count(Claim.company_id),
            "payments": count(Payment.company_id),
            "statuses": dict(
                session.execute(
                    select(Claim.status, func.count())
                    .where(Claim.company_id == company_id)
                    .group_by(Claim.status)
                ).all()
            ),
            "audit": session.scalar(select(func.count()).select_from(AuditRecord)),
            "outbox": session.scalar(select(func.count()).select_from(OutboxEvent)),
        }


def test_demo_seed_runs_once_and_verifies(db: Database) -> None:
    with db.transaction() as session:
        assert seed(session, BOX) is True
    first = _counts(db)
    assert {k: v for k, v in first.items() if k not in ("audit", "outbox")} == {
        "companies": 1,
        "employees": 30,
        "users": 30,
        "departments": 9,
        "claims": 12,
        "payments": 4,
        "statuses": STATUSES,
    }
    assert len(PEOPLE) == 30
    assert isinstance(first["audit"], int) and first["audit"] > 40
    assert isinstance(first["outbox"], int) and first["outbox"] > 20

    with db.transaction() as session:
        assert seed(session, BOX) is False
    assert _counts(db) == first

    with db.transaction() as session:
        result = audit.verify(session)
        assert result == audit.VerifyResult(ok=True, checked=first["audit"])


def test_demo_claims_carry_real_money_and_logins_work(db: Database) -> None:
    with db.transaction() as session:
        seed(session)
    with db.transaction() as session:
        by_reason = {c.reason: c for c in session.scalars(select(Claim))}
        tokyo = by_reason["东京客户拜访"]
        # 32000 JPY and 8600 JPY at 0.0471, each rounded half up: 1507.20 + 405.06.
        assert (tokyo.status, tokyo.currency, tokyo.total_amount) == (
            "paying",
            "CNY",
            Decimal("1912.26"),
        )
        assert [(ln.amount, ln.currency, ln.amount_base) for ln in tokyo.lines] == [
            (Decimal("32000"), "JPY", Decimal("1507.20")),
            (Decimal("8600"), "JPY", Decimal("405.06")),
        ]
        assert by_reason["北京客户现场部署差旅"].total_amount == Decimal(
            "2203.00"
        )  # 553 + 1350 + 300
        assert by_reason["技术培训报名费"].status == "approved"
        payments = session.scalars(select(Payment).order_by(Payment.reference)).all()
        assert sorted((p.status, p.amount) for p in payments) == [
            ("pending", Decimal("1912.26")),
            ("succeeded", Decimal("199.00")),
            ("succeeded", Decimal("199.00")),
            ("succeeded", Decimal("3000.00")),  # the travel advance
        ]
        paid = [c for c in by_reason.values() if c.status == "paid"]
        assert len(paid) == 3 and all(
            c.paid_at is not None and c.approved_at is not None for c in paid
        )

        names = [login.username for login in DEMO_LOGINS]
        users = {
            u.username: u for u in session.scalars(select(User).where(User.username.in_(names)))
        }
        assert sorted(users) == sorted(names)
        assert all(verify_password(u.password_hash, "baoxiao-demo") for u in users.values())
        roles = {name: sorted(r.role for r in users[name].roles) for name in names}
        assert roles == {
            "li.na": ["employee"],
            "liu.yang": ["employee", "manager"],
            "zhao.min": ["employee", "finance", "manager"],
            "sun.li": ["cashier", "employee", "finance"],  # the demo's cashier (#5)
            "chen.jie": ["admin", "employee", "integrator", "manager"],
        }


def test_demo_shows_budgets_an_advance_and_bank_accounts(db: Database) -> None:
    with db.transaction() as session:
        seed(session, BOX)
    with db.transaction() as session:
        budgets = {b.code: b for b in session.scalars(select(Budget))}
        assert {code.rsplit("-", 1)[0] for code in budgets} == {
            "RD-PLAT",
            "RD-APP",
            "SALES-E",
            "SALES-S",
            "HR",
            "TRAVEL",
        }
        assert (
            sum(b.occupied + b.consumed for b in budgets.values()) > 0
        )  # the demo claims use them
        advance = session.scalars(select(Advance)).one()
        assert (advance.status, advance.amount) == ("open", Decimal("3000.0000"))
        accounts = session.scalars(select(BankAccount)).all()
        assert len(accounts) == 5
        assert all(a.account_cipher.startswith("v1.") for a in accounts)
