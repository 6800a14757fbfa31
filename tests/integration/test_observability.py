"""Observability end to end: create_app over real services, the model a scripted vLLM (FakeOpenAIServer),
Langfuse a local OTLP receiver (FakeLangfuseReceiver) that decodes every exported span.

* A ``/v1/chat`` turn is ONE trace: safety, redaction, routing, retrieval, generation, verification,
  with a keyed-hash session id, and its trace id kept in the stored reply (on PostgreSQL).
* A turn holding a phone number and a resident registration number exports neither, in any attribute.
* The phone (Twilio) and a channel configured without capture export structure but no content.
* Without Langfuse keys: the no-op tracer, no export, no errors.
* ``GET /metrics``: turns by channel and route, steps, tokens, abstentions, handoffs, safety flags,
  Kakao callback outcomes and Twilio webhook latency, after those channels ran.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from assistant.app.http import create_app
from assistant.app.services import Services, build_services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.events import ConversationKey
from assistant.ingest.progress import SilentProgress
from assistant.sessions.sql_engine import create_session_engine
from assistant.tracing.langfuse_tracer import LangfuseTracer
from assistant.tracing.noop import NoopTracer
from assistant.tracing.observed import ObservedTracer
from channels.kakao.simulator import CallbackReceiver, build_skill_payload
from channels.twilio.simulator import PhoneSimulator
from connectors.folder import FolderConnector
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.fakes.otlp_receiver import FakeLangfuseReceiver, ReceivedSpan

pytestmark = pytest.mark.anyio

POSTGRES_URL = os.environ.get("DASAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
FAQ_IDS = {"faq-passport-new", "faq-resident-copy-online", "faq-bulky-how-to-report", "faq-ddareungi-price"}
MODEL = "fake-qwen"
QUESTION = "여권은 어디서 어떻게 만들 수 있나요?"
GROUNDED = "여권은 주소지와 관계없이 시청·구청·도청 등 여권 발급 기관 어디에서나 신청할 수 있습니다 [1]."
STEPS = {"safety", "redaction", "routing", "retrieval", "generation", "verification"}
RRN = "900101-1234567"
PHONE = "010-2345-6789"
TWILIO_TOKEN = SecretStr("e" * 32)
MARKER = "김다산"  # a name only the citizen says: it must never appear where content is not captured


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a lexical index of a slice of the sample FAQ, built once for the module."""
    data_dir = tmp_path_factory.mktemp("observability") / "data"
    folder = data_dir.parent / "kb"
    folder.mkdir()
    lines = (sample_knowledge_dir() / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if line.strip() and json.loads(line)["id"] in FAQ_IDS]
    (folder / "faq.jsonl").write_text("\n".join(picked), encoding="utf-8")

    async def ingest() -> None:
        settings = Settings(
            data_dir=data_dir,
            embedding={"backend": "none"},  # type: ignore[arg-type]
            llm={"backend": "none"},  # type: ignore[arg-type]
            database={"url": f"sqlite+aiosqlite:///{data_dir.parent / 'ingest.sqlite3'}"},  # type: ignore[arg-type]
        )
        services = await build_services(settings, env={})
        try:
            await services.ingest_pipeline(dense=False).run(
                [FolderConnector(folder, source="sample")], SilentProgress()
            )
        finally:
            await services.aclose()

    asyncio.run(ingest())
    return data_dir


@pytest.fixture(scope="module")
def vllm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(model=MODEL, default_text=GROUNDED) as server:
        yield server


@pytest.fixture
def receiver() -> Iterator[FakeLangfuseReceiver]:
    with FakeLangfuseReceiver() as running:
        yield running


def langfuse_env(receiver: FakeLangfuseReceiver) -> dict[str, str]:
    return {
        "LANGFUSE_PUBLIC_KEY": f"pk-lf-observability-{uuid.uuid4().hex[:8]}",
        "LANGFUSE_SECRET_KEY": "sk-lf-observability",
        "LANGFUSE_BASE_URL": receiver.base_url,
    }


