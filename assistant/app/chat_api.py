"""The JSON chat API over the dialogue manager: ``/v1/chat``, its SSE stream, conversation transcripts
for agents, and the Rasa REST channel contract (``/webhooks/rest/webhook``).

Decision: ``GET /v1/conversations/{id}`` takes a logged-in staff cookie (role agent or higher, see
``channels/copilot``) or, for scripts, ``Authorization: Bearer $DASAN_SERVER__ADMIN_TOKEN``; without a
login and with no token configured it is always 403.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Request, Response
from fastapi.responses import JSONResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, Field

from assistant.app.services import Services
from assistant.core.errors import (
    DasanError,
)
from assistant.core.events import Channel, ConversationKey, MessageId, UserTurn
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.manager import NEW_CONVERSATION
from assistant.dialogue.ports import ReplyDelta
from assistant.sessions.conversation import Conversation
from channels.copilot.agent_api import failure, parse_conversation_id
from channels.copilot.auth import StaffAuth, json_error

logger = logging.getLogger(__name__)

_ID = r"^[A-Za-z0-9_-]{8,128}$"
_MESSAGE_ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class ChatTurnRequest(BaseModel):
    """A citizen's message. Without ``session_id`` a new conversation starts; ``message_id`` (optional)
    makes a retried request idempotent."""

    session_id: str | None = Field(default=None, pattern=_ID)
    text: str = Field(min_length=1, max_length=2000)
    channel: Literal["web", "api"] = "web"
    message_id: str | None = Field(default=None, pattern=_MESSAGE_ID)


class CitationBody(BaseModel):
    n: int
    title: str
    source: str
    url: str | None
    chunk_id: str


class ReplyBody(BaseModel):
    text: str
    citations: list[CitationBody]
    quick_replies: list[str]
    action: Literal["continue", "handoff", "end_call"]


class ChatTurnResponse(BaseModel):
    session_id: str
    reply: ReplyBody


class RasaRestMessage(BaseModel):
    """Rasa's REST input channel: ``sender`` identifies the conversation."""

    sender: str = Field(min_length=1, max_length=128)
    message: str = Field(min_length=1, max_length=2000)
    metadata: dict[str, Any] | None = None


class RasaButton(BaseModel):
    title: str
    payload: str


class RasaRestReply(BaseModel):
    recipient_id: str
    text: str
    buttons: list[RasaButton] | None = None


class ConversationEventBody(BaseModel):
    seq: int
    kind: str
    at: str
    message_id: str | None
    payload: dict[str, Any]


class ConversationBody(BaseModel):
    """A transcript as stored: every text in it is redacted."""

    conversation_id: str
    channel: str
    status: str
    version: int
    updated_at: str | None
    state: dict[str, Any]
    events: list[ConversationEventBody]


def reply_body(reply: Reply) -> ReplyBody:
    return ReplyBody(
        text=reply.text,
        citations=[
            CitationBody(n=c.n, title=c.title, source=c.source, url=c.url, chunk_id=c.chunk_id)
            for c in reply.citations
        ],
        quick_replies=list(reply.quick_replies),
        action=reply.action,
    )


def rasa_replies(recipient_id: str, reply: Reply) -> list[RasaRestReply]:
    """One message with the reply (quick replies as buttons), and one listing its sources, if any."""
    buttons = [RasaButton(title=q, payload=q) for q in reply.quick_replies] or None
    messages = [RasaRestReply(recipient_id=recipient_id, text=reply.text, buttons=buttons)]
    if reply.citations:
        lines = [f"[{c.n}] {c.title}" + (f" {c.url}" if c.url else "") for c in reply.citations]
        messages.append(RasaRestReply(recipient_id=recipient_id, text="출처\n" + "\n".join(lines)))
    return messages


