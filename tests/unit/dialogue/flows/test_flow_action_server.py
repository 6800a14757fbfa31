"""ActionServerClient against a local server speaking the rasa-sdk action-server protocol.

``FakeActionServer`` answers ``POST /webhook`` the way rasa-sdk's endpoint does: 200 with
``{"events": [...], "responses": [...]}``, 404 with ``{"error", "action_name"}`` for an action it does
not know, 400 for an ``ActionExecutionRejection``. Requests are recorded for the assertions.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import UpstreamError
from assistant.dialogue.flows.action_server import ActionServerClient
from assistant.dialogue.flows.actions import ActionCall, ActionRegistry
from assistant.dialogue.flows.civic_actions import civic_actions
from assistant.dialogue.flows.executor import FlowExecutor
from assistant.dialogue.flows.fees import FeeTable
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.parser import RuleCommandParser
from assistant.dialogue.flows.records import DailySequenceReferences, InMemoryCaseRecordStore
from assistant.dialogue.flows.validators import SlotValidators
from tests.unit.dialogue.flows.flow_harness import Dialogue

pytestmark = pytest.mark.anyio


class FakeActionServer:
    """A rasa-sdk-shaped action server on 127.0.0.1 (port 0) in a thread; ``requests`` holds the bodies."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.requests.append({"path": self.path, **body})
                status, answer = fake.answer(self.path, body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def answer(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        name = body.get("next_action")
        if path != "/webhook":
            return 404, {"error": "not found"}
        if name == "file_complaint":
            slots = body["tracker"]["slots"]
            return 200, {
                "events": [
                    {"event": "slot", "timestamp": None, "name": "reference", "value": "CP-REMOTE-0007"},
                    {
                        "event": "slot",
                        "timestamp": None,
                        "name": "echo_type",
                        "value": slots["complaint_type"],
                    },
                    {"event": "bot", "timestamp": None, "text": "ignored"},
                ],
                "responses": [
                    {"text": "구청 시스템에 등록했어요.", "buttons": [], "elements": [], "custom": {}}
                ],
            }
        if name == "reject_me":
            return 400, {"error": "Custom action 'reject_me' rejected execution.", "action_name": name}
        if name == "crash":
            return 500, {"error": "boom", "request_body": body}
        return 404, {"error": f"No registered action found for name '{name}'.", "action_name": name}

    def __enter__(self) -> FakeActionServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def action_server() -> Iterator[FakeActionServer]:
    with FakeActionServer() as server:
        yield server


CALL = ActionCall(
    name="file_complaint",
    flow_id="civil_complaint",
    sender_id="kakao:user-1",
    slots={
        "complaint_type": "가로등 고장",
        "location": "강남구 테헤란로 5",
        "options": ("a", "b"),
        "skip": None,
    },
    pii_slots=frozenset({"location"}),
    latest_text="네",
)


async def test_the_request_follows_the_rasa_sdk_protocol(action_server: FakeActionServer) -> None:
    async with httpx.AsyncClient() as http:
        result = await ActionServerClient(action_server.url, http).run(CALL)
    (request,) = action_server.requests
    assert request["path"] == "/webhook"
    assert request["next_action"] == "file_complaint" and request["sender_id"] == "kakao:user-1"
    assert request["version"].startswith("3.") and request["domain"] == {}
    tracker = request["tracker"]
    assert tracker["sender_id"] == "kakao:user-1" and tracker["events"] == []
    assert tracker["latest_message"] == {"text": "네", "intent": {}, "entities": []}
    assert tracker["slots"] == {
        "complaint_type": "가로등 고장",
        "location": "[개인정보]",  # personal slots stay home unless the server is trusted with them
        "options": ["a", "b"],
        "skip": None,
    }
    assert result.values == {"reference": "CP-REMOTE-0007", "echo_type": "가로등 고장"}
    assert result.messages == ("구청 시스템에 등록했어요.",)


async def test_a_trusted_server_gets_personal_slots(action_server: FakeActionServer) -> None:
    async with httpx.AsyncClient() as http:
        await ActionServerClient(action_server.url + "/", http, share_pii=True).run(CALL)
    assert action_server.requests[0]["tracker"]["slots"]["location"] == "강남구 테헤란로 5"


@pytest.mark.parametrize(
    ("action", "status", "retryable"),
    [("no_such_action", 404, False), ("reject_me", 400, False), ("crash", 500, True)],
)
async def test_error_answers_become_upstream_errors(
    action_server: FakeActionServer, action: str, status: int, retryable: bool
) -> None:
    async with httpx.AsyncClient() as http:
        with pytest.raises(UpstreamError, match=f"answered {status}") as caught:
            await ActionServerClient(action_server.url, http).run(
                ActionCall(name=action, flow_id="f", sender_id="s", slots={})
            )
    assert caught.value.retryable is retryable


async def test_an_unreachable_server_is_a_retryable_upstream_error() -> None:
    with FakeActionServer() as stopped:
        url = stopped.url
    async with httpx.AsyncClient() as http:
        with pytest.raises(UpstreamError) as caught:
            await ActionServerClient(url, http).run(CALL)
    assert caught.value.retryable


async def test_a_complaint_filed_on_the_action_server(
    action_server: FakeActionServer,
    flows: FlowCatalog,
    validators: SlotValidators,
    demo_fees: FeeTable,
    clock: FakeClock,
) -> None:
    store = InMemoryCaseRecordStore()
    local = civic_actions(demo_fees, store, DailySequenceReferences(), clock)
    del local["file_complaint"]
    async with httpx.AsyncClient() as http:
        remote = ActionServerClient(action_server.url, http, share_pii=True)
        executor = FlowExecutor(flows, validators, ActionRegistry(local, remote=remote))
        talk = Dialogue(executor, RuleCommandParser(flows, validators), sender_id="web:remote")
        await talk.say_all("가로등이 고장났어요", "없어요", "강남구 테헤란로 5", "가로등이 깜빡거려요")
        await talk.say("없음")
        done = await talk.say("네")
    assert done.outcome == "completed"
    assert "구청 시스템에 등록했어요.\n민원이 접수되었어요.\n접수번호: CP-REMOTE-0007" in done.prompt_text
    assert store.records == ()  # the remote server filed it, not the in-process action
    (request,) = action_server.requests
    assert request["sender_id"] == "web:remote"
    assert request["tracker"]["slots"]["location"] == "강남구 테헤란로 5"
    assert request["tracker"]["slots"]["description"] == "가로등이 깜빡거려요"


async def test_a_failing_action_server_makes_the_flow_offer_a_human(
    action_server: FakeActionServer,
    flows: FlowCatalog,
    validators: SlotValidators,
    demo_fees: FeeTable,
    clock: FakeClock,
) -> None:
    local = civic_actions(demo_fees, InMemoryCaseRecordStore(), DailySequenceReferences(), clock)
    del local["file_complaint"]
    async with httpx.AsyncClient() as http:
        remote = ActionServerClient(action_server.url, http)
        executor = FlowExecutor(flows, validators, ActionRegistry(local, remote=remote))
        action_server.answer = lambda path, body: (404, {"error": "gone", "action_name": "file_complaint"})  # type: ignore[method-assign]
        talk = Dialogue(executor, RuleCommandParser(flows, validators))
        await talk.say_all(
            "불법주차 신고할게요", "없음", "강남구 테헤란로 5", "인도 위에 차가 서 있어요", "없음"
        )
        offer = await talk.say("네")
        assert offer.prompt_text == "지금은 접수를 마치지 못했어요. 상담원을 연결해 드릴까요?"
        handed = await talk.say("네")
    assert handed.handoff and handed.outcome == "handoff"