async def open_services(
    knowledge_dir: Path,
    vllm: FakeOpenAIServer,
    env: dict[str, str],
    *,
    database: str | None = None,
    schema: str | None = None,
    **overrides: Any,
) -> Services:
    url = database or f"sqlite+aiosqlite:///{knowledge_dir.parent / f'{uuid.uuid4().hex}.sqlite3'}"
    values: dict[str, Any] = {
        "data_dir": knowledge_dir,
        "embedding": {"backend": "none"},
        "retrieval": {"mode": "lexical"},
        "llm": {"backend": "remote", "base_url": vllm.base_url, "model": MODEL, "max_retries": 0},
        "database": {"url": url, "schema_name": schema},
        "tracing": {"hash_salt": "observability-test-salt-0123"},
        "twilio": {"auth_token": TWILIO_TOKEN.get_secret_value()},
        **overrides,
    }
    return await build_services(Settings(**values), env=env)


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def traces(spans: Sequence[ReceivedSpan]) -> dict[str, list[ReceivedSpan]]:
    found: dict[str, list[ReceivedSpan]] = {}
    for span in spans:
        found.setdefault(span.trace_id, []).append(span)
    return found


def root_of(spans: Sequence[ReceivedSpan]) -> ReceivedSpan:
    (root,) = [span for span in spans if span.parent_span_id is None]
    return root


def wire_text(spans: Sequence[ReceivedSpan]) -> str:
    """Every attribute of every span (names, values, resource), as exported."""
    return json.dumps(
        [[span.name, span.status_message, dict(span.attributes), dict(span.resource)] for span in spans],
        ensure_ascii=False,
        default=str,
    )


async def metric_samples(http: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await http.get("/metrics")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


async def postgres_schema() -> str:
    schema = f"dasan_obs_{uuid.uuid4().hex[:12]}"
    admin = create_session_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # an unreachable server skips, whatever the driver raises
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__})")
    finally:
        await admin.dispose()
    return schema


async def drop_schema(schema: str) -> None:
    admin = create_session_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        await admin.dispose()


async def test_a_chat_turn_is_one_trace_with_every_step_and_its_id_is_stored(
    knowledge_dir: Path, vllm: FakeOpenAIServer, receiver: FakeLangfuseReceiver
) -> None:
    schema = await postgres_schema()
    services = await open_services(
        knowledge_dir, vllm, langfuse_env(receiver), database=POSTGRES_URL, schema=schema
    )
    try:
        assert isinstance(services.tracer, ObservedTracer)
        assert isinstance(services.tracer.inner, LangfuseTracer)
        async with client(create_app(services)) as http:
            response = await http.post("/v1/chat", json={"session_id": "obs-session-0001", "text": QUESTION})
        assert response.status_code == 200, response.text
        assert response.json()["reply"]["text"] == GROUNDED  # generated and verified
        stored = await (await services.sessions()).load(ConversationKey("web", "obs-session-0001"))
    finally:
        await services.aclose()  # flushes the spans, once
        await drop_schema(schema)

    spans = receiver.wait_for_spans(1 + len(STEPS))
    (trace_id,) = traces(spans)
    root = root_of(spans)
    assert root.name == "turn"
    assert {span.name for span in spans} == {"turn", *STEPS}
    names = {span.span_id: span.name for span in spans}
    parents = {span.name: names.get(span.parent_span_id or "") for span in spans}
    assert parents == {
        "turn": None,
        "safety": "turn",
        "redaction": "turn",
        "routing": "turn",
        "retrieval": "routing",
        "generation": "routing",
        "verification": "routing",
    }
    sessions = {span.attributes["session.id"] for span in spans}
    assert len(sessions) == 1 and next(iter(sessions)).startswith("web-")
    assert "obs-session-0001" not in wire_text(spans)
    generation = next(span for span in spans if span.name == "generation")
    assert generation.attributes["langfuse.observation.model.name"] == MODEL
    assert generation.json_attribute("langfuse.observation.usage_details")["input"] > 0
    assert generation.json_attribute("langfuse.observation.metadata.prompt_id") == "grounded_answer"
    assert generation.attributes["langfuse.version"]  # the prompt's content hash
    verification = next(span for span in spans if span.name == "verification")
    assert verification.json_attribute("langfuse.observation.metadata.mode") == "llm"
    assert root.json_attribute("langfuse.observation.metadata.route") == "answer"
    replies = [event for event in stored.events if event.kind == "bot_reply"]
    assert [reply.payload["trace_id"] for reply in replies] == [trace_id]


