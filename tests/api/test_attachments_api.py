"""Attachments: upload, sniffed types, size limits, download and who may see them."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from baoxiao.settings import Settings
from tests.api.conftest import Api
from tests.support.factories import World
from tests.support.invoice_samples import receipt_image, receipt_pdf

CLAIMS = "/api/v1/claims"
# Real (tiny) files: uploads are read for invoices, so a damaged image or PDF is refused.
PNG, JPEG, WEBP = (receipt_image(fmt) for fmt in ("PNG", "JPEG", "WEBP"))
PDF = receipt_pdf()
XML = '<?xml version="1.0" encoding="UTF-8"?><Invoice><No>电子发票 001</No></Invoice>'.encode()
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + bytes(64)


def _zip(names: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in names.items():
            archive.writestr(name, data)
    return buffer.getvalue()


OFD = _zip(
    {
        "OFD.xml": b"<?xml version='1.0'?><ofd:OFD xmlns:ofd='http://www.ofdspec.org/2016'/>",
        "Doc_0/Document.xml": b"<Document/>",
    }
)


def _upload(
    client: TestClient,
    world: World,
    claim_id: str,
    data: bytes,
    filename: str = "receipt.pdf",
    who: str = "claimant",
    content_type: str = "application/pdf",
    form: dict[str, str] | None = None,
    **headers: str,
) -> Any:
    return client.post(
        f"{CLAIMS}/{claim_id}/attachments",
        files={"file": (filename, data, content_type)},
        data=form or {},
        headers={**world[who].headers, **headers},
    )


def _claim(client: TestClient, world: World, claim_id: str) -> dict[str, Any]:
    return client.get(f"{CLAIMS}/{claim_id}", headers=world["claimant"].headers).json()


# ---- accepted types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename", "content_type", "stored_name"),
    [
        (PNG, "photo.png", "image/png", "photo.png"),
        (JPEG, "taxi.jpeg", "image/jpeg", "taxi.jpg"),
        (WEBP, "scan.webp", "image/webp", "scan.webp"),
        (PDF, "invoice.pdf", "application/pdf", "invoice.pdf"),
        (XML, "发票.xml", "application/xml", "发票.xml"),
        (OFD, "einvoice.ofd", "application/ofd", "einvoice.ofd"),
        (b"\xef\xbb\xbf" + XML, "bom.xml", "application/xml", "bom.xml"),
    ],
    ids=["png", "jpeg", "webp", "pdf", "xml", "ofd", "xml-bom"],
)
def test_upload_accepts_receipts_by_their_bytes(
    api: Api,
    client: TestClient,
    world: World,
    data: bytes,
    filename: str,
    content_type: str,
    stored_name: str,
) -> None:
    claim = api.create()
    response = _upload(
        client, world, claim["id"], data, filename, content_type="application/octet-stream"
    )
    assert response.status_code == 201, response.text
    attachment = response.json()
    assert attachment["content_type"] == content_type
    assert attachment["filename"] == stored_name
    assert attachment["size"] == len(data)
    assert attachment["sha256"] == hashlib.sha256(data).hexdigest()
    assert attachment["line_id"] is None
    listed = _claim(client, world, claim["id"])["attachments"]
    assert [a["id"] for a in listed] == [attachment["id"]]


def test_a_png_named_pdf_is_stored_as_png(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], PNG, "x.pdf", content_type="application/pdf")
    assert response.status_code == 201, response.text
    assert response.json()["content_type"] == "image/png"
    assert response.json()["filename"] == "x.png"
    download = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{response.json()['id']}/content",
        headers=world["claimant"].headers,
    )
    assert download.headers["content-type"] == "image/png"


@pytest.mark.parametrize(
    ("filename", "stored"),
    [
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\me\\scan.pdf", "scan.pdf"),
        ("invoice\u202efdp.exe.pdf", "invoicefdp.exe.pdf"),  # no right-to-left override
        ("...", "attachment.pdf"),
        ("noextension", "noextension.pdf"),
    ],
)
def test_filenames_are_cleaned(
    api: Api, client: TestClient, world: World, filename: str, stored: str
) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], PDF, filename)
    assert response.status_code == 201, response.text
    assert response.json()["filename"] == stored


def test_upload_bound_to_a_line(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    line_id = claim["lines"][0]["id"]
    response = _upload(client, world, claim["id"], PDF, form={"line_id": line_id})
    assert response.status_code == 201, response.text
    assert response.json()["line_id"] == line_id
    # Removing the line keeps the receipt on the claim, unbound.
    removed = client.delete(
        f"{CLAIMS}/{claim['id']}/lines/{line_id}", headers=world["claimant"].headers
    )
    assert removed.status_code == 200
    [attachment] = removed.json()["attachments"]
    assert attachment["id"] == response.json()["id"]
    assert attachment["line_id"] is None


def test_upload_to_an_unknown_line_is_refused(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], PDF, form={"line_id": str(uuid.uuid4())})
    assert response.status_code == 404
    assert response.json()["code"] == "line_not_found"
    assert _claim(client, world, claim["id"])["attachments"] == []


# ---- refused types ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (EXE, "invoice.pdf"),
        (_zip({"readme.txt": b"hello"}), "invoice.ofd"),
        (_zip({"../OFD.xml": b"<x/>"}), "evil.ofd"),
        (b"PK\x03\x04 not really a zip", "broken.ofd"),
        (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', "bomb.xml"),
        (b'<?xml version="1.0"?><!doctype x SYSTEM "file:///etc/passwd"><x/>', "xxe.xml"),
        (b'<?xml version="1.0"?><x>\xff\xfe</x>', "latin.xml"),
        (b"<html><script>alert(1)</script></html>", "page.pdf"),
        (b"GIF89a" + bytes(32), "anim.png"),
        (b"plain text receipt", "receipt.txt"),
    ],
    ids=[
        "exe-as-pdf",
        "zip-not-ofd",
        "zip-slip",
        "broken-zip",
        "xml-entities",
        "xml-doctype",
        "xml-not-utf8",
        "html",
        "gif",
        "text",
    ],
)
def test_disguised_or_unknown_files_are_refused(
    api: Api, client: TestClient, world: World, data: bytes, filename: str
) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], data, filename)
    assert response.status_code == 415, response.text
    assert response.json()["code"] == "attachment_type_rejected"
    after = _claim(client, world, claim["id"])
    assert after["attachments"] == []
    assert after["version"] == claim["version"]


def test_empty_file_is_refused(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], b"", "empty.pdf")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_upload_without_a_file_is_a_validation_error(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    response = client.post(
        f"{CLAIMS}/{claim['id']}/attachments",
        data={"line_id": ""},
        headers=world["claimant"].headers,
    )
    assert response.status_code == 422
    assert response.json()["code"] == "validation_error"


# ---- size limits ------------------------------------------------------------------


def test_file_just_at_the_limit_is_accepted(
    api: Api, client: TestClient, world: World, settings: Settings
) -> None:
    claim = api.create()
    data = PDF + b"0" * (settings.max_attachment_bytes - len(PDF))
    response = _upload(client, world, claim["id"], data)
    assert response.status_code == 201, response.text
    assert response.json()["size"] == settings.max_attachment_bytes


def test_oversized_attachment_is_refused(
    api: Api, client: TestClient, world: World, settings: Settings
) -> None:
    claim = api.create()
    data = PDF + b"0" * (settings.max_attachment_bytes - len(PDF) + 1)
    response = _upload(client, world, claim["id"], data)
    assert response.status_code == 413, response.text
    problem = response.json()
    assert problem["code"] == "attachment_too_large"
    assert problem["limit"] == settings.max_attachment_bytes
    assert str(settings.max_attachment_bytes) in problem["detail"]
    assert _claim(client, world, claim["id"])["attachments"] == []


def test_huge_request_body_is_refused_before_it_is_read(
    api: Api, client: TestClient, world: World, settings: Settings
) -> None:
    claim = api.create()
    data = PDF + b"0" * (settings.max_attachment_bytes + 128 * 1024)
    response = _upload(client, world, claim["id"], data, **{"Accept-Language": "zh-CN"})
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    problem = response.json()
    assert problem["code"] == "payload_too_large"
    assert problem["limit"] > settings.max_attachment_bytes
    assert problem["detail"] == f"上传内容超过 {problem['limit']} 字节的上限。"
    assert _claim(client, world, claim["id"])["attachments"] == []


def test_body_size_limit_applies_to_every_endpoint(
    client: TestClient, world: World, settings: Settings
) -> None:
    response = client.post(
        CLAIMS,
        content=b"{" + b" " * (settings.max_attachment_bytes + 100 * 1024) + b"}",
        headers={**world["claimant"].headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert (
        response.json()["detail"] == f"The upload is larger than {response.json()['limit']} bytes."
    )


# ---- download and metadata -----------------------------------------------------------


def test_download_returns_the_bytes_with_safe_headers(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], PDF, "Taxi_receipt.pdf").json()
    response = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}/content",
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"] == 'attachment; filename="Taxi_receipt.pdf"'
    assert response.headers["cache-control"] == "private, no-store"
    assert int(response.headers["content-length"]) == len(PDF)


def test_download_of_a_non_ascii_name(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], XML, "发票.xml").json()
    response = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}/content",
        headers=world["claimant"].headers,
    )
    assert response.status_code == 200
    assert response.content == XML
    assert response.headers["content-disposition"].startswith("attachment;")
    assert "filename*=utf-8''%E5%8F%91%E7%A5%A8.xml" in response.headers["content-disposition"]


def test_metadata_of_one_attachment(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], PNG, "a.png").json()
    response = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}", headers=world["claimant"].headers
    )
    assert response.status_code == 200
    # The upload answer adds what was read from the file: the invoice, same-file uses and
    # OCR proposals (none: OCR is off by default).
    assert attachment["invoice"] is None
    assert attachment["same_file"] == {"seen_before": 0, "claims": []}
    assert attachment["ocr"] is None
    assert response.json() == {
        k: v for k, v in attachment.items() if k not in ("invoice", "same_file", "ocr")
    }


@pytest.mark.parametrize("who", ["manager", "finance", "admin"])
def test_people_who_see_the_claim_can_download(
    api: Api, client: TestClient, world: World, who: str
) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], PNG, "a.png").json()
    response = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}/content", headers=world[who].headers
    )
    assert response.status_code == 200
    assert response.content == PNG


@pytest.mark.parametrize("who", ["peer", "outsider", "foreigner", "foreign_finance"])
def test_unrelated_users_cannot_see_attachments(
    api: Api, client: TestClient, world: World, who: str
) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], PNG, "a.png").json()
    base = f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}"
    for response in (
        client.get(f"{base}/content", headers=world[who].headers),
        client.get(base, headers=world[who].headers),
        client.delete(base, headers=world[who].headers),
        _upload(client, world, claim["id"], PDF, who=who),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "claim_not_found"
        assert response.content != PNG
    assert len(_claim(client, world, claim["id"])["attachments"]) == 1


def test_attachment_of_another_claim_is_not_found(
    api: Api, client: TestClient, world: World
) -> None:
    first = api.create()
    second = api.create()
    attachment = _upload(client, world, first["id"], PNG, "a.png").json()
    wrong = f"{CLAIMS}/{second['id']}/attachments/{attachment['id']}"
    h = world["claimant"].headers
    for response in (
        client.get(f"{wrong}/content", headers=h),
        client.get(wrong, headers=h),
        client.delete(wrong, headers=h),
    ):
        assert response.status_code == 404
        assert response.json()["code"] == "attachment_not_found"
    missing = client.get(f"{CLAIMS}/{first['id']}/attachments/{uuid.uuid4()}/content", headers=h)
    assert missing.status_code == 404
    assert missing.json()["code"] == "attachment_not_found"


# ---- remove, and uploads on claims that are not editable ---------------------------------


def test_remove_attachment(api: Api, client: TestClient, world: World) -> None:
    claim = api.create()
    keep = _upload(client, world, claim["id"], PNG, "keep.png").json()
    drop = _upload(client, world, claim["id"], PDF, "drop.pdf").json()
    response = client.delete(
        f"{CLAIMS}/{claim['id']}/attachments/{drop['id']}", headers=world["claimant"].headers
    )
    assert response.status_code == 200
    assert [a["id"] for a in response.json()["attachments"]] == [keep["id"]]
    gone = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{drop['id']}", headers=world["claimant"].headers
    )
    assert gone.status_code == 404
    assert gone.json()["code"] == "attachment_not_found"
    history = client.get(
        f"{CLAIMS}/{claim['id']}/history", headers=world["claimant"].headers
    ).json()
    assert [a["action"] for a in history][-3:] == [
        "claim:add_attachment",
        "claim:add_attachment",
        "claim:remove_attachment",
    ]


def test_attachments_of_a_submitted_claim_are_frozen(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    attachment = _upload(client, world, claim["id"], PNG, "a.png").json()
    api.submit(claim["id"])
    upload = _upload(client, world, claim["id"], PDF)
    assert upload.status_code == 409
    assert upload.json()["code"] == "claim_not_editable"
    remove = client.delete(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}", headers=world["claimant"].headers
    )
    assert remove.status_code == 409
    assert remove.json()["code"] == "claim_not_editable"
    # Still downloadable by the approver.
    download = client.get(
        f"{CLAIMS}/{claim['id']}/attachments/{attachment['id']}/content",
        headers=world["manager"].headers,
    )
    assert download.status_code == 200
    assert download.content == PNG


def test_the_manager_cannot_upload_to_a_reports_claim(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    response = _upload(client, world, claim["id"], PDF, who="manager")
    assert response.status_code == 403
    assert response.json()["code"] == "not_claimant"


def test_upload_with_a_stale_if_match_is_refused(
    api: Api, client: TestClient, world: World
) -> None:
    claim = api.create()
    stale = f'"{uuid.UUID(claim["id"]).hex}-{claim["version"]}"'
    client.patch(
        f"{CLAIMS}/{claim['id']}", json={"reason": "changed"}, headers=world["claimant"].headers
    )
    response = _upload(client, world, claim["id"], PDF, **{"If-Match": stale})
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed"
    assert _claim(client, world, claim["id"])["attachments"] == []
