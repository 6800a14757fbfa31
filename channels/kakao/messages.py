"""What the Kakao channel itself says (Korean): fallbacks, apologies, handoff and source-card copy."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class KakaoMessages:
    """The channel's own words. ``callcenter`` is the number a citizen can call (120 in Seoul)."""

    callcenter: str = "120"

    @property
    def busy(self) -> str:
        """Too slow, and no callbackUrl to answer later."""
        return "답변을 준비하는 데 시간이 조금 더 걸리고 있어요. 잠시 후 같은 질문을 다시 보내 주세요."

    @property
    def late(self) -> str:
        """The callback window is about to close and the answer is still not ready."""
        return (
            "죄송해요, 답변이 너무 늦어지고 있어요. 잠시 후 다시 물어봐 주시거나 "
            f"다산콜센터 {self.callcenter}번으로 전화해 주세요."
        )

    def apology(self, reference: str) -> str:
        """Something broke inside the turn. ``reference`` is the correlation id, for the call centre."""
        return (
            "죄송해요, 답변을 준비하다가 문제가 생겼어요. 잠시 후 다시 물어봐 주시거나 "
            f"다산콜센터 {self.callcenter}번으로 전화해 주세요. (문의 번호: {reference})"
        )

    @property
    def empty_utterance(self) -> str:
        return "무엇을 도와드릴까요? 궁금한 점을 글로 보내 주세요."

    @property
    def no_answer(self) -> str:
        return "답변을 드리지 못했어요. 질문을 조금 바꿔서 다시 보내 주세요."

    @property
    def truncated_note(self) -> str:
        return "\n(답변이 길어 일부만 보여 드려요.)"

    # -- handoff --------------------------------------------------------------------------------------

    handoff_title: str = "상담원 연결"
    operator_button: str = "상담원 연결"

    @property
    def handoff_operator(self) -> str:
        return (
            "아래 '상담원 연결' 버튼을 누르면 상담원과 채팅으로 이야기할 수 있어요. "
            f"전화 상담은 다산콜센터 {self.callcenter}번으로 해 주세요."
        )

    @property
    def handoff_phone(self) -> str:
        return (
            "상담원이 이 채팅을 확인하고 답변드려요. 메시지를 보내 주시면 그때까지 온 답변을 전해 드릴게요. "
            f"급하시면 다산콜센터 {self.callcenter}번으로 전화해 주세요."
        )

    @property
    def phone_button(self) -> str:
        return f"{self.callcenter} 전화하기"

    # -- sources --------------------------------------------------------------------------------------

    sources_header: str = "참고한 자료"
    source_button: str = "원문 보기"
    sources_line_prefix: str = "출처: "
