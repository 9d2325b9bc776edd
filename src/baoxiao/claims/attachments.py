"""Decide what an uploaded file really is, from its bytes alone.

Accepted: JPEG, PNG, WebP, PDF, XML (e-invoices) and OFD (the Chinese
fixed-layout e-invoice format, a ZIP with OFD.xml at its root). The client's
content type and file extension are ignored for this decision.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile

MAX_OFD_ENTRIES = 2000
_XML_DANGER = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


def sniff(data: bytes) -> str | None:
    """The accepted MIME type of these bytes, or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"PK\x03\x04"):
        return "application/ofd" if _is_ofd(data) else None
    if _is_xml(data):
        return "application/xml"
    return None


def _is_ofd(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_OFD_ENTRIES:
                return False
            names = {info.filename for info in infos}
    except (zipfile.BadZipFile, ValueError, OSError):
        return False
    if any(name.startswith("/") or ".." in name.split("/") for name in names):
        return False
    return "OFD.xml" in names


def _is_xml(data: bytes) -> bool:
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<?xml"):
        return False
    # DTDs enable entity expansion attacks; e-invoice XML never needs one.
    if _XML_DANGER.search(data):
        return False
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/xml": ".xml",
    "application/ofd": ".ofd",
}


def clean_filename(name: str | None, content_type: str) -> str:
    """A safe display name: no path parts or control characters; extension matches the type."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(
        ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C"
    )
    base = base.strip().strip(".")[:200] or "attachment"
    stem = base.rsplit(".", 1)[0] if "." in base else base
    return stem + EXTENSIONS[content_type]
