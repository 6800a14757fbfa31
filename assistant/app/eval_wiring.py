"""The eval harness's subjects, built from ``Services`` the way production builds each component.

``evals`` may not import ``channels`` (they are sibling layers), so this composition-root module fills
the harness's ports: the answer pipeline and its sentence verifier, the safety screen on the configured
rulebook, the channels' own reply encoders, and dialogue managers built by the production factories.

Decisions:
- **Channel encoders are the channels' code paths, not copies.** Kakao: ``KakaoTranslator.encode``
  (configured as ``KakaoChannel`` configures it) and ``to_json``, what ``/kakao/skill`` answers with.
  Twilio: a ``VoiceFlow`` (the ``/twilio/voice/gather`` handler) whose dialogue returns the reply under
  test, so the action → verb mapping, ``ear_sentences`` and ``TwimlEncoder`` all run. Its filler budget
  is raised so a loaded machine never turns an encoding check into a timing one.
- **Each dialogue case runs on scratch storage.** ``open_database``, ``build_session_store`` and
  ``build_dialogue`` run as in ``Services``, but on a fresh SQLite database per conversation (deleted
  afterwards) and with live sessions in process: an eval never writes bookings, complaints or
  conversations into the city's records (a scripted handoff would otherwise wait in the agents' queue),
  and reference numbers never depend on which case ran first.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

from assistant.answering.answer import HistoryTurn
from assistant.answering.pipeline import AnswerPipeline
from assistant.answering.text import KoreanText
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.app.answer_factory import default_deadline
from assistant.app.database_factory import open_database
from assistant.app.dialogue_factory import build_dialogue, build_session_store
from assistant.app.services import Services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.clock import Clock, SystemClock
from assistant.core.events import DialogueInput
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.manager_ports import Answerer
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.ports import ReplyDelta
from assistant.dialogue.safety import InjectionGuard, SafetyRules, SafetyScreen
from assistant.dialogue.safety_rulebook import SafetyRulebook, load_safety_rulebook
from assistant.retrieval.ports import SearchMode
from assistant.tracing.experiments import PublishedRun
from assistant.tracing.langfuse_options import LangfuseOptions
from channels.kakao.config import KakaoChannelConfig
from channels.kakao.messages import KakaoMessages
from channels.kakao.translator import KakaoTranslator
from channels.twilio.call_state import InMemoryCallStateStore
from channels.twilio.config import TwilioChannelConfig
from channels.twilio.emergency import SafetyGuidanceDetector
from channels.twilio.flow import VoiceFlow
from channels.twilio.prompts import VoicePrompts
from channels.twilio.tasks import CallTasks
from channels.twilio.twiml import TwimlEncoder
from channels.twilio.wire import TwilioVoiceRequest
from evals.datasets import Dataset, DatasetKind
from evals.publish import publish_report
from evals.results import RunReport
from evals.subjects import (
    AnswerObservation,
    DialogueRuntime,
    FollowUpSearch,
    HistoryRole,
    Subjects,
    VerifierVerdict,
)
from evals.suites.conversation import DialogueManagerConversation

ENCODE_FILLER_BUDGET = timedelta(seconds=10)
CALLER_SAID = "궁금한 게 있어요"


async def build_subjects(
    services: Services, collection: str | None, kinds: set[DatasetKind], *, judge: bool
) -> Subjects:
    """What the datasets of ``kinds`` evaluate. The safety screen and the phone's emergency detector
    read ``DASAN_SAFETY__RULES_PATH``; components that start the LLM are built only when needed."""
    settings = services.settings
    book = load_safety_rulebook(settings.safety.rules_path)
    pipeline = await services.answerer(collection) if kinds & {"answer", "abstention", "dialogue"} else None
    return Subjects(
        retriever=services.retriever(collection),
        followups=PipelineFollowUps(services, collection),
        safety=SafetyScreen(SafetyRules(book), InjectionGuard(book)),
        redactor=PiiRedactor(),
        answerer=PipelineAnswerer(pipeline, default_deadline(settings.answers)) if pipeline else None,
        verifier=PipelineVerifier(sentence_verifier(services)) if "verifier" in kinds else None,
        dialogue=DialogueManagerConversation(ScratchDialogues(settings, pipeline), uuid.uuid4().hex[:8])
        if pipeline is not None and "dialogue" in kinds
        else None,
        encoders={
            "kakao": KakaoSkillEncoder(settings.kakao),
            "twilio": TwilioVoiceEncoder(settings.twilio, book),
        },
        judge=await services.llm.client() if judge and "answer" in kinds else None,
    )


def sentence_verifier(services: Services) -> SentenceVerifier:
    """The answer pipeline's sentence verifier, configured from the same ``answers`` settings."""
    answers = services.settings.answers
    policy = VerifierPolicy(
        lexical_threshold=answers.verify_lexical,
        semantic_threshold=answers.verify_semantic,
        lexical_floor=answers.verify_lexical_floor,
    )
    return SentenceVerifier(KoreanText(services.analyzer), policy, embedder=services.embedder)


class PipelineAnswerer:
    """``AnswerPipeline`` as the harness's ``AnswerSubject``, with the configured default deadline."""

    def __init__(self, pipeline: AnswerPipeline, deadline: timedelta) -> None:
        self._pipeline = pipeline
        self._deadline = deadline

    async def answer(self, question: str, *, spoken: bool = False) -> AnswerObservation:
        result = await self._pipeline.answer(question, spoken=spoken, deadline=self._deadline)
        return AnswerObservation(
            text=result.text,
            mode=result.mode,
            citations=result.citations,
            fallback_reason=result.fallback_reason,
        )


