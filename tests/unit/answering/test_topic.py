"""TopicShift: a rule-rewritten follow-up keeps the previous topic only when the knowledge joins them.

The dense test compares best cosines (here from a table: the real e5 path is exercised by
``tests/integration/test_followup_topics.py`` and ``evals/datasets/retrieval_followups.jsonl``); the
lexical test runs on real Kiwi terms over a small FAQ through the in-memory retriever.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.answering.answer import HistoryTurn
from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.context import ContextPacker
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.pipeline import AnswerPipeline, AnswerPolicy
from assistant.answering.rewrite import QueryRewriter, Rewrite
from assistant.answering.text import KoreanText
from assistant.answering.topic import TopicPolicy, TopicShift
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.core.events import ConversationKey
from assistant.core.knowledge import Chunk, ChunkId, DocumentId
from assistant.dialogue.pii import PiiRedactor
from assistant.tracing.recording import RecordingTracer
from assistant.tracing.traced_retriever import TracedRetriever
from tests.unit.answering.conftest import InMemoryRetriever, PipelineFactory

pytestmark = pytest.mark.anyio
DEADLINE = timedelta(seconds=10)

KNOWLEDGE = {
    "bike-rent": (
        "따릉이는 어떻게 빌리나요?",
        "서울자전거 따릉이는 앱을 설치하고 회원가입한 뒤 이용권을 사서 빌릴 수 있습니다.",
    ),
    "bike-return": (
        "따릉이 반납은 어떻게 하나요?",
        "가까운 따릉이 대여소에 자전거를 세우고 잠금장치를 잠근 뒤 앱에서 반납이 완료됐는지 확인하면 됩니다.",
    ),
    "bike-price": (
        "따릉이 이용권 요금은 얼마예요?",
        "일일권은 1시간권 1,000원입니다. 정기권은 7일 3,000원, 30일 5,000원입니다.",
    ),
    "passport": (
        "여권은 어디서 어떻게 만들 수 있나요?",
        "여권은 시청·구청·도청 등 여권 발급 기관 어디에서나 신청할 수 있습니다. 수수료는 53,000원입니다.",
    ),
    "pension-who": (
        "기초연금은 누가 받을 수 있나요?",
        "기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받을 수 있습니다.",
    ),
    "pension-apply": (
        "기초연금은 어디에서 신청하나요?",
        "기초연금은 주소지 주민센터, 국민연금공단 지사, 복지로 누리집에서 신청할 수 있습니다.",
    ),
    "pension-proxy": (
        "기초연금을 자녀가 대신 신청해도 되나요?",
        "어르신이 직접 방문하기 어려우면 자녀 같은 가족이 대신 신청할 수 있습니다.",
    ),
    "civil-defense": (
        "민방위 교육은 언제까지 받아야 하나요?",
        "민방위 대원은 보통 1년에 한 번 집합교육이나 사이버교육을 받습니다.",
    ),
}


def chunk(key: str) -> Chunk:
    title, text = KNOWLEDGE[key]
    return Chunk(
        chunk_id=ChunkId(f"chunk-{key}"),
        document_id=DocumentId(f"doc-{key}"),
        ordinal=0,
        source="sample",
        title=title,
        section="",
        text=text,
    )


class InMemoryCosines:
    """``DenseCosine`` from a table (query → best cosine); records what it was asked."""

    def __init__(self, table: dict[str, float]) -> None:
        self._table = table
        self.asked: list[str] = []

    async def best_cosine(self, query: str) -> float | None:
        self.asked.append(query)
        return self._table.get(query)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def knowledge(text: KoreanText) -> InMemoryRetriever:
    return InMemoryRetriever(text, [chunk(key) for key in KNOWLEDGE], [])


def shift(text: KoreanText, retriever: InMemoryRetriever, cosines: InMemoryCosines | None) -> TopicShift:
    return TopicShift(text, retriever, RetrievalConfidence(text, ConfidencePolicy()), cosines)


def rule(text: KoreanText, previous: str, question: str) -> Rewrite:
    return QueryRewriter(text, llm=None, prompt=None).rule(question, (HistoryTurn("user", previous),))


async def test_the_dense_test_keeps_what_fits_the_knowledge_better(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    # cosines as e5-small gives them on the sample knowledge
    cosines = InMemoryCosines(
        {
            "반납은요?": 0.864,
            "따릉이 반납은요?": 0.903,
            "여권은 어디서 어떻게 만들 수 있나요?": 0.900,
            "따릉이 여권은 어디서 어떻게 만들 수 있나요?": 0.867,
        }
    )
    topics = shift(text, knowledge, cosines)
    follow_up = rule(text, "따릉이는 어떻게 빌리나요?", "반납은요?")
    kept, verdict = await topics.settle("반납은요?", follow_up)
    assert kept == follow_up and kept.query == "따릉이 반납은요?"
    assert verdict is not None and verdict.follow_up and verdict.reason == "dense"
    assert (verdict.standalone_cosine, verdict.inherited_cosine) == (0.864, 0.903)

    switch = rule(text, "따릉이는 어떻게 빌리나요?", "여권은 어디서 어떻게 만들 수 있나요?")
    kept, verdict = await topics.settle("여권은 어디서 어떻게 만들 수 있나요?", switch)
    assert kept == Rewrite("여권은 어디서 어떻게 만들 수 있나요?", "standalone")
    assert verdict is not None and not verdict.follow_up
    assert verdict.annotations()["topic"] == "new_topic"
    assert knowledge.queries == []  # the dense test needs no hybrid search


async def test_the_margin_makes_the_question_prove_it_stands_alone(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    cosines = InMemoryCosines({"민방위 교육은요?": 0.91, "기초 연금 민방위 교육은요?": 0.89})
    written = rule(text, "기초연금은 누가 받을 수 있나요?", "민방위 교육은요?")
    confidence = RetrievalConfidence(text, ConfidencePolicy())
    loose = TopicShift(text, knowledge, confidence, cosines)
    strict = TopicShift(text, knowledge, confidence, cosines, TopicPolicy(margin=-0.05))
    assert not (await loose.judge("민방위 교육은요?", written)).follow_up
    assert (await strict.judge("민방위 교육은요?", written)).follow_up


async def test_a_question_without_nouns_of_its_own_always_follows(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    cosines = InMemoryCosines({})
    topics = shift(text, knowledge, cosines)
    for question in ("30일짜리는요?", "얼마예요?", "한 달에 얼마까지 나와요?"):
        written = rule(text, "따릉이 이용권 요금은 얼마예요?", question)
        kept, verdict = await topics.settle(question, written)
        assert kept.by == "rule" and kept.query.startswith("따릉이")
        assert verdict is not None and verdict.reason == "no_own_terms"
    assert cosines.asked == [] and knowledge.queries == []


async def test_nothing_is_judged_when_the_rule_inherited_nothing(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    topics = shift(text, knowledge, InMemoryCosines({}))
    as_asked = Rewrite("따릉이 반납은요?", "standalone")
    assert await topics.settle("따릉이 반납은요?", as_asked) == (as_asked, None)
    by_model = Rewrite("따릉이 반납 방법", "llm", prompt_version="v1")
    assert await topics.settle("반납은요?", by_model) == (by_model, None)


@pytest.mark.parametrize(
    ("previous", "question", "follows"),
    [
        ("따릉이는 어떻게 빌리나요?", "반납은요?", True),
        ("기초연금은 누가 받을 수 있나요?", "그럼 신청은 어디서 해요?", True),
        ("기초연금은 누가 받을 수 있나요?", "아들이 대신 신청해도 돼요?", True),
        ("따릉이는 어떻게 빌리나요?", "여권은 어디서 어떻게 만들 수 있나요?", False),
        ("기초연금은 누가 받을 수 있나요?", "민방위 교육은 언제까지 받아야 해요?", False),
        ("따릉이 반납은 어떻게 하나요?", "여권 수수료는 얼마예요?", False),
    ],
)
async def test_without_dense_vectors_the_test_is_lexical(
    text: KoreanText, knowledge: InMemoryRetriever, previous: str, question: str, follows: bool
) -> None:
    verdict = await shift(text, knowledge, None).judge(question, rule(text, previous, question))
    assert verdict.follow_up is follows
    assert verdict.reason == ("lexical_joint" if follows else "lexical_new_topic")


async def test_an_index_without_vectors_falls_back_to_the_lexical_test(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    """A ``DenseCosine`` that answers None (``DenseProbe`` on a lexical-only index)."""
    question = "여권은 어디서 어떻게 만들 수 있나요?"
    verdict = await shift(text, knowledge, InMemoryCosines({})).judge(
        question, rule(text, "따릉이는 어떻게 빌리나요?", question)
    )
    assert verdict.reason == "lexical_new_topic" and not verdict.follow_up


async def test_a_question_the_knowledge_cannot_answer_alone_inherits(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    question = "돈은 얼마나 들어요?"  # 돈 is in no document
    verdict = await shift(text, knowledge, None).judge(
        question, rule(text, "기초연금은 누가 받을 수 있나요?", question)
    )
    assert verdict.follow_up and verdict.reason == "lexical_unanswerable"


async def test_the_pipeline_searches_a_new_topic_as_asked_and_a_follow_up_with_its_topic(
    make_pipeline: PipelineFactory, retriever: InMemoryRetriever
) -> None:
    """Through ``AnswerPipeline`` (conftest FAQ: 등본, 따릉이 요금, 기초연금; lexical test)."""
    pipeline = make_pipeline(None)
    bike = (
        HistoryTurn("user", "따릉이 1시간권 요금이 얼마예요?"),
        HistoryTurn("assistant", "1,000원이에요 [1]."),
    )
    switched = await pipeline.answer("기초연금은 어디에서 신청하나요?", history=bike, deadline=DEADLINE)
    assert switched.rewritten_query == "기초연금은 어디에서 신청하나요?"
    assert switched.citations and all("따릉이" not in c.title for c in switched.citations)

    pension = (HistoryTurn("user", "기초연금은 누가 받을 수 있어요?"),)
    followed = await pipeline.search("그럼 신청은 어디서 해요?", history=pension)
    assert followed.rewrite is not None and followed.rewrite.by == "rule"
    assert (
        followed.query.endswith("그럼 신청은 어디서 해요?") and followed.query != "그럼 신청은 어디서 해요?"
    )
    assert followed.hits[0].chunk.title == "기초연금은 어디에서 신청하나요?"


async def test_the_rewrite_span_records_the_verdict_and_nests_the_topic_searches(
    text: KoreanText, knowledge: InMemoryRetriever
) -> None:
    tracer = RecordingTracer(PiiRedactor())
    searched = TracedRetriever(knowledge, tracer)
    confidence = RetrievalConfidence(text, ConfidencePolicy())
    pipeline = AnswerPipeline(
        retriever=searched,
        text=text,
        confidence=confidence,
        packer=ContextPacker(token_budget=1200, max_sources=5),
        verifier=SentenceVerifier(text, VerifierPolicy()),
        extractive=ExtractiveAnswerer(text),
        rewriter=QueryRewriter(text, llm=None, prompt=None),
        generator=None,
        policy=AnswerPolicy(top_k=5),
        tracer=tracer,
    )
    history = (HistoryTurn("user", "따릉이는 어떻게 빌리나요?"),)
    async with tracer.turn("turn", conversation=ConversationKey("web", "s1")):
        answer = await pipeline.answer(
            "여권은 어디서 어떻게 만들 수 있나요?", history=history, deadline=DEADLINE
        )

    assert answer.rewritten_query == "여권은 어디서 어떻게 만들 수 있나요?"
    (turn,) = tracer.turns
    step = turn.find("rewrite")
    assert step.output == "여권은 어디서 어떻게 만들 수 있나요?"
    assert step.metadata["by"] == "standalone" and step.metadata["topic"] == "new_topic"
    assert step.metadata["topic_reason"] == "lexical_new_topic"
    assert [child.name for child in step.children] == ["retrieval", "retrieval"]  # standalone, inherited
    assert [child.name for child in turn.root.children] == ["rewrite", "retrieval"]
