"""Handoff to a human: spotting requests for one (web, Kakao and phone wording) and the agent's summary.

Requests are matched on folded text (see ``folding``), so spacing and common typos meet: "상담원
연결해 주세요", "상담원연결", "사람이랑 얘기하고 싶어요", "상담톡", "1:1 상담", "전화 연결해 줘",
"사람 바꿔 주세요". A question *about* agents ("상담원 운영 시간이 언제예요?") is not a request.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from assistant.dialogue.folding import fold, fold_pattern

HandoffReason = Literal["requested", "safety", "repeated_failures", "flow", "upstream"]

_AGENT = r"(상담원|상담사|상담직원|상담선생님|담당자|담당직원|교환원)"
_PERSON = r"(실제사람|진짜사람|사람|직원)"
_AGENT_ASK = r"(연결|바꿔|바꾸|통화|얘기|이야기|대화|불러|원해|원합|부탁|필요|해줘|해주세요|주세요)"
_PERSON_ASK = r"(연결|바꿔|바꾸|통화|얘기|이야기|대화|상담)"
_REQUEST_PATTERNS = (
    _AGENT + r".{0,15}" + _AGENT_ASK,
    _PERSON + r"(이랑|하고|과|와|한테|에게|으로|로|좀)?.{0,9}" + _PERSON_ASK,
    r"상담톡",
    r"1 ?1상담",
    r"(유선|전화|직접)상담",
    r"전화(로)?연결",
    r"통화(하고|할수)?(싶|원)",
    r"상담(받고|하고)싶",
)
_WHOLE_REQUEST = (
    r"^(상담원|상담사|상담|사람|직원|교환원|0번|영번|상담원연결)(이에요|예요|에요|입니다|이요|요|좀)?$"
)
_QUESTION_ABOUT = r"(시간|언제|몇시|운영|번호|연락처|어떻게|있나|있어요|있습니까|되나요|인가요|누구)"
_IMPERATIVE = r"(해주세요|해줘|해주실|바꿔|연결해|부탁|원해|원합|싶어|싶습|싶은데|싶다)"
_NEGATION = r"(필요없|없어도|말고|싫어|싫다|안해도|안할래|안할게|취소)"
_BACK_TO_BOT = (
    r"챗봇(으로|이랑|하고|한테|에게)?(돌아|계속|다시|얘기|대화|할게|할래)",
    r"(상담원|상담사|상담)?연결(을)?(취소|안할|안해|그만)",
    r"(기다리지|안기다릴|못기다리)",
    r"^챗봇$",
)
_YES = (
    "네",
    "예",
    "응",
    "넵",
    "넹",
    "좋아요",
    "그래요",
    "연결해주세요",
    "연결해줘",
    "부탁해요",
    "부탁합니다",
    "네연결해주세요",
    "yes",
)


def _compile(patterns: Sequence[str]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{fold_pattern(p)})" for p in patterns))


class HandoffRequests:
    """Recognises a citizen asking for a human, asking to go back to the bot, or saying yes to an offer."""

    def __init__(self) -> None:
        self._request = _compile(_REQUEST_PATTERNS)
        self._whole = re.compile(fold_pattern(_WHOLE_REQUEST))
        self._about = _compile((_QUESTION_ABOUT,))
        self._imperative = _compile((_IMPERATIVE,))
        self._negation = _compile((_NEGATION,))
        self._back = _compile(_BACK_TO_BOT)
        self._yes = frozenset(fold(word).text for word in _YES)

    def is_request(self, text: str) -> bool:
        folded = fold(text).text
        if not folded:
            return False
        if self._whole.match(folded):
            return True
        if self._request.search(folded) is None or self._negation.search(folded) is not None:
            return False
        return self._about.search(folded) is None or self._imperative.search(folded) is not None

    def is_back_to_bot(self, text: str) -> bool:
        return self._back.search(fold(text).text) is not None

    def is_yes(self, text: str) -> bool:
        """Yes to an offer of a human: a whole yes ("연결해 주세요") or a first word ("네, 좋아요")."""
        words = re.split(r"[\s,.!?~]+", text.strip())
        return fold(text).text in self._yes or (bool(words) and fold(words[0]).text in self._yes)


@dataclass(frozen=True, slots=True)
class HandoffSummary:
    """What the agent reads first. Every text in it is already redacted."""

    reason: HandoffReason
    last_question: str | None
    flow: str | None
    flags: tuple[str, ...]
    failures: int

    def text(self) -> str:
        lines = [f"[상담 요약] 연결 사유: {_REASONS[self.reason]}"]
        lines.append(f"마지막 질문: {self.last_question}" if self.last_question else "마지막 질문: (없음)")
        if self.flow:
            lines.append(f"진행 중이던 신청: {self.flow}")
        if self.flags:
            lines.append("안전 알림: " + ", ".join(self.flags))
        if self.failures:
            lines.append(f"답을 찾지 못한 질문: {self.failures}회")
        return "\n".join(lines)

    def payload(self) -> dict[str, object]:
        return {
            "reason": self.reason,
            "summary": self.text(),
            "last_question": self.last_question,
            "flow": self.flow,
            "flags": list(self.flags),
            "failures": self.failures,
        }


_REASONS: dict[HandoffReason, str] = {
    "requested": "시민이 상담원 연결을 요청함",
    "safety": "긴급·위기 상황 감지",
    "repeated_failures": "여러 번 답을 찾지 못함",
    "flow": "신청 진행 중 상담원 연결",
    "upstream": "시스템 오류로 답변하지 못함",
}

FLAG_LABELS: dict[str, str] = {
    "fire": "화재",
    "gas": "가스",
    "collapse": "붕괴",
    "crime": "범죄",
    "medical": "응급 의료",
    "rescue": "구조 요청",
    "suicide": "자살 위기",
    "self_harm": "자해 위기",
}


def flag_label(category: str | None, kind: str) -> str:
    """A Korean label for a safety flag (``화재(긴급)``, ``자살 위기(위기)``, ``프롬프트 조작 시도``)."""
    if kind == "injection":
        return "프롬프트 조작 시도"
    name = FLAG_LABELS.get(category or "", category or "안전")
    return f"{name}({'긴급' if kind == 'emergency' else '위기'})"
