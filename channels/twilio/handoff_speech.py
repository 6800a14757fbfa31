"""A handoff on the phone: the reply's own reasons, then what this line can actually do.

Only the phone channel knows whether it can connect the caller (an agent number, a queue, or neither), so
it says that itself (``VoicePrompts.handoff`` or ``no_agent``). Sentences of a handoff reply that promise
or offer a connection, ask the caller to wait for one, or promise that an agent will answer are dropped,
whoever wrote them (the dialogue's messages, a flow, a deployment's replacements): otherwise a line with
no agent would say "상담원에게 연결해 드릴게요" and then that it cannot.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_PROMISE = re.compile(r"연결.*(?:드릴게요|드릴께요|드리겠습니다|드리겠어요|드릴까요|하겠습니다|할게요)")
_WAIT = re.compile(
    r"^(?:잠시만|잠시|조금만)\s*(?:더\s*)?기다려\s*주(?:세요|십시오|시겠어요)\s*[.!]?$|^기다리시는\s*동안"
)
_AGENT_WILL_ANSWER = re.compile(
    r"(?:상담원|상담사|담당자)(?:이|가)\s.*(?:답변|연락|안내)\s*(?:해\s*)?드릴게요"
)
_APOLOGY = re.compile(r"죄송")


def handoff_reasons(sentences: Sequence[str]) -> tuple[str, ...]:
    """The sentences of a handoff reply the phone keeps: all but promises of a connection or an answer."""
    return tuple(
        sentence
        for sentence in sentences
        if not (
            _PROMISE.search(sentence) or _WAIT.match(sentence.strip()) or _AGENT_WILL_ANSWER.search(sentence)
        )
    )


def apologises(sentences: Sequence[str]) -> bool:
    """Whether one of the sentences already says sorry (so the channel does not say it twice)."""
    return any(_APOLOGY.search(sentence) for sentence in sentences)
