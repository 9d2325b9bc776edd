"""Running dispatchers: `baoxiao worker` processes, or a thread inside `baoxiao serve`."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType

from baoxiao.integrations.dispatcher import Dispatcher
from baoxiao.kernel import wakeup
from baoxiao.kernel.db import Database
from baoxiao.outbox import broker
from baoxiao.settings import Settings

log = logging.getLogger("baoxiao.worker")


def run_worker(db: Database, settings: Settings, *, processes_signals: bool = True) -> None:
    """Dispatch until SIGTERM/SIGINT; the current batch finishes before exit."""
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the current batch", signum)
        stop.set()

    broker.configure(settings.broker_url.get_secret_value() if settings.broker_url else None)
    if processes_signals:
        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
    Dispatcher(db, settings).run(stop)


class EmbeddedDispatcher:
    """A dispatcher thread for the embedded SQLite mode, tied to the app's lifespan."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.stop = threading.Event()
        self.thread = threading.Thread(
            target=Dispatcher(db, settings).run, args=(self.stop,), daemon=True, name="dispatcher"
        )

    def start(self) -> None:
        self.thread.start()

    def shutdown(self, timeout: float = 30.0) -> None:
        self.stop.set()
        # Wake it if it is idle; kernel.wakeup is the in-process signal.
        wakeup.notify()
        self.thread.join(timeout)
