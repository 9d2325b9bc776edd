"""The AsyncAPI document describes exactly the catalog's event types."""

from __future__ import annotations

from pathlib import Path

import yaml

from baoxiao.integrations.catalog import schemas

EVENTS = Path(__file__).resolve().parents[2] / "docs" / "events"


def test_asyncapi_lists_every_catalog_type_and_its_schema_file() -> None:
    doc = yaml.safe_load((EVENTS / "asyncapi.yaml").read_text())
    assert doc["asyncapi"].startswith("3.")
    messages = doc["components"]["messages"]
    outbound = {m["name"]: m["payload"] for m in messages.values() if "$ref" in m["payload"]}
    assert set(outbound) == set(schemas())
    for name, payload in outbound.items():
        assert payload["$ref"] == f"./{name}.json"
        assert (EVENTS / f"{name}.json").is_file()
