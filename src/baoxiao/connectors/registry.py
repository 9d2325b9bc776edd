"""Find connectors through the `baoxiao.connectors` entry point group."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from baoxiao.connectors.base import Connector

GROUP = "baoxiao.connectors"


@cache
def available() -> dict[str, type[Connector]]:
    """Every installed connector class by its slug (entry point name)."""
    found: dict[str, type[Connector]] = {}
    for ep in entry_points(group=GROUP):
        cls = ep.load()
        if isinstance(cls, type) and issubclass(cls, Connector):
            found[ep.name] = cls
    return found


def get(kind: str) -> type[Connector] | None:
    return available().get(kind)
