"""What each rule says, in en and zh-CN; placeholders are filled from the check's numbers."""

from __future__ import annotations

from baoxiao.kernel.i18n import Msg

PER_EN = {"line": "per line", "day": "per-diem per day", "night": "hotel per night"}
PER_ZH = {"line": "每笔", "day": "每日补贴", "night": "住宿每晚"}
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKDAYS_ZH = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")

NONE = Msg("", "")

CAP_TRACE = Msg(
    "capped at {cap}: grade {grade}, city tier {tier}{tier_source_en}, {per_en} "
    "({unit_cap} x {units}; rule grade {grade_rule}, city {city})",
    "上限 {cap}:职级 {grade},城市等级 {tier}{tier_source_zh},{per_zh}"
    "({unit_cap} x {units};规则职级 {grade_rule},城市 {city})",
)
CAP_OK = Msg(
    "Within the standard ({per_en}): {claimed} claimed, cap {cap}.",
    "符合标准({per_zh}):申报 {claimed},上限 {cap}。",
)
CAP_REDUCED = Msg(
    "Over the standard ({per_en}): {claimed} claimed, cap {cap}; reduced to {cap}.",
    "超出标准({per_zh}):申报 {claimed},上限 {cap},已按上限 {cap} 报销。",
)
CAP_JUSTIFIED = Msg(
    "Over the standard ({per_en}) by {over}: {claimed} claimed, cap {cap}; "
    "kept with the reason: {reason}",
    "超出标准({per_zh}){over}:申报 {claimed},上限 {cap};报销人说明:{reason}",
)
CAP_NEEDS_REASON = Msg(
    "Over the standard ({per_en}) by {over}: {claimed} claimed, cap {cap}. "
    "Give a reason on the line or lower the amount.",
    "超出标准({per_zh}){over}:申报 {claimed},上限 {cap}。请在明细中填写超标说明或降低金额。",
)
CAP_BLOCKED = Msg(
    "Over the standard ({per_en}) by {over}: {claimed} claimed, cap {cap}; not reimbursable.",
    "超出标准({per_zh}){over}:申报 {claimed},上限 {cap},不予报销。",
)

RECEIPT_NOT_NEEDED = Msg(
    "No receipt needed: {claimed} is not above {threshold}.",
    "无需票据:金额 {claimed} 未超过 {threshold}。",
)
RECEIPT_OK = Msg(
    "Receipt attached for {claimed} (needed above {threshold}).",
    "已附票据:金额 {claimed}(超过 {threshold} 须附票据)。",
)
RECEIPT_MISSING = Msg(
    "Receipt required: {claimed} is above {threshold} and the line has no receipt.",
    "缺少票据:金额 {claimed} 超过 {threshold},该明细未附票据。",
)

DEADLINE_TRACE = Msg(
    "expense {expense_date}, filed {filed_on}: {age} days, limit {days} days",
    "费用日期 {expense_date},提交日期 {filed_on}:{age} 天,期限 {days} 天",
)
DEADLINE_OK = Msg(
    "Filed in time: {age} days after the expense (limit {days} days).",
    "按时提交:费用发生后 {age} 天(期限 {days} 天)。",
)
DEADLINE_MISSED = Msg(
    "Filed too late: {age} days after the expense on {expense_date}; the limit is {days} days.",
    "超期提交:费用日期 {expense_date},已过 {age} 天,期限为 {days} 天。",
)

WEEKDAY = Msg("{date} is a working day.", "{date} 为工作日。")
WEEKEND = Msg(
    "Expense on a weekend: {date} is a {weekday_en}.", "周末发生的费用:{date} 为{weekday_zh}。"
)
NOT_HOLIDAY = Msg("{date} is not a public holiday.", "{date} 不是法定节假日。")
HOLIDAY = Msg(
    "Expense on a public holiday: {date} is in the holiday calendar.",
    "节假日发生的费用:{date} 在节假日日历中。",
)

TITLE_UNKNOWN = Msg(
    "Invoice title not checked: the invoice data shows no buyer.",
    "未校验发票抬头:发票数据中没有购买方信息。",
)
TITLE_OK = Msg(
    "Invoice title matches the company: {buyer} ({buyer_tax_id}).",
    "发票抬头与公司一致:{buyer}({buyer_tax_id})。",
)
TITLE_MISMATCH = Msg(
    "Invoice title does not match the company: buyer {buyer} ({buyer_tax_id}), "
    "company {company} ({company_tax_id}).",
    "发票抬头与公司不符:购买方 {buyer}({buyer_tax_id}),公司为 {company}({company_tax_id})。",
)
