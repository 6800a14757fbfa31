"""SeoulOpenApiConnector against a local HTTP server speaking the Open Data Plaza's wire format.

The server replays the real captured GetParkInfo response (INFO-000 with a maintenance notice in
MESSAGE) and serves a synthetic 2,345-row service in pages, the published error codes, a bare
envelope, HTTP 500s and a hanging endpoint. It answers only on 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from assistant.core.errors import ConfigurationError
from assistant.core.knowledge import Document, SourceProblem
from connectors.api_mapping import ApiMapping
from connectors.seoul_openapi import SecretMaskingFilter, SeoulOpenApiConnector

KEY = "4d6f636b6b65793132333435363738"  # 30 hex characters, like a real key
BIG_TOTAL = 2345


def _shared() -> Path:
    path = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "seoul-openapi"
    if not path.is_dir():
        pytest.skip("../shared/data/seoul-openapi is not present")
    return path


@dataclass
class FakeSeoulOpenApi:
    """The Open Data Plaza's JSON interface for a handful of scripted services."""

    live_capture: bytes
    messages: dict[str, str]
    requests: list[str] = field(default_factory=list)
    flaky_failures_left: int = 1
    release_hanging: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, path: str) -> tuple[int, bytes]:
        with self.lock:
            self.requests.append(path)
        parts = path.strip("/").split("/")
        if len(parts) < 5 or parts[1] != "json":
            return 404, b"not found"
        key, _, service, start_text, end_text = parts[:5]
        if key != KEY:
            return 200, self._bare("INFO-100")
        start, end = int(start_text), int(end_text)
        if end - start + 1 > 1000:
            return 200, self._bare("ERROR-336")
        match service:
            case "GetParkInfo":
                return 200, self.live_capture if start == 1 else self._bare("INFO-200")
            case "BigList":
                rows = [_big_row(n) for n in range(start, min(end, BIG_TOTAL) + 1)]
                return 200, self._wrapped(service, rows, total=str(BIG_TOTAL))
            case "StrictList":
                if end - start + 1 > 500:
                    return 200, self._bare("ERROR-336")
                return 200, self._wrapped(service, [], total="0")
            case "EmptyList":
                return 200, self._bare("INFO-200")
            case "BrokenList":
                return 200, self._bare("ERROR-500")
            case "DownList":
                return 500, b"<html>Internal Server Error</html>"
            case "FlakyList":
                with self.lock:
                    failing = self.flaky_failures_left > 0
                    self.flaky_failures_left -= 1
                if failing:
                    return 500, b"busy"
                return 200, self._wrapped(service, [_big_row(1), _big_row(2)], total=2)
            case "SingleRow":
                body = {
                    service: {"list_total_count": 1, "RESULT": self._result("INFO-000"), "row": _big_row(7)}
                }
                return 200, _json(body)
            case "SearchFAQService":
                rows = [
                    {
                        "FAQ_TP": "F",
                        "FAQ_SEQNO": 289803,
                        "QUEST": "광진환경백서는 몇년 주기로 발간됩니까?",
                        "ANSWER": "<p>광진환경백서는 <b>2년</b> 주기로 발간됩니다.</p>",
                        "UPDATE_YMDHMS": "20181122214218",
                        "LCODE_NAME": None,
                    }
                ]
                return 200, self._wrapped(service, rows, total=1)
            case "HangingList":
                self.release_hanging.wait(timeout=10)
                return 200, self._bare("INFO-200")
            case _:
                return 200, self._bare("ERROR-310")

    def _result(self, code: str) -> dict[str, str]:
        return {"CODE": code, "MESSAGE": self.messages[code]}

    def _bare(self, code: str) -> bytes:
        return _json({"RESULT": self._result(code)})

    def _wrapped(self, service: str, rows: list[dict[str, Any]], *, total: int | str) -> bytes:
        return _json({service: {"list_total_count": total, "RESULT": self._result("INFO-000"), "row": rows}})


def _big_row(number: int) -> dict[str, Any]:
    """Numbers as strings and as numbers, and nulls, as real services mix them."""
    return {
        "SEQ": str(number),
        "FCLTY_NM": f"시설 {number}",
        "GU": "강남구" if number % 2 else None,
        "CAPACITY": number * 10,
        "LAT": 37.5 + number / 10_000,
    }


def _json(body: object) -> bytes:
    return json.dumps(body, ensure_ascii=False).encode("utf-8")


