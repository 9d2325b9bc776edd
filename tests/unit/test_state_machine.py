"""The claim state machine: one table of legal transitions, everything else refused."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from baoxiao.kernel.errors import Conflict
from baoxiao.models.claim import (
    EDITABLE,
    EVENT_TYPES,
    TERMINAL,
    TRANSITIONS,
    Claim,
    ClaimAction,
    ClaimNotEditable,
    ClaimStatus,
    IllegalTransition,
)

S, A = ClaimStatus, ClaimAction
ALL_PAIRS = list(itertools.product(ClaimStatus, ClaimAction))
ILLEGAL = [pair for pair in ALL_PAIRS if pair not in TRANSITIONS]
AT = datetime(2026, 11, 28, 4, 0, tzinfo=UTC)


def _claim(status: ClaimStatus) -> Claim:
    return Claim(
        id=uuid.uuid4(),
        company_id=uuid.uuid4(),
        claimant_id=uuid.uuid4(),
        number="BX-2026-000042",
        reason="trip",
        currency="CNY",
        total_amount=Decimal("128.50"),
        status=status.value,
    )


def test_the_table_is_the_documented_one() -> None:
    assert TRANSITIONS == {
        (S.DRAFT, A.SUBMIT): S.SUBMITTED,
        (S.RETURNED, A.SUBMIT): S.SUBMITTED,
        (S.WITHDRAWN, A.SUBMIT): S.SUBMITTED,
        (S.SUBMITTED, A.START_APPROVAL): S.APPROVING,
        (S.SUBMITTED, A.APPROVE): S.APPROVED,
        (S.SUBMITTED, A.WITHDRAW): S.WITHDRAWN,
        (S.APPROVING, A.APPROVE): S.APPROVED,
        (S.APPROVING, A.REJECT): S.REJECTED,
        (S.APPROVING, A.RETURN): S.RETURNED,
        (S.APPROVING, A.WITHDRAW): S.WITHDRAWN,
        (S.DRAFT, A.CANCEL): S.CANCELLED,
        (S.RETURNED, A.CANCEL): S.CANCELLED,
        (S.WITHDRAWN, A.CANCEL): S.CANCELLED,
        (S.APPROVED, A.START_PAYMENT): S.PAYING,
        (S.PAYING, A.PAY): S.PAID,
        (S.PAYING, A.FAIL_PAYMENT): S.APPROVED,
    }
    assert len(ILLEGAL) == len(ClaimStatus) * len(ClaimAction) - 16


@pytest.mark.parametrize(("status", "action"), ILLEGAL, ids=[f"{s}-{a}" for s, a in ILLEGAL])
def test_every_pair_outside_the_table_is_refused(status: ClaimStatus, action: ClaimAction) -> None:
    claim = _claim(status)
    assert not claim.can(action)
    with pytest.raises(IllegalTransition) as caught:
        claim.transition(action, at=AT)
    error = caught.value
    assert error.code == "invalid_transition"
    assert error.status == 409
    assert isinstance(error, Conflict)
    assert error.params == {"current_status": status.value, "action": action.value}
    assert error.render("en") == f"A claim in status {status.value} cannot {action.value}."
    assert status.value in error.render("zh-CN")
    # A refused transition leaves the claim exactly as it was.
    assert claim.status == status.value
    assert claim.submitted_at is None and claim.approved_at is None and claim.paid_at is None


@pytest.mark.parametrize(
    ("status", "action"), list(TRANSITIONS), ids=[f"{s}-{a}" for s, a in TRANSITIONS]
)
def test_every_pair_in_the_table_moves_and_emits_its_event(
    status: ClaimStatus, action: ClaimAction
) -> None:
    claim = _claim(status)
    assert claim.can(action)
    event = claim.transition(action, at=AT)
    target = TRANSITIONS[(status, action)]
    assert claim.status == target
    expected_type = EVENT_TYPES[action]
    if expected_type is None:
        assert event is None
        return
    assert event is not None
    assert event.type == expected_type
    assert event.subject_type == "claim"
    assert event.subject_id == str(claim.id)
    assert event.company_id == str(claim.company_id)
    assert event.data == {
        "claim_id": str(claim.id),
        "number": "BX-2026-000042",
        "status": target.value,
        "previous_status": status.value,
        "claimant_id": str(claim.claimant_id),
        "total_amount": "128.50",
        "currency": "CNY",
    }


def test_event_types_cover_every_action() -> None:
    assert set(EVENT_TYPES) == set(ClaimAction)
    assert EVENT_TYPES[A.START_APPROVAL] is None  # internal step, nothing published
    published = [t for t in EVENT_TYPES.values() if t is not None]
    assert len(published) == len(set(published)) == len(ClaimAction) - 1


@pytest.mark.parametrize("status", sorted(TERMINAL))
def test_terminal_states_have_no_way_out(status: ClaimStatus) -> None:
    assert [a for (s, a) in TRANSITIONS if s is status] == []
    claim = _claim(status)
    for action in ClaimAction:
        with pytest.raises(IllegalTransition):
            claim.transition(action)
    assert claim.status == status


def test_terminal_and_editable_sets() -> None:
    assert {S.PAID, S.REJECTED, S.CANCELLED} == TERMINAL
    assert {S.DRAFT, S.RETURNED, S.WITHDRAWN} == EDITABLE
    sources = {s for s, _a in TRANSITIONS}
    assert set(ClaimStatus) - sources == TERMINAL  # every other state has a way on
    for status in EDITABLE:  # an editable claim can always be submitted or abandoned
        assert TRANSITIONS[(status, A.SUBMIT)] is S.SUBMITTED
        assert TRANSITIONS[(status, A.CANCEL)] is S.CANCELLED


def test_every_state_is_reachable_from_draft() -> None:
    reached = {S.DRAFT}
    frontier = [S.DRAFT]
    while frontier:
        current = frontier.pop()
        for (source, _action), target in TRANSITIONS.items():
            if source is current and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(ClaimStatus)


def _milestones(claim: Claim) -> tuple[datetime | None, ...]:
    return claim.submitted_at, claim.approved_at, claim.paid_at


def test_transition_stamps_the_milestones() -> None:
    claim = _claim(S.DRAFT)
    claim.transition(A.SUBMIT, at=AT)
    assert claim.submitted_at == AT
    claim.transition(A.START_APPROVAL, at=AT)
    assert claim.approved_at is None
    approved_at = AT.replace(hour=5)
    claim.transition(A.APPROVE, at=approved_at)
    assert claim.approved_at == approved_at
    claim.transition(A.START_PAYMENT, at=AT)
    assert claim.paid_at is None
    paid_at = AT.replace(hour=6)
    claim.transition(A.PAY, at=paid_at)
    assert claim.status == S.PAID
    assert _milestones(claim) == (AT, approved_at, paid_at)


def test_failed_payment_goes_back_to_approved() -> None:
    claim = _claim(S.PAYING)
    event = claim.transition(A.FAIL_PAYMENT, at=AT)
    assert claim.status == S.APPROVED
    assert event is not None and event.type == "payment.failed"
    assert claim.paid_at is None
    assert claim.can(A.START_PAYMENT)


@pytest.mark.parametrize("status", list(ClaimStatus))
def test_only_editable_claims_can_be_edited(status: ClaimStatus) -> None:
    claim = _claim(status)
    assert claim.is_editable == (status in EDITABLE)
    if status in EDITABLE:
        claim.ensure_editable()
        return
    with pytest.raises(ClaimNotEditable) as caught:
        claim.ensure_editable()
    assert caught.value.code == "claim_not_editable"
    assert caught.value.status == 409
    assert caught.value.params == {"number": "BX-2026-000042", "current_status": status.value}
