"""The JSON report: ``RunReport`` to and from a file, validated with pydantic when read back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from assistant.core.errors import SourceError
from evals.results import REPORT_FORMAT, RunReport

_ADAPTER = TypeAdapter(RunReport)


def report_dict(report: RunReport) -> dict[str, Any]:
    data: dict[str, Any] = _ADAPTER.dump_python(report, mode="json")
    return {"format": data.pop("format"), **data}


def write_report_json(report: RunReport, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report_dict(report), ensure_ascii=False, indent=1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def read_report_json(path: Path) -> RunReport:
    """Read a report written by ``write_report_json``; anything else raises ``SourceError``."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SourceError(str(path), f"cannot read: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise SourceError(str(path), f"not JSON: {exc.msg}", row=exc.lineno) from exc
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        raise SourceError(str(path), f"not a {REPORT_FORMAT} report")
    try:
        return _ADAPTER.validate_python(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error["loc"])
        raise SourceError(str(path), f"{where}: {error['msg']}") from exc


def slim_for_baseline(report: RunReport) -> RunReport:
    """The report without what a baseline does not compare (outputs, retrieved lists, per-case latency),
    so the committed file stays small and its diffs show score changes."""
    suites = tuple(
        replace(
            suite,
            cases=tuple(replace(c, output="", retrieved=(), latency_ms=None) for c in suite.cases),
        )
        for suite in report.suites
    )
    return replace(report, suites=suites)
