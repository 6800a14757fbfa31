"""Reading Seoul Open API envelopes, and the date spellings of Korean public data."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from connectors.seoul_envelope import MalformedEnvelope, SeoulPage, read_envelope
from connectors.timestamps import parse_timestamp


def test_wrapped_page_with_string_total_and_single_row_object() -> None:
    body = {"getparkinfo": {"list_total_count": " 12 ", "RESULT": {"CODE": "INFO-000"}, "row": {"a": 1}}}

    page = read_envelope(body, "GetParkInfo")

    assert page == SeoulPage(code="INFO-000", message="", total=12, rows=({"a": 1},))


def test_bare_envelope_and_fault_info() -> None:
    bare = read_envelope({"RESULT": {"CODE": "INFO-200", "MESSAGE": "해당하는 데이터가 없습니다."}}, "S")
    fault = read_envelope({"faultInfo": {"message": "bad key"}}, "S")

    assert isinstance(bare, SeoulPage)
    assert (bare.code, bare.total, bare.rows) == ("INFO-200", 0, ())
    assert isinstance(fault, SeoulPage)
    assert (fault.code, fault.message, fault.ok) == ("FAULT", "bad key", False)


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ([], "expected a JSON object"),
        ({"Other": {}}, "no S object and no RESULT"),
        ({"S": {"row": []}}, "no RESULT code"),
        ({"S": {"RESULT": {"MESSAGE": "x"}}}, "RESULT has no CODE"),
    ],
)
def test_malformed_envelopes(body: object, needle: str) -> None:
    result = read_envelope(body, "S")

    assert isinstance(result, MalformedEnvelope)
    assert needle in result.reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20181122214218", datetime(2018, 11, 22, 12, 42, 18, tzinfo=UTC)),
        ("20250101", datetime(2024, 12, 31, 15, 0, tzinfo=UTC)),
        ("2025-11-19", datetime(2025, 11, 18, 15, 0, tzinfo=UTC)),
        ("2025-04-29 17:56", datetime(2025, 4, 29, 8, 56, tzinfo=UTC)),
        ("2024.08.28", datetime(2024, 8, 27, 15, 0, tzinfo=UTC)),
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("01:00.0", None),
        ("20251399", None),
        ("", None),
    ],
)
def test_timestamps_are_read_as_kst_and_returned_in_utc(text: str, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected
