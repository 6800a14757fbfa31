"""How conversations are named on the agent's screen: channel and status labels, and masked thread ids.

Thread ids are never shown: a Kakao user key, a Twilio CallSid, a check-in call id or a Rasa sender id
(which a client may set to a phone number) identify a person. The label shows a short hash instead
(``카카오 ·a1b2``), enough to tell two conversations apart on one screen and useless to look anyone up.
"""

from __future__ import annotations

import hashlib

from assistant.core.events import Channel, ConversationKey
from assistant.sessions.conversation import ConversationStatus

CHANNEL_LABELS: dict[Channel, str] = {
    "web": "웹",
    "api": "API",
    "rasa": "Rasa",
    "kakao": "카카오",
    "phone": "전화",
    "checkin": "안부전화",
}

STATUS_LABELS: dict[ConversationStatus, str] = {
    "bot": "챗봇 응대",
    "handoff": "상담원 연결 대기",
    "agent": "상담원 응대",
    "closed": "종료",
}


def thread_tag(key: ConversationKey) -> str:
    """Four hex digits of a hash of the whole key: stable for a conversation, not reversible."""
    return hashlib.sha256(str(key).encode("utf-8")).hexdigest()[:4]


def conversation_label(key: ConversationKey) -> str:
    """``카카오 ·a1b2``: the channel's Korean name and the thread's tag, never the thread id itself."""
    return f"{CHANNEL_LABELS[key.channel]} ·{thread_tag(key)}"


def needs_human(status: ConversationStatus) -> bool:
    """The citizen is waiting for an agent."""
    return status == "handoff"
