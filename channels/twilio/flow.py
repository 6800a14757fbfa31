"""The voice conversation: each webhook's fields in, dialogue turns in the background, TwiML out.

One call goes: ``incoming`` (greet, listen) → ``gather`` (a turn; the answer, or a filler and a
redirect) → ``answer`` polls until the reply is ready → ``gather`` again … → a hang-up, a ``<Dial>``
to an agent, or silence re-prompted ``max_reprompts`` times and then a polite goodbye. Key 0 asks for
an agent and * repeats the last answer. ``status`` ends the call's bookkeeping.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import replace
from datetime import timedelta
from typing import Literal, assert_never

from assistant.core.clock import Clock
from assistant.core.events import CallEnded, CallStarted, ConversationKey, MessageId, UserTurn
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.ports import DialogueManager
from channels.twilio.call_state import CallState, CallStateStore
from channels.twilio.config import TwilioChannelConfig
from channels.twilio.emergency import EmergencyDetector
from channels.twilio.handoff_speech import apologises, handoff_reasons
from channels.twilio.outcomes import TERMINAL_STATUSES, CallOutcome, CallOutcomeSink
from channels.twilio.prompts import VoicePrompts
from channels.twilio.sms import SmsSender, can_receive_sms, citation_sms_body
from channels.twilio.spoken import ear_sentences
from channels.twilio.tasks import CallTasks, Failed, Ready, TurnOutcome, Unknown, Waiting
from channels.twilio.twiml import TwimlEncoder
from channels.twilio.wire import TwilioDialResult, TwilioStatusCallback, TwilioVoiceRequest

_logger = logging.getLogger(__name__)

_NO = re.compile(r"아니|아뇨|괜찮|됐어|됐습니다|필요없|안보내|싫")
_YES = re.compile(r"^(네|예|응|어|그래|좋아|좋습니다|보내|부탁|받을게|받겠)")
_CONNECTED = frozenset({"completed", "answered", "bridged", "hangup"})
STILL_WORKING_EVERY = 4
"""Every n-th unanswered poll says "조금만 더 기다려 주세요" instead of pausing silently."""


def consent(digits: str, speech: str) -> bool | None:
    """The caller's yes (1, "네 보내 주세요") or no (2, "아니요", "괜찮아요"); None when it is neither."""
    if digits:
        return {"1": True, "2": False}.get(digits)
    compact = re.sub(r"[\s.,!?~]", "", speech)
    if not compact or len(compact) > 12:
        return None
    if _NO.search(compact):
        return False
    return True if _YES.search(compact) else None


