"""Real `baoxiao worker` processes for fault tests: start, SIGKILL, stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.delivery import TEST_SECRET_KEY

BAOXIAO = Path(sys.executable).parent / "baoxiao"


def worker_env(db_url: str, var_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BAOXIAO_")}
    env.update(
        {
            "BAOXIAO_DATABASE_URL": db_url,
            "BAOXIAO_SECRET_KEY": TEST_SECRET_KEY,
            "BAOXIAO_VAR_DIR": str(var_dir),
            "BAOXIAO_LOG_LEVEL": "WARNING",
            "BAOXIAO_DELIVERY_BASE_DELAY_SECONDS": "0.05",
            "BAOXIAO_DELIVERY_MAX_DELAY_SECONDS": "0.5",
            "BAOXIAO_DELIVERY_LEASE_SECONDS": "1.0",
            "BAOXIAO_DELIVERY_POLL_SECONDS": "0.2",
            "BAOXIAO_DELIVERY_CONCURRENCY": "8",
            "BAOXIAO_DELIVERY_BATCH_SIZE": "50",
        }
    )
    env.update(extra)
    return env


class Workers:
    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.procs: list[subprocess.Popen[bytes]] = []
        self.started = 0

    def start(self) -> subprocess.Popen[bytes]:
        self.started += 1
        log = (self.log_dir / f"worker-{self.started}.log").open("wb")
        proc = subprocess.Popen(
            [str(BAOXIAO), "worker"], env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        self.procs.remove(proc)

    def stop_all(self) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        self.procs.clear()
