"""TwiML documents, built with the SDK's ``VoiceResponse``. Pure: text in, XML out."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from twilio.twiml.voice_response import Dial, Gather, VoiceResponse

from channels.twilio.config import TwilioChannelConfig

GATHER_PATH = "/twilio/voice/gather"
ANSWER_PATH = "/twilio/voice/answer"
DIAL_RESULT_PATH = "/twilio/voice/dial-result"
MAX_SAY_BYTES = 3000
"""Polly voices take at most 3,000 UTF-8 bytes per ``<Say>`` (Twilio warning 13521)."""


class TwimlEncoder:
    """Builds every document the phone channel answers with, in the configured voice and language.

    Spoken text goes inside ``<Gather>`` so the caller can interrupt it (barge in) by speaking or
    pressing a key; ``actionOnEmptyResult`` makes silence post back too, so re-prompting is ours.
    """

    def __init__(self, config: TwilioChannelConfig) -> None:
        self._config = config
        self._base = config.public_base_url or ""

    def url(self, path: str) -> str:
        """Absolute when a public base URL is configured (it may carry a path prefix), else relative."""
        return self._base + path

    def answer_url(self, turn_id: str) -> str:
        return self.url(f"{ANSWER_PATH}?turn={turn_id}")

    def gather(self, sentences: Sequence[str]) -> str:
        """Speak, then listen for speech or one key."""
        response = VoiceResponse()
        gather = Gather(
            input="speech dtmf",
            language=self._config.language,
            action=self.url(GATHER_PATH),
            method="POST",
            speech_timeout=self._config.speech_timeout,
            action_on_empty_result=True,
            num_digits=1,
            hints=",".join(self._config.hints) or None,
            speech_model=self._config.speech_model,
        )
        self._say(gather, sentences)
        response.append(gather)
        return str(response)

    def redirect(self, sentences: Sequence[str], turn_id: str, *, pause: bool = False) -> str:
        """Keep the line alive (a filler, or a one-second pause) and come back for the answer."""
        response = VoiceResponse()
        self._say(response, sentences)
        if pause:
            response.pause(length=1)
        response.redirect(self.answer_url(turn_id), method="POST")
        return str(response)

    def hangup(self, sentences: Sequence[str]) -> str:
        response = VoiceResponse()
        self._say(response, sentences)
        response.hangup()
        return str(response)

    def dial(self, sentences: Sequence[str], number: str) -> str:
        """Speak, then connect the caller to ``number``; the outcome posts to the dial-result route."""
        response = VoiceResponse()
        self._say(response, sentences)
        dial = Dial(
            action=self.url(DIAL_RESULT_PATH),
            method="POST",
            timeout=int(self._config.dial_timeout.total_seconds()),
        )
        dial.number(number)
        response.append(dial)
        return str(response)

    def enqueue(self, sentences: Sequence[str], queue: str) -> str:
        """Speak, then hold the caller in a TaskRouter/agent queue; leaving it posts the dial result."""
        response = VoiceResponse()
        self._say(response, sentences)
        response.enqueue(queue, action=self.url(DIAL_RESULT_PATH), method="POST")
        return str(response)

    def empty(self) -> str:
        return str(VoiceResponse())

    def _say(self, parent: VoiceResponse | Gather, sentences: Sequence[str]) -> None:
        """One ``<Say>`` per run of sentences that fits Polly's limit (a long text gets several)."""
        for text in _pack(sentence.strip() for sentence in sentences if sentence.strip()):
            parent.say(text, language=self._config.language, voice=self._config.voice)


def _pack(sentences: Iterable[str]) -> list[str]:
    texts: list[str] = []
    for sentence in sentences:
        joined = f"{texts[-1]} {sentence}" if texts else sentence
        if texts and len(joined.encode("utf-8")) <= MAX_SAY_BYTES:
            texts[-1] = joined
        else:
            texts.append(sentence)
    return texts