async def test_no_raw_pii_is_exported_anywhere(
    knowledge_dir: Path, vllm: FakeOpenAIServer, receiver: FakeLangfuseReceiver
) -> None:
    vllm.script(Reply(f"{GROUNDED} 연락처 {PHONE} 로 안내드릴게요 [1]."))  # a model echoing PII
    services = await open_services(knowledge_dir, vllm, langfuse_env(receiver))
    try:
        async with client(create_app(services)) as http:
            text = f"{QUESTION} 주민번호 {RRN}, 전화 {PHONE}"
            response = await http.post("/v1/chat", json={"text": text})
            assert response.status_code == 200
            samples = await metric_samples(http)
    finally:
        await services.aclose()

    spans = receiver.wait_for_spans(1 + len(STEPS))
    wire = wire_text(spans)
    for raw in (RRN, PHONE, RRN.replace("-", ""), PHONE.replace("-", ""), "1234567", "2345-6789"):
        assert raw not in wire, raw
    assert "[주민등록번호]" in wire and "[전화번호]" in wire  # content captured, redacted
    redaction = next(span for span in spans if span.name == "redaction")
    assert redaction.json_attribute("langfuse.observation.metadata.found") == {"rrn": 1, "phone": 1}
    assert not any(PHONE in str(key) or RRN in str(key) for key in samples)


async def test_the_phone_and_uncaptured_channels_export_no_content(
    knowledge_dir: Path, vllm: FakeOpenAIServer, receiver: FakeLangfuseReceiver
) -> None:
    services = await open_services(
        knowledge_dir,
        vllm,
        langfuse_env(receiver),
        tracing={"hash_salt": "observability-test-salt-0123", "capture_channels": "web,kakao"},
    )
    app = create_app(services)
    try:
        async with client(app) as http:
            call = PhoneSimulator(http, "http://test", TWILIO_TOKEN)
            greeting = await call.call()
            assert greeting.listening
            heard = await call.say(f"제 이름은 {MARKER}인데 여권은 어디서 만들어요?")
            assert heard.says
            await call.hang_up(30)
            response = await http.post(
                "/v1/chat", json={"text": f"{MARKER}입니다. {QUESTION}", "channel": "api"}
            )
            assert response.status_code == 200
            samples = await metric_samples(http)
    finally:
        await services.aclose()

    spans = receiver.wait_for_spans(1)
    by_trace = traces(spans)
    channels = {
        root_of(group).json_attribute("langfuse.observation.metadata.channel") for group in by_trace.values()
    }
    assert channels == {"phone", "api"}
    roots = {trace_id: root_of(group) for trace_id, group in by_trace.items()}
    assert {"call_started", "turn"} <= {root.name for root in roots.values()}
    assert MARKER not in wire_text(spans)
    for span in spans:
        assert "langfuse.observation.input" not in span.attributes, span.name
        assert "langfuse.observation.output" not in span.attributes, span.name
    turns = [root for root in roots.values() if root.name == "turn"]
    assert all(root.json_attribute("langfuse.observation.metadata.input_chars") > 0 for root in turns)
    phone_users = {span.attributes.get("user.id") for span in spans if span.attributes.get("user.id")}
    assert phone_users and all(user.startswith("phone-") for user in phone_users)
    assert call.call_sid not in wire_text(spans)
    assert samples[("dasan_twilio_webhook_duration_seconds_count", (("endpoint", "incoming"),))] >= 1
    assert samples[("dasan_twilio_webhook_duration_seconds_count", (("endpoint", "gather"),))] >= 1
    assert samples[("dasan_turns_total", (("channel", "phone"), ("route", "call_started")))] == 1
    api_turns = [
        v
        for (name, labels), v in samples.items()
        if name == "dasan_turns_total" and ("channel", "api") in labels
    ]
    assert api_turns == [1]


