"""The flow of a company that has published none: the claimant's manager, then finance.

It keeps the behaviour Baoxiao had before flows were data, as a document the
engine runs like any other (and the simulate endpoint can explain).
"""

from __future__ import annotations

from typing import Any

DEFAULT_FLOW: dict[str, Any] = {
    "schema": "baoxiao.approval-flow/v1",
    "key": "default",
    "name": "Manager, then finance review",
    "claim_type": "*",
    "priority": 0,
    "settings": {"skip_repeated_approver": True, "dual_control_above": "50000"},
    "nodes": [
        {
            "id": "manager",
            "name": "直属上级 Direct manager",
            "approvers": [{"type": "manager", "level": 1}],
            "fallback": "skip",
        },
        {
            "id": "finance_review",
            "name": "财务审核 Finance review",
            "approvers": [{"type": "role", "role": "finance"}],
            "mode": "any",
            "fallback": "admin",
        },
    ],
}
