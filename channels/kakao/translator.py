"""``KakaoTranslator``: SkillPayload → ``UserTurn`` and ``Reply`` → SkillResponse. Pure: no I/O, no clock.

Layout of an encoded reply (at most 3 outputs):

1. the reply text (markdown a bubble would show literally made plain), split at sentence boundaries
   over as many ``simpleText`` outputs as the other outputs leave room for (each ≤ 1000 characters);
   what does not fit is cut with a note;
2. the sources, when citations carry http(s) URLs: one ``basicCard`` with a "원문 보기" webLink button
   for a single linked source, a ``listCard`` (≤ 5 items, each item a link) for several. Citations
   without a URL are named on a "출처:" line under the text instead;
3. for ``action == "handoff"``: a ``basicCard`` with Kakao's ``operator`` button (상담원 채팅, when
   ``operator_handoff`` is on) and a ``phone`` button to the call centre, else a clear message
   with the call centre's number and the phone button.

Quick replies become ``message`` quick replies: at most 10, labels cut to 14 characters, the full
text sent as ``messageText``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

from assistant.core.events import Channel, ConversationKey, MessageId, UserTurn
from assistant.core.replies import Capabilities, Citation, Reply
from channels.kakao.messages import KakaoMessages
from channels.kakao.text_fit import normalise, plain, split_text, trim
from channels.kakao.wire_request import KakaoSkillRequest
from channels.kakao.wire_response import (
    MAX_CARD_DESCRIPTION_CHARS,
    MAX_CARD_TITLE_CHARS,
    MAX_LABEL_CHARS,
    MAX_LIST_ITEMS,
    MAX_MESSAGE_TEXT_CHARS,
    MAX_OUTPUTS,
    MAX_QUICK_REPLIES,
    MAX_SIMPLE_TEXT_CHARS,
    BasicCardOutput,
    KakaoBasicCard,
    KakaoButton,
    KakaoListCard,
    KakaoListHeader,
    KakaoListItem,
    KakaoListLink,
    KakaoOutput,
    KakaoQuickReply,
    KakaoSimpleText,
    KakaoSkillResponse,
    KakaoTemplate,
    ListCardOutput,
    SimpleTextOutput,
)

KAKAO_CHANNEL: Channel = "kakao"


def fingerprint(request: KakaoSkillRequest) -> str:
    """What makes two deliveries "the same turn": bot, user and the normalised utterance (hashed)."""
    parts = (request.bot.id, request.user_key, " ".join(normalise(request.userRequest.utterance).split()))
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def derive_message_id(request: KakaoSkillRequest, received_at: datetime, window: timedelta) -> MessageId:
    """A deterministic id for a payload that has none: hash of user + utterance + time bucket.

    Deliveries of the same utterance by the same user inside one ``window``-long bucket share it, so
    a shared session store (Redis) deduplicates them across workers. Two deliveries that straddle a
    bucket boundary get different ids; in one process the in-memory dedupe map still joins them.
    """
    seconds = max(window.total_seconds(), 1e-3)
    bucket = int(received_at.timestamp() // seconds)
    digest = hashlib.sha256(f"{fingerprint(request)}\x1f{bucket}".encode()).hexdigest()
    return MessageId(f"kakao-{digest[:32]}")


class KakaoTranslator:
    """Decodes skill payloads and encodes replies. ``operator_handoff`` turns on Kakao's operator button."""

    def __init__(
        self,
        *,
        operator_handoff: bool = False,
        messages: KakaoMessages | None = None,
        dedupe_window: timedelta = timedelta(seconds=5),
    ) -> None:
        self._operator_handoff = operator_handoff
        self._messages = messages or KakaoMessages()
        self._dedupe_window = dedupe_window

    @property
    def messages(self) -> KakaoMessages:
        return self._messages

    # -- inbound --------------------------------------------------------------------------------------

    def decode(self, request: KakaoSkillRequest, received_at: datetime) -> UserTurn:
        user_request = request.userRequest
        metadata = {
            "bot_id": request.bot.id,
            "block_id": user_request.block.id,
            "block_name": user_request.block.name,
            "intent_name": request.intent.name,
            "lang": user_request.lang or "ko",
            "user_type": user_request.user.type,
            "callback": "yes" if request.callback_url else "no",
        }
        return UserTurn(
            key=ConversationKey(KAKAO_CHANNEL, request.user_key),
            message_id=derive_message_id(request, received_at, self._dedupe_window),
            received_at=received_at,
            text=normalise(user_request.utterance),
            metadata={k: v for k, v in metadata.items() if v},
        )

    @staticmethod
    def capabilities(reply_budget: timedelta) -> Capabilities:
        """Plain text, 3 × 1000 characters, 10 quick replies, and the time the dialogue may take."""
        return Capabilities(
            markdown=False,
            spoken=False,
            max_chars=MAX_SIMPLE_TEXT_CHARS * MAX_OUTPUTS,
            max_quick_replies=MAX_QUICK_REPLIES,
            reply_budget=reply_budget,
            pushes_agent_messages=False,  # a skill only answers: agents' messages ride on the next reply
        )

    # -- outbound -------------------------------------------------------------------------------------

    def encode(self, reply: Reply) -> KakaoSkillResponse:
        extras: list[KakaoOutput] = []
        linked = _linked(reply.citations)
        unlinked = [c for c in _unique(reply.citations) if c not in linked]
        if linked:
            extras.append(self._sources_card(linked))
        if reply.action == "handoff":
            extras.append(self._handoff_card())
        text = plain(normalise(reply.text)) if reply.audience == "user" else ""
        if unlinked:
            names = ", ".join(f"[{c.n}] {trim(c.title or c.source, 40)}" for c in unlinked[:MAX_LIST_ITEMS])
            text = f"{text}\n\n{self._messages.sources_line_prefix}{names}".strip()
        if not text and not extras:
            text = self._messages.no_answer
        fitted = split_text(
            text, MAX_SIMPLE_TEXT_CHARS, MAX_OUTPUTS - len(extras), self._messages.truncated_note
        )
        outputs: list[KakaoOutput] = [
            SimpleTextOutput(simpleText=KakaoSimpleText(text=p)) for p in fitted.parts
        ]
        outputs.extend(extras)
        return KakaoSkillResponse(
            template=KakaoTemplate(outputs=tuple(outputs), quickReplies=_quick_replies(reply.quick_replies))
        )

    def text(self, text: str) -> KakaoSkillResponse:
        """A plain-text response made by the channel itself (fallbacks, apologies)."""
        return self.encode(Reply(text=text))

    @staticmethod
    def holding(text: str) -> KakaoSkillResponse:
        """The immediate answer that tells Kakao the real one comes to the callbackUrl."""
        return KakaoSkillResponse(useCallback=True, data={"text": text})

    def _sources_card(self, linked: Sequence[Citation]) -> KakaoOutput:
        if len(linked) == 1:
            only = linked[0]
            return BasicCardOutput(
                basicCard=KakaoBasicCard(
                    title=trim(f"[{only.n}] {only.title or only.source}", MAX_CARD_TITLE_CHARS),
                    description=_source_line(only, MAX_CARD_DESCRIPTION_CHARS),
                    buttons=(
                        KakaoButton(
                            action="webLink",
                            label=trim(self._messages.source_button, MAX_LABEL_CHARS),
                            webLinkUrl=only.url,
                        ),
                    ),
                )
            )
        items = tuple(
            KakaoListItem(
                title=trim(f"[{c.n}] {c.title or c.source}", MAX_CARD_TITLE_CHARS),
                description=_source_line(c, MAX_CARD_DESCRIPTION_CHARS),
                link=KakaoListLink(web=c.url) if c.url else None,
            )
            for c in linked[:MAX_LIST_ITEMS]
        )
        header = KakaoListHeader(title=trim(self._messages.sources_header, MAX_CARD_TITLE_CHARS))
        return ListCardOutput(listCard=KakaoListCard(header=header, items=items))

    def _handoff_card(self) -> KakaoOutput:
        messages = self._messages
        phone = KakaoButton(
            action="phone",
            label=trim(messages.phone_button, MAX_LABEL_CHARS),
            phoneNumber=messages.callcenter,
        )
        if self._operator_handoff:
            operator = KakaoButton(action="operator", label=trim(messages.operator_button, MAX_LABEL_CHARS))
            card = KakaoBasicCard(
                title=messages.handoff_title,
                description=trim(messages.handoff_operator, MAX_CARD_DESCRIPTION_CHARS),
                buttons=(operator, phone),
            )
        else:
            card = KakaoBasicCard(
                title=messages.handoff_title,
                description=trim(messages.handoff_phone, MAX_CARD_DESCRIPTION_CHARS),
                buttons=(phone,),
            )
        return BasicCardOutput(basicCard=card)


