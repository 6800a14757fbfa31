"""What the harness evaluates: the production components, as small ports the composition root fills in.

A subject left ``None`` is not available in this build; suites that need it are skipped with a
reason. The composition root (``assistant.app.cli.eval_cmd``) builds these
from the same ``Services`` production uses.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, Protocol

from assistant.core.clock import Clock
from assistant.core.events import ConversationKey, DialogueInput
from assistant.core.knowledge import ScoredChunk
from assistant.core.replies import AnswerMode, Capabilities, Citation, Reply
from assistant.dialogue.pii import Redaction
from assistant.dialogue.safety import SafetyVerdict
from assistant.llm.ports import ChatRequest, Completion
from assistant.retrieval.ports import SearchMode
from assistant.sessions.conversation import Conversation


class RetrievalSubject(Protocol):
    """``HybridRetriever`` satisfies it."""

    @property
    def collection(self) -> str: ...

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]: ...


HistoryRole = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class FollowUpSearch:
    """What the answer pipeline searched with for a turn of a conversation (``by``: who wrote the
    query, e.g. ``llm``, ``rule``, ``standalone``), and the chunks that query retrieved."""

    query: str
    hits: tuple[ScoredChunk, ...]
    by: str = ""


class FollowUpSubject(Protocol):
    """The answer pipeline's search step for a question asked after ``history`` (``(role, text)``
    turns, oldest first): the query it forms and the top ``k`` chunks it retrieves."""

    async def search(
        self,
        question: str,
        history: Sequence[tuple[HistoryRole, str]],
        *,
        k: int,
        mode: SearchMode | None = None,
    ) -> FollowUpSearch: ...


class SafetySubject(Protocol):
    """``SafetyScreen`` satisfies it."""

    def screen(self, text: str) -> SafetyVerdict: ...


class RedactionSubject(Protocol):
    """``PiiRedactor`` satisfies it."""

    def redact(self, text: str) -> Redaction: ...


@dataclass(frozen=True, slots=True)
class AnswerObservation:
    """What an answer pipeline produced, in the harness's terms."""

    text: str
    mode: AnswerMode
    citations: tuple[Citation, ...] = ()
    sources: tuple[ScoredChunk, ...] = ()
    fallback_reason: str | None = None


class AnswerSubject(Protocol):
    async def answer(self, question: str, *, spoken: bool = False) -> AnswerObservation: ...


@dataclass(frozen=True, slots=True)
class VerifierVerdict:
    supported: bool
    reason: str = ""


class VerifierSubject(Protocol):
    """Judges whether ``source`` supports ``sentence``."""

    async def supports(self, sentence: str, source: str) -> VerifierVerdict: ...


class DialogueSubject(Protocol):
    """The ``DialogueManager`` port's ``respond``."""

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply: ...


class ConversationLog(Protocol):
    """Reads a conversation back (``SessionStore.load``): how the flows ended is in its events and state."""

    async def load(self, key: ConversationKey) -> Conversation: ...


@dataclass(frozen=True, slots=True)
class DialogueRuntime:
    """One scripted conversation's own dialogue manager and the store it records to."""

    manager: DialogueSubject
    log: ConversationLog


class DialogueRuntimes(Protocol):
    """Opens a dialogue manager built exactly as production builds it, on ``clock`` and on storage of
    its own (sessions, case records and reference numbers), so one case never sees another's records;
    closing it discards that storage."""

    def open(self, clock: Clock) -> AbstractAsyncContextManager[DialogueRuntime]: ...


@dataclass(frozen=True, slots=True)
class ConversationEnd:
    """A scripted conversation's replies and, when the subject can tell, the flow it ended in;
    ``turn_ms`` is how long each reply took (empty: not measured)."""

    replies: tuple[Reply, ...]
    flow: str | None = None
    outcome: str | None = None
    slots: Mapping[str, object] = field(default_factory=dict)
    turn_ms: tuple[float, ...] = ()


class ConversationSubject(Protocol):
    """Plays a conversation's user turns in order, its clock starting at ``start``
    (``DialogueManagerConversation`` over ``DialogueRuntimes``)."""

    async def converse(
        self, conversation_id: str, turns: Sequence[str], channel: str, *, start: datetime
    ) -> ConversationEnd: ...


class ChannelEncoder(Protocol):
    """Encodes a reply for one channel's wire the way the channel answers with it: a Kakao
    SkillResponse (a JSON object) or TwiML (text). The composition root wraps the channel packages'
    own encoders (``assistant.app.eval_wiring``)."""

    async def encode(self, reply: Reply) -> Any: ...


class JudgeModel(Protocol):
    """The part of ``LLMClient`` the judge uses."""

    @property
    def model(self) -> str: ...

    async def complete(self, request: ChatRequest) -> Completion: ...


@dataclass(frozen=True, slots=True)
class Subjects:
    """Every subject; ``None`` where this build has none."""

    retriever: RetrievalSubject | None = None
    followups: FollowUpSubject | None = None
    safety: SafetySubject | None = None
    redactor: RedactionSubject | None = None
    answerer: AnswerSubject | None = None
    verifier: VerifierSubject | None = None
    dialogue: ConversationSubject | None = None
    encoders: Mapping[str, ChannelEncoder] = field(default_factory=dict)
    judge: JudgeModel | None = None
