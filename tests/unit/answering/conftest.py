"""Shared fixtures for answering tests: one Kiwi analyzer, a few FAQ chunks, an in-memory retriever and a
pipeline builder with real prompts, real verification and an injectable ``ScriptedLLM``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

import pytest

from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.context import ContextPacker
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generation import AnswerPrompts, GroundedGenerator
from assistant.answering.pipeline import AnswerPipeline, AnswerPolicy
from assistant.answering.rewrite import QueryRewriter
from assistant.answering.text import KoreanText
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.core.knowledge import Chunk, ChunkId, DocumentId, ScoredChunk
from assistant.llm.ports import LLMClient
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir
from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer
from assistant.retrieval.ports import SearchMode

FAQ = {
    "office": (
        "주민센터에서 등본을 떼려면 무엇을 가져가야 하고 수수료는 얼마인가요?",
        "주민등록 등·초본은 주소지와 관계없이 전국 어느 주민센터에서나 발급받을 수 있습니다. 주민등록증, "
        "운전면허증, 여권 등 사진이 있는 신분증을 가져가시면 됩니다. 창구 발급 수수료는 1통에 400원입니다.",
    ),
    "kiosk": (
        "무인민원발급기에서도 등본을 뗄 수 있나요?",
        "네, 구청, 주민센터, 지하철역 등에 설치된 무인민원발급기에서 등본과 초본을 뗄 수 있습니다. "
        "수수료는 주민센터 창구보다 저렴하며 등·초본 1통에 200원입니다.",
    ),
    "bike": (
        "따릉이 이용권 요금은 얼마예요?",
        "일일권은 1시간권 1,000원, 2시간권 2,000원입니다. 정기권은 1시간권 기준으로 7일 3,000원, "
        "30일 5,000원, 180일 15,000원, 365일 30,000원입니다.",
    ),
    "pension-apply": (
        "기초연금은 어디에서 신청하나요?",
        "기초연금은 주소지 주민센터, 가까운 국민연금공단 지사, 또는 복지로 누리집에서 온라인으로 신청할 수 "
        "있습니다. 만 65세 생일이 속한 달의 한 달 전부터 신청할 수 있습니다.",
    ),
    "pension-who": (
        "기초연금은 누가 받을 수 있나요?",
        "기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받을 수 있습니다.",
    ),
}


def faq_chunk(key: str) -> Chunk:
    title, text = FAQ[key]
    return Chunk(
        chunk_id=ChunkId(f"chunk-{key}"),
        document_id=DocumentId(f"doc-{key}"),
        ordinal=0,
        source="sample",
        title=title,
        section="",
        text=text,
        url=f"https://example.test/{key}",
    )


@dataclass
class InMemoryRetriever:
    """Ranks chunks by shared content terms with the query (a stand-in for the hybrid retriever)."""

    text: KoreanText
    chunks: list[Chunk]
    queries: list[str]

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        self.queries.append(query)
        wanted = self.text.terms(query)
        scored = []
        for chunk in self.chunks:
            found = self.text.term_set(chunk.indexed_text)
            score = sum(1 for term in wanted if found.contains(term))
            if score:
                scored.append(ScoredChunk(chunk, float(score)))
        scored.sort(key=lambda hit: -hit.score)
        return scored[:k]


@pytest.fixture(scope="session")
def kiwi() -> KiwiAnalyzer:
    analyzer = KiwiAnalyzer(num_workers=1)
    analyzer.warm_up()
    return analyzer


@pytest.fixture(scope="session")
def text(kiwi: KiwiAnalyzer) -> KoreanText:
    return KoreanText(kiwi)


@pytest.fixture(scope="session")
def prompts() -> PromptLibrary:
    return PromptLibrary(default_prompts_dir())


@pytest.fixture
def retriever(text: KoreanText) -> InMemoryRetriever:
    return InMemoryRetriever(text, [faq_chunk(key) for key in FAQ], [])


PipelineFactory = Callable[..., AnswerPipeline]


@pytest.fixture
def make_pipeline(text: KoreanText, prompts: PromptLibrary, retriever: InMemoryRetriever) -> PipelineFactory:
    def build(
        llm: LLMClient | None = None,
        *,
        rewrite_llm: LLMClient | None = None,
        verify_reserve: timedelta = timedelta(0),
        token_budget: int = 1200,
        trust_no_answer: bool = True,
    ) -> AnswerPipeline:
        generator = (
            GroundedGenerator(
                llm, AnswerPrompts(text=prompts.get("grounded_answer"), spoken=prompts.get("spoken_answer"))
            )
            if llm is not None
            else None
        )
        return AnswerPipeline(
            retriever=retriever,
            text=text,
            confidence=RetrievalConfidence(text, ConfidencePolicy()),
            packer=ContextPacker(token_budget=token_budget, max_sources=5),
            verifier=SentenceVerifier(text, VerifierPolicy()),
            extractive=ExtractiveAnswerer(text),
            rewriter=QueryRewriter(
                text, llm=rewrite_llm, prompt=prompts.get("query_rewrite") if rewrite_llm else None
            ),
            generator=generator,
            policy=AnswerPolicy(top_k=5, verify_reserve=verify_reserve, trust_no_answer=trust_no_answer),
        )

    return build