def _unique(citations: Sequence[Citation]) -> list[Citation]:
    seen: set[int] = set()
    unique: list[Citation] = []
    for citation in citations:
        if citation.n not in seen:
            seen.add(citation.n)
            unique.append(citation)
    return unique


def _linked(citations: Sequence[Citation]) -> list[Citation]:
    """Citations whose URL Kakao can open (http or https); the first five of them are shown."""
    return [
        c
        for c in _unique(citations)
        if c.url and c.url.startswith(("https://", "http://")) and " " not in c.url
    ][:MAX_LIST_ITEMS]


def _source_line(citation: Citation, limit: int) -> str:
    parts = [p for p in (citation.source, citation.section) if p and p != citation.title]
    return trim(" · ".join(parts) or citation.title or citation.source or "-", limit)


def _quick_replies(labels: Sequence[str]) -> tuple[KakaoQuickReply, ...]:
    replies: list[KakaoQuickReply] = []
    seen: set[str] = set()
    for raw in labels:
        message = trim(raw, MAX_MESSAGE_TEXT_CHARS)
        if not message or message in seen:
            continue
        seen.add(message)
        replies.append(KakaoQuickReply(label=trim(message, MAX_LABEL_CHARS), messageText=message))
        if len(replies) == MAX_QUICK_REPLIES:
            break
    return tuple(replies)
