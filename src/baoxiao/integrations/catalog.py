"""The event catalog: one JSON Schema per event type, shipped with the package.

docs/events/*.json are the same files (a test keeps them identical).
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any


@cache
def schemas() -> dict[str, dict[str, Any]]:
    folder = files("baoxiao.integrations").joinpath("event_schemas")
    out: dict[str, dict[str, Any]] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            out[entry.name.removesuffix(".json")] = json.loads(entry.read_text("utf-8"))
    return dict(sorted(out.items()))
