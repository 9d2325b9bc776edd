"""What Baoxiao sends to Feishu: approval forms, external instances, status cards.

The glue (integrations.feishu.outbound) adds `data["feishu"]` to each event before
delivery: the claim as it is now, the claimant's and approvers' Feishu ids, the
submission's uuid and the known instance code. Everything here is pure.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Any

from baoxiao.connectors.feishu.config import FeishuConfig

EXTERNAL_STATUS = {
    "submitted": "PENDING",
    "approving": "PENDING",
    "approved": "APPROVED",
    "paying": "APPROVED",
    "paid": "APPROVED",
    "rejected": "REJECTED",
    "withdrawn": "CANCELED",
    "cancelled": "CANCELED",
    "returned": "TERMINATED",  # ended without a decision: back with the claimant
}
TASK_STATUS = {
    "pending": "PENDING",
    "approved": "APPROVED",
    "rejected": "REJECTED",
    "transferred": "TRANSFERRED",
    "returned": "DONE",
    "sent_back": "DONE",
    "cancelled": "DONE",
}
CARD_EVENTS = {
    "claim.submitted": ("blue", "报销单已提交", "Claim submitted"),
    "claim.approved": ("green", "报销单已审批通过", "Claim approved"),
    "claim.rejected": ("red", "报销单被驳回", "Claim rejected"),
    "claim.returned": ("orange", "报销单被退回修改", "Claim returned for changes"),
    "claim.paid": ("turquoise", "报销款已支付", "Claim paid"),
}


def ms(value: str | None) -> int:
    if not value:
        return 0
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def widget_value(kind: str, value: Any) -> Any:
    if kind == "amount":
        # Feishu's amount widget takes a JSON number; the claim's Decimal is exact to the cent.
        return float(Decimal(str(value or 0)))
    return "" if value is None else str(value)


def approval_form(config: FeishuConfig, claim: dict[str, Any]) -> str:
    """The form widgets, as the JSON string approval v4 expects."""
    widgets = [
        {"id": f.widget, "type": f.type, "value": widget_value(f.type, claim.get(f.source))}
        for f in config.form_fields
    ]
    return json.dumps(widgets, ensure_ascii=False)


def instance_create(config: FeishuConfig, feishu: dict[str, Any]) -> dict[str, Any]:
    claim = feishu["claim"]
    return {
        "approval_code": config.approval_code,
        "open_id": feishu["claimant"]["open_id"],
        "form": approval_form(config, claim),
        "uuid": feishu["uuid"],
        "title": f"报销 {claim['number']}",
    }


def external_instance(config: FeishuConfig, feishu: dict[str, Any], now_ms: int) -> dict[str, Any]:
    """The whole instance with its tasks (REPLACE mode), synced on every change."""
    claim = feishu["claim"]
    link = {"pc_link": claim["url"], "mobile_link": claim["url"]}
    tasks = []
    for task in feishu["tasks"]:
        status = TASK_STATUS.get(task["status"])
        if status is None or not task.get("open_id"):
            continue  # waiting steps and people not in Feishu are not shown
        tasks.append(
            {
                "task_id": task["id"],
                "open_id": task["open_id"],
                "title": task["step_name"],
                "links": link,
                "status": status,
                "create_time": str(ms(task["created_at"])),
                "end_time": str(ms(task.get("decided_at"))),
                "update_time": str(now_ms),
                "action_context": task["id"],
                "action_configs": [{"action_type": "APPROVE"}, {"action_type": "REJECT"}]
                if status == "PENDING"
                else [],
                "display_method": "BROWSER",
            }
        )
    final = EXTERNAL_STATUS.get(claim["status"], "PENDING") != "PENDING"
    return {
        "approval_code": config.external_approval_code,
        "status": EXTERNAL_STATUS.get(claim["status"], "PENDING"),
        "instance_id": claim["id"],
        "links": link,
        "title": f"报销 {claim['number']}",
        "form": [
            {"name": "金额 Amount", "value": f"{claim['total_amount']} {claim['currency']}"},
            {"name": "事由 Reason", "value": claim["reason"]},
        ],
        "open_id": (feishu.get("claimant") or {}).get("open_id", ""),
        "user_name": claim.get("claimant_name", ""),
        "department_name": claim.get("department_name") or "",
        "start_time": str(ms(claim.get("submitted_at"))),
        "end_time": str(now_ms if final else 0),
        "update_time": str(now_ms),
        "update_mode": "REPLACE",
        "task_list": tasks,
    }


def external_definition(config: FeishuConfig, callback_url: str) -> dict[str, Any]:
    base = config.public_base_url
    return {
        "approval_name": "@i18n@name",
        "approval_code": config.external_approval_code,
        "group_code": "baoxiao",
        "group_name": "@i18n@group",
        "external": {
            "biz_name": "@i18n@biz",
            "create_link_pc": f"{base}/claims/new",
            "create_link_mobile": f"{base}/claims/new",
            "support_pc": True,
            "support_mobile": True,
            "support_batch_read": False,
            "enable_mark_readed": False,
            "enable_quick_operate": True,
            "action_callback_url": callback_url,
            "action_callback_token": config.secret("action_callback_token"),
            "action_callback_key": config.secret("action_callback_key"),
            "allow_batch_operate": False,
        },
        "viewers": [{"viewer_type": "TENANT"}],
        "i18n_resources": [
            {
                "locale": locale,
                "is_default": locale == "zh-CN",
                "texts": [
                    {"key": "@i18n@name", "value": name},
                    {"key": "@i18n@group", "value": group},
                    {"key": "@i18n@biz", "value": "Baoxiao"},
                ],
            }
            for locale, name, group in (
                ("zh-CN", "报销", "财务"),
                ("en-US", "Expense claim", "Finance"),
            )
        ],
    }


def status_card(event_type: str, claim: dict[str, Any]) -> dict[str, Any] | None:
    spec = CARD_EVENTS.get(event_type)
    if spec is None:
        return None
    color, zh, en = spec
    text = (
        f"**{claim['number']}**  {claim['reason']}\n"
        f"金额 Amount: {claim['total_amount']} {claim['currency']}\n"
        f"状态 Status: {claim['status']}"
    )
    return {
        "config": {"wide_screen_mode": True},
        "header": {"template": color, "title": {"tag": "plain_text", "content": f"{zh} · {en}"}},
        "elements": [
            {"tag": "div", "text": {"tag": "lark_md", "content": text}},
            {
                "tag": "action",
                "actions": [
                    {
                        "tag": "button",
                        "type": "primary",
                        "text": {"tag": "plain_text", "content": "查看 View"},
                        "url": claim["url"],
                    }
                ],
            },
        ],
    }
