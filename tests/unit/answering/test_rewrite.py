"""QueryRewriter: the model's standalone query when it is usable, the deterministic rule otherwise."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.answering.answer import HistoryTurn
from assistant.answering.rewrite import QueryRewriter
from assistant.answering.text import KoreanText
from assistant.llm.prompt_library import PromptLibrary
from tests.fakes.scripted_llm import Hangs, Says, ScriptedLLM

pytestmark = pytest.mark.anyio

HISTORY = (
    HistoryTurn("user", "따릉이 1시간권 요금이 얼마예요?"),
    HistoryTurn("assistant", "일일권 1시간권은 1,000원이에요 [1]."),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_the_rule_prepends_the_previous_questions_nouns(text: KoreanText) -> None:
    rewriter = QueryRewriter(text, llm=None, prompt=None)
    assert rewriter.by_rule("30일짜리는요?", HISTORY) == "따릉이 요금 30일짜리는요?"
    assert rewriter.by_rule("따릉이 반납은요?", HISTORY) == "요금 따릉이 반납은요?"
    assert rewriter.by_rule("반납은요?", ()) == "반납은요?"


def test_the_rule_says_what_it_inherited(text: KoreanText) -> None:
    """``TopicShift`` (test_topic.py) judges the inherited terms; a rewrite without them is the question."""
    rewriter = QueryRewriter(text, llm=None, prompt=None)
    rule = rewriter.rule("30일짜리는요?", HISTORY)
    assert (rule.query, rule.by, rule.inherited) == ("따릉이 요금 30일짜리는요?", "rule", ("따릉이", "요금"))
    repeated = rewriter.rule("따릉이 요금 얼마예요?", HISTORY)
    assert (repeated.query, repeated.by, repeated.inherited) == ("따릉이 요금 얼마예요?", "standalone", ())
    assert rewriter.rule("반납은요?", (HistoryTurn("assistant", "무엇을 도와드릴까요?"),)).by == "standalone"


@pytest.mark.parametrize(
    "step",
    [Says('{"query": "삼성전자 주가 전망"}'), Says("따릉이 30일 정기권은 5,000원이에요."), Hangs()],
    ids=["ungrounded", "answered-instead", "too-slow"],
)
async def test_an_unusable_model_query_falls_back(
    text: KoreanText, prompts: PromptLibrary, step: Says | Hangs
) -> None:
    llm = ScriptedLLM(step)
    rewriter = QueryRewriter(
        text, llm=llm, prompt=prompts.get("query_rewrite"), timeout=timedelta(milliseconds=200)
    )
    rewrite = await rewriter.rewrite("30일짜리는요?", HISTORY, budget=timedelta(seconds=5))
    assert rewrite.by == "rule" and rewrite.query == "따릉이 요금 30일짜리는요?"
    llm.assert_used_up()


async def test_a_grounded_model_query_is_used(text: KoreanText, prompts: PromptLibrary) -> None:
    llm = ScriptedLLM(Says('{"query": "따릉이 30일 정기권 요금"}'))
    rewriter = QueryRewriter(text, llm=llm, prompt=prompts.get("query_rewrite"))
    rewrite = await rewriter.rewrite("30일짜리는요?", HISTORY, budget=timedelta(seconds=5))
    assert (rewrite.query, rewrite.by) == ("따릉이 30일 정기권 요금", "llm")
    assert rewrite.prompt_version == prompts.get("query_rewrite").version
    assert llm.requests[0].timeout <= timedelta(seconds=5)