async def test_without_keys_nothing_is_traced_and_nothing_fails(
    knowledge_dir: Path, vllm: FakeOpenAIServer, receiver: FakeLangfuseReceiver
) -> None:
    services = await open_services(knowledge_dir, vllm, {"LANGFUSE_BASE_URL": receiver.base_url})
    try:
        assert isinstance(services.tracer, ObservedTracer)
        assert isinstance(services.tracer.inner, NoopTracer)
        async with client(create_app(services)) as http:
            response = await http.post("/v1/chat", json={"session_id": "no-keys-session-1", "text": QUESTION})
            assert response.status_code == 200
            samples = await metric_samples(http)
        stored = await (await services.sessions()).load(ConversationKey("web", "no-keys-session-1"))
    finally:
        await services.aclose()
    assert receiver.requests == []
    assert all("trace_id" not in event.payload for event in stored.events)
    assert not any(name == "dasan_errors_total" for name, _ in samples)
    assert samples[("dasan_step_duration_seconds_count", (("step", "generation"),))] == 1  # still metered


async def test_metrics_count_turns_steps_tokens_and_the_kakao_callbacks(
    knowledge_dir: Path, vllm: FakeOpenAIServer
) -> None:
    services = await open_services(
        knowledge_dir,
        vllm,
        {},
        kakao={"callback_url_prefixes": "http://127.0.0.1:", "inline_budget": 0.3, "reply_margin": 0.1},
    )
    app = create_app(services)
    try:
        with CallbackReceiver() as callbacks:
            async with app.router.lifespan_context(app), client(app) as http:
                for text in (QUESTION, "우주선 조종 면허는 어디서 따나요?", "집에 불이 났어요 살려주세요"):
                    response = await http.post("/v1/chat", json={"text": text})
                    assert response.status_code == 200
                vllm.script(Reply(GROUNDED, delay=timedelta(seconds=1)))  # slower than the inline budget
                delivered = callbacks.expect("cb-1")
                payload = build_skill_payload(
                    QUESTION, bot_id="bot-1", user_key="kakao-user-1", callback_url=callbacks.url("cb-1")
                )
                skill = await http.post("/kakao/skill", json=payload)
                assert skill.status_code == 200 and skill.json().get("useCallback") is True
                body = await asyncio.wait_for(delivered, timeout=20)
                assert "template" in body
            # the lifespan closed the Kakao channel: its callback task has finished and been counted
            async with client(app) as http:
                samples = await metric_samples(http)
    finally:
        await services.aclose()

    def value(name: str, **labels: str) -> float:
        return samples.get((name, tuple(sorted(labels.items()))), 0.0)

    assert value("dasan_turns_total", channel="web", route="answer") == 1
    assert value("dasan_turns_total", channel="web", route="answer:abstain") == 1
    assert value("dasan_turns_total", channel="web", route="handoff:safety") == 1
    assert value("dasan_turns_total", channel="kakao", route="answer") == 1
    assert value("dasan_turn_duration_seconds_count", channel="web") == 3
    assert value("dasan_abstentions_total", channel="web") == 1
    assert value("dasan_handoffs_total", channel="web") == 1
    assert value("dasan_safety_flags_total", flag="fire") == 1
    assert value("dasan_kakao_callbacks_total", outcome="delivered") == 1
    assert value("dasan_llm_tokens_total", model=MODEL, kind="prompt") > 0
    assert value("dasan_llm_tokens_total", model=MODEL, kind="completion") > 0
    for step in ("safety", "redaction", "routing", "retrieval", "generation", "verification"):
        assert value("dasan_step_duration_seconds_count", step=step) >= 1, step
    assert value("dasan_step_duration_seconds_count", step="generation") == 2  # web + kakao answers


async def test_a_streamed_turn_is_traced_like_any_other(
    knowledge_dir: Path, vllm: FakeOpenAIServer, receiver: FakeLangfuseReceiver
) -> None:
    services = await open_services(knowledge_dir, vllm, langfuse_env(receiver))
    try:
        async with client(create_app(services)) as http:
            response = await http.post("/v1/chat/stream", json={"text": QUESTION})
            assert response.status_code == 200 and "event: reply" in response.text
    finally:
        await services.aclose()
    spans = receiver.wait_for_spans(1 + len(STEPS))
    (group,) = traces(spans).values()
    assert {span.name for span in group} == {"turn", *STEPS}
    root = root_of(group)
    assert root.json_attribute("langfuse.observation.metadata.streaming") is True
    generation = next(span for span in group if span.name == "generation")
    assert generation.attributes.get("langfuse.observation.completion_start_time")