class PipelineFollowUps:
    """``AnswerPipeline.search`` as the harness's ``FollowUpSubject``: the query a question is searched
    with after its history (rewrite, topic check) and what it retrieves. The pipeline is built on first
    use, so only datasets with history start it."""

    def __init__(self, services: Services, collection: str | None) -> None:
        self._services = services
        self._collection = collection

    async def search(
        self,
        question: str,
        history: Sequence[tuple[HistoryRole, str]],
        *,
        k: int,
        mode: SearchMode | None = None,
    ) -> FollowUpSearch:
        pipeline = await self._services.answerer(self._collection)
        turns = tuple(HistoryTurn(role, text) for role, text in history)
        found = await pipeline.search(question, history=turns, k=k, mode=mode)
        return FollowUpSearch(found.query, found.hits, found.rewrite.by if found.rewrite else "")


class PipelineVerifier:
    """``SentenceVerifier.support(claim, source)`` as the harness's ``VerifierSubject``."""

    def __init__(self, verifier: SentenceVerifier) -> None:
        self._verifier = verifier

    async def supports(self, sentence: str, source: str) -> VerifierVerdict:
        check = await self._verifier.support(sentence, source)
        return VerifierVerdict(check.supported, check.reason)


class KakaoSkillEncoder:
    """A reply as ``/kakao/skill`` answers with it: the channel's translator, configured as
    ``KakaoChannel`` configures it, and the response's wire JSON."""

    def __init__(self, config: KakaoChannelConfig) -> None:
        self._translator = KakaoTranslator(
            operator_handoff=config.operator_handoff,
            messages=KakaoMessages(callcenter=config.callcenter_number),
            dedupe_window=config.dedupe_window,
        )

    async def encode(self, reply: Reply) -> dict[str, Any]:
        return self._translator.encode(reply).to_json()


class _OneReply:
    """A dialogue manager that answers every event with the reply under test."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        return self._reply

    async def stream(
        self, event: DialogueInput, capabilities: Capabilities
    ) -> AsyncIterator[ReplyDelta | Reply]:
        yield self._reply


class TwilioVoiceEncoder:
    """A reply as the TwiML a caller gets after speaking: ``VoiceFlow.gather`` (as ``/twilio/voice``
    builds it, with the configured voice, prompts and emergency detection) over a dialogue that
    answers with the reply. Each encoding is one fresh call."""

    def __init__(
        self, config: TwilioChannelConfig, rulebook: SafetyRulebook, clock: Clock | None = None
    ) -> None:
        self._config = config.model_copy(update={"filler_budget": ENCODE_FILLER_BUDGET})
        self._prompts = VoicePrompts().for_hotline(config.hotline)
        self._emergency = SafetyGuidanceDetector(rulebook)
        self._clock = clock or SystemClock()

    async def encode(self, reply: Reply) -> str:
        tasks = CallTasks(self._clock)
        flow = VoiceFlow(
            dialogue=_OneReply(reply),
            config=self._config,
            clock=self._clock,
            encoder=TwimlEncoder(self._config),
            prompts=self._prompts,
            store=InMemoryCallStateStore(self._clock),
            tasks=tasks,
            emergency=self._emergency,
        )
        call = TwilioVoiceRequest(
            CallSid=f"CAeval{uuid.uuid4().hex}", SpeechResult=CALLER_SAID, Confidence=0.9
        )
        try:
            return await flow.gather(call)
        finally:
            await tasks.aclose()


class ScratchDialogues:
    """``DialogueRuntimes``: the production dialogue manager on a scratch SQLite database per
    conversation, with live sessions in process (see the module docstring)."""

    def __init__(self, settings: Settings, answers: Answerer) -> None:
        self._settings = settings
        self._answers = answers
        self._migrating = asyncio.Lock()

    @asynccontextmanager
    async def open(self, clock: Clock) -> AsyncIterator[DialogueRuntime]:
        with tempfile.TemporaryDirectory(prefix="dasan-eval-") as scratch:
            settings = self._settings.model_copy(
                update={
                    "database": self._settings.database.model_copy(
                        update={"url": f"sqlite:///{Path(scratch) / 'dialogue.sqlite3'}", "schema_name": None}
                    ),
                    "redis": self._settings.redis.model_copy(update={"url": None}),
                }
            )
            async with AsyncExitStack() as stack:
                async with self._migrating:  # Alembic's context is process-global: one migration at a time
                    database = await open_database(settings, stack)
                sessions = await build_session_store(settings, clock, database, stack)
                manager = await build_dialogue(
                    settings,
                    sessions=sessions,
                    database=database,
                    answers=self._answers,
                    clock=clock,
                    sample_dir=sample_knowledge_dir(),
                )
                yield DialogueRuntime(manager, sessions)


async def publish_to_langfuse(
    options: LangfuseOptions, report: RunReport, datasets: list[Dataset]
) -> list[PublishedRun]:
    """Publishes the run's datasets and scores (``evals.publish``) through ``LangfuseExperimentSink``.
    Run it after ``Services`` closed: the SDK shares one client per key with an open tracer."""
    from assistant.tracing.langfuse_datasets import LangfuseExperimentSink  # imports the SDK: only here

    sink = LangfuseExperimentSink(options)
    try:
        return await publish_report(sink, report, datasets)
    finally:
        await sink.aclose()
