"""AnswerPipeline: verified answers, every fallback to extractive, abstention, streaming and rewriting."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from assistant.answering.abstention import AbstentionMessages
from assistant.answering.answer import Answer, AnswerDelta, HistoryTurn
from assistant.answering.text import citation_numbers, strip_citations
from assistant.core.errors import LLMTimeout, LLMUnavailable
from tests.fakes.scripted_llm import Fails, Hangs, Says, ScriptedLLM
from tests.unit.answering.conftest import FAQ, InMemoryRetriever, PipelineFactory

pytestmark = pytest.mark.anyio

QUESTION = "주민센터에서 등본 떼면 수수료가 얼마예요?"
DEADLINE = timedelta(seconds=30)
GOOD = "주민센터 창구에서 등본을 떼면 1통에 400원이에요 [1]."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def assert_copied_verbatim(answer: Answer) -> None:
    """Every sentence of an extractive answer is a source sentence, only its [n] marker added."""
    for sentence in answer.text.split(". "):
        body = strip_citations(sentence).replace(" .", ".").rstrip(".").strip()
        assert any(body in text for _, text in FAQ.values()), body


def assert_extractive(answer: Answer, reason_prefix: str) -> None:
    assert answer.mode == "extractive"
    assert answer.fallback_reason is not None and answer.fallback_reason.startswith(reason_prefix)
    assert "400원" in answer.text  # the office chunk's own sentence, copied
    assert answer.citations and citation_numbers(answer.text)
    assert {c.n for c in answer.citations} == set(citation_numbers(answer.text))


async def test_a_verified_answer_is_shown_as_generated(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM(Says(GOOD))
    answer = await make_pipeline(llm).answer(QUESTION, deadline=DEADLINE)

    assert answer.mode == "llm"
    assert answer.text == GOOD
    assert [(c.n, c.chunk_id, c.url) for c in answer.citations] == [
        (1, "chunk-office", "https://example.test/office")
    ]
    assert answer.prompt_version is not None and answer.rewritten_query is None
    assert answer.fallback_reason is None
    prompt = "\n".join(m.content for m in llm.requests[0].messages)
    assert "[1] 주민센터에서 등본을 떼려면" in prompt and "1통에 400원입니다" in prompt
    assert llm.requests[0].metadata["prompt_id"] == "grounded_answer"
    llm.assert_used_up()


@pytest.mark.parametrize(
    ("generated", "reason"),
    [
        ("주민센터 창구에서 등본을 떼면 1통에 500원이에요 [1].", "unsupported: numbers not in source: 500원"),
        ("주민센터 창구에서 등본을 떼면 1통에 400원이에요 [9].", "unsupported: cites unknown source [9]"),
        ("주민센터 창구에서 등본을 떼면 1통에 400원이에요.", "unsupported: no citation"),
        ("등본은 주소지 주민센터에서만 뗄 수 있어요 [1].", "unsupported: restrictive"),
    ],
    ids=["changed-fee", "bad-citation", "uncited", "restrictive"],
)
async def test_an_unverified_sentence_falls_back_to_extractive(
    make_pipeline: PipelineFactory, generated: str, reason: str
) -> None:
    llm = ScriptedLLM(Says(generated))
    answer = await make_pipeline(llm).answer(QUESTION, deadline=DEADLINE)

    assert_extractive(answer, reason)
    assert "500원" not in answer.text and "[9]" not in answer.text and "에서만" not in answer.text
    llm.assert_used_up()


async def test_verified_sentences_before_a_failing_one_are_kept_and_completed(
    make_pipeline: PipelineFactory,
) -> None:
    llm = ScriptedLLM(Says(f"{GOOD} 인터넷으로 떼면 1통에 100원이에요 [1]."))
    answer = await make_pipeline(llm).answer(QUESTION, deadline=DEADLINE)

    assert answer.mode == "extractive"
    assert answer.text.startswith(GOOD + " ")
    assert "100원" not in answer.text
    assert answer.fallback_reason == "unsupported: numbers not in source: 100원"


@pytest.mark.parametrize(
    ("step", "reason"),
    [
        (Fails(LLMTimeout("no completion within 30s")), "llm_error:LLMTimeout"),
        (Fails(LLMUnavailable("503")), "llm_error:LLMUnavailable"),
        (Hangs(), "deadline"),
    ],
    ids=["timeout", "unavailable", "deadline"],
)
async def test_generation_failures_answer_extractively(
    make_pipeline: PipelineFactory, step: Fails | Hangs, reason: str
) -> None:
    llm = ScriptedLLM(step)
    deadline = timedelta(milliseconds=300) if isinstance(step, Hangs) else DEADLINE
    answer = await make_pipeline(llm).answer(QUESTION, deadline=deadline)

    assert_extractive(answer, reason)
    assert llm.cancelled == (1 if isinstance(step, Hangs) else 0)
    llm.assert_used_up()


async def test_a_deadline_already_spent_skips_the_model(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM()
    answer = await make_pipeline(llm, verify_reserve=timedelta(seconds=5)).answer(
        QUESTION, deadline=timedelta(seconds=1)
    )

    assert_extractive(answer, "deadline")
    assert llm.requests == []


async def test_no_model_answers_extractively(make_pipeline: PipelineFactory) -> None:
    answer = await make_pipeline(None).answer(QUESTION, deadline=DEADLINE)

    assert_extractive(answer, "no_llm")
    assert answer.prompt_version is None
    assert "창구 발급 수수료는 1통에 400원입니다 [1]." in answer.text
    assert_copied_verbatim(answer)


async def test_the_models_no_answer_sentence_abstains(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM(Says("제공된 자료에서 답을 찾을 수 없습니다."))
    answer = await make_pipeline(llm).answer(QUESTION, deadline=DEADLINE)

    assert answer.mode == "abstain"
    assert answer.text == AbstentionMessages().text
    assert "120" in answer.text and "상담원" in answer.text
    assert answer.citations == ()
    assert answer.fallback_reason == "no_answer"


async def test_an_untrusted_no_answer_gives_the_sources_instead(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM(Says("제공된 자료에서 답을 찾을 수 없습니다."))
    answer = await make_pipeline(llm, trust_no_answer=False).answer(QUESTION, deadline=DEADLINE)

    assert_extractive(answer, "no_answer")
    assert_copied_verbatim(answer)


async def test_out_of_scope_abstains_before_calling_the_model(
    make_pipeline: PipelineFactory, retriever: InMemoryRetriever
) -> None:
    llm = ScriptedLLM()
    answer = await make_pipeline(llm).answer("삼성전자 주가 내일 오를까요?", deadline=DEADLINE)

    assert answer.mode == "abstain"
    assert answer.fallback_reason == "low_confidence"
    assert llm.requests == []
    spoken = await make_pipeline(llm).answer("비트코인 지금 사도 돼요?", spoken=True, deadline=DEADLINE)
    assert spoken.text == AbstentionMessages().spoken


async def test_a_stream_shows_only_verified_sentences(make_pipeline: PipelineFactory) -> None:
    second = "무인민원발급기에서 떼면 1통에 200원이에요 [2]."
    llm = ScriptedLLM(Says(f"{GOOD} {second}"))
    items = [item async for item in make_pipeline(llm).stream(QUESTION, deadline=DEADLINE)]

    deltas = [item.text for item in items if isinstance(item, AnswerDelta)]
    final = items[-1]
    assert isinstance(final, Answer) and all(isinstance(i, AnswerDelta) for i in items[:-1])
    assert deltas == [GOOD, f" {second}"]
    assert final.text == "".join(deltas)
    assert final.mode == "llm"
    assert [c.chunk_id for c in final.citations] == ["chunk-office", "chunk-kiosk"]
    assert llm.closed_streams == 1


async def test_a_stream_stops_at_a_failing_sentence_and_finishes_extractively(
    make_pipeline: PipelineFactory,
) -> None:
    bad = "인터넷으로 떼면 1통에 100원이에요 [1]."
    tail = " 이 문장은 보여지면 안 돼요 [1]." * 5
    llm = ScriptedLLM(Says(f"{GOOD} {bad}{tail}"))
    items = [item async for item in make_pipeline(llm).stream(QUESTION, deadline=DEADLINE)]

    deltas = [item.text for item in items if isinstance(item, AnswerDelta)]
    final = items[-1]
    assert isinstance(final, Answer)
    assert deltas[0] == GOOD
    assert final.text == "".join(deltas)
    assert final.mode == "extractive"
    assert "100원" not in final.text and "보여지면" not in final.text
    assert "".join(llm.streamed) != f"{GOOD} {bad}{tail}"  # generation stopped early
    assert llm.closed_streams == 1


async def test_a_stream_that_fails_before_any_sentence_is_extractive(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM(Fails(LLMUnavailable("stream broke"), after="주민센터 창구에서 1통에 900원"))
    items = [item async for item in make_pipeline(llm).stream(QUESTION, deadline=DEADLINE)]

    final = items[-1]
    assert isinstance(final, Answer)
    assert_extractive(final, "llm_error:LLMUnavailable")
    assert final.text == "".join(i.text for i in items if isinstance(i, AnswerDelta))
    assert "900원" not in final.text
    assert_copied_verbatim(final)


async def test_a_streamed_abstention_is_one_delta(make_pipeline: PipelineFactory) -> None:
    items = [
        i async for i in make_pipeline(None).stream("BTS 멤버 중에 누가 제일 키 커요?", deadline=DEADLINE)
    ]

    assert [type(i) for i in items] == [AnswerDelta, Answer]
    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "abstain"
    assert items[0].text == final.text


async def test_a_follow_up_is_rewritten_by_the_model(
    make_pipeline: PipelineFactory, retriever: InMemoryRetriever
) -> None:
    rewrite = ScriptedLLM(Says('{"query": "기초연금 신청 장소"}'))
    answer_llm = ScriptedLLM(Says("기초연금은 주소지 주민센터나 국민연금공단 지사에서 신청할 수 있어요 [1]."))
    history = (
        HistoryTurn("user", "기초연금은 누가 받을 수 있어요?"),
        HistoryTurn("assistant", "만 65세 이상 어르신이 받을 수 있어요 [1]."),
    )
    answer = await make_pipeline(answer_llm, rewrite_llm=rewrite).answer(
        "그럼 신청은 어디서 해요?", history=history, deadline=DEADLINE
    )

    assert answer.rewritten_query == "기초연금 신청 장소"
    assert retriever.queries[0] == "기초연금 신청 장소"
    assert rewrite.requests[0].json_schema is not None
    assert "[1]" not in rewrite.requests[0].messages[-1].content  # markers stripped from history
    assert answer.mode == "llm" and answer.citations[0].chunk_id == "chunk-pension-apply"
    rewrite.assert_used_up()
    answer_llm.assert_used_up()


async def test_a_failed_rewrite_falls_back_to_the_rule(
    make_pipeline: PipelineFactory, retriever: InMemoryRetriever
) -> None:
    rewrite = ScriptedLLM(Fails(LLMUnavailable("down")))
    history = (HistoryTurn("user", "기초연금은 누가 받을 수 있어요?"),)
    answer = await make_pipeline(None, rewrite_llm=rewrite).answer(
        "그럼 신청은 어디서 해요?", history=history, deadline=DEADLINE
    )

    assert answer.rewritten_query is not None
    assert answer.rewritten_query.startswith("기초 연금")
    assert answer.rewritten_query.endswith("그럼 신청은 어디서 해요?")
    assert answer.mode == "extractive"
    assert answer.citations[0].chunk_id == "chunk-pension-apply"


async def test_without_history_nothing_is_rewritten(make_pipeline: PipelineFactory) -> None:
    rewrite = ScriptedLLM()
    answer = await make_pipeline(None, rewrite_llm=rewrite).answer(QUESTION, deadline=DEADLINE)
    assert answer.rewritten_query is None
    assert rewrite.requests == []


async def test_latencies_are_reported(make_pipeline: PipelineFactory) -> None:
    answer = await make_pipeline(ScriptedLLM(Says(GOOD))).answer(QUESTION, deadline=DEADLINE)
    latency = answer.latency_ms
    assert latency.total >= latency.retrieve + latency.generate
    assert set(latency.as_dict()) == {"retrieve", "generate", "verify", "total"}
    assert latency.verify > 0


async def test_a_stream_that_hangs_ends_at_the_deadline(make_pipeline: PipelineFactory) -> None:
    llm = ScriptedLLM(Hangs())
    stream = make_pipeline(llm).stream(QUESTION, deadline=timedelta(milliseconds=300))
    items = [item async for item in stream]

    final = items[-1]
    assert isinstance(final, Answer)
    assert_extractive(final, "deadline")
    assert final.text == "".join(i.text for i in items if isinstance(i, AnswerDelta))
    assert llm.cancelled == 1 and llm.closed_streams == 1


async def test_nothing_to_extract_abstains(
    make_pipeline: PipelineFactory, retriever: InMemoryRetriever
) -> None:
    retriever.chunks = [replace(retriever.chunks[0], title="등본 수수료 안내", text="무료.")]
    items = [i async for i in make_pipeline(None).stream("등본 수수료 안내", deadline=DEADLINE)]

    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "abstain"
    assert final.fallback_reason == "nothing to extract after: no_llm"
    assert [i.text for i in items if isinstance(i, AnswerDelta)] == [final.text]


async def test_the_log_names_a_fallback_reason_by_kind_only(
    make_pipeline: PipelineFactory, caplog: pytest.LogCaptureFixture
) -> None:
    """The reason's details quote the generated text, which can echo a citizen's phone number."""
    llm = ScriptedLLM(Says("등본은 010-2345-6789 번으로 문의하면 400원이에요 [1]."))
    with caplog.at_level("INFO", logger="assistant.answering.pipeline"):
        answer = await make_pipeline(llm).answer(QUESTION, deadline=DEADLINE)

    assert answer.fallback_reason is not None and "010-2345-6789" in answer.fallback_reason
    assert "reason=unsupported " in caplog.text
    assert "2345" not in caplog.text
