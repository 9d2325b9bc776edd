"""The full kill test: 5,000 events (500 claims x 10) on PostgreSQL while three
`baoxiao worker` processes are SIGKILLed at random 25 times. The suite runs the same
scenario at 1,000 events / 20 kills (tests/integration/test_delivery_kills.py).

Run: `make bench-kills`.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from baoxiao.connectors.webhook import crypto  # noqa: E402
from baoxiao.kernel.db import Database  # noqa: E402
from baoxiao.migrations import runner  # noqa: E402
from tests.integration.test_delivery_kills import run_kill_scenario  # noqa: E402
from tests.support.db import create_database, drop_database  # noqa: E402
from tests.support.receiver import Receiver  # noqa: E402


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="bench-kills-"))
    url = create_database("postgresql", tmp)
    runner.upgrade(url)
    db = Database.from_url(url, pool_size=4)
    secret = crypto.new_secret()
    receiver = Receiver(secret).start()
    receiver.behaviour.delay = 0.002
    start = time.monotonic()
    try:
        stats = run_kill_scenario(
            db, receiver, secret, tmp, subjects=500, per_subject=10, workers=3, kills=25
        )
    finally:
        receiver.stop()
        db.dispose()
        drop_database(url)
    print(f"{stats} in {time.monotonic() - start:.1f} s: all delivered, applied once, in order")


if __name__ == "__main__":
    main()
