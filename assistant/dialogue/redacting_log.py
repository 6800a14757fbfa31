"""A logging filter that redacts PII from every record before any handler formats or ships it."""

from __future__ import annotations

import logging
from typing import Protocol


class TextRedactor(Protocol):
    """What the filter needs from a redactor (``PiiRedactor`` satisfies it)."""

    def redact_text(self, text: str) -> str: ...


class PiiLogFilter(logging.Filter):
    """Formats ``msg % args``, redacts the result and the exception text, and always lets it through.

    Install it on the handlers (the composition root does, on the root logger's handlers): a filter
    on a logger does not see records propagated from its child loggers. String values passed with
    ``extra=`` are redacted as well; other types are left as they are.
    """

    def __init__(self, redactor: TextRedactor) -> None:
        super().__init__()
        self._redactor = redactor
        # Attributes every LogRecord has; anything else came from ``extra=`` and is redacted too.
        blank = logging.LogRecord("", logging.INFO, "", 0, "", None, None)
        self._standard = frozenset(blank.__dict__) | {"message", "asctime"}

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call must still be logged, and still redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = self._redactor.redact_text(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redactor.redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redactor.redact_text(record.stack_info)
        for name, value in list(record.__dict__.items()):
            if name not in self._standard and isinstance(value, str):
                setattr(record, name, self._redactor.redact_text(value))
        return True
