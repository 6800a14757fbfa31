"""Reading one Seoul Open API JSON response: the service wrapper, RESULT code, total and rows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

SUCCESS = "INFO-000"
NO_DATA = "INFO-200"
TRANSIENT_CODES = frozenset({"ERROR-500", "ERROR-600", "ERROR-601"})
"""Server-side failures the published code table says to retry with backoff."""


@dataclass(frozen=True, slots=True)
class SeoulPage:
    """One response. ``total`` is ``list_total_count`` (all matches, not this page's rows)."""

    code: str
    message: str
    total: int
    rows: tuple[Mapping[str, Any], ...]

    @property
    def ok(self) -> bool:
        return self.code in {SUCCESS, NO_DATA}


@dataclass(frozen=True, slots=True)
class MalformedEnvelope:
    reason: str


def read_envelope(body: Any, service: str) -> SeoulPage | MalformedEnvelope:
    """Accept ``{"SERVICE": {...}}``, a bare ``{"RESULT": {...}}`` and a ``faultInfo`` object.

    Success is decided by ``RESULT.CODE`` alone: a real INFO-000 once carried a maintenance notice
    appended to its MESSAGE. A ``row`` that is a single object (XML converters) becomes a list.
    """
    if not isinstance(body, dict):
        return MalformedEnvelope(f"expected a JSON object, got {type(body).__name__}")
    wrapper = _wrapper(body, service)
    if wrapper is None:
        fault = body.get("faultInfo")
        if isinstance(fault, dict):
            code = str(fault.get("CODE") or fault.get("code") or "FAULT")
            message = str(fault.get("MESSAGE") or fault.get("message") or "")
            return SeoulPage(code=code, message=message, total=0, rows=())
        keys = ", ".join(sorted(str(k) for k in body)) or "none"
        return MalformedEnvelope(f"no {service} object and no RESULT in the response (keys: {keys})")
    result = wrapper.get("RESULT")
    rows = _rows(wrapper.get("row"))
    if isinstance(result, dict):
        code = str(result.get("CODE") or "").strip()
        message = str(result.get("MESSAGE") or "").strip()
    elif rows:
        code, message = SUCCESS, ""
    else:
        return MalformedEnvelope("the response has no RESULT code")
    if not code:
        return MalformedEnvelope("the response's RESULT has no CODE")
    return SeoulPage(
        code=code, message=message, total=_total(wrapper.get("list_total_count"), rows), rows=rows
    )


def _wrapper(body: dict[str, Any], service: str) -> dict[str, Any] | None:
    inner = body.get(service)
    if isinstance(inner, dict):
        return inner
    for key, value in body.items():  # the wrapper's case may differ from the URL's
        if isinstance(value, dict) and str(key).lower() == service.lower():
            return value
    return body if "RESULT" in body else None


def _rows(value: Any) -> tuple[Mapping[str, Any], ...]:
    if isinstance(value, dict):
        return (value,)
    if isinstance(value, list):
        return tuple(item for item in value if isinstance(item, dict))
    return ()


def _total(value: Any, rows: tuple[Mapping[str, Any], ...]) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        return len(rows)