def chat_lifespan(
    services: Services, *, owns_services: bool = False
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Opens the conversation store at startup (migrating its tables) so a bad database fails fast,
    warms the models, and sweeps retention. ``owns_services``: close them at shutdown (``dasan serve``:
    uvicorn re-raises SIGTERM after its graceful shutdown, so code after ``serve()`` never runs)."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await services.sessions()
        # Kiwi loads its model lazily while holding the GIL: do it now, not under the first requests.
        await asyncio.to_thread(services.analyzer.warm_up)
        if services.embedder is not None:
            await services.embedder.embed_query("안녕하세요")
        # Start the language model now (the embedded one takes seconds), not on a citizen's first turn.
        status = await services.llm.start()
        logger.info("llm backend %s: %s %s", services.llm.kind, status.state, status.detail)
        await services.dialogue()  # flows, fee table and the Korean analyzer: not on the first citizen's turn
        # Retention: purge conversations, logins, feedback and case records past their policy, hourly.
        sweeper = asyncio.create_task(
            (await services.retention_sweeper()).run_forever(), name="retention-sweeper"
        )
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            if owns_services:
                await services.aclose()  # the tracer flushes here, once

    return lifespan


def build_chat_router(services: Services) -> APIRouter:
    router = APIRouter()
    settings = services.settings
    staff = StaffAuth(services.logins, settings.copilot)

    def capabilities(channel: Channel, *, markdown: bool = True) -> Capabilities:
        # Only the web page fetches agents' messages as they come; other clients get them with a reply.
        return Capabilities(
            markdown=markdown,
            reply_budget=settings.dialogue.reply_budget,
            pushes_agent_messages=channel == "web",
        )

    def user_turn(
        channel: Channel, thread: str, text: str, message_id: str | None, *, minted: bool = False
    ) -> UserTurn:
        return UserTurn(
            key=ConversationKey(channel=channel, thread=thread),
            message_id=MessageId(message_id or uuid.uuid4().hex),
            received_at=services.clock.now(),
            text=text,
            metadata={NEW_CONVERSATION: "true"} if minted else {},
        )

    def refused(authorization: str | None) -> JSONResponse | None:
        """None when ``authorization`` carries the admin token; else the 401/403 to answer."""
        token = settings.server.admin_token
        if token is None:
            return json_error(
                403, "forbidden", "agent routes are disabled: DASAN_SERVER__ADMIN_TOKEN is unset"
            )
        scheme, _, given = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not given:
            return json_error(401, "unauthorized", "a bearer token is required")
        if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
            return json_error(403, "forbidden", "the token is not valid")
        return None

    @router.post("/v1/chat", response_model=ChatTurnResponse, tags=["chat"])
    async def chat(body: ChatTurnRequest, response: Response) -> ChatTurnResponse | JSONResponse:
        """One citizen message in, the assistant's reply out."""
        session_id = body.session_id or secrets.token_urlsafe(18)
        turn = user_turn(body.channel, session_id, body.text, body.message_id, minted=body.session_id is None)
        try:
            reply = await (await services.dialogue()).respond(turn, capabilities(body.channel))
        except DasanError as exc:
            return failure(exc)
        timing = services.turn_timings.take(turn.key, turn.message_id)
        if timing is not None:
            response.headers["Server-Timing"] = (
                f'dialogue;dur={timing.dialogue_ms:.3f};desc="{timing.route}", '
                f"answer;dur={timing.answer_ms:.3f}"
            )
        return ChatTurnResponse(session_id=session_id, reply=reply_body(reply))

    @router.post("/v1/chat/stream", response_class=EventSourceResponse, tags=["chat"])
    async def chat_stream(body: ChatTurnRequest) -> AsyncIterator[ServerSentEvent]:
        """The same request; Server-Sent Events ``delta`` (``{text}``), then one ``reply`` (the
        ``/v1/chat`` response), or one ``error`` (``{error: {code, message}}``)."""
        session_id = body.session_id or secrets.token_urlsafe(18)
        turn = user_turn(body.channel, session_id, body.text, body.message_id, minted=body.session_id is None)
        try:
            dialogue = await services.dialogue()
            async for item in dialogue.stream(turn, capabilities(body.channel)):
                if isinstance(item, ReplyDelta):
                    yield _event("delta", {"text": item.text})
                else:
                    done = ChatTurnResponse(session_id=session_id, reply=reply_body(item))
                    yield _event("reply", done.model_dump())
        except DasanError as exc:
            yield _event("error", json.loads(bytes(failure(exc).body)))

    @router.get("/v1/conversations/{conversation_id}", response_model=ConversationBody, tags=["agents"])
    async def conversation(
        conversation_id: str, request: Request, authorization: Annotated[str | None, Header()] = None
    ) -> ConversationBody | JSONResponse:
        """A conversation's redacted transcript: a staff login (agent or higher) or the admin token."""
        try:
            account = await staff.account(request)
        except DasanError as exc:
            return failure(exc)
        denied = None if account is not None and account.may("agent") else refused(authorization)
        if denied is not None:
            return denied
        key = parse_conversation_id(conversation_id)
        if key is None:
            return json_error(400, "invalid_request", "conversation id must be SESSION or CHANNEL:THREAD")
        try:
            found = await (await services.sessions()).load(key)
        except DasanError as exc:
            return failure(exc)
        if found.version == 0:
            return json_error(404, "not_found", "no such conversation")
        return _transcript(found)

    @router.post(
        "/webhooks/rest/webhook",
        response_model=list[RasaRestReply],
        response_model_exclude_none=True,
        tags=["rasa"],
    )
    async def rasa_webhook(body: RasaRestMessage) -> list[RasaRestReply] | JSONResponse:
        """Rasa's REST channel contract, so Rasa front ends and test tools work unchanged."""
        metadata = body.metadata or {}
        given = metadata.get("message_id")
        message_id = given if isinstance(given, str) and 0 < len(given) <= 128 else None
        turn = user_turn("rasa", body.sender, body.message, message_id)
        try:
            reply = await (await services.dialogue()).respond(turn, capabilities("rasa", markdown=False))
        except DasanError as exc:
            return failure(exc)
        return rasa_replies(body.sender, reply)

    return router


def _event(name: str, data: Any) -> ServerSentEvent:
    return ServerSentEvent(event=name, raw_data=json.dumps(data, ensure_ascii=False, separators=(",", ":")))


def _transcript(conversation: Conversation) -> ConversationBody:
    return ConversationBody(
        conversation_id=str(conversation.key),
        channel=conversation.key.channel,
        status=conversation.status,
        version=conversation.version,
        updated_at=conversation.updated_at.isoformat() if conversation.updated_at else None,
        state=dict(conversation.state),
        events=[
            ConversationEventBody(
                seq=e.seq, kind=e.kind, at=e.at.isoformat(), message_id=e.message_id, payload=dict(e.payload)
            )
            for e in conversation.events
        ],
    )
