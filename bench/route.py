"""Route resolution for a 10,000-person org with a 10-level hierarchy (target: p99 < 5 ms).

Pure engine over an in-memory org view (the DB view adds the reads a real
submission makes; this measures the engine and CEL evaluation). Run:
`make bench-route` (ROUTE_BENCH_CLAIMS=... to change the sample size).
"""

from __future__ import annotations

import os
import random
import statistics
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from importlib import resources

import yaml

from baoxiao.approvals.definition import parse
from baoxiao.approvals.engine import Facts, resolve
from baoxiao.approvals.orgview import Delegation, DeptInfo, InMemoryOrg, PersonInfo

PEOPLE, LEVELS = 10_000, 10
NOW = datetime(2026, 11, 2, tzinfo=UTC)


def build_org(rng: random.Random) -> tuple[InMemoryOrg, list[uuid.UUID]]:
    """A tree: level 0 one CEO, each level ~2.5x wider, filled to 10,000 people."""
    widths = [1]
    while len(widths) < LEVELS:
        widths.append(widths[-1] * 3)
    total = sum(widths)
    widths = [max(1, round(w * PEOPLE / total)) for w in widths]
    widths[-1] += PEOPLE - sum(widths)
    people: dict[uuid.UUID, PersonInfo] = {}
    depts: dict[uuid.UUID, DeptInfo] = {}
    previous: list[uuid.UUID] = []
    n = 0
    for level, width in enumerate(widths):
        current = []
        for _ in range(width):
            n += 1
            pid = uuid.UUID(int=n)
            manager = rng.choice(previous) if previous else None
            dept = uuid.UUID(int=10**6 + n)
            parent_dept = people[manager].department_id if manager else None
            depts[dept] = DeptInfo(dept, f"D{n}", parent_dept, pid if rng.random() > 0.05 else None)
            grade = f"M{LEVELS - level}" if level < LEVELS - 1 else "P5"
            people[pid] = PersonInfo(
                pid, f"p{n}", f"E{n:05d}", manager, dept, grade, rng.random() > 0.02
            )
            current.append(pid)
        previous = current
    ids = list(people)
    finance = frozenset(rng.sample(ids, 20))
    admin = frozenset(rng.sample(ids, 5))
    centers = {uuid.UUID(int=2 * 10**6 + i): rng.choice(ids) for i in range(200)}
    dels = [
        Delegation(a, b, datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
        for a, b in zip(rng.sample(ids, 300), rng.sample(ids, 300), strict=True)
        if a != b
    ]
    org = InMemoryOrg(people, depts, centers, {"finance": finance, "admin": admin}, dels)
    return org, previous  # claimants from the deepest level


def main() -> None:
    rng = random.Random(20261102)
    org, claimants = build_org(rng)
    folder = resources.files("baoxiao.approvals").joinpath("examples")
    flows = [
        parse(yaml.safe_load(folder.joinpath(n).read_text()))
        for n in ("simple-two-level.yaml", "amount-tiered.yaml", "travel-countersign.yaml")
    ]
    centers = list(org.cost_centers)
    claims = int(os.environ.get("ROUTE_BENCH_CLAIMS", "5000"))
    samples: list[float] = []
    steps = 0
    for i in range(claims):
        who = org.people[rng.choice(claimants)]
        total = Decimal(rng.choice(["120.00", "4800.00", "6500.00", "25000.00", "80000.00"]))
        cats = rng.choice([["TAXI"], ["TRAVEL", "HOTEL"], ["MEAL"]])
        facts = Facts(
            None,
            who.id,
            who.department_id,
            rng.choice(centers),
            total,
            "general",
            frozenset(cats),
            ("D1",),
            "CC1",
            {
                "claim": {"total": float(total), "categories": cats},
                "claimant": {"grade": who.grade or ""},
                "lines": [],
                "policy": {"flags": []},
                "budget": {"status": "ok"},
            },
        )
        flow = flows[i % 3]
        start = time.perf_counter()
        route = resolve(flow, facts, org, NOW)
        samples.append((time.perf_counter() - start) * 1000)
        steps += len(route.steps)
    samples.sort()
    p = {q: samples[min(len(samples) - 1, int(len(samples) * q / 100))] for q in (50, 95, 99)}
    print(
        f"org: {len(org.people)} people, {LEVELS} levels; claims resolved: {claims}; "
        f"mean steps per route: {steps / claims:.1f}"
    )
    print(
        f"route resolution ms: mean {statistics.fmean(samples):.3f}  p50 {p[50]:.3f}  "
        f"p95 {p[95]:.3f}  p99 {p[99]:.3f}  max {samples[-1]:.3f}"
    )
    print("target p99 < 5 ms:", "PASS" if p[99] < 5 else "FAIL")


if __name__ == "__main__":
    main()
