"""The dialogue manager's fixed Korean messages, as data a deployment may replace."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DialogueMessages:
    """What the manager says outside answers and flows. ``spoken_*`` variants are for the phone: no
    quick replies to press, so they say what to answer instead. A spoken handoff text keeps its promise
    of a connection in a sentence of its own: the phone channel replaces that sentence with what its
    line can actually do (dial an agent, or say none can be connected and which number to call)."""

    handoff_button: str = "상담원 연결"
    back_to_bot_button: str = "챗봇으로 돌아가기"
    handoff: str = (
        "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요. 기다리시는 동안 궁금한 점을 남겨 주셔도 돼요."
    )
    spoken_handoff: str = "상담원에게 연결해 드릴게요. 잠시만 기다려 주세요."
    handoff_after_failures: str = "여러 번 답을 찾지 못해 상담원에게 연결해 드릴게요. 잠시만 기다려 주세요."
    spoken_handoff_after_failures: str = (
        "이 문의는 상담원이 자세히 안내해 드리는 게 좋겠어요. 상담원에게 연결해 드릴게요."
    )
    waiting_for_agent: str = (
        "상담원 연결을 기다리고 있어요. 남겨 주신 말씀은 상담원이 함께 확인해요. "
        "챗봇과 계속 이야기하시려면 '챗봇으로 돌아가기'를 눌러 주세요."
    )
    agent_will_answer: str = "상담원이 확인하고 답변드릴게요. 잠시만 기다려 주세요."
    agent_label: str = "상담사"
    agent_will_answer_on_next_message: str = (
        "상담원이 확인하고 답변드릴게요. 잠시 후 아무 메시지나 보내 주시면 상담원의 답변을 전해 드릴게요."
    )
    back_to_bot: str = "다시 챗봇이 도와드릴게요. 무엇이 궁금하신가요?"
    upstream_failed: str = (
        "죄송해요. 지금은 답변을 준비하지 못했어요. 잠시 후 다시 질문해 주시거나 '상담원 연결'을 눌러 주세요."
    )
    spoken_upstream_failed: str = "죄송해요. 지금은 답변을 드리기 어려워요. 상담원에게 연결해 드릴게요."
    greeting: str = (
        "안녕하세요, 120 민원 안내 AI 상담입니다. 무엇을 도와드릴까요? "
        "사람 상담원이 필요하시면 언제든 '상담원'이라고 말씀해 주세요."
    )
    outbound_greeting: str = "안녕하세요, 서울시 안부 확인 전화입니다. 요즘 잘 지내고 계신가요?"
    no_question_yet: str = "아직 시민의 질문이 없어 제안할 답변이 없어요."
    empty_turn: str = "말씀을 잘 듣지 못했어요. 궁금한 점을 다시 말씀해 주세요."
