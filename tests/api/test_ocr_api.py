"""Optional OCR of receipt images without a QR code, with the real engine (rapidocr-onnxruntime,
models inside its wheel): proposals for the line, never written over what the user typed."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select

from baoxiao.app import create_app
from baoxiao.invoices import ocr
from baoxiao.kernel.db import Database
from baoxiao.models.audit import AuditRecord
from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support import invoice_samples as s
from tests.support.factories import World

CLAIMS = "/api/v1/claims"
# No CJK font is installed on the build machines, so the receipt is drawn in Latin letters and
# digits; the Chinese vocabulary (合计, 开票日期, 销售方 名称) is covered by the unit tests.
RECEIPT = ("SUNRISE HOTEL", "Date: 2026-10-28", "Room 2 nights", "Total: ¥1,234.50")


def receipt_photo(lines: tuple[str, ...] = RECEIPT) -> bytes:
    """A white receipt with black text, drawn with Pillow's bundled scalable font."""
    image = Image.new("RGB", (900, 120 + 80 * len(lines)), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for i, text in enumerate(lines):
        draw.text((50, 50 + 80 * i), text, fill="black", font=font)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def ocr_client(db: Database, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        var_dir=tmp_path / "ocr",
        secret_key="x" * 40,
        max_attachment_bytes=256 * 1024,
        ocr_enabled=True,
        ocr_timeout_seconds=60,
    )
    with TestClient(create_app(settings, db)) as test_client:
        yield test_client


def _upload(client: TestClient, world: World, claim_id: str, data: bytes, **form: str) -> Any:
    return client.post(
        f"{CLAIMS}/{claim_id}/attachments",
        files={"file": ("receipt.png", data, "application/octet-stream")},
        data=form,
        headers=world["claimant"].headers,
    )


def test_ocr_proposes_amount_date_and_keeps_what_the_user_typed(
    api: Api, ocr_client: TestClient, world: World, db: Database
) -> None:
    claim = api.create()  # one TAXI line of 50.00 on 2026-11-01, typed by the user
    line = claim["lines"][0]
    response = _upload(ocr_client, world, claim["id"], receipt_photo(), line_id=line["id"])
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["invoice"] is None
    proposal = body["ocr"]
    assert proposal["status"] == "read"
    assert (proposal["amount"]["value"], proposal["amount"]["label"]) == ("1234.50", "total")
    assert (proposal["expense_date"]["value"], proposal["expense_date"]["label"]) == (
        "2026-10-28",
        "date",
    )
    assert proposal["amount"]["source"] == "ocr"
    assert 0.5 < proposal["amount"]["confidence"] <= 1
    assert proposal["seconds"] < 60
    after = ocr_client.get(f"{CLAIMS}/{claim['id']}", headers=world["claimant"].headers).json()
    kept = after["lines"][0]
    assert (kept["amount"], kept["expense_date"]) == ("50.00", "2026-11-01")
    with db.transaction() as session:  # the proposal is kept in the audit of the upload
        data = session.scalars(
            select(AuditRecord.data).where(
                AuditRecord.action == "claim:add_attachment", AuditRecord.subject_id == claim["id"]
            )
        ).one()
    assert data["ocr"]["amount"]["value"] == "1234.50"


def test_ocr_is_off_by_default(api: Api, client: TestClient, world: World) -> None:
    assert Settings.model_fields["ocr_enabled"].default is False
    readers = ocr.reader.cache_info().currsize
    claim = api.create()
    response = _upload(client, world, claim["id"], receipt_photo())
    assert response.status_code == 201, response.text
    assert response.json()["ocr"] is None
    assert ocr.reader.cache_info().currsize == readers  # no reader was even asked for


def test_a_broken_image_is_refused_cleanly_with_ocr_on(
    api: Api, ocr_client: TestClient, world: World
) -> None:
    claim = api.create()
    response = _upload(ocr_client, world, claim["id"], s.truncated(receipt_photo(), 0.3))
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "invoice_unreadable"
    after = ocr_client.get(f"{CLAIMS}/{claim['id']}", headers=world["claimant"].headers).json()
    assert after["attachments"] == []
