"""The agent JSON API (``/v1/agent/…``): the live list, transcripts, suggestions, takeover messages and
feedback on suggestions. Every route needs a staff login (role agent or higher); the POSTs also need a
same-origin browser request with a JSON body.
"""

# No ``from __future__ import annotations`` here: FastAPI resolves route annotations at runtime, and
# the ``Annotated`` dependencies below close over the router factory's locals.

import uuid
from collections.abc import Callable
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from assistant.accounts.ports import Account
from assistant.core.clock import Clock
from assistant.core.errors import (
    ConversationConflict,
    DasanError,
    InvalidInbound,
    StorageError,
    UpstreamError,
)
from assistant.core.events import AgentMessage, AssistRequested, Channel, ConversationKey, MessageId
from assistant.core.replies import Capabilities
from assistant.dialogue.ports import DialogueManager
from assistant.sessions.codec import CHANNELS
from assistant.sessions.conversation import Conversation, ConversationSummary
from assistant.sessions.feedback import AgentFeedback
from assistant.tracing.ports import TextRedactor, Tracer
from channels.copilot.auth import DeniableRoute, Denied, StaffAuth, json_error
from channels.copilot.config import CopilotConfig
from channels.copilot.labels import CHANNEL_LABELS, STATUS_LABELS, conversation_label, needs_human
from channels.copilot.pages import API_HEADERS
from channels.copilot.ports import CopilotStores
from channels.copilot.suggestions import suggestion_at, suggestion_for
from channels.copilot.wire import (
    AgentMessageBody,
    AgentMessageRequest,
    AssistBody,
    AssistRequestBody,
    CitationBody,
    ConversationItem,
    ConversationList,
    EventBody,
    FeedbackBody,
    FeedbackRequest,
    TranscriptBody,
)

PREFIX = "/v1/agent/conversations"
SCORE_NAME = "agent_feedback"

VOICE_CHANNELS = frozenset({"phone", "checkin"})
"""Calls: an agent takes over by a transfer (``<Dial>``), not by typed messages."""


def parse_conversation_id(conversation_id: str) -> ConversationKey | None:
    """``channel:thread`` (a bare id is a web session), or None when malformed."""
    channel, sep, thread = conversation_id.partition(":")
    if not sep:
        channel, thread = "web", conversation_id
    if channel not in CHANNELS or not thread or len(thread) > 255:
        return None
    return ConversationKey(channel=cast(Channel, channel), thread=thread)


def failure(exc: DasanError) -> JSONResponse:
    match exc:
        case ConversationConflict():
            return json_error(409, "conflict", "the conversation changed meanwhile; send it again")
        case StorageError():
            return json_error(503, "storage_unavailable", "conversation storage is unavailable")
        case UpstreamError():
            return json_error(503, "upstream_unavailable", type(exc).__name__)
        case InvalidInbound():
            return json_error(400, "invalid_request", str(exc))
        case _:
            return json_error(500, "internal_error", type(exc).__name__)


