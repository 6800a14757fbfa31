"""Mounts the KakaoTalk, Twilio and agent copilot routers on the app, over the one dialogue manager."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import timedelta

from fastapi import FastAPI

from assistant.app.llm_backend import backend_kind
from assistant.app.services import Services
from assistant.app.settings import Settings
from assistant.core.events import DialogueInput
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.ports import ReplyDelta
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.copilot.router import build_copilot_router
from channels.kakao.channel import build_kakao_router
from channels.kakao.http_sender import HttpCallbackSender
from channels.twilio.config import resolve_auth_token
from channels.twilio.emergency import SafetyGuidanceDetector
from channels.twilio.router import build_twilio_router
from channels.twilio.sms import build_sms_sender

logger = logging.getLogger(__name__)


class LazyDialogue:
    """The services' dialogue manager, built on the first turn (it starts the LLM backend)."""

    def __init__(self, services: Services) -> None:
        self._services = services

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        dialogue = await self._services.dialogue()
        return await dialogue.respond(event, capabilities)

    async def stream(
        self, event: DialogueInput, capabilities: Capabilities
    ) -> AsyncIterator[ReplyDelta | Reply]:
        dialogue = await self._services.dialogue()
        async for item in dialogue.stream(event, capabilities):
            yield item


def mount_channels(app: FastAPI, services: Services) -> None:
    """``/kakao/skill`` and ``/twilio/voice/*``. Both are on by default: Kakao accepts any bot until
    ``DASAN_KAKAO__ALLOWED_BOT_IDS`` is set (with a warning), and Twilio validates signatures against
    ``DASAN_TWILIO__AUTH_TOKEN`` or a generated development token kept in the data dir."""
    settings = services.settings
    dialogue = LazyDialogue(services)
    for warning in settings.kakao.warnings():
        logger.warning("kakao channel: %s", warning)
    app.include_router(
        build_kakao_router(
            dialogue,
            settings.kakao,
            HttpCallbackSender(services.http),
            services.clock,
            recorder=services.metrics,
            errors=services.metrics,
            callback_budget=kakao_callback_budget(settings),
        )
    )
    token = resolve_auth_token(settings.twilio.auth_token, settings.data_dir)
    app.include_router(
        build_twilio_router(
            dialogue,
            settings.twilio,
            services.clock,
            auth_token=token,
            sms=build_sms_sender(settings.twilio, token),
            emergency=SafetyGuidanceDetector(load_safety_rulebook(settings.safety.rules_path)),
            timer=services.metrics,
            errors=services.metrics,
            reply_budget=settings.twilio.reply_budget_for(embedded=backend_kind(settings.llm) == "embedded"),
        )
    )
    mount_copilot(app, services, dialogue)


def kakao_callback_budget(settings: Settings) -> timedelta:
    """The embedded llama.cpp model gets ``DASAN_KAKAO__EMBEDDED_CALLBACK_BUDGET`` for a callback answer;
    a remote one (and none) the channel's ``callback_window - fast_answer_margin``."""
    return settings.kakao.callback_reply_budget_for(embedded=backend_kind(settings.llm) == "embedded")


def mount_copilot(app: FastAPI, services: Services, dialogue: LazyDialogue) -> None:
    """``/login``, ``/logout``, ``/v1/agent/*`` and ``/copilot``: always mounted, and useless until
    ``dasan users create`` makes an account (there is no default one)."""
    app.include_router(
        build_copilot_router(
            services,
            dialogue,
            services.login_throttle,
            services.clock,
            redactor=PiiRedactor(),
            config=services.settings.copilot,
            tracer=services.tracer,  # feedback scores the suggestion's trace when tracing is on
        )
    )
