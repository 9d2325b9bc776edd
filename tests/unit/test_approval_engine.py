"""The pure engine: every node type, mode, rule and fallback, and `advance`."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from baoxiao.approvals.conditions import BUILTIN_VARIABLES
from baoxiao.approvals.definition import check_publishable, schema, validate_document
from baoxiao.approvals.engine import TaskState, advance, choose, resolve
from tests.unit.approval_org import NOW, chain_org, delegation, facts, flow, pid

MGR = {"type": "manager", "level": 1}


def people(route: Any) -> list[list[Any]]:
    return [[a.employee_id or a.role for a in s.assignees] for s in route.steps]


def test_manager_at_level_n_and_up_to_grade() -> None:
    org = chain_org()
    r = resolve(
        flow({"id": "m", "approvers": [{"type": "manager", "level": 2}], "fallback": "skip"}),
        facts(),
        org,
        NOW,
    )
    assert people(r) == [[pid(2)]]
    r = resolve(
        flow(
            {"id": "m", "approvers": [{"type": "manager", "up_to_grade": "M2"}], "fallback": "skip"}
        ),
        facts(),
        org,
        NOW,
    )
    assert people(r) == [[pid(3)], [pid(2)]]  # sequential: one step each


def test_department_heads_and_cost_center_owner_and_named_user() -> None:
    org = chain_org()
    r = resolve(
        flow(
            {
                "id": "h",
                "approvers": [{"type": "department_head", "levels": 3}],
                "fallback": "skip",
            },
            {"id": "cc", "approvers": [{"type": "cost_center_owner"}], "fallback": "skip"},
            {"id": "u", "approvers": [{"type": "user", "user": "E0005"}]},
        ),
        facts(),
        org,
        NOW,
    )
    assert people(r) == [[pid(3)], [pid(2)], [pid(1)], [pid(7)], [pid(5)]]


def test_role_in_company_is_one_pool_party() -> None:
    r = resolve(
        flow({"id": "f", "approvers": [{"type": "role", "role": "finance"}], "fallback": "admin"}),
        facts(),
        chain_org(),
        NOW,
    )
    assert people(r) == [["finance"]]


def test_a_department_scoped_holder_joins_the_pool_only_for_claims_in_their_subtree() -> None:
    """Finance is held only by someone whose grant reaches RD and below: a PLAT claim
    goes to that pool, an HQ claim (outside RD) would have nobody able to act, so the
    node falls back to the admins rather than create a task no one may decide."""
    org = chain_org()
    org.roles.pop("finance")
    org.department_roles[("finance", pid(1002))] = frozenset({pid(8)})
    assert org.role_holders("finance", pid(1003)) == {pid(8)}
    assert org.role_holders("finance", pid(1001)) == frozenset()
    assert org.role_holders("finance") == frozenset()
    node = {"id": "f", "approvers": [{"type": "role", "role": "finance"}], "fallback": "admin"}
    assert people(resolve(flow(node), facts(dept=1003), org, NOW)) == [["finance"]]
    assert people(resolve(flow(node), facts(dept=1001), org, NOW)) == [["admin"]]


@pytest.mark.parametrize(("mode", "expected"), [("countersign", "all"), ("any", "any")])
def test_countersign_and_any_make_one_parallel_step(mode: str, expected: str) -> None:
    node = {
        "id": "n",
        "mode": mode,
        "fallback": "skip",
        "approvers": [{"type": "user", "user": "E0005"}, {"type": "user", "user": "E0007"}],
    }
    r = resolve(flow(node), facts(), chain_org(), NOW)
    assert [(s.mode, len(s.assignees)) for s in r.steps] == [(expected, 2)]


def test_condition_skips_a_node_and_explains_it() -> None:
    r = resolve(
        flow(
            {"id": "big", "when": "claim.total > 1000.0", "approvers": [MGR], "fallback": "skip"},
            {"id": "f", "approvers": [{"type": "user", "user": "E0005"}]},
        ),
        facts(total="100"),
        chain_org(),
        NOW,
    )
    assert people(r) == [[pid(5)]]
    assert r.trace[0].included is False
    assert "is false" in r.trace[0].reasons[0]


def test_claimant_as_approver_goes_to_their_manager() -> None:
    r = resolve(
        flow({"id": "u", "approvers": [{"type": "user", "user": "E0004"}]}),
        facts(claimant=4),
        chain_org(),
        NOW,
    )
    assert people(r) == [[pid(3)]]
    assert "claimant" in " ".join(r.trace[0].reasons)


def test_repeated_approver_is_skipped_only_when_configured() -> None:
    nodes = (
        {"id": "a", "approvers": [MGR], "fallback": "skip"},
        {"id": "b", "approvers": [{"type": "department_head"}], "fallback": "skip"},
    )
    assert people(resolve(flow(*nodes), facts(), chain_org(), NOW)) == [[pid(3)]]
    keep = flow(*nodes, settings={"skip_repeated_approver": False})
    assert people(resolve(keep, facts(), chain_org(), NOW)) == [[pid(3)], [pid(3)]]


@pytest.mark.parametrize(
    ("fallback", "expected"),
    [("skip", [[pid(5)]]), ("escalate", [[pid(3)], [pid(5)]]), ("admin", [["admin"], [pid(5)]])],
)
def test_fallbacks_for_an_empty_node(fallback: str, expected: list[list[Any]]) -> None:
    org = chain_org()
    org.cost_centers.clear()  # no owner: the node resolves to nobody
    r = resolve(
        flow(
            {"id": "o", "approvers": [{"type": "cost_center_owner"}], "fallback": fallback},
            {"id": "u", "approvers": [{"type": "user", "user": "E0005"}]},
        ),
        facts(),
        org,
        NOW,
    )
    assert people(r) == expected


def test_everything_skipped_is_never_silently_approved() -> None:
    r = resolve(
        flow({"id": "m", "approvers": [MGR], "fallback": "skip"}),
        facts(claimant=1),
        chain_org(),
        NOW,
    )  # the CEO has no manager
    assert people(r) == [["admin"]]
    assert r.steps[0].node_id == "final_fallback"


def test_vacant_manager_is_passed_over() -> None:
    org = chain_org()
    org.people[pid(3)] = org.people[pid(3)].__class__(
        pid(3), "p3", "E0003", pid(2), None, "M1", False
    )
    r = resolve(flow({"id": "m", "approvers": [MGR], "fallback": "skip"}), facts(), org, NOW)
    assert people(r) == [[pid(2)]]


def test_delegation_goes_to_the_delegate_acting_for_the_delegator() -> None:
    org = chain_org(delegations=[delegation(3, 7)])
    r = resolve(flow({"id": "m", "approvers": [MGR], "fallback": "skip"}), facts(), org, NOW)
    [[a]] = [list(s.assignees) for s in r.steps]
    assert (a.employee_id, a.acting_for) == (pid(7), pid(3))


def test_delegation_to_the_claimant_or_in_a_cycle_is_ignored() -> None:
    org = chain_org(delegations=[delegation(3, 4)])  # the manager delegates to the claimant
    r = resolve(flow({"id": "m", "approvers": [MGR], "fallback": "skip"}), facts(), org, NOW)
    assert people(r) == [[pid(3)]]
    org = chain_org(delegations=[delegation(3, 7), delegation(7, 3)])
    r = resolve(flow({"id": "m", "approvers": [MGR], "fallback": "skip"}), facts(), org, NOW)
    assert people(r) == [[pid(7)]]


def test_dual_control_adds_a_second_distinct_approver() -> None:
    one = flow(
        {"id": "m", "approvers": [MGR], "fallback": "skip"}, settings={"dual_control_above": "1000"}
    )
    assert people(resolve(one, facts(total="999"), chain_org(), NOW)) == [[pid(3)]]
    assert people(resolve(one, facts(total="1000"), chain_org(), NOW)) == [[pid(3)], [pid(2)]]


def test_advance_modes() -> None:
    def adv(*states: tuple[int, str, str], total: str = "1") -> str:
        history = [TaskState(s, m, st, pid(90 + i)) for i, (s, m, st) in enumerate(states)]  # type: ignore[arg-type]
        d = advance(history, total=Decimal(total), dual_control_above=Decimal(100))
        return f"{d.kind}:{d.step}"

    assert adv((1, "all", "pending"), (2, "all", "waiting")) == "wait:1"
    assert adv((1, "all", "approved"), (2, "all", "waiting")) == "activate:2"
    assert adv((1, "all", "approved"), (1, "all", "pending")) == "wait:1"  # countersign
    assert adv((1, "any", "approved"), (1, "any", "cancelled")) == "approved:None"
    assert adv((1, "all", "approved"), (2, "all", "rejected")) == "rejected:None"
    assert adv((1, "all", "returned")) == "returned:None"
    assert adv((1, "all", "approved"), total="100") == "second_approver:None"
    assert adv((1, "all", "approved"), (2, "all", "approved"), total="100") == "approved:None"


def test_choose_by_priority_and_match() -> None:
    f = facts(total="6000", categories=("TRAVEL",))
    low = flow({"id": "a", "approvers": [MGR], "fallback": "skip"}, priority=1)
    big = flow(
        {"id": "a", "approvers": [MGR], "fallback": "skip"},
        key="big",
        priority=5,
        match={"min_amount": "5000"},
    )
    travel = flow(
        {"id": "a", "approvers": [MGR], "fallback": "skip"},
        key="tr",
        priority=9,
        match={"categories": ["TRAVEL"], "departments": ["RD"]},
    )
    assert choose([(low, 1), (big, 2), (travel, 3)], f) == (travel, 3)
    assert choose([(low, 1), (big, 2)], facts(total="10")) == (low, 1)
    assert choose([(big, 2)], facts(total="10")) is None


# ---- documents -------------------------------------------------------------------------


def test_schema_errors_point_at_the_field() -> None:
    problems = validate_document(
        {
            "key": "x",
            "name": "x",
            "nodes": [{"id": "a", "approvers": [{"type": "manager", "level": 0}], "mode": "both"}],
        }
    )
    fields = {p.pointer for p in problems}
    assert {"/nodes/0/approvers/0/level", "/nodes/0/mode"} <= fields


def test_publish_rejects_bad_conditions_unreachable_nodes_and_missing_fallbacks() -> None:
    doc = {
        "key": "x",
        "name": "x",
        "nodes": [
            {"id": "a", "when": "claim.total >", "approvers": [MGR], "fallback": "skip"},
            {"id": "b", "when": "false", "approvers": [MGR], "fallback": "skip"},
            {"id": "c", "approvers": [MGR]},
            {"id": "d", "when": "nope.x == 1", "approvers": [MGR], "fallback": "skip"},
        ],
    }
    problems = {p.pointer: p.message for p in check_publishable(doc, BUILTIN_VARIABLES)}
    assert set(problems) == {"/nodes/0/when", "/nodes/1/when", "/nodes/2/fallback", "/nodes/3/when"}
    assert "unreachable" in problems["/nodes/1/when"]
    assert "nope" in problems["/nodes/3/when"]


def test_shipped_examples_and_schema_copy_are_valid() -> None:
    root = Path(__file__).resolve().parents[2]
    published = json.loads((root / "docs/approval-flow.schema.json").read_text())
    assert published == schema()
    for path in sorted((root / "src/baoxiao/approvals/examples").glob("*.yaml")):
        assert check_publishable(yaml.safe_load(path.read_text()), BUILTIN_VARIABLES) == [], path
