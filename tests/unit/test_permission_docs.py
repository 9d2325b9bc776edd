"""The admin guide and API.md show the permission table and endpoint scopes as the code has them."""

from __future__ import annotations

from pathlib import Path

from baoxiao.identity.permissions import DATA_SCOPED, ROLE_LABELS, ROLE_RIGHTS, Right
from baoxiao.identity.scopes import ENDPOINT_SCOPES, SCOPES

DOCS = Path(__file__).resolve().parents[2] / "docs"


def rights_table() -> str:
    roles = list(ROLE_RIGHTS)
    head = "| right | " + " | ".join(ROLE_LABELS[r] for r in roles) + " |"
    rule = "| --- |" + " --- |" * len(roles)
    rows = [
        f"| `{right.value}`{' (data scope)' if right in DATA_SCOPED else ''} | "
        + " | ".join("✓" if right in ROLE_RIGHTS[r] else "" for r in roles)
        + " |"
        for right in Right
    ]
    return "\n".join([head, rule, *rows])


def scopes_table() -> str:
    rows = ["| scope | what it reaches |", "| --- | --- |"]
    rows += [f"| `{name}` | {text} |" for name, text in SCOPES.items()]
    return "\n".join(rows)


def endpoints_table() -> str:
    rows = ["| method and path | token scope |", "| --- | --- |"]
    rows += [
        f"| `{m} {p}` | {f'`{s}`' if s else 'none'} |" for (m, p), s in ENDPOINT_SCOPES.items()
    ]
    return "\n".join(rows)


def _between(text: str, name: str) -> str:
    start = text.index(f"<!-- {name}:start -->") + len(f"<!-- {name}:start -->")
    return text[start : text.index(f"<!-- {name}:end -->")].strip()


def test_admin_guide_renders_the_permission_table() -> None:
    text = (DOCS / "guide" / "admin.md").read_text(encoding="utf-8")
    assert _between(text, "rights") == rights_table()
    assert _between(text, "scopes") == scopes_table()


def test_api_doc_lists_every_endpoint_scope() -> None:
    text = (DOCS / "API.md").read_text(encoding="utf-8")
    assert _between(text, "endpoint-scopes") == endpoints_table()
