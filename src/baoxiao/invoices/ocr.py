"""Optional OCR of receipts without a QR code: amount, date and seller proposals.

Off by default (BAOXIAO_OCR_ENABLED). The engine is rapidocr-onnxruntime
(the `ocr` extra), whose wheel carries its ONNX detection, classification and
recognition models: it runs on this machine only, downloads nothing, and sends
the image nowhere (onnxruntime's own telemetry is switched off, see _load).
It is imported when first needed, so an instance with OCR off neither loads
it nor needs it installed.

Limits: the image is scaled down to at most `max_pixels` before recognition
(the decoded image itself is already bounded by qr.MAX_PIXELS), one recognition
runs at a time per process, and the caller waits at most `timeout_seconds`;
past that the upload goes on without a proposal (status "timeout").
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import math
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from PIL import Image

from baoxiao.invoices.ocr_text import Proposal, TextLine, propose

log = logging.getLogger(__name__)

ENGINE_MODULE = "rapidocr_onnxruntime"
ENGINE_THREADS = 2  # onnxruntime threads per recognition; the machine serves requests too


@dataclass(frozen=True)
class OcrResult:
    """What OCR made of an image: status read | nothing_found | timeout | failed | unavailable."""

    status: str
    proposal: Proposal
    seconds: float
    lines: int = 0


class OcrReader:
    """Reads receipt text with the local engine; one recognition at a time, bounded in time."""

    def __init__(self, *, max_pixels: int, timeout_seconds: float) -> None:
        self.max_pixels = max_pixels
        self.timeout_seconds = timeout_seconds
        self._engine: Any = None
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="baoxiao-ocr")

    def _load(self) -> Any:
        with self._lock:
            if self._engine is None:
                # onnxruntime's Linux wheels carry Microsoft's telemetry client (1DS: it queues
                # events in ~/.cache/Microsoft and would send them to events.data.microsoft.com).
                # Switched off before the first import, and again in case it was imported.
                os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
                runtime = importlib.import_module("onnxruntime")
                runtime.disable_telemetry_events()
                module = importlib.import_module(ENGINE_MODULE)  # optional dependency
                self._engine = module.RapidOCR(
                    intra_op_num_threads=ENGINE_THREADS, inter_op_num_threads=1
                )
            return self._engine

    def prepared(self, image: Image.Image) -> Image.Image:
        """RGB, scaled down to the pixel budget (never up)."""
        width, height = image.size
        if width * height > self.max_pixels:
            scale = math.sqrt(self.max_pixels / (width * height))
            size = (max(1, int(width * scale)), max(1, int(height * scale)))
            image = image.resize(size, Image.Resampling.LANCZOS)
        return image.convert("RGB")

    def _recognise(self, image: Image.Image) -> list[TextLine]:
        numpy = importlib.import_module("numpy")  # comes with the engine
        found, _ = self._load()(numpy.asarray(image))
        return [TextLine(str(text), float(score)) for _, text, score in found or []]

    def read(self, image: Image.Image) -> OcrResult:
        """Propose amount, date and seller; never raises for what the engine does."""
        started = time.monotonic()
        prepared = self.prepared(image)
        future = self._pool.submit(self._recognise, prepared)
        try:
            lines = future.result(timeout=self.timeout_seconds)
        except ModuleNotFoundError:
            log.error("BAOXIAO_OCR_ENABLED is set but the `ocr` extra is not installed")
            return OcrResult("unavailable", Proposal(), time.monotonic() - started)
        except FutureTimeout:
            future.cancel()  # if still queued; a running recognition ends on its own
            log.warning("ocr timed out after %.1f s", self.timeout_seconds)
            return OcrResult("timeout", Proposal(), time.monotonic() - started)
        except Exception:  # the engine's own errors (model, runtime): no proposal
            log.exception("ocr failed")
            return OcrResult("failed", Proposal(), time.monotonic() - started)
        proposal = propose(lines)
        status = "nothing_found" if proposal.empty else "read"
        return OcrResult(status, proposal, time.monotonic() - started, len(lines))


@lru_cache(maxsize=4)
def reader(max_pixels: int, timeout_seconds: float) -> OcrReader:
    """One reader (and engine) per configuration in the process."""
    return OcrReader(max_pixels=max_pixels, timeout_seconds=timeout_seconds)


def available() -> bool:
    """Whether the engine package is installed (the `ocr` extra)."""
    return importlib.util.find_spec(ENGINE_MODULE) is not None
