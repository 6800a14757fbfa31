"""``build_web_router``: the citizen's chat page at ``/``, its assets under ``/web/static/``, and
``GET /v1/chat/{session_id}/messages`` (what the page has not shown yet: an agent's messages).

The session id is the citizen's capability: it is random (minted by ``/v1/chat``), only ever seen by
that browser tab, and it reaches conversations of channel ``web`` only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, Protocol

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from assistant.core.errors import DasanError, StorageError
from assistant.core.events import ConversationKey
from assistant.sessions.conversation import Conversation
from channels.web.assets import (
    IMMUTABLE,
    REVALIDATE,
    SECURITY_HEADERS,
    STATIC_PREFIX,
    Asset,
    load_assets,
    render_page,
)
from channels.web.delivery import citizen_messages
from channels.web.wire import SESSION_ID_PATTERN, WebMessagesResponse


class ConversationReader(Protocol):
    """What the web channel needs of a ``SessionStore``: loading one conversation."""

    async def load(self, key: ConversationKey) -> Conversation: ...


class OpenedOnUse:
    """A ``ConversationReader`` over a store that is opened lazily (``Services.sessions``)."""

    def __init__(self, open_store: Callable[[], Awaitable[ConversationReader]]) -> None:
        self._open = open_store

    async def load(self, key: ConversationKey) -> Conversation:
        return await (await self._open()).load(key)


@dataclass(frozen=True, slots=True)
class WebChatPolicy:
    """How often the page polls for an agent's messages: ``poll`` normally, ``fast_poll`` while the
    citizen waits for or talks to an agent (status ``handoff`` or ``agent``)."""

    poll: timedelta = timedelta(seconds=2)
    fast_poll: timedelta = timedelta(seconds=1)


def build_web_router(sessions: ConversationReader, policy: WebChatPolicy | None = None) -> APIRouter:
    """The web channel's routes over ``sessions`` (a ``SessionStore`` or ``OpenedOnUse``)."""
    chosen = policy or WebChatPolicy()
    assets = load_assets()
    page = render_page(
        assets,
        poll_ms=int(chosen.poll.total_seconds() * 1000),
        fast_poll_ms=int(chosen.fast_poll.total_seconds() * 1000),
    )
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def chat_page(request: Request) -> Response:
        return _serve(page, request, cache=REVALIDATE)

    @router.get(STATIC_PREFIX + "{name}", include_in_schema=False)
    async def static_asset(name: str, request: Request, v: str | None = None) -> Response:
        asset = assets.get(name)
        if asset is None:
            return _error(404, "not_found", "no such file")
        return _serve(asset, request, cache=IMMUTABLE if v == asset.version else REVALIDATE)

    @router.get("/v1/chat/{session_id}/messages", response_model=WebMessagesResponse, tags=["chat"])
    async def messages(
        session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)],
        after: Annotated[int, Query(ge=0, le=2**31 - 1, description="the last seq the page has")] = 0,
    ) -> JSONResponse:
        """The agents' messages and the assistant's replies after ``after`` in a web conversation, with
        its status (``bot``, ``handoff``, ``agent``, ``closed``) and version. The page polls it."""
        try:
            conversation = await sessions.load(ConversationKey("web", session_id))
        except StorageError:
            return _error(503, "storage_unavailable", "conversation storage is unavailable")
        except DasanError as exc:
            return _error(500, "internal_error", type(exc).__name__)
        if conversation.version == 0:
            return _error(404, "not_found", "no such conversation")
        body = citizen_messages(conversation, after)
        return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})

    return router


def _serve(asset: Asset, request: Request, *, cache: str) -> Response:
    headers = {**SECURITY_HEADERS, "Cache-Control": cache, "ETag": asset.etag}
    if asset.etag in _etags(request.headers.get("if-none-match")):
        return Response(status_code=304, headers=headers)
    return Response(asset.body, media_type=asset.media_type, headers=headers)


def _etags(header: str | None) -> set[str]:
    return {part.strip().removeprefix("W/") for part in (header or "").split(",") if part.strip()}


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"error": {"code": code, "message": message}},
        headers={"Cache-Control": "no-store"},
    )
