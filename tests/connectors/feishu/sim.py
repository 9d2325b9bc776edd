"""Start the Feishu simulator as a separate process on a free loopback port, for tests."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[3]


class Simulator:
    """A running `python -m tests.tools.feishu_sim` and a client for its control API."""

    def __init__(self, seed: dict[str, Any], workdir: Path, *extra: str) -> None:
        seed_file = workdir / "feishu-seed.json"
        seed_file.write_text(json.dumps(seed), encoding="utf-8")
        self.log = (workdir / "feishu-sim.log").open("wb+")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.tools.feishu_sim",
                "--port",
                "0",
                "--seed",
                str(seed_file),
                *extra,
            ],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode().strip()
        if not line.startswith("FEISHU_SIM_URL="):
            self.proc.kill()
            self.log.seek(0)
            raise RuntimeError(f"simulator did not start: {line!r} {self.log.read()[-2000:]!r}")
        self.url = line.split("=", 1)[1]
        self.http = httpx.Client(base_url=self.url, timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.http.get("/_control/state")
                break
            except httpx.HTTPError:
                time.sleep(0.05)

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, f"/_control{path}", json=body)
        assert response.status_code < 500, response.text
        return response.json()

    def post(self, path: str, body: Any = None) -> Any:
        return self.control("POST", path, body if body is not None else {})

    def get(self, path: str) -> Any:
        return self.control("GET", path)

    def wait_for(self, predicate: Any, timeout: float = 15.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.05)
        raise AssertionError(f"timed out waiting for {what}")

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()
