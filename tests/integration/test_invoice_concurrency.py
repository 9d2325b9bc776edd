"""50 claims race for one invoice with real commits: exactly one wins, the rest get 409."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from baoxiao.claims import receipts
from baoxiao.claims import service as claims
from baoxiao.claims.schemas import ClaimCreate, ClaimLineCreate
from baoxiao.identity.principal import Principal
from baoxiao.identity.service import authenticate_token
from baoxiao.invoices.errors import InvoiceDuplicate
from baoxiao.invoices.schemas import InvoiceAttach
from baoxiao.kernel.db import Database
from baoxiao.models import Invoice
from baoxiao.models.invoice import LIVE_STATUSES
from tests.support import invoice_samples as s
from tests.support.factories import build_world

RACERS = 50


def test_fifty_parallel_attachments_of_one_invoice(committing_db: Database) -> None:
    with committing_db.transaction() as session:
        world = build_world(session)
        token = world["claimant"].token
    with committing_db.transaction() as session:
        principal: Principal = authenticate_token(session, token)
    targets: list[tuple[uuid.UUID, uuid.UUID]] = []
    line = ClaimLineCreate(
        category_code="HOTEL", expense_date=date(2026, 11, 1), amount=Decimal("100.00")
    )
    for index in range(RACERS):
        with committing_db.transaction() as session:
            claim = claims.create_draft(
                session, principal, ClaimCreate(reason=f"trip {index}", lines=[line])
            )
            targets.append((claim.id, claim.lines[0].id))

    barrier = threading.Barrier(RACERS)
    body = InvoiceAttach(qr_payload=s.qr_payload(s.DIGITAL))

    def attempt(target: tuple[uuid.UUID, uuid.UUID]) -> str:
        barrier.wait(timeout=60)
        try:
            with committing_db.transaction() as session:
                receipts.attach_invoice(session, principal, target[0], target[1], body, None)
        except InvoiceDuplicate as exc:
            return exc.code
        return "ok"

    with ThreadPoolExecutor(max_workers=RACERS) as pool:
        outcomes = list(pool.map(attempt, targets, timeout=300))

    assert outcomes.count("ok") == 1
    assert outcomes.count("invoice_duplicate") == RACERS - 1
    with committing_db.transaction() as session:
        live = session.scalar(
            select(func.count()).where(
                Invoice.invoice_key == s.DIGITAL.key, Invoice.status.in_(LIVE_STATUSES)
            )
        )
        total = session.scalar(select(func.count()).select_from(Invoice))
    assert live == 1
    assert total == 1  # the losers' transactions rolled back entirely
