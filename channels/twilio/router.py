"""The ``/twilio/voice/*`` webhooks: signature check, error boundary, then the voice flow.

Every request must carry a valid ``X-Twilio-Signature`` for the public URL (403 otherwise, with a
plain body). A webhook never answers 500: anything unexpected becomes TwiML that apologises and
names the hotline, the log gets the exception type and a correlation id, and the injected
``ErrorRecorder`` counts it as ``twilio.<ExceptionType>``.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import SecretStr

from assistant.core.clock import Clock
from assistant.core.errors import InvalidInbound
from assistant.dialogue.ports import DialogueManager
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.twilio.call_state import CallStateStore, InMemoryCallStateStore
from channels.twilio.config import TwilioChannelConfig
from channels.twilio.emergency import EmergencyDetector, SafetyGuidanceDetector
from channels.twilio.flow import VoiceFlow
from channels.twilio.outcomes import CallOutcomeSink
from channels.twilio.prompts import VoicePrompts
from channels.twilio.signature import InboundRequest, PublicUrlResolver, TwilioSignatureVerifier
from channels.twilio.sms import SmsSender, build_sms_sender
from channels.twilio.tasks import CallTasks
from channels.twilio.twiml import TwimlEncoder
from channels.twilio.wire import (
    FormPairs,
    TwilioDialResult,
    TwilioStatusCallback,
    TwilioVoiceRequest,
    decode,
    first_values,
    parse_form,
)

_logger = logging.getLogger(__name__)

TWIML_MEDIA_TYPE = "text/xml"

Handler = Callable[[FormPairs, Request], Awaitable[str]]


class WebhookTimer(Protocol):
    """Observes how long each webhook took to answer (``Metrics`` satisfies it)."""

    def observe_twilio_webhook(self, endpoint: str, seconds: float) -> None: ...


class ErrorRecorder(Protocol):
    """Counts an error under a low-cardinality name (``Metrics`` satisfies it)."""

    def record_error(self, error: str) -> None: ...


def inbound_request(request: Request, body: bytes) -> InboundRequest:
    """The framework-neutral view of a request that signature checking needs (raw path and query)."""
    scope = request.scope
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode("utf-8")
    query: bytes = scope.get("query_string", b"")
    path = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
    host = request.headers.get("host")
    if not host:
        server = scope.get("server") or ("localhost", None)
        host = server[0] if server[1] in (None, 80, 443) else f"{server[0]}:{server[1]}"
    return InboundRequest(
        scheme=str(scope.get("scheme", "http")),
        host=host,
        path_and_query=path,
        headers={name.lower(): value for name, value in request.headers.items()},
        peer=request.client.host if request.client else None,
        body=body,
    )


class TwilioWebhooks:
    """Runs one webhook: verify, decode, hand to the flow, and turn any failure into TwiML."""

    def __init__(
        self,
        flow: VoiceFlow,
        verifier: TwilioSignatureVerifier,
        encoder: TwimlEncoder,
        prompts: VoicePrompts,
        timer: WebhookTimer | None = None,
        errors: ErrorRecorder | None = None,
    ) -> None:
        self._flow = flow
        self._verifier = verifier
        self._encoder = encoder
        self._prompts = prompts
        self._timer = timer
        self._errors = errors

    async def handle(self, request: Request, name: str, handler: Handler) -> Response:
        started = time.perf_counter()
        response = await self._answer(request, name, handler)
        if self._timer is not None:
            self._timer.observe_twilio_webhook(name, time.perf_counter() - started)
        return response

    async def _answer(self, request: Request, name: str, handler: Handler) -> Response:
        correlation = uuid.uuid4().hex[:12]
        call_sid = "-"
        try:
            body = await request.body()
            form = parse_form(body)
            call_sid = first_values(form).get("CallSid", "-")[:64]
            self._verifier.verify(inbound_request(request, body), form)
        except InvalidInbound as exc:
            _logger.warning("twilio %s webhook rejected (%s), correlation %s", name, exc, correlation)
            return PlainTextResponse("forbidden", status_code=403)
        except Exception as exc:  # the webhook's boundary: never a 500 to Twilio
            return self._apology(name, exc, correlation, call_sid)
        try:
            twiml = await handler(form, request)
        except InvalidInbound as exc:
            _logger.warning("twilio %s webhook invalid (%s), correlation %s", name, exc, correlation)
            return PlainTextResponse("invalid webhook", status_code=400)
        except Exception as exc:  # the webhook's boundary: never a 500 to Twilio
            return self._apology(name, exc, correlation, call_sid)
        return Response(content=twiml, media_type=TWIML_MEDIA_TYPE)

    def _apology(self, name: str, exc: Exception, correlation: str, call_sid: str) -> Response:
        _logger.error(
            "twilio %s webhook failed: %s, correlation %s, call %s",
            name,
            type(exc).__name__,
            correlation,
            call_sid,
            exc_info=exc,
        )
        self._count(exc)
        return Response(content=self._encoder.hangup((self._prompts.error,)), media_type=TWIML_MEDIA_TYPE)

    def _count(self, exc: Exception) -> None:
        """``twilio.<ExceptionType>`` (the dialogue counts a failed turn under the bare type name)."""
        if self._errors is None:
            return
        try:
            self._errors.record_error(f"twilio.{type(exc).__name__}")
        except Exception as failure:  # counting must not break the boundary that never fails
            _logger.warning("twilio error not counted: %s", type(failure).__name__)

    async def incoming(self, form: FormPairs, _: Request) -> str:
        return await self._flow.incoming(decode(TwilioVoiceRequest, form))

    async def gather(self, form: FormPairs, _: Request) -> str:
        return await self._flow.gather(decode(TwilioVoiceRequest, form))

    async def answer(self, form: FormPairs, request: Request) -> str:
        return await self._flow.answer(decode(TwilioVoiceRequest, form), request.query_params.get("turn", ""))

    async def status(self, form: FormPairs, _: Request) -> str:
        return await self._flow.status(decode(TwilioStatusCallback, form))

    async def dial_result(self, form: FormPairs, _: Request) -> str:
        return await self._flow.dial_result(decode(TwilioDialResult, form))


def build_twilio_router(
    dialogue: DialogueManager,
    config: TwilioChannelConfig,
    clock: Clock,
    *,
    auth_token: SecretStr,
    sms: SmsSender | None = None,
    outcomes: CallOutcomeSink | None = None,
    emergency: EmergencyDetector | None = None,
    store: CallStateStore | None = None,
    prompts: VoicePrompts | None = None,
    tasks: CallTasks | None = None,
    timer: WebhookTimer | None = None,
    errors: ErrorRecorder | None = None,
    reply_budget: timedelta | None = None,
) -> APIRouter:
    """The phone channel's routes under ``/twilio/voice/``.

    ``auth_token`` is the account's token (``resolve_auth_token`` gives a development one when it is
    unset). ``sms`` sends citation SMS (offered only when the caller says yes); when it is not given,
    one is built from ``account_sid`` and ``sms_from`` if both are set. ``timer`` observes
    each webhook's response time and ``errors`` counts what the boundary caught (pass the app's
    ``Metrics`` to both). Background turns
    are cancelled in the router's lifespan, which FastAPI runs when the router is included.
    """
    owned_sms = build_sms_sender(config, auth_token) if sms is None else None
    encoder = TwimlEncoder(config)
    spoken_prompts = (prompts or VoicePrompts()).for_hotline(config.hotline)
    call_tasks = tasks or CallTasks(clock)
    flow = VoiceFlow(
        dialogue=dialogue,
        config=config,
        clock=clock,
        encoder=encoder,
        prompts=spoken_prompts,
        store=store or InMemoryCallStateStore(clock),
        tasks=call_tasks,
        emergency=emergency or SafetyGuidanceDetector(load_safety_rulebook()),
        sms=sms if sms is not None else owned_sms,
        outcomes=outcomes,
        reply_budget=reply_budget,
    )
    verifier = TwilioSignatureVerifier(
        auth_token, PublicUrlResolver(config.public_base_url, config.proxy_networks())
    )
    webhooks = TwilioWebhooks(flow, verifier, encoder, spoken_prompts, timer, errors)

    @asynccontextmanager
    async def lifespan(_: Any) -> AsyncIterator[None]:
        yield
        await call_tasks.aclose()
        if owned_sms is not None:
            await owned_sms.close()

    router = APIRouter(prefix="/twilio/voice", tags=["twilio"], lifespan=lifespan)

    def route(path: str, name: str, handler: Handler) -> None:
        async def endpoint(request: Request) -> Response:
            return await webhooks.handle(request, name, handler)

        router.add_api_route(path, endpoint, methods=["POST"], name=f"twilio_{name}", include_in_schema=False)

    route("/incoming", "incoming", webhooks.incoming)
    route("/gather", "gather", webhooks.gather)
    route("/answer", "answer", webhooks.answer)
    route("/status", "status", webhooks.status)
    route("/dial-result", "dial_result", webhooks.dial_result)
    return router