class VoiceFlow:
    """Decides what to say for each webhook. Dialogue turns run as tracked background tasks, so a
    slow reply never leaves the caller in silence: a filler and a redirect keep the line alive."""

    def __init__(
        self,
        *,
        dialogue: DialogueManager,
        config: TwilioChannelConfig,
        clock: Clock,
        encoder: TwimlEncoder,
        prompts: VoicePrompts,
        store: CallStateStore,
        tasks: CallTasks,
        emergency: EmergencyDetector,
        sms: SmsSender | None = None,
        outcomes: CallOutcomeSink | None = None,
        reply_budget: timedelta | None = None,
    ) -> None:
        """``reply_budget``: how long a caller's turn may take in the dialogue (default
        ``config.reply_budget_for(embedded=False)``; the app passes the embedded model's own)."""
        self._dialogue = dialogue
        self._config = config
        self._clock = clock
        self._encoder = encoder
        self._prompts = prompts
        self._store = store
        self._tasks = tasks
        self._emergency = emergency
        self._sms = sms
        self._outcomes = outcomes
        self._capabilities = Capabilities(
            markdown=False,
            spoken=True,
            max_chars=config.max_spoken_chars,
            max_quick_replies=0,
            reply_budget=reply_budget or config.reply_budget_for(embedded=False),
        )
        self._max_polls = max(1, math.ceil(config.answer_deadline.total_seconds()))

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    async def incoming(self, call: TwilioVoiceRequest) -> str:
        """Greet and listen. The dialogue hears ``CallStarted``; only a handoff or an end it returns
        within the filler budget changes the greeting (closed lines, blocked callers)."""
        now = self._clock.now()
        state = CallState(call_sid=call.call_sid, started_at=now, caller=call.caller)
        event = CallStarted(
            key=self._key(call.call_sid),
            message_id=MessageId(f"{call.call_sid}:started"),
            received_at=now,
            direction="inbound" if call.direction == "inbound" else "outbound",
        )
        turn_id = self._tasks.start_turn(call.call_sid, self._dialogue.respond(event, self._capabilities))
        outcome = await self._tasks.wait(turn_id, call.call_sid, self._config.filler_budget)
        if isinstance(outcome, Ready) and outcome.reply.action != "continue":
            return await self._render(state, outcome.reply)
        self._tasks.detach(turn_id)
        greeting = self._prompts.greeting if self._agent_reachable() else self._prompts.greeting_no_agent
        return await self._listen(state, (greeting,))

    async def gather(self, call: TwilioVoiceRequest) -> str:
        """What the caller said or pressed (or nothing) after a ``<Gather>``."""
        state = await self._state(call)
        digits = call.digits.strip()
        speech = " ".join(call.speech_result.split())
        if state.hotline_offer:
            return await self._hotline_answer(state, consent(digits, speech) is True)
        if state.sms_offer:
            answer = consent(digits, speech)
            if answer is not None:
                return await self._sms_answer(state, answer)
            state = replace(state, sms_offer=())
        if digits == "0":
            return await self._handoff(replace(state, misses=0), ())
        if digits == "*":
            return await self._repeat(replace(state, misses=0))
        if digits:
            return await self._turn(state, digits, "dtmf", None)
        confident = call.confidence is None or call.confidence >= self._config.min_confidence
        if speech and confident:
            return await self._turn(state, speech, "speech", call.confidence)
        return await self._miss(state)

    async def answer(self, call: TwilioVoiceRequest, turn_id: str) -> str:
        """A redirect back for a reply that was not ready: speak it, or keep waiting (bounded)."""
        state = await self._state(call)
        outcome = await self._tasks.wait(turn_id, call.call_sid, self._config.answer_poll_wait)
        if not isinstance(outcome, Waiting):
            return await self._collected(replace(state, polls=0), outcome, turn_id)
        polls = state.polls + 1
        if polls > self._max_polls:
            self._tasks.cancel(turn_id)
            _logger.warning("twilio turn of call %s gave up after %d polls", call.call_sid, state.polls)
            return await self._listen(replace(state, polls=0), (self._prompts.delayed, self._offer()))
        await self._store.put(replace(state, polls=polls))
        if polls % STILL_WORKING_EVERY == 0:
            return self._encoder.redirect((self._prompts.still_working,), turn_id)
        return self._encoder.redirect((), turn_id, pause=True)

    async def dial_result(self, result: TwilioDialResult) -> str:
        """After a ``<Dial>`` or ``<Enqueue>``: hang up after a conversation, else say why not."""
        state = await self._store.get(result.call_sid)
        if (result.dial_call_status or result.queue_result) in _CONNECTED:
            return self._encoder.hangup(())
        if state is not None and state.emergency_guidance:
            return self._encoder.hangup(state.emergency_guidance)
        return self._encoder.hangup((self._prompts.agent_unavailable,))

    async def status(self, callback: TwilioStatusCallback) -> str:
        """A status callback: on a final status, stop the call's turns and report how it ended."""
        if callback.call_status not in TERMINAL_STATUSES:
            return self._encoder.empty()
        call_sid = callback.call_sid
        state = await self._store.get(call_sid)
        await self._store.delete(call_sid)
        self._tasks.cancel_call(call_sid)
        now = self._clock.now()
        ended = CallEnded(
            key=self._key(call_sid),
            message_id=MessageId(f"{call_sid}:ended"),
            received_at=now,
            outcome=callback.call_status,
        )
        self._tasks.spawn(call_sid, self._notify_ended(ended), "call-ended")
        if self._outcomes is not None:
            outcome = CallOutcome(
                key=ended.key,
                status=callback.call_status,
                ended_at=now,
                duration=timedelta(seconds=callback.call_duration)
                if callback.call_duration is not None
                else None,
                turns=state.turns if state else 0,
                handed_off=state.handed_off if state else False,
            )
            self._tasks.spawn(call_sid, self._outcomes.record(outcome), "call-outcome")
        return self._encoder.empty()

    async def _notify_ended(self, event: CallEnded) -> None:
        await self._dialogue.respond(event, self._capabilities)

    async def _turn(
        self, state: CallState, text: str, source: Literal["speech", "dtmf"], confidence: float | None
    ) -> str:
        state = replace(state, turns=state.turns + 1, misses=0, polls=0)
        metadata: dict[str, str] = {"input": source}
        if confidence is not None:
            metadata["confidence"] = f"{confidence:.2f}"
        event = UserTurn(
            key=self._key(state.call_sid),
            message_id=MessageId(f"{state.call_sid}:turn:{state.turns}"),
            received_at=self._clock.now(),
            text=text,
            metadata=metadata,
        )
        turn_id = self._tasks.start_turn(state.call_sid, self._dialogue.respond(event, self._capabilities))
        outcome = await self._tasks.wait(turn_id, state.call_sid, self._config.filler_budget)
        return await self._collected(state, outcome, turn_id)

    async def _collected(self, state: CallState, outcome: TurnOutcome, turn_id: str) -> str:
        match outcome:
            case Ready(reply=reply):
                return await self._render(state, reply)
            case Failed(error_type=error_type):
                _logger.warning("twilio turn of call %s failed: %s", state.call_sid, error_type)
                return await self._listen(state, (self._prompts.failed, self._offer()))
            case Waiting():
                fillers = self._prompts.fillers
                filler = fillers[state.fillers % len(fillers)] if fillers else ""
                await self._store.put(replace(state, fillers=state.fillers + 1))
                return self._encoder.redirect((filler,), turn_id, pause=not filler)
            case Unknown():
                return await self._listen(state, (self._prompts.lost_turn,))
            case _:
                assert_never(outcome)

    async def _render(self, state: CallState, reply: Reply) -> str:
        if reply.audience != "user":
            _logger.warning("twilio call %s got a reply meant for an agent; not spoken", state.call_sid)
            return await self._listen(state, (self._prompts.lost_turn,))
        sentences = ear_sentences(reply.text, self._config.max_spoken_chars)
        match reply.action:
            case "continue":
                if not sentences:
                    return await self._listen(state, (self._prompts.follow_up,))
                offer = bool(reply.citations) and self._sms is not None and can_receive_sms(state.caller)
                state = replace(state, last_spoken=sentences, sms_offer=reply.citations if offer else ())
                prompt = self._prompts.sms_offer if offer else self._prompts.follow_up
                return await self._listen(state, (*sentences, prompt))
            case "end_call":
                await self._store.put(replace(state, last_spoken=sentences))
                return self._encoder.hangup(sentences or (self._prompts.goodbye,))
            case "handoff":
                if self._emergency.is_emergency(reply):
                    return await self._emergency_handoff(state, sentences)
                return await self._handoff(state, sentences)
            case _:
                assert_never(reply.action)

    async def _handoff(self, state: CallState, sentences: tuple[str, ...]) -> str:
        """The reply's reasons, then what this line can do: the promise and a ``<Dial>`` or
        ``<Enqueue>``; with no agent configured, that none can be connected and the hotline to call
        (offered by SMS when one can be sent), then the call ends."""
        reasons = handoff_reasons(sentences)
        if self._config.agent_number:
            await self._store.put(replace(state, handed_off=True))
            return self._encoder.dial((*reasons, self._prompts.handoff), self._config.agent_number)
        if self._config.agent_queue:
            await self._store.put(replace(state, handed_off=True))
            return self._encoder.enqueue((*reasons, self._prompts.handoff), self._config.agent_queue)
        apology = () if apologises(reasons) else (self._prompts.apology,)
        no_agent = (*reasons, *apology, self._prompts.no_agent)
        if self._sms is not None and can_receive_sms(state.caller):
            offered = replace(state, hotline_offer=True, sms_offer=())
            return await self._listen(offered, (*no_agent, self._prompts.hotline_sms_offer))
        await self._store.put(state)
        return self._encoder.hangup((*no_agent, self._prompts.goodbye))

    async def _hotline_answer(self, state: CallState, yes: bool) -> str:
        """After a handoff no agent could take: the hotline by SMS if the caller said yes; then goodbye."""
        await self._store.put(replace(state, hotline_offer=False))
        if yes and self._sms is not None:
            self._tasks.spawn(state.call_sid, self._sms.send(state.caller, self._prompts.hotline_sms), "sms")
            return self._encoder.hangup((self._prompts.hotline_sms_yes,))
        return self._encoder.hangup((self._prompts.goodbye,))

    async def _emergency_handoff(self, state: CallState, guidance: tuple[str, ...]) -> str:
        _logger.warning("twilio call %s: emergency handoff", state.call_sid)
        state = replace(state, emergency_guidance=guidance, handed_off=True)
        await self._store.put(state)
        if self._config.emergency_transfer_number:
            return self._encoder.dial(
                (*guidance, self._prompts.emergency_transfer), self._config.emergency_transfer_number
            )
        if self._config.agent_number:
            return self._encoder.dial((*guidance, self._prompts.handoff), self._config.agent_number)
        if self._config.agent_queue:
            return self._encoder.enqueue((*guidance, self._prompts.handoff), self._config.agent_queue)
        return self._encoder.hangup((*guidance, self._prompts.emergency_repeat, *guidance))

    async def _repeat(self, state: CallState) -> str:
        if not state.last_spoken:
            return await self._listen(state, (self._prompts.nothing_to_repeat,))
        return await self._listen(state, (*state.last_spoken, self._prompts.follow_up))

    async def _miss(self, state: CallState) -> str:
        misses = state.misses + 1
        state = replace(state, misses=misses)
        if misses > self._config.max_reprompts:
            await self._store.put(state)
            return self._encoder.hangup((self._prompts.no_input_goodbye,))
        if misses < self._config.max_reprompts:
            return await self._listen(state, (self._prompts.reprompt,))
        prompts = self._prompts
        last = prompts.last_reprompt if self._agent_reachable() else prompts.last_reprompt_no_agent
        return await self._listen(state, (last,))

    async def _sms_answer(self, state: CallState, yes: bool) -> str:
        citations = state.sms_offer
        state = replace(state, sms_offer=(), misses=0)
        if yes and self._sms is not None:
            body = citation_sms_body(self._prompts.sms_header, citations)
            self._tasks.spawn(state.call_sid, self._sms.send(state.caller, body), "sms")
            return await self._listen(state, (self._prompts.sms_yes,))
        return await self._listen(state, (self._prompts.sms_no,))

    async def _listen(self, state: CallState, sentences: tuple[str, ...]) -> str:
        await self._store.put(state)
        return self._encoder.gather(sentences)

    async def _state(self, call: TwilioVoiceRequest) -> CallState:
        state = await self._store.get(call.call_sid)
        if state is None:  # a call this process has not seen start (a restart): pick it up
            state = CallState(call_sid=call.call_sid, started_at=self._clock.now(), caller=call.caller)
        return state

    def _agent_reachable(self) -> bool:
        return bool(self._config.agent_number or self._config.agent_queue)

    def _offer(self) -> str:
        return self._prompts.offer_agent if self._agent_reachable() else self._prompts.offer_retry

    @staticmethod
    def _key(call_sid: str) -> ConversationKey:
        return ConversationKey(channel="phone", thread=call_sid)
