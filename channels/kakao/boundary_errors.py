"""``ErrorRecorder`` and ``BoundaryErrors``: the never-a-500 boundaries count what they caught."""

from __future__ import annotations

import logging
from typing import Protocol

_log = logging.getLogger(__name__)


class ErrorRecorder(Protocol):
    """Counts an error under a low-cardinality name (``assistant.app.metrics.Metrics`` satisfies it)."""

    def record_error(self, error: str) -> None: ...


class BoundaryErrors:
    """Counts an exception caught at a boundary as ``<prefix>.<ExceptionType>`` (``kakao.TimeoutError``):
    the type name only, never the message. The prefix keeps these apart from the dialogue's own count of
    a turn that failed (the same exception, seen by both). Counting never raises."""

    def __init__(self, recorder: ErrorRecorder | None, prefix: str = "kakao") -> None:
        self._recorder = recorder
        self._prefix = prefix

    def count(self, error: BaseException) -> None:
        if self._recorder is None:
            return
        try:
            self._recorder.record_error(f"{self._prefix}.{type(error).__name__}")
        except Exception as exc:  # counting must not break the boundary that never fails
            _log.warning("%s error not counted: %s", self._prefix, type(exc).__name__)
