"""Flow documents: JSON Schema validation, parsing, and the checks publishing needs.

A document is plain JSON data (YAML is accepted at the API and converted).
`validate_document` returns every problem with a JSON pointer to its field;
`check_publishable` adds the semantic checks: conditions compile and name
known variables, no node is unreachable, and no node can resolve to nobody
without a fallback.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import jsonschema

from baoxiao.approvals.conditions import (
    ConditionError,
    check_variables,
    compile_condition,
)
from baoxiao.approvals.orgview import OrgView
from baoxiao.approvals.reach import match_range, never_holds, possible

SCHEMA_ID = "baoxiao.approval-flow/v1"
Mode = Literal["sequential", "countersign", "any"]
Fallback = Literal["skip", "escalate", "admin"]


@dataclass(frozen=True)
class FieldProblem:
    pointer: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.pointer, "message": self.message}


@dataclass(frozen=True)
class Selector:
    type: str
    user: str | None = None
    role: str | None = None
    level: int | None = None
    up_to_grade: str | None = None
    levels: int | None = None


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    approvers: tuple[Selector, ...]
    mode: Mode = "sequential"
    when: str | None = None
    fallback: Fallback | None = None
    cc: tuple[Selector, ...] = ()
    remind_after_hours: float | None = None
    escalate_after_hours: float | None = None


@dataclass(frozen=True)
class Match:
    categories: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()
    cost_centers: tuple[str, ...] = ()
    min_amount: Decimal | None = None
    max_amount: Decimal | None = None
    when: str | None = None


@dataclass(frozen=True)
class FlowDefinition:
    key: str
    name: str
    nodes: tuple[Node, ...]
    claim_type: str = "*"
    priority: int = 0
    match: Match = field(default_factory=Match)
    skip_repeated_approver: bool = True
    dual_control_above: Decimal | None = None


@cache
def schema() -> dict[str, Any]:
    """The published JSON Schema (also in docs/approval-flow.schema.json)."""
    text = resources.files("baoxiao.approvals").joinpath("approval-flow.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def _validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(schema())


def _pointer(path: Any) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts) if parts else ""


def validate_document(document: Any) -> list[FieldProblem]:
    """Schema problems, each with the JSON pointer of the offending field."""
    problems = []
    for error in sorted(_validator().iter_errors(document), key=lambda e: list(e.path)):
        problems.append(FieldProblem(_pointer(error.absolute_path), error.message[:300]))
    if problems or not isinstance(document, dict):
        return problems
    seen: dict[str, int] = {}
    for index, node in enumerate(document["nodes"]):
        if node["id"] in seen:
            problems.append(
                FieldProblem(f"/nodes/{index}/id", f"node id {node['id']!r} is used twice")
            )
        seen[node["id"]] = index
    match = document.get("match", {})
    low, high = match.get("min_amount"), match.get("max_amount")
    if low is not None and high is not None and Decimal(low) > Decimal(high):
        problems.append(FieldProblem("/match/min_amount", "min_amount is above max_amount"))
    return problems


def _selector(raw: dict[str, Any]) -> Selector:
    return Selector(
        type=raw["type"],
        user=raw.get("user"),
        role=raw.get("role"),
        level=raw.get("level"),
        up_to_grade=raw.get("up_to_grade"),
        levels=raw.get("levels"),
    )


def parse(document: dict[str, Any]) -> FlowDefinition:
    """Turn a schema-valid document into the engine's definition."""
    nodes = []
    for raw in document["nodes"]:
        timers = raw.get("timers", {})
        nodes.append(
            Node(
                id=raw["id"],
                name=raw.get("name") or raw["id"],
                approvers=tuple(_selector(s) for s in raw["approvers"]),
                mode=raw.get("mode", "sequential"),
                when=raw.get("when"),
                fallback=raw.get("fallback"),
                cc=tuple(_selector(s) for s in raw.get("cc", [])),
                remind_after_hours=timers.get("remind_after_hours"),
                escalate_after_hours=timers.get("escalate_after_hours"),
            )
        )
    m = document.get("match", {})
    settings = document.get("settings", {})
    dual = settings.get("dual_control_above")
    return FlowDefinition(
        key=document["key"],
        name=document["name"],
        nodes=tuple(nodes),
        claim_type=document.get("claim_type", "*"),
        priority=document.get("priority", 0),
        match=Match(
            categories=tuple(m.get("categories", ())),
            departments=tuple(m.get("departments", ())),
            cost_centers=tuple(m.get("cost_centers", ())),
            min_amount=Decimal(m["min_amount"]) if "min_amount" in m else None,
            max_amount=Decimal(m["max_amount"]) if "max_amount" in m else None,
            when=m.get("when"),
        ),
        skip_repeated_approver=settings.get("skip_repeated_approver", True),
        dual_control_above=Decimal(dual) if dual is not None else None,
    )


def _condition_problem(pointer: str, source: str, known: frozenset[str]) -> FieldProblem | None:
    try:
        check_variables(compile_condition(source), known)
    except ConditionError as exc:
        return FieldProblem(pointer, f"condition does not compile: {exc}")
    return None


def check_publishable(
    document: dict[str, Any], known_variables: frozenset[str], org: OrgView | None = None
) -> list[FieldProblem]:
    """Schema problems first; then conditions, reachability and fallbacks."""
    problems = validate_document(document)
    if problems:
        return problems
    flow = parse(document)
    amounts = match_range(flow.match.min_amount, flow.match.max_amount)
    if flow.match.when:
        found = _condition_problem("/match/when", flow.match.when, known_variables)
        problems += [found] if found else []
        if not found and never_holds(flow.match.when, amounts):
            problems.append(
                FieldProblem("/match/when", "the condition contradicts min_amount/max_amount")
            )
    matched = [
        piece
        for piece in (possible(flow.match.when, amounts) if flow.match.when else [amounts])
        if not piece.empty
    ]
    for index, node in enumerate(flow.nodes):
        base = f"/nodes/{index}"
        if node.when:
            found = _condition_problem(f"{base}/when", node.when, known_variables)
            if found:
                problems.append(found)
            elif compile_condition(node.when).constant is False:
                problems.append(
                    FieldProblem(f"{base}/when", "the condition is always false: node unreachable")
                )
            elif matched and all(never_holds(node.when, piece) for piece in matched):
                problems.append(
                    FieldProblem(
                        f"{base}/when",
                        "the condition can never hold for the amounts this flow matches "
                        f"({', '.join(p.describe() for p in matched)}): node unreachable",
                    )
                )
        only_named = all(s.type == "user" for s in node.approvers)
        if node.fallback is None and not only_named:
            problems.append(
                FieldProblem(
                    f"{base}/fallback",
                    "this node can resolve to nobody (vacancy, no role holder); "
                    "give a fallback: skip, escalate or admin",
                )
            )
        for s_index, sel in enumerate(node.approvers + node.cc):
            if sel.type == "user" and org is not None and sel.user is not None:
                person = org.find_person(sel.user)
                if person is None or not person.active:
                    where = (
                        f"{base}/approvers/{s_index}/user"
                        if s_index < len(node.approvers)
                        else f"{base}/cc/{s_index - len(node.approvers)}/user"
                    )
                    problems.append(FieldProblem(where, f"no active employee {sel.user!r}"))
    return problems
