"""What to say when the knowledge does not cover a question, and how to spot the model saying so."""

from __future__ import annotations

from dataclasses import dataclass

from assistant.answering.text import normalise, strip_citations


@dataclass(frozen=True, slots=True)
class AbstentionMessages:
    """Plain, polite Korean that admits the gap and offers the 120 call centre and a human agent.
    ``spoken`` is for the phone: no parentheses, a yes/no offer the caller can answer."""

    text: str = (
        "죄송해요. 문의하신 내용은 시에서 제공하는 안내 자료에서 찾지 못했어요. "
        "120 다산콜센터(국번 없이 120)로 전화하시면 자세히 안내받으실 수 있고, "
        "원하시면 지금 상담원에게 연결해 드릴게요."
    )
    spoken: str = (
        "죄송해요. 문의하신 내용은 시 안내 자료에서 찾지 못했어요. 120 다산콜센터 상담원에게 연결해 드릴까요?"
    )

    def for_channel(self, *, spoken: bool) -> str:
        return self.spoken if spoken else self.text


def says_no_answer(sentence: str, no_answer: str) -> bool:
    """Whether ``sentence`` is (or contains) the prompt's fixed no-answer sentence."""
    wanted = normalise(no_answer).rstrip(".")
    return bool(wanted) and wanted in normalise(strip_citations(sentence))
