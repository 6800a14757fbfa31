"""Builds the grounded-answer pipeline from settings and already-built components."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.context import ContextPacker
from assistant.answering.dense_probe import DenseProbe
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generation import AnswerPrompts, GroundedGenerator
from assistant.answering.pipeline import AnswerPipeline, AnswerPolicy
from assistant.answering.ports import ChunkRetriever
from assistant.answering.query_cache import QueryVectorCache
from assistant.answering.rewrite import QueryRewriter
from assistant.answering.text import KoreanText
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.app.llm_backend import BackendKind
from assistant.app.settings import AnswerSettings, RetrievalSettings
from assistant.llm.ports import LLMClient
from assistant.llm.prompt_library import PromptLibrary
from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer
from assistant.retrieval.ports import DenseEmbedder, FusionSpec, SearchMode, VectorIndex
from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.sparse import KiwiSparseEncoder
from assistant.tracing.ports import Tracer
from assistant.tracing.traced_llm import TracedLLM
from assistant.tracing.traced_retriever import TracedRetriever


@dataclass(frozen=True, slots=True)
class AnswerComponents:
    """What the pipeline is built from; the composition root fills it in. With a ``tracer`` the model
    and the retriever are traced (``TracedLLM``, ``TracedRetriever``), and so are the pipeline's own
    steps: ``rewrite`` (its model call: ``rewrite_llm``), ``retrieval``, ``generation``,
    ``verification`` (its model call, when on: ``verification_llm``)."""

    index: VectorIndex
    collection: str
    analyzer: KiwiAnalyzer
    sparse: KiwiSparseEncoder
    embedder: DenseEmbedder | None
    prompts: PromptLibrary
    llm: LLMClient | None
    backend: BackendKind
    tracer: Tracer | None = None


def build_answer_pipeline(
    answers: AnswerSettings, retrieval: RetrievalSettings, parts: AnswerComponents
) -> AnswerPipeline:
    """One pipeline per collection. Query vectors are cached, so the hybrid search and the dense
    confidence probe embed a question once."""
    embedder = QueryVectorCache(parts.embedder) if parts.embedder is not None else None
    mode: SearchMode = retrieval.mode
    retriever = HybridRetriever(
        index=parts.index,
        sparse=parts.sparse,
        embedder=embedder,
        collection=parts.collection,
        fusion=FusionSpec(
            method=retrieval.fusion,
            rrf_k=retrieval.rrf_k,
            weights=(retrieval.dense_weight, retrieval.sparse_weight),
        ),
        mode=mode,
        prefetch_limit=retrieval.prefetch_limit,
    )
    text = KoreanText(parts.analyzer)
    tracer = parts.tracer
    searched: ChunkRetriever = retriever if tracer is None else TracedRetriever(retriever, tracer)
    llm = parts.llm

    def traced(step: str) -> LLMClient | None:
        return llm if llm is None or tracer is None else TracedLLM(llm, tracer, step=step)

    prompts = parts.prompts
    use_rewrite = _enabled(answers.llm_rewrite, parts.backend)
    answering = traced("generation")
    generator = (
        GroundedGenerator(
            answering,
            AnswerPrompts(text=prompts.get("grounded_answer"), spoken=prompts.get("spoken_answer")),
            max_tokens=answers.max_tokens,
        )
        if answering is not None
        else None
    )
    return AnswerPipeline(
        retriever=searched,
        text=text,
        confidence=RetrievalConfidence(
            text,
            ConfidencePolicy(
                threshold=answers.abstain_threshold, lexical_threshold=answers.abstain_lexical_threshold
            ),
        ),
        packer=ContextPacker(token_budget=answers.context_tokens, max_sources=answers.max_sources),
        verifier=SentenceVerifier(
            text,
            VerifierPolicy(
                lexical_threshold=answers.verify_lexical,
                semantic_threshold=answers.verify_semantic,
                lexical_floor=answers.verify_lexical_floor,
                llm_verify=answers.llm_verify,
            ),
            embedder=embedder,
            llm=traced("verification_llm"),
            verification_prompt=prompts.get("answer_verification") if answers.llm_verify else None,
        ),
        extractive=ExtractiveAnswerer(text, max_sentences=answers.extractive_sentences),
        rewriter=QueryRewriter(
            text,
            llm=traced("rewrite_llm") if use_rewrite else None,
            prompt=prompts.get("query_rewrite") if use_rewrite else None,
        ),
        generator=generator,
        policy=AnswerPolicy(
            top_k=answers.top_k,
            extractive_sentences=answers.extractive_sentences,
            trust_no_answer=_enabled(answers.trust_no_answer, parts.backend),
        ),
        dense=DenseProbe(retriever, parts.index, parts.collection)
        if embedder is not None and mode != "lexical"
        else None,
        tracer=tracer,
    )


def _enabled(choice: str, backend: BackendKind) -> bool:
    """``on``/``off``, or ``auto``: only for a remote (strong) model; the embedded 1.5B model spends
    ~10 s on a rewrite and refuses answerable questions."""
    return choice == "on" or (choice == "auto" and backend == "remote")


def default_deadline(answers: AnswerSettings) -> timedelta:
    return timedelta(seconds=answers.deadline_s)
