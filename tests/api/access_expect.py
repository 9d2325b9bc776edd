"""The expected answer of each cell of the access matrix, from the oracle of
access_world.py (ROLE_RIGHTS and the data scopes) and the rule of its endpoint."""

from __future__ import annotations

from baoxiao.identity.permissions import Right, rights_of
from tests.api.access_pages import Page
from tests.api.access_rules import Rule
from tests.api.access_world import (
    B_SIDE,
    TEAMMATE,
    AccessWorld,
    holds,
    holds_in,
    may_see,
    may_take_part,
    right_reaches,
)

RELATIONS = ["own", "same_team", "other_department", "other_company"]
SALES = ("outsider", "budget_owner")
SIDES = ("A", "B")


def target(aw: AccessWorld, who: str, relation: str) -> str | None:
    """The owner of the claim that stands in `relation` to `who` (None: no such claim)."""
    person = aw.world[who]
    if relation == "own":
        return who if person.employee is not None else None
    if relation == "same_team":
        return TEAMMATE.get(who)
    b_side = who in B_SIDE
    if relation == "other_department":  # SALES' people: R&D's claimant; the rest: SALES'
        return "foreign_finance" if b_side else ("claimant" if who in SALES else "outsider")
    return "claimant" if b_side else "foreigner"


def related(aw: AccessWorld, who: str) -> list[tuple[str, str]]:
    """(relation, owner) of each claim that stands in a relation to `who`; a claim that
    stands in two (company B has two people) is asked once."""
    owners: dict[str, str] = {}
    for relation in RELATIONS:
        owner = target(aw, who, relation)
        if owner is not None and owner not in owners:
            owners[owner] = relation
    return [(relation, owner) for owner, relation in owners.items()]


def expected_claim_cell(aw: AccessWorld, rule: Rule, who: str, owner: str) -> int:
    claim = aw.claims[owner]
    if not may_see(aw, who, claim):
        return 404
    if rule.kind in ("read", "visible"):
        return rule.ok
    if rule.kind == "takes_part":
        return rule.ok if may_take_part(aw, who, claim) else 403
    if rule.kind == "owner":
        if owner != who:
            return 403
        submitted = claim["status"] != "draft" and rule.submitted is not None
        return rule.submitted if submitted else rule.ok  # type: ignore[return-value]
    if rule.kind == "pay":
        if owner == who or not right_reaches(aw.world, who, Right.CLAIM_PAY, claim):
            return 403
        return 409  # every claim here is a draft or being approved: not payable yet
    raise AssertionError(rule)


def expected_function(aw: AccessWorld, rule: Rule | Page, who: str, side: str) -> int:
    """A company function on an object of company `side` (or none): with the right held in
    that company, its success; without it, `refused` at home and 404 for another company's."""
    assert rule.right is not None
    if holds_in(aw.world, who, rule.right, aw.company_id(side)):
        return rule.ok
    home = aw.company_of(who) == side
    return rule.refused if home or not holds(aw.world, who, rule.right) else 404


def sides(aw: AccessWorld, rule: Rule | Page, who: str) -> list[str]:
    """The companies whose object `who` asks for: their own; and the other's, when they
    hold the right at home (without it the answer never depends on the object: it is
    refused before one is looked at, or by the same lookup that refuses their own)."""
    home = aw.company_of(who)
    if rule.on is None:
        return [home]
    sides = [home] if rule.right is None or not holds(aw.world, who, rule.right) else SIDES
    return [side for side in sides if side in aw.objects[rule.on]]


def expected_page(aw: AccessWorld, page: Page, who: str, owner: str | None, side: str) -> int:
    if page.kind in ("signed_in", "self", "session"):
        lacks = aw.world[who].employee is None and page.no_employee is not None
        return page.no_employee if lacks else page.ok  # type: ignore[return-value]
    if page.kind in ("read", "owner"):
        assert owner is not None
        claim = aw.claims[owner]
        if not may_see(aw, who, claim):
            return 404
        if page.kind == "read":
            return page.ok
        if owner != who:
            return 403
        submitted = claim["status"] != "draft" and page.submitted is not None
        return page.submitted if submitted else page.ok  # type: ignore[return-value]
    if page.kind == "finance":
        grants = aw.world[who].user.roles
        if any(Right.CLAIM_PAY in rights_of(g.role) for g in grants):  # at any data scope
            return 200
        return 303 if holds(aw.world, who, Right.VOUCHER_EXPORT) else 403
    if page.kind == "right":
        return expected_function(aw, page, who, side)
    raise AssertionError(page)


def cells(aw: AccessWorld, page: Page, who: str) -> list[tuple[str | None, str]]:
    """(claim owner, company side) of each cell of one actor for this page."""
    if page.kind in ("read", "owner"):
        return [(owner, "A") for _relation, owner in related(aw, who)]
    if page.kind in ("pay", "payment"):
        return [(None, side) for side in SIDES if side in aw.objects[page.on or ""]]
    return [(None, side) for side in sides(aw, page, who)]


def someone_elses(aw: AccessWorld, who: str) -> list[tuple[str | None, str]]:
    """A claimant's form posted by someone else: a teammate's claim (seen by managers and
    reviewers, not by peers), else one of another department."""
    owner = target(aw, who, "same_team") or target(aw, who, "other_department")
    return [(owner, "A")]


def refusal(aw: AccessWorld, page: Page, who: str, owner: str | None, side: str) -> int | None:
    """What a form post must answer for this cell, or None when it is allowed."""
    if page.kind == "owner":
        assert owner is not None
        if owner == who:
            return None
        return 403 if may_see(aw, who, aw.claims[owner]) else 404
    if page.kind in ("pay", "payment"):
        claim_id = aw.objects[page.on or ""][side]["claim_id"]
        claim = next(c for c in aw.claims.values() if c["id"] == claim_id)
        if not may_see(aw, who, claim):
            return 404
        return None if right_reaches(aw.world, who, Right.CLAIM_PAY, claim) else 403
    if page.kind == "task":
        return None if who == aw.task_holder else page.refused
    expected = expected_function(aw, page, who, side)
    return None if expected == page.ok else expected
