"""Feishu's answer codes and the error they become; light, so importing it does not load
lark-oapi (client.py does, and only once an instance calls out)."""

from __future__ import annotations

from baoxiao.connectors.base import ConnectorError

THROTTLED = frozenset({99991400, 99991402, 11020, 11021, 11232})
TOKEN_REJECTED = frozenset({99991661, 99991663, 99991664, 99991665, 99991668})
UUID_REUSED = 60012
SUBSCRIPTION_EXISTS = 1390007


class FeishuApiError(ConnectorError):
    """Feishu answered with a non-zero code."""

    def __init__(self, code: int, msg: str, status: int | None) -> None:
        retryable = status is None or status >= 500
        super().__init__(f"feishu {code}: {msg}"[:300], retryable=retryable, status_code=status)
        self.code = code
