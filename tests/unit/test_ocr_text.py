"""Amount, date and seller candidates from recognised receipt text (pure), and the reader's
limits (pixel budget, time) with the real engine."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from PIL import Image

from baoxiao.invoices.ocr import OcrReader
from baoxiao.invoices.ocr_text import TextLine, parse_amount, parse_date, propose


def lines(*texts: str, confidence: float = 0.9) -> list[TextLine]:
    return [TextLine(t, confidence) for t in texts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("¥1,234.50", "1234.50"),
        ("\uffe5\uff11\uff12\uff13\uff14\uff0e\uff15", "1234.50"),  # full-width ￥1234.5
        ("\uff08小写\uff09¥ 88", "88.00"),  # full-width brackets
        ("金额 1234.5元", "1234.50"),
        ("1,234,567.89", "1234567.89"),
        ("税率 6% 合计 ¥ 56.60", "56.60"),  # a percentage is no amount
        ("91310000MA1FL0XX1X", None),  # a tax id is no amount
        ("13800138000", None),  # nor a phone number
        ("", None),
    ],
)
def test_amounts_are_parsed_robustly(text: str, expected: str | None) -> None:
    assert parse_amount(text) == (Decimal(expected) if expected else None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("开票日期:2026年10月28日", date(2026, 10, 28)),
        ("2026-10-28 14:02", date(2026, 10, 28)),
        ("2026/1/5", date(2026, 1, 5)),
        ("20261028", date(2026, 10, 28)),
        ("2026-13-45", None),
        ("no date", None),
    ],
)
def test_dates_are_parsed(text: str, expected: date | None) -> None:
    assert parse_date(text) == expected


def test_a_vat_invoice_layout_in_chinese() -> None:
    proposal = propose(
        lines(
            "电子发票(普通发票)",
            "购买方信息",
            "名称:北京示例科技有限公司",
            "销售方信息",
            "名称:上海锦江示例酒店有限公司",
            "开票日期:2026年10月28日",
            "合计 ¥400.00 ¥24.00",
            "价税合计(大写) 肆佰贰拾肆圆整",
            "(小写)¥424.00",
        )
    )
    assert proposal.amount is not None and proposal.amount.value == Decimal("424.00")
    assert proposal.amount.label == "价税合计"  # the total with tax, not the 合计 before tax
    assert proposal.expense_date is not None
    assert proposal.expense_date.value == date(2026, 10, 28)
    assert proposal.seller_name is not None
    assert proposal.seller_name.value == "上海锦江示例酒店有限公司"  # not the buyer's 名称


def test_a_shop_receipt_with_the_value_on_the_next_line() -> None:
    proposal = propose(
        lines("收款单位:", "示例便利店", "交易日期", "2026-11-02", "实付", "¥36.80", "谢谢惠顾")
    )
    assert proposal.amount is not None and proposal.amount.value == Decimal("36.80")
    assert proposal.expense_date is not None
    assert proposal.expense_date.value == date(2026, 11, 2)
    assert proposal.seller_name is not None and proposal.seller_name.value == "示例便利店"


def test_unlabelled_values_are_proposed_with_less_confidence() -> None:
    proposal = propose(lines("TAXI 京B12345", "2026.10.28", "里程 12 km", "88.00"))
    assert proposal.amount is not None
    assert (proposal.amount.value, proposal.amount.label) == (Decimal("88.00"), None)
    assert proposal.amount.confidence == pytest.approx(0.45)
    assert proposal.expense_date is not None
    assert proposal.expense_date.value == date(2026, 10, 28)


def test_nothing_to_propose() -> None:
    assert propose(lines("hello", "world")).empty
    assert propose([]).empty


def test_large_images_are_scaled_to_the_pixel_budget() -> None:
    reader = OcrReader(max_pixels=1_000_000, timeout_seconds=5)
    scaled = reader.prepared(Image.new("L", (4000, 3000), 255))
    assert scaled.mode == "RGB"
    assert scaled.width * scaled.height <= 1_000_000
    assert scaled.width / scaled.height == pytest.approx(4 / 3, rel=0.01)
    small = reader.prepared(Image.new("RGB", (300, 200), "white"))
    assert small.size == (300, 200)  # never scaled up


def test_the_wait_is_bounded() -> None:
    reader = OcrReader(max_pixels=1_000_000, timeout_seconds=0.001)
    result = reader.read(Image.new("RGB", (800, 600), "white"))
    assert result.status == "timeout"
    assert result.proposal.empty
    assert result.seconds < 1


def test_the_engine_writes_and_sends_no_telemetry(tmp_path: Path) -> None:
    """onnxruntime's Linux wheels queue telemetry under ~/.cache/Microsoft unless told not to;
    a real process with its own HOME and a real recognition must leave nothing there."""
    script = (
        "from PIL import Image, ImageDraw, ImageFont\n"
        "from baoxiao.invoices.ocr import OcrReader\n"
        "image = Image.new('RGB', (600, 120), 'white')\n"
        "ImageDraw.Draw(image).text((20, 30), 'Total: 88.00', fill='black',"
        " font=ImageFont.load_default(size=40))\n"
        "result = OcrReader(max_pixels=1_000_000, timeout_seconds=60).read(image)\n"
        "print(result.status, result.proposal.amount.value if result.proposal.amount else None)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["read", "88.00"]
    assert list(tmp_path.rglob("*")) == []
