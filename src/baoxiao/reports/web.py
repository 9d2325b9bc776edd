"""The dashboard (the web app's start page) with its charts."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import Request, Response

from baoxiao.identity.deps import DbSession, WebPrincipal
from baoxiao.kernel.money import ISO_MINOR_UNITS
from baoxiao.reports import queries
from baoxiao.web.pages import lang_of, page_router, render

router = page_router()


def _chart(
    kind: str, labels: list[str], values: list[Decimal], unit: str = "", places: int = 2
) -> dict[str, Any]:
    # Exact decimal strings (never floats); app.js hands ECharts the numbers.
    step = Decimal(1).scaleb(-places)
    return {
        "kind": kind,
        "labels": labels,
        "values": [str(v.quantize(step)) for v in values],
        "unit": unit,
    }


def charts(data: queries.Dashboard, lang: str) -> dict[str, dict[str, Any]]:
    """The chart specs app.js draws, with names in the page's language."""
    zh = lang == "zh-CN"

    def dept_name(dept: Any) -> str:
        if dept is None:
            return "—"
        return str(dept.name if zh or not dept.name_en else dept.name_en)

    money = ISO_MINOR_UNITS.get(data.currency, 2)
    return {
        "by_month": _chart(
            "bar", data.spend_by_month.labels, data.spend_by_month.values, data.currency, money
        ),
        "by_department": _chart(
            "pie",
            [dept_name(d) for d, _v in data.spend_by_department],
            [v for _d, v in data.spend_by_department],
            data.currency,
            money,
        ),
        "by_category": _chart(
            "bar",
            [c.name_zh if zh else c.name_en for c, _v in data.spend_by_category],
            [v for _c, v in data.spend_by_category],
            data.currency,
            money,
        ),
        "cycle_time": _chart(
            "line", data.cycle_hours_by_month.labels, data.cycle_hours_by_month.values, "h", 1
        ),
    }


@router.get("/")
def dashboard(request: Request, principal: WebPrincipal, session: DbSession) -> Response:
    """Spend by month, department and category; approval cycle time; my counts."""
    data = queries.dashboard(session, principal)
    return render(
        request, "reports/dashboard.html", data=data, charts=charts(data, lang_of(request))
    )