def require_json(request: Request) -> None:
    """State-changing API calls take JSON bodies only (a cross-site form cannot send one)."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise Denied(json_error(415, "unsupported_media_type", "send the body as application/json"))


def no_store(response: Response) -> None:
    response.headers.update(API_HEADERS)


def build_agent_api(
    auth: StaffAuth,
    stores: CopilotStores,
    dialogue: DialogueManager,
    clock: Clock,
    config: CopilotConfig,
    *,
    redactor: TextRedactor,
    tracer: Tracer | None = None,
    new_id: Callable[[], str] = lambda: uuid.uuid4().hex,
) -> APIRouter:
    """The routes under ``/v1/agent/conversations``. ``tracer`` (optional) receives feedback scores
    on the suggestion's trace, when its ``assist_reply`` recorded a ``trace_id``."""
    agent = auth.api("agent")
    router = APIRouter(
        route_class=DeniableRoute, tags=["agents"], dependencies=[Depends(agent), Depends(no_store)]
    )
    changes = [Depends(auth.same_origin), Depends(require_json)]
    Staff = Annotated[Account, Depends(agent)]

    async def existing(conversation_id: str) -> Conversation:
        key = parse_conversation_id(conversation_id)
        if key is None:
            raise Denied(json_error(400, "invalid_request", "conversation id must be CHANNEL:THREAD"))
        found = await (await stores.sessions()).load(key)
        if found.version == 0:
            raise Denied(json_error(404, "not_found", "no such conversation"))
        return found

    def agent_id(account: Account, kind: str, given: str | None) -> MessageId:
        """The dialogue's message id: namespaced, so an agent's id never collides with a citizen's."""
        return MessageId(f"copilot-{kind}:{account.name}:{given or new_id()}")

    @router.get(PREFIX, response_model=ConversationList)
    async def conversations() -> ConversationList | JSONResponse:
        """Live conversations (not closed), most recently updated first."""
        try:
            summaries = await (await stores.sessions()).list_active(config.list_limit)
        except DasanError as exc:
            return failure(exc)
        return ConversationList(conversations=[_item(s) for s in summaries])

    @router.get(PREFIX + "/{conversation_id}", response_model=TranscriptBody)
    async def transcript(conversation_id: str) -> TranscriptBody | JSONResponse:
        """The conversation as stored (redacted)."""
        try:
            return transcript_body(await existing(conversation_id))
        except DasanError as exc:
            return failure(exc)

    @router.post(PREFIX + "/{conversation_id}/assist", response_model=AssistBody, dependencies=changes)
    async def assist(
        conversation_id: str, body: AssistRequestBody, account: Staff
    ) -> AssistBody | JSONResponse:
        """A grounded suggestion, with sources, for the citizen's latest turn."""
        try:
            conversation = await existing(conversation_id)
            message_id = agent_id(account, "assist", body.message_id)
            event = AssistRequested(conversation.key, message_id, clock.now(), agent_id=account.name)
            reply = await dialogue.respond(
                event, Capabilities(markdown=False, reply_budget=config.assist_budget)
            )
            logged = suggestion_for(await (await stores.sessions()).load(conversation.key), message_id)
        except DasanError as exc:
            return failure(exc)
        if logged is None:
            return json_error(500, "internal_error", "the suggestion was not recorded")
        return AssistBody(
            assist_seq=logged.assist_seq,
            text=reply.text,
            citations=[
                CitationBody(n=c.n, title=c.title, source=c.source, url=c.url, chunk_id=c.chunk_id)
                for c in reply.citations
            ],
            trace_id=logged.trace_id,
        )

    @router.post(
        PREFIX + "/{conversation_id}/messages", response_model=AgentMessageBody, dependencies=changes
    )
    async def message(
        conversation_id: str, body: AgentMessageRequest, account: Staff
    ) -> AgentMessageBody | JSONResponse:
        """The agent writes to the citizen: the conversation is taken over (status ``agent``)."""
        try:
            conversation = await existing(conversation_id)
            if conversation.status == "closed":
                return json_error(409, "conversation_closed", "the conversation has ended")
            if conversation.key.channel in VOICE_CHANNELS:
                return json_error(
                    409,
                    "not_deliverable",
                    "a call cannot show typed messages: the caller reaches an agent by call transfer",
                )
            event = AgentMessage(
                conversation.key,
                agent_id(account, "message", body.message_id),
                clock.now(),
                agent_id=account.name,
                text=body.text,
            )
            reply = await dialogue.respond(event, Capabilities(reply_budget=config.assist_budget))
            after = await (await stores.sessions()).load(conversation.key)
        except DasanError as exc:
            return failure(exc)
        return AgentMessageBody(text=reply.text, status=after.status)

    @router.post(PREFIX + "/{conversation_id}/feedback", response_model=FeedbackBody, dependencies=changes)
    async def feedback(
        conversation_id: str, body: FeedbackRequest, account: Staff
    ) -> FeedbackBody | JSONResponse:
        """A thumb on a suggestion, kept for the QA team and scored on the suggestion's trace."""
        try:
            conversation = await existing(conversation_id)
            suggestion = suggestion_at(conversation, body.assist_seq)
            if suggestion is None:
                return json_error(404, "not_found", "no suggestion with that assist_seq")
            comment = (
                redactor.redact_text(body.comment.strip()) if body.comment and body.comment.strip() else None
            )
            await (await stores.feedback()).record(
                AgentFeedback(
                    conversation_id=str(conversation.key),
                    assist_seq=suggestion.assist_seq,
                    rating=body.rating,
                    agent=account.name,
                    question=suggestion.question,
                    suggestion=suggestion.text,
                    cited_chunk_ids=suggestion.cited_chunk_ids,
                    at=clock.now(),
                    comment=comment,
                )
            )
        except DasanError as exc:
            return failure(exc)
        scored = tracer is not None and suggestion.trace_id is not None
        if tracer is not None and suggestion.trace_id is not None:
            tracer.score(suggestion.trace_id, SCORE_NAME, 1.0 if body.rating == "up" else 0.0, comment)
        return FeedbackBody(
            conversation_id=str(conversation.key),
            assist_seq=suggestion.assist_seq,
            rating=body.rating,
            scored=scored,
        )

    return router


def _item(summary: ConversationSummary) -> ConversationItem:
    key = summary.key
    return ConversationItem(
        id=str(key),
        channel=key.channel,
        channel_label=CHANNEL_LABELS[key.channel],
        label=conversation_label(key),
        status=summary.status,
        status_label=STATUS_LABELS[summary.status],
        needs_human=needs_human(summary.status),
        updated_at=summary.updated_at.isoformat(),
        last_text=summary.last_text,
    )


def transcript_body(conversation: Conversation) -> TranscriptBody:
    key = conversation.key
    return TranscriptBody(
        conversation_id=str(key),
        channel=key.channel,
        label=conversation_label(key),
        status=conversation.status,
        status_label=STATUS_LABELS[conversation.status],
        needs_human=needs_human(conversation.status),
        version=conversation.version,
        updated_at=conversation.updated_at.isoformat() if conversation.updated_at else None,
        state=dict(conversation.state),
        events=[
            EventBody(
                seq=e.seq, kind=e.kind, at=e.at.isoformat(), message_id=e.message_id, payload=dict(e.payload)
            )
            for e in conversation.events
        ],
    )
