"""What the phone channel itself says (greeting, fillers, re-prompts, goodbyes), in Korean."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

from channels.twilio.spoken import read_digits


def spoken_number(number: str) -> str:
    """A phone number read digit by digit, its hyphen groups as short pauses ("02-120" → "공이 일이공")."""
    return " ".join(read_digits(group) for group in re.split(r"[-\s]+", number.strip()) if group)


@dataclass(frozen=True, slots=True)
class VoicePrompts:
    """The channel's own phrases. ``{hotline}`` is replaced by the hotline read aloud and
    ``{hotline_number}`` (in SMS text) by the number as written.

    On a handoff the channel alone says whether the caller is connected: ``handoff`` before a
    ``<Dial>`` or ``<Enqueue>``; with neither configured, ``no_agent`` (after ``apology`` unless the
    reply already apologised), then ``hotline_sms_offer`` when an SMS can be sent, else ``goodbye``."""

    greeting: str = (
        "안녕하세요, 다산콜센터 인공지능 상담입니다. 궁금하신 내용을 말씀해 주세요. "
        "상담사 연결은 0번, 다시 듣기는 별표를 눌러 주세요."
    )
    greeting_no_agent: str = (
        "안녕하세요, 다산콜센터 인공지능 상담입니다. 궁금하신 내용을 말씀해 주세요. "
        "다시 듣기는 별표를 눌러 주세요."
    )
    follow_up: str = "더 궁금하신 점이 있으면 말씀해 주세요."
    fillers: tuple[str, ...] = (
        "잠시만 기다려 주세요.",
        "확인하고 있어요. 잠시만요.",
        "찾아보고 있어요. 잠시만 기다려 주세요.",
    )
    still_working: str = "조금만 더 기다려 주세요."
    reprompt: str = "잘 듣지 못했어요. 다시 한 번 말씀해 주세요."
    last_reprompt: str = "잘 듣지 못했어요. 다시 말씀해 주시거나, 상담사 연결을 원하시면 0번을 눌러 주세요."
    last_reprompt_no_agent: str = "잘 듣지 못했어요. 조금 더 천천히 말씀해 주세요."
    no_input_goodbye: str = (
        "응답이 없어 전화를 끊겠습니다. 도움이 필요하시면 언제든 {hotline}번으로 전화해 주세요. 감사합니다."
    )
    goodbye: str = "이용해 주셔서 감사합니다. 안녕히 계세요."
    handoff: str = "상담사에게 연결해 드릴게요. 잠시만 기다려 주세요."
    no_agent: str = (
        "이 전화로는 상담사를 연결해 드릴 수 없어요. 상담사와 통화하시려면 {hotline}번으로 전화해 주세요."
    )
    apology: str = "죄송해요."
    hotline_sms_offer: str = "상담 전화번호를 문자로 보내 드릴까요? 네 또는 아니요로 말씀해 주세요."
    hotline_sms: str = "[다산 120] 상담사와 통화하시려면 {hotline_number}번으로 전화해 주세요."
    hotline_sms_yes: str = "문자로 보내 드릴게요. 이용해 주셔서 감사합니다. 안녕히 계세요."
    agent_unavailable: str = (
        "상담사와 연결되지 않았어요. 잠시 후 {hotline}번으로 다시 전화해 주세요. 감사합니다."
    )
    emergency_transfer: str = "지금 긴급 상담 전화로 연결해 드릴게요."
    emergency_repeat: str = "다시 한 번 말씀드릴게요."
    delayed: str = "죄송합니다. 답변이 늦어지고 있어요."
    failed: str = "죄송합니다. 지금은 답변을 드리기 어려워요."
    offer_agent: str = "상담사 연결을 원하시면 0번을 누르시고, 다른 질문은 말씀해 주세요."
    offer_retry: str = "잠시 후 다시 말씀해 주시거나, {hotline}번으로 전화해 주세요."
    lost_turn: str = "죄송합니다. 방금 질문을 놓쳤어요. 다시 한 번 말씀해 주세요."
    nothing_to_repeat: str = "아직 다시 들려드릴 답변이 없어요. 궁금하신 내용을 말씀해 주세요."
    sms_offer: str = "말씀드린 내용의 출처를 문자로 보내 드릴까요? 네 또는 아니요로 말씀해 주세요."
    sms_yes: str = "문자로 보내 드릴게요. 더 궁금하신 점이 있으면 말씀해 주세요."
    sms_no: str = "알겠습니다. 더 궁금하신 점이 있으면 말씀해 주세요."
    sms_header: str = "[다산 120] 말씀드린 내용의 출처입니다."
    error: str = "죄송합니다. 일시적인 오류가 생겼어요. {hotline}번으로 전화해 주시면 상담사가 도와드립니다."

    def for_hotline(self, hotline: str) -> VoicePrompts:
        """These prompts with ``{hotline}`` filled in, read aloud digit by digit (``{hotline_number}``
        as written)."""
        spoken = spoken_number(hotline)
        changes: dict[str, Any] = {
            name: value.replace("{hotline}", spoken).replace("{hotline_number}", hotline)
            for name in self.__dataclass_fields__
            if isinstance(value := getattr(self, name), str) and "{hotline" in value
        }
        return replace(self, **changes)
