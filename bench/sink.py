"""A fast HTTP sink for the delivery benchmark: a bare ASGI app under uvicorn that
records `webhook-id receipt-time status` per request (no signature check: the
test suite's receiver does that; here the sink must not be the bottleneck).

Usage: python bench/sink.py PORT LOGFILE
"""

from __future__ import annotations

import sys
import time
from typing import Any

import uvicorn


def make_app(logfile: str) -> Any:
    fh = open(logfile, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 - process lifetime

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        more = True
        while more:
            message = await receive()
            more = message.get("more_body", False)
        headers = dict(scope["headers"])
        fh.write(f"{headers.get(b'webhook-id', b'-').decode()} {time.time():.6f} 200\n")
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    return app


if __name__ == "__main__":
    port, logfile = int(sys.argv[1]), sys.argv[2]
    uvicorn.run(make_app(logfile), host="127.0.0.1", port=port, log_level="warning")