@pytest.fixture(scope="module")
def fake_api() -> Iterator[tuple[FakeSeoulOpenApi, str]]:
    shared = _shared()
    messages: dict[str, str] = {}
    for line in (shared / "seoul_openapi_result_codes.tsv").read_text(encoding="utf-8").splitlines()[1:]:
        code, message, _ = line.split("\t")
        messages[code] = message
    api = FakeSeoulOpenApi(
        live_capture=(shared / "GetParkInfo_live_2020-02-21_bernakwon.json").read_bytes(), messages=messages
    )

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = api.respond(self.path)
            self.send_response(status)
            self.send_header("Content-Type", "application/json;charset=UTF-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield api, f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        api.release_hanging.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def api(fake_api: tuple[FakeSeoulOpenApi, str]) -> FakeSeoulOpenApi:
    server, _ = fake_api
    server.requests.clear()
    return server


@pytest.fixture
def base_url(fake_api: tuple[FakeSeoulOpenApi, str]) -> str:
    return fake_api[1]


@dataclass(frozen=True)
class Scan:
    documents: list[Document]
    problems: list[SourceProblem]


def _scan(service: str, base_url: str, *, timeout: float = 5.0, **options: Any) -> Scan:
    async def run() -> Scan:
        async with httpx.AsyncClient(timeout=timeout) as client:
            connector = SeoulOpenApiConnector(
                service,
                key=options.pop("key", KEY),
                client=client,
                base_url=base_url,
                retry_delay=timedelta(0),
                **options,
            )
            assert connector.source == f"seoul-openapi:{service}"
            documents: list[Document] = []
            problems: list[SourceProblem] = []
            async for item in connector.scan():
                (problems if isinstance(item, SourceProblem) else documents).append(item)  # type: ignore[arg-type]
            return Scan(documents, problems)

    return asyncio.run(run())


def _assert_key_hidden(result: Scan) -> None:
    for problem in result.problems:
        assert KEY not in str(problem)
    for doc in result.documents:
        assert KEY not in doc.origin
        assert KEY not in doc.document_id


def test_live_capture_with_maintenance_notice_is_a_success(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("GetParkInfo", base_url)

    assert result.problems == []
    assert len(result.documents) == 9
    first = result.documents[0]
    assert first.title == "구로디지털단지역 환승주차장(시)"
    assert first.kind == "record"
    assert "addr: 구로구 구로동 810-3" in first.sections[0].text
    assert "capacity: 93" in first.sections[0].text
    assert first.source == "seoul-openapi:GetParkInfo"
    assert first.origin == f"{base_url.rstrip('/')}/****/json/GetParkInfo/"
    # The capture claims 15,078 rows but holds 9; the next page answers INFO-200, which ends the scan.
    assert api.requests == [f"/{KEY}/json/GetParkInfo/1/1000/", f"/{KEY}/json/GetParkInfo/1001/2000/"]
    _assert_key_hidden(result)


def test_pages_follow_list_total_count_in_calls_of_at_most_1000(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("BigList", base_url)

    assert result.problems == []
    assert api.requests == [
        f"/{KEY}/json/BigList/1/1000/",
        f"/{KEY}/json/BigList/1001/2000/",
        f"/{KEY}/json/BigList/2001/2345/",
    ]
    assert len(result.documents) == BIG_TOTAL
    assert len({d.document_id for d in result.documents}) == BIG_TOTAL
    last = result.documents[-1]
    assert last.title == "시설 2345"
    assert (
        last.sections[0].text
        == "SEQ: 2345 · FCLTY_NM: 시설 2345 · GU: 강남구 · CAPACITY: 23450 · LAT: 37.7345"
    )
    assert "GU" not in result.documents[1].sections[0].text  # null values are left out


def test_mapping_sets_ids_districts_and_smaller_pages(api: FakeSeoulOpenApi, base_url: str) -> None:
    mapping = ApiMapping(id_fields=("SEQ",), title_fields=("FCLTY_NM",), district_field="GU", category="시설")

    first = _scan("BigList", base_url, page_size=800, mapping=mapping)
    again = _scan("BigList", base_url, page_size=1000, mapping=mapping)

    assert len(api.requests) == 3 + 3
    assert first.documents[0].document_id == "seoul-openapi:BigList/1"
    assert first.documents[0].metadata == {"district": "강남구"}
    assert first.documents[0].category == "시설"
    assert [(d.document_id, d.fingerprint) for d in first.documents] == [
        (d.document_id, d.fingerprint) for d in again.documents
    ]


def test_faq_service_uses_the_built_in_preset(api: FakeSeoulOpenApi, base_url: str) -> None:
    [doc] = _scan("SearchFAQService", base_url).documents

    assert doc.document_id == "seoul-openapi:SearchFAQService/289803"
    assert doc.title == "광진환경백서는 몇년 주기로 발간됩니까?"
    assert doc.sections[0].text == "광진환경백서는 2년 주기로 발간됩니다."
    assert doc.kind == "prose"
    assert doc.updated_at == datetime(2018, 11, 22, 12, 42, 18, tzinfo=UTC)
    assert doc.metadata == {"faq_type": "F"}


def test_row_as_a_single_object_is_one_document(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("SingleRow", base_url)

    assert [d.title for d in result.documents] == ["시설 7"]
    assert result.problems == []


def test_info_200_is_zero_documents_not_a_problem(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("EmptyList", base_url)

    assert result == Scan([], [])
    assert len(api.requests) == 1


def test_error_336_from_the_server_is_a_problem_naming_page_and_code(
    api: FakeSeoulOpenApi, base_url: str
) -> None:
    result = _scan("StrictList", base_url)

    assert result.documents == []
    [problem] = result.problems
    assert problem.location == f"{base_url.rstrip('/')}/****/json/StrictList/"
    assert problem.row == 1
    assert "page 1-1000" in problem.reason
    assert "/****/json/StrictList/1/1000/" in problem.reason
    assert "ERROR-336 데이터요청은 한번에 최대 1000건을 넘을 수 없습니다." in problem.reason
    assert len(api.requests) == 1  # a client error is not retried
    _assert_key_hidden(result)


def test_error_500_is_retried_then_reported(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("BrokenList", base_url, max_attempts=3)

    [problem] = result.problems
    assert "ERROR-500 서버 오류입니다." in problem.reason
    assert "after 3 attempts" in problem.reason
    assert len(api.requests) == 3
    _assert_key_hidden(result)


def test_http_500_is_retried_and_a_transient_one_recovers(api: FakeSeoulOpenApi, base_url: str) -> None:
    down = _scan("DownList", base_url, max_attempts=2)
    flaky = _scan("FlakyList", base_url, max_attempts=2)

    [problem] = down.problems
    assert "HTTP 500" in problem.reason
    assert "after 2 attempts" in problem.reason
    assert flaky.problems == []
    assert [d.title for d in flaky.documents] == ["시설 1", "시설 2"]
    assert len(api.requests) == 2 + 2


def test_bare_error_envelope_and_a_wrong_key(api: FakeSeoulOpenApi, base_url: str) -> None:
    unknown = _scan("NoSuchService", base_url)
    wrong_key = _scan("BigList", base_url, key="0000000000wrongkey0000000000000")

    assert "ERROR-310 해당하는 서비스를 찾을 수 없습니다." in unknown.problems[0].reason
    assert "INFO-100 인증키가 유효하지 않습니다." in wrong_key.problems[0].reason
    assert "0000000000wrongkey" not in str(wrong_key.problems[0])


def test_timeout_is_a_problem(api: FakeSeoulOpenApi, base_url: str) -> None:
    result = _scan("HangingList", base_url, timeout=0.2, max_attempts=2)

    [problem] = result.problems
    assert "timed out (ReadTimeout)" in problem.reason
    assert "after 2 attempts" in problem.reason


def test_unreachable_server_is_a_problem(base_url: str) -> None:
    result = _scan("BigList", "http://127.0.0.1:9/", timeout=1.0, max_attempts=1)

    [problem] = result.problems
    assert "request failed (ConnectError" in problem.reason
    _assert_key_hidden(result)


def test_the_key_never_reaches_logs(
    api: FakeSeoulOpenApi, base_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    httpx_logger = logging.getLogger("httpx")
    masking = SecretMaskingFilter(KEY)
    httpx_logger.addFilter(masking)
    caplog.set_level(logging.DEBUG, logger="connectors")
    caplog.set_level(logging.INFO, logger="httpx")
    try:
        _scan("BrokenList", base_url, max_attempts=2)
        _scan("BigList", base_url)
    finally:
        httpx_logger.removeFilter(masking)

    assert any(r.name == "httpx" for r in caplog.records)  # httpx did log the request URLs…
    assert any(r.name == "connectors.seoul_openapi" for r in caplog.records)
    assert "/****/json/BigList/1/1000/" in caplog.text
    assert KEY not in caplog.text  # …with the key masked


def test_invalid_configuration_fails_at_construction() -> None:
    client = httpx.AsyncClient()
    with pytest.raises(ConfigurationError, match="page_size"):
        SeoulOpenApiConnector("X", key=KEY, client=client, base_url="http://127.0.0.1", page_size=1001)
    with pytest.raises(ConfigurationError, match="key is empty"):
        SeoulOpenApiConnector("X", key="", client=client, base_url="http://127.0.0.1")
